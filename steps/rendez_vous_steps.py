"""Then steps of the appointment flows judged functionally (``client.appointment_rules``).

The exchange comes from the client role's Given steps (``steps.client_steps``): one exchange per
environment and platform per run, so these scenarios judge the same creation and update as the
certificate scenarios do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_bdd import then

from .evidence import attach_verdict

if TYPE_CHECKING:  # loaded when a step runs, not when pytest collects the features
    from recette_sas.client.drivers import Exchange


@then("la plateforme SAS accepte la création du rendez-vous")
def _(echange: Exchange) -> None:
    from recette_sas.client import appointment_rules as rules

    attach_verdict(rules.require_creation_accepted(echange))


@then("la plateforme SAS accepte la mise à jour du rendez-vous")
def _(echange: Exchange) -> None:
    from recette_sas.client import appointment_rules as rules

    attach_verdict(rules.require_update_accepted(echange))


@then("la mise à jour porte le nouveau statut du rendez-vous")
def _(echange: Exchange) -> None:
    from recette_sas.client import appointment_rules as rules

    attach_verdict(rules.require_status_changed(echange))


@then("chaque rendez-vous du flux est conforme au profil FrAppointmentSAS")
def _(echange: Exchange, flow: str) -> None:
    from recette_sas.client import appointment_rules as rules

    attach_verdict(rules.require_profile(echange, flow))


@then("chaque rendez-vous du flux nomme le régulateur qui l'a pris")
def _(echange: Exchange, flow: str) -> None:
    from recette_sas.client import appointment_rules as rules

    attach_verdict(rules.require_operator(echange, flow))


@then("chaque rendez-vous du flux identifie le professionnel effecteur et son statut")
def _(echange: Exchange, flow: str) -> None:
    from recette_sas.client import appointment_rules as rules

    attach_verdict(rules.require_participant(echange, flow))


@then("chaque rendez-vous du flux porte un professionnel qui a accepté")
def _(echange: Exchange, flow: str) -> None:
    from recette_sas.client import appointment_rules as rules

    attach_verdict(rules.require_participant_accepted(echange, flow))
