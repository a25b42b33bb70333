"""Steps of the client role: the editor's software calls a (mock or real) SAS platform.

The exchange is context, not the action under test: Given steps make the client run against the platform
they name (one exchange per environment and platform per run, see ``ClientSession``) and return the frozen
record; Then steps only assert through ``recette_sas.client.rules``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import allure
import pytest
from pytest_bdd import given, parsers, then, when

from fixtures.client import ClientSettings, live_identity
from fixtures.levels import record_certificate
from fixtures.options import Settings
from recette_sas.environments import editor_environment_for, get_environment
from recette_sas.verdict import Attempt, Outcome

from .evidence import attach_attempt, attach_text, attach_verdict

if TYPE_CHECKING:  # loaded when a step runs, not when pytest collects the features
    from cryptography import x509

    from recette_sas.client.drivers import Exchange
    from recette_sas.client.presentation import MockMode
    from recette_sas.client.rules import Anchors, RevocationChecker
    from recette_sas.client.session import ClientSession
    from recette_sas.config.credentials import Credential
    from recette_sas.identity import Identity


_ENCODED: dict[int, tuple[Exchange, str]] = {}


def _attach_exchange(exchange: Exchange, *, name: str) -> None:
    """Attach the exchange record, encoded once (the positive control is attached to every negative);
    the client certificates it shows feed the run summary's earliest expiry."""
    from cryptography.hazmat.primitives import hashes

    from recette_sas.identity import certificate_summary

    cached = _ENCODED.get(id(exchange))
    if cached is None or cached[0] is not exchange:
        leaves = {p.leaf.fingerprint(hashes.SHA256()): p.leaf for p in exchange.presentations if p.leaf}
        for leaf in leaves.values():
            record_certificate(certificate_summary(leaf), role="logiciel de l'éditeur (client)")
        cached = (exchange, json.dumps(exchange.summary(), indent=2, ensure_ascii=False, default=str))
        _ENCODED[id(exchange)] = cached
    allure.attach(cached[1], name=name, attachment_type=allure.attachment_type.JSON)


# -- Given ----------------------------------------------------------------------------------------------------


@given(
    "le logiciel de l'éditeur, client de la plateforme SAS de l'environnement ANS", target_fixture="logiciel"
)
def _(client_session: ClientSession, ans_env: str) -> ClientSession:
    attach_text("client", f"{client_session.driver_for(ans_env).label}, environnement ANS {ans_env}")
    return client_session


def _exchange(logiciel: ClientSession, ans_env: str, plateforme: MockMode) -> Exchange:
    exchange = logiciel.exchange(ans_env, plateforme)
    if exchange.control is not None:
        _attach_exchange(exchange.control, name="contrôle positif (plateforme normale)")
    _attach_exchange(exchange, name=f"échange (plateforme {plateforme.value})")
    return exchange


@given(
    "le logiciel a créé puis mis à jour un rendez-vous auprès d'une plateforme SAS simulée normale",
    target_fixture="echange",
)
def _(logiciel: ClientSession, ans_env: str) -> Exchange:
    from recette_sas.client.presentation import MockMode

    return _exchange(logiciel, ans_env, MockMode.NORMAL)


@given(
    parsers.parse(
        "le logiciel a tenté de créer puis de mettre à jour un rendez-vous auprès d'une plateforme SAS simulée "
        "dont le certificat serveur est « {anomalie} »"
    ),
    target_fixture="echange",
)
def _(logiciel: ClientSession, ans_env: str, anomalie: str) -> Exchange:
    from recette_sas.client.presentation import MockMode

    return _exchange(logiciel, ans_env, MockMode.parse(anomalie))


@given(
    "le logiciel a tenté de créer puis de mettre à jour un rendez-vous auprès d'une plateforme SAS simulée "
    "qui ne parle que TLS 1.0 et TLS 1.1",
    target_fixture="echange",
)
def _(logiciel: ClientSession, ans_env: str) -> Exchange:
    from recette_sas.client.presentation import MockMode

    return _exchange(logiciel, ans_env, MockMode.LEGACY_TLS)


# -- Then: certificate ---------------------------------------------------------------------------------------------


@then("chaque requête du flux est accompagnée d'un certificat client")
def _(echange: Exchange, flow: str) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_certificate_each_request(echange, flow))


@then("chaque requête du flux présente le certificat configuré pour l'environnement")
def _(echange: Exchange, flow: str, expected_client_certificate: tuple[x509.Certificate, str]) -> None:
    from recette_sas.client.rules_configured import require_configured_certificate

    expected, where = expected_client_certificate
    attach_verdict(require_configured_certificate(echange, flow, expected, where))


@then("le certificat présenté est émis par l'autorité intermédiaire IGC Santé de l'environnement")
def _(echange: Exchange, flow: str, client_anchors: Anchors) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_issued_by_environment(echange, flow, client_anchors))


@then("la chaîne présentée inclut l'autorité intermédiaire")
def _(echange: Exchange, flow: str, client_anchors: Anchors) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_chain_includes_intermediate(echange, flow, client_anchors))


@then("le certificat présenté a le profil AUTH_CLI")
def _(echange: Exchange, flow: str) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_auth_cli_profile(echange, flow))


@then("le certificat présenté est en cours de validité")
def _(echange: Exchange, flow: str) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_within_validity(echange, flow))


@then("le certificat présenté reste valide plus de 30 jours")
def _(echange: Exchange, flow: str) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_not_expiring_soon(echange, flow))


@then("le certificat présenté n'est pas révoqué")
def _(echange: Exchange, flow: str, client_anchors: Anchors, revocation_checker: RevocationChecker) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_not_revoked(echange, flow, client_anchors, revocation_checker)
    )


# -- Then: TLS ---------------------------------------------------------------------------------------------------


@then("chaque requête du flux est reçue en TLS 1.2 ou plus récent")
def _(echange: Exchange, flow: str) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_modern_tls(echange, flow))


@then("chaque requête du flux annonce le nom de la plateforme SAS")
def _(echange: Exchange, flow: str, ans_env: str) -> None:
    from recette_sas.client import rules as client_rules

    host = get_environment(ans_env).host
    attach_verdict(client_rules.require_sni(echange, flow, host, by_address=echange.run.by_address))


@then("aucune requête ne parvient à cette plateforme")
def _(echange: Exchange) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_no_request(echange, echange.control))


# -- Then: flows ----------------------------------------------------------------------------------------------------


@then("la plateforme SAS a reçu la création d'un rendez-vous valide")
def _(echange: Exchange) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_creation(echange))


@then("la plateforme SAS a reçu la mise à jour d'un rendez-vous valide")
def _(echange: Exchange) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_update(echange))


@then("la mise à jour désigne le rendez-vous créé")
def _(echange: Exchange) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_update_designates_creation(echange))


# -- live ---------------------------------------------------------------------------------------------------------


@given("le certificat IGC Santé de l'éditeur pour l'environnement ANS", target_fixture="certificat_editeur")
def _(
    editor_credentials: dict[str, Credential], settings: Settings, ans_env: str, client_secrets_dir: Path
) -> Identity:
    from recette_sas.pki.certcheck import intermediate_dn

    editor_env = editor_environment_for(ans_env, settings.mapping)
    credential = editor_credentials.get(editor_env)
    if credential is None:
        pytest.skip(
            "aucun certificat d'éditeur configuré (certificate de l'environnement, ou --sas-client-cert) : "
            "la vérification en direct n'est pas lancée et rien n'est contacté hors de cette machine"
        )
    env = get_environment(ans_env)
    if credential.leaf.issuer != intermediate_dn(env.hierarchy):
        pytest.skip(
            f"le certificat configuré est émis par {credential.leaf.issuer.rfc4514_string()} : "
            f"il n'est pas destiné à l'environnement {env.label}"
        )
    return live_identity(credential, editor_env=editor_env, directory=client_secrets_dir)


@when("le logiciel de l'éditeur se présente à la plateforme SAS réelle", target_fixture="tentative_reelle")
def _(certificat_editeur: Identity, client_settings: ClientSettings, ans_env: str) -> Attempt:
    from recette_sas.probe.attempt import attempt
    from recette_sas.probe.endpoint import Endpoint, HttpRequest

    env = get_environment(ans_env)
    host, port = client_settings.live_connect or (env.host, 443)
    endpoint = Endpoint(host=host, port=port, server_name=env.host, label=f"SAS {env.label} (réelle)")
    result = attempt(
        endpoint,
        HttpRequest(method="GET", path="/metadata", headers=(("Accept", "application/fhir+json"),)),
        identity=certificat_editeur,
    )
    attach_attempt(result, name="tentative sur la plateforme SAS réelle")
    if result.outcome is Outcome.UNREACHABLE:
        pytest.skip(
            f"plateforme SAS {env.label} injoignable depuis cette machine, pas de verdict : {result.reason}"
        )
    return result


@then("la plateforme SAS ne refuse pas son certificat")
def _(tentative_reelle: Attempt) -> None:
    from recette_sas.client import rules as client_rules

    attach_verdict(client_rules.require_live_acceptance(tentative_reelle))
