"""Then steps: every verdict goes through ``recette_sas.server.rules``, never a local shortcut."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_bdd import parsers, then

from recette_sas.verdict import Attempt

from .evidence import attach_attempt, attach_verdict
from .serveur_steps import TLS_VERSIONS, Presentation

if TYPE_CHECKING:  # loaded when a step runs, not when pytest collects the features
    from recette_sas.server.targets import Target, TargetSession


def _control(session: TargetSession, cible: Target, flow: str, ans_env: str) -> Attempt:
    control = session.control(cible, flow, ans_env)
    attach_attempt(control, name="contrôle positif")
    return control


@then("l'appel est refusé dès la vérification de la chaîne")
def _(tentative: Attempt, target_session: TargetSession, cible: Target, presentation: Presentation) -> None:
    from recette_sas.server import rules

    reach = target_session.reachability(cible)
    attach_attempt(reach.bare, name="contrôle d'accessibilité")
    attach_verdict(rules.require_chain_refusal_after_reachability(tentative, reach=reach, defects=presentation.defects),
    )


@then("l'appel est refusé")
def _(
    tentative: Attempt,
    target_session: TargetSession,
    cible: Target,
    flow: str,
    ans_env: str,
    presentation: Presentation,
) -> None:
    from recette_sas.server import rules

    if cible.trust == "igc":
        reach = target_session.reachability(cible)
        attach_attempt(reach.bare, name="contrôle d'accessibilité")
        attach_verdict(rules.require_refusal_after_reachability(tentative, reach=reach, defects=presentation.defects),
        )
        return
    control = _control(target_session, cible, flow, ans_env)
    attach_verdict(rules.require_refusal(tentative, control=control, defects=presentation.defects))


@then("l'appel est accepté avec une réponse FHIR")
def _(tentative: Attempt) -> None:
    from recette_sas.server import rules

    attach_verdict(rules.require_fhir_acceptance(tentative))


@then(parsers.re(r"la version (?P<version>SSL 3\.0|TLS 1\.[0-3]) est refusée pendant la poignée de main"))
def _(
    tentative: Attempt, target_session: TargetSession, cible: Target, flow: str, ans_env: str, version: str
) -> None:
    """One claim, three rules inside (``rules.require_version_refused_in_handshake``): the probe proved it
    offered the version, the target refused, and no handshake completed at that version. SSL 3.0 is
    offered by the tlslite-ng probe (``probe.sslv3``): a probe that could not offer it is a fault, never
    a skip and never a pass."""
    from recette_sas.server import rules

    offered = TLS_VERSIONS[version]
    if cible.trust == "igc":
        reach = target_session.reachability(cible)
        attach_attempt(reach.bare, name="contrôle d'accessibilité")
        verdict = rules.require_version_refused_in_handshake(tentative, offered.value, reach=reach)
    else:
        control = _control(target_session, cible, flow, ans_env)
        verdict = rules.require_version_refused_in_handshake(tentative, offered.value, control=control)
    attach_verdict(verdict)
