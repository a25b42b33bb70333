"""Then steps: every verdict goes through ``recette_sas.server.rules``, never a local shortcut."""

from __future__ import annotations

import pytest
from pytest_bdd import parsers, then

from recette_sas.environments import accepted_subjects, other_environment
from recette_sas.probe.endpoint import TlsVersion
from recette_sas.server import rules
from recette_sas.server.targets import Target, TargetSession
from recette_sas.verdict import Attempt, Outcome, VerdictUnavailable

from .evidence import attach_attempt, attach_text
from .serveur_steps import TLS_VERSIONS, Presentation


def _control(session: TargetSession, cible: Target, flow: str, ans_env: str) -> Attempt:
    control = session.control(cible, flow, ans_env)
    attach_attempt(control, name="contrôle positif")
    return control


@then("l'appel est refusé dès la vérification de la chaîne")
def _(tentative: Attempt, target_session: TargetSession, cible: Target, presentation: Presentation) -> None:
    reach = target_session.reachability(cible)
    attach_attempt(reach.bare, name="contrôle d'accessibilité")
    attach_text(
        "verdict",
        rules.require_chain_refusal_after_reachability(tentative, reach=reach, defects=presentation.defects),
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
    if cible.trust == "igc":
        reach = target_session.reachability(cible)
        attach_attempt(reach.bare, name="contrôle d'accessibilité")
        attach_text(
            "verdict",
            rules.require_refusal_after_reachability(tentative, reach=reach, defects=presentation.defects),
        )
        return
    control = _control(target_session, cible, flow, ans_env)
    attach_text("verdict", rules.require_refusal(tentative, control=control, defects=presentation.defects))


@then("l'appel est accepté avec une réponse FHIR")
def _(tentative: Attempt) -> None:
    attach_text("verdict", rules.require_fhir_acceptance(tentative))


@then(parsers.re(r"la sonde a réellement proposé (?P<version>SSL 3\.0|TLS 1\.[0-3])"))
def _(tentative: Attempt, version: str) -> None:
    expected = TLS_VERSIONS[version].value
    if tentative.client_hello_version != expected:
        raise VerdictUnavailable(
            f"the probe meant to offer {expected} but its ClientHello said {tentative.client_hello_version!r}"
        )


@then(parsers.re(r"la poignée de main en (?P<version>SSL 3\.0|TLS 1\.[0-3]) n'a pas abouti"))
def _(tentative: Attempt, version: str) -> None:
    rules.require_version_not_negotiated(tentative, TLS_VERSIONS[version].value)


@then("l'appel est refusé, ou la sonde dit pourquoi SSL 3.0 n'est pas testable")
def _(tentative: Attempt, target_session: TargetSession, cible: Target, flow: str, ans_env: str) -> None:
    if tentative.outcome is Outcome.PROBE_FAULT and TlsVersion.SSLv3.value in tentative.tls_offered:
        pytest.skip(f"SSL 3.0 non testable ici : {tentative.reason}")
    attach_text(
        "verdict", rules.require_refusal(tentative, control=_control(target_session, cible, flow, ans_env))
    )


@then("l'appel est accepté si la correspondance des environnements l'exige, refusé sinon")
def _(
    tentative: Attempt,
    target_session: TargetSession,
    cible: Target,
    flow: str,
    ans_env: str,
    settings: object,
) -> None:
    other = other_environment(ans_env)
    mapping = settings.mapping  # type: ignore[attr-defined]
    if other.subject in accepted_subjects(cible.editor_env, mapping):
        attach_text(
            "attendu",
            f"correspondance {mapping.value} : l'environnement éditeur {cible.editor_env} "
            f"sert aussi {other.key}",
        )
        attach_text("verdict", rules.require_fhir_acceptance(tentative))
    else:
        attach_text(
            "verdict",
            rules.require_refusal(tentative, control=_control(target_session, cible, flow, ans_env)),
        )
