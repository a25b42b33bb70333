"""Given/When steps of the server role: what SAS presents, and the call it makes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import allure
import pytest
from pytest_bdd import given, parsers, when

from fixtures.targets import ConfiguredTargets, EmbeddedTargets
from recette_sas.environments import get_environment
from recette_sas.probe.endpoint import TlsVersion
from recette_sas.server.rules import Cause, defect_causes
from recette_sas.verdict import Attempt

from .evidence import attach_attempt, attach_text

if TYPE_CHECKING:  # loaded when a step runs, not when pytest collects the features
    from recette_sas.identity import Identity
    from recette_sas.pki.store import Pki
    from recette_sas.probe.endpoint import HttpRequest
    from recette_sas.server.targets import Target, TargetSession


TLS_VERSIONS = {
    "SSL 3.0": TlsVersion.SSLv3,
    "TLS 1.0": TlsVersion.TLSv1,
    "TLS 1.1": TlsVersion.TLSv1_1,
    "TLS 1.2": TlsVersion.TLSv1_2,
    "TLS 1.3": TlsVersion.TLSv1_3,
}


@dataclass(frozen=True)
class Presentation:
    """What SAS presents on a call: a certificate (or none), the TLS version it offers, extra headers."""

    identity: Identity | None
    tls_version: TlsVersion | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()
    defects: frozenset[Cause] | None = None  # what is wrong with the certificate (None: not known)


@given("le serveur de l'éditeur qui répond à l'environnement ANS", target_fixture="cible")
def _(ans_env: str, targets: EmbeddedTargets | ConfiguredTargets) -> Target:
    target = targets.for_ans_env(ans_env)
    if target.trust == "igc":
        pytest.skip(
            f"{target.label} trusts the real IGC Santé chain: the look-alike matrix does not apply "
            "(the @igc scenarios test it; a staging server configured with `recette-sas pki export` runs this one)"
        )
    return target


@given(
    "la plateforme SAS présente son certificat valide avec l'autorité intermédiaire",
    target_fixture="presentation",
)
def _(pki: Pki, ans_env: str) -> Presentation:
    from recette_sas.pki.catalogue import Defect

    return Presentation(identity=pki.identity(ans_env, Defect.VALIDE), defects=frozenset())


@given(
    "la plateforme SAS présente son certificat valide sans l'autorité intermédiaire",
    target_fixture="presentation",
)
def _(pki: Pki, ans_env: str) -> Presentation:
    from recette_sas.pki.catalogue import Defect

    return Presentation(identity=pki.identity(ans_env, Defect.VALIDE, send_chain=False), defects=frozenset())


@given("la plateforme SAS ne présente aucun certificat", target_fixture="presentation")
def _() -> Presentation:
    return Presentation(identity=None)


@given(parsers.parse("la plateforme SAS présente un certificat « {defaut} »"), target_fixture="presentation")
def _(pki: Pki, ans_env: str, defaut: str) -> Presentation:
    """The report says in words what is wrong with the certificate, not only the defect's short name."""
    from recette_sas.pki.catalogue import DEFECT_DESCRIPTIONS, Defect

    defect = Defect.parse(defaut)
    description = DEFECT_DESCRIPTIONS[defect]
    # A parameter, not an attachment: shown beside the scenario in the report, and no file per scenario.
    allure.dynamic.parameter("défaut du certificat", f"« {defect.value} » : {description}", excluded=True)
    return Presentation(identity=pki.identity(ans_env, defect), defects=defect_causes(defect.value))


@given(
    parsers.re(r"la plateforme SAS ne propose que (?P<version>SSL 3\.0|TLS 1\.[0-3])"),
    target_fixture="presentation",
)
def _(presentation: Presentation, version: str) -> Presentation:
    return dataclasses.replace(presentation, tls_version=TLS_VERSIONS[version])


@given("la requête porte des en-têtes d'identité forgés au nom de SAS", target_fixture="presentation")
def _(presentation: Presentation, pki: Pki, ans_env: str) -> Presentation:
    from recette_sas.pki.catalogue import Defect
    from recette_sas.server.flows import forged_identity_headers

    headers = forged_identity_headers(get_environment(ans_env).subject, pki.identity(ans_env, Defect.VALIDE))
    return dataclasses.replace(presentation, extra_headers=presentation.extra_headers + headers)


@given(
    parsers.parse("la requête porte des en-têtes d'identité forgés au nom de SAS, écrits « {forme} »"),
    target_fixture="presentation",
)
def _(presentation: Presentation, pki: Pki, ans_env: str, forme: str) -> Presentation:
    from recette_sas.pki.catalogue import Defect
    from recette_sas.server.flows import forged_identity_headers

    headers = forged_identity_headers(
        get_environment(ans_env).subject, pki.identity(ans_env, Defect.VALIDE), form=forme
    )
    attach_text("en-têtes forgés", "\n".join(f"{name}: {value[:80]}" for name, value in headers))
    return dataclasses.replace(presentation, extra_headers=presentation.extra_headers + headers)


def _call(
    session: TargetSession,
    cible: Target,
    flow: str,
    ans_env: str,
    req: HttpRequest,
    presentation: Presentation,
) -> Attempt:
    req = dataclasses.replace(req, headers=req.headers + presentation.extra_headers)
    result = session.attempt(
        cible, flow, ans_env, req, identity=presentation.identity, tls_version=presentation.tls_version
    )
    attach_attempt(result, name="tentative")
    return result


@when("elle appelle le flux", target_fixture="tentative")
def _(
    target_session: TargetSession, cible: Target, flow: str, ans_env: str, presentation: Presentation
) -> Attempt:
    from recette_sas.server.flows import flow_request

    request = flow_request(flow, base_path=cible.base_path, use_case=cible.use_case)
    return _call(target_session, cible, flow, ans_env, request, presentation)


@when("elle met à jour un compte régulateur par son identifiant", target_fixture="tentative")
def _(
    target_session: TargetSession, cible: Target, flow: str, ans_env: str, presentation: Presentation
) -> Attempt:
    from recette_sas.server.flows import update_request

    return _call(
        target_session, cible, flow, ans_env, update_request(base_path=cible.base_path), presentation
    )
