"""Steps of the functional slot-aggregation checks (``features/serveur/agregation_fonctionnelle.feature``).

Every search goes through ``TargetSession.attempt`` (so the positive control runs first) with SAS's valid
certificate; every verdict through ``recette_sas.server.fhir_rules``. SAS's standard search is made once
per target and ANS environment and its Bundle validated once: the scenarios judge the same answer.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from typing import TYPE_CHECKING

import allure
import pytest
from pytest_bdd import parsers, then, when

from recette_sas.verdict import Attempt

from .evidence import attach_attempt, attach_shared, attach_text, attach_verdict, once

if TYPE_CHECKING:  # loaded when a step runs, not when pytest collects the features
    from recette_sas.pki.store import Pki
    from recette_sas.server.fhir_rules import SearchAnswer
    from recette_sas.server.targets import Target, TargetSession


UNKNOWN_RPPS = "899999999990"
UNKNOWN_SIRET = "399999999999990"
FILLER = tuple(f"8{n:011d}" for n in range(900000000001, 900000000026))
SOS_FILLER = tuple(f"3{n:014d}" for n in range(99999000000001, 99999000000026))
PERF_SEARCHES = 5
_CACHE: dict[tuple[str, str], SearchAnswer] = {}
_LOCK = threading.Lock()


def _wanted(cible: Target) -> tuple[str, ...]:
    """The target's test identifiers for its use case (RPPS; SIRET for SOS), or the reference server's."""
    from recette_sas.server.flows import DEFAULT_IDENTIFIERS

    return cible.identifiers or DEFAULT_IDENTIFIERS[cible.use_case]


def _filler(cible: Target) -> tuple[str, ...]:
    return SOS_FILLER if cible.use_case == "sos" else FILLER


def _search(
    session: TargetSession, pki: Pki, cible: Target, ans_env: str, identifiers: tuple[str, ...], **kw: object
) -> SearchAnswer:
    from recette_sas.pki.catalogue import Defect
    from recette_sas.server.fhir_rules import SearchAnswer
    from recette_sas.server.flows import slot_search

    search = slot_search(identifiers, use_case=cible.use_case, base_path=cible.base_path, **kw)  # type: ignore[arg-type]
    attempt = session.attempt(
        cible, "agregation", ans_env, search.request, identity=pki.identity(ans_env, Defect.VALIDE)
    )
    return SearchAnswer(search=search, attempt=attempt, use_case=cible.use_case)


_PRETTY: dict[int, tuple[object, str | None]] = {}


def _pretty(answer: SearchAnswer) -> str | None:
    """The Bundle as received, indented for a reader; computed once per answer (SAS's standard search is
    made once per target and environment and every scenario attaches what it judged)."""

    def indent() -> str | None:
        text = answer.text
        if text is not None:
            with contextlib.suppress(ValueError):
                text = json.dumps(json.loads(text), indent=1, ensure_ascii=False)
        return text

    return once(_PRETTY, answer, indent)


def _evidence(answer: SearchAnswer) -> None:
    attach_attempt(answer.attempt, name="recherche de créneaux")
    text = _pretty(answer)
    if text is not None:
        attach_shared(answer, text, name="Bundle reçu", attachment_type=allure.attachment_type.TEXT)


@when("la plateforme SAS recherche les créneaux des praticiens de test", target_fixture="reponse")
@when("la plateforme SAS recherche les créneaux des associations de test", target_fixture="reponse")
def _(target_session: TargetSession, pki: Pki, cible: Target, ans_env: str) -> SearchAnswer:
    key = (cible.key, ans_env)
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        cached = _search(target_session, pki, cible, ans_env, _wanted(cible))
        with _LOCK:
            _CACHE[key] = cached
    _evidence(cached)
    return cached


@when("la plateforme SAS recherche les créneaux d'un praticien inconnu", target_fixture="reponse")
@when("la plateforme SAS recherche les créneaux d'une association inconnue", target_fixture="reponse")
def _(target_session: TargetSession, pki: Pki, cible: Target, ans_env: str) -> SearchAnswer:
    unknown = UNKNOWN_SIRET if cible.use_case == "sos" else UNKNOWN_RPPS
    answer = _search(target_session, pki, cible, ans_env, (unknown,))
    _evidence(answer)
    return answer


@when("la plateforme SAS recherche les créneaux du premier praticien de test", target_fixture="reponse")
@when("la plateforme SAS recherche les créneaux de la première association de test", target_fixture="reponse")
def _(target_session: TargetSession, pki: Pki, cible: Target, ans_env: str) -> SearchAnswer:
    answer = _search(target_session, pki, cible, ans_env, _wanted(cible)[:1])
    _evidence(answer)
    return answer


@when("la plateforme SAS recherche les créneaux de 25 praticiens", target_fixture="reponse")
@when("la plateforme SAS recherche les créneaux de 25 associations", target_fixture="reponse")
def _(target_session: TargetSession, pki: Pki, cible: Target, ans_env: str) -> SearchAnswer:
    wanted = _wanted(cible)
    answer = _search(target_session, pki, cible, ans_env, (*wanted, *_filler(cible))[:25])
    _evidence(answer)
    return answer


@when("la plateforme SAS répète sa recherche plusieurs fois", target_fixture="reponses")
def _(target_session: TargetSession, pki: Pki, cible: Target, ans_env: str) -> list[SearchAnswer]:
    return [_search(target_session, pki, cible, ans_env, _wanted(cible)) for _ in range(PERF_SEARCHES)]


def _malformed(case: str, identifiers: tuple[str, ...], use_case: str = "ps-indiv") -> list[tuple[str, str]]:
    """The use case's standard search with one mistake: no status, a start without prefix, 26 identifiers."""
    from recette_sas.server.flows import (
        IDENTIFIER_PARAM,
        RPPS_SYSTEM,
        SIRET_SYSTEM,
        SOS_HAS,
        SOS_IDENTIFIER_PARAM,
        slot_search,
    )

    good = slot_search(identifiers, use_case=use_case)
    pairs = [tuple(p.split("=", 1)) for p in good.query.split("&")]
    decoded = [(urllib.parse.unquote_plus(k), urllib.parse.unquote_plus(v)) for k, v in pairs]
    sos = use_case == "sos"
    status, start = (f"{SOS_HAS}status", f"{SOS_HAS}start") if sos else ("status", "start")
    if case == "sans status":
        return [(k, v) for k, v in decoded if k != status]
    if case == "start sans préfixe":
        return [(k, v[2:] if k == start and v.startswith("ge") else v) for k, v in decoded]
    if case == "26 identifiants":
        system, param = (SIRET_SYSTEM, SOS_IDENTIFIER_PARAM) if sos else (RPPS_SYSTEM, IDENTIFIER_PARAM)
        filler = SOS_FILLER if sos else FILLER
        many = ",".join(f"{system}|{i}" for i in (*identifiers, *filler)[:26])
        return [(k, many if k == param else v) for k, v in decoded]
    raise ValueError(f"unknown malformed search {case!r}")


@when(parsers.parse("la plateforme SAS envoie une recherche mal formée « {cas} »"), target_fixture="reponse")
def _(target_session: TargetSession, pki: Pki, cible: Target, ans_env: str, cas: str) -> SearchAnswer:
    answer = _search(
        target_session, pki, cible, ans_env, _wanted(cible), params=_malformed(cas, _wanted(cible), cible.use_case)
    )
    _evidence(answer)
    return answer


def _control(session: TargetSession, cible: Target, ans_env: str) -> Attempt:
    control = session.control(cible, "agregation", ans_env)
    attach_attempt(control, name="contrôle positif")
    return control


def _verdict(text: str) -> None:
    attach_verdict(text)


@pytest.fixture
def fhir_control(target_session: TargetSession, cible: Target, ans_env: str) -> Attempt:
    return _control(target_session, cible, ans_env)


@then("la réponse est un Bundle searchset avec son total")
def _(reponse: SearchAnswer, fhir_control: Attempt) -> None:
    from recette_sas.server import fhir_rules

    _verdict(fhir_rules.require_searchset(reponse, control=fhir_control))


@then("la réponse est un Bundle searchset de total 0")
def _(reponse: SearchAnswer, fhir_control: Attempt) -> None:
    from recette_sas.server import fhir_rules

    _verdict(fhir_rules.require_searchset(reponse, control=fhir_control, total=0))


@then("la réponse porte un Content-Type FHIR JSON en UTF-8")
def _(reponse: SearchAnswer, fhir_control: Attempt) -> None:
    from recette_sas.server import fhir_rules

    _verdict(fhir_rules.require_fhir_content_type(reponse, control=fhir_control))


@then("le corps de la réponse est en UTF-8 et ses accents intacts")
def _(reponse: SearchAnswer, fhir_control: Attempt) -> None:
    from recette_sas.server import fhir_rules

    _verdict(fhir_rules.require_utf8(reponse, control=fhir_control))


def _findings(reponse: SearchAnswer) -> None:
    from recette_sas.server import fhir_rules

    try:
        found = reponse.findings()
    except AssertionError:
        return
    attach_text("constats du moteur FHIR", fhir_rules.describe(found) or "aucun constat")


@then("la réponse respecte la structure FHIR R4")
def _(reponse: SearchAnswer, fhir_control: Attempt) -> None:
    from recette_sas.server import fhir_rules

    _findings(reponse)
    _verdict(fhir_rules.require_structure(reponse, control=fhir_control))


@then(parsers.parse("les ressources respectent le profil « {profil} »"))
def _(reponse: SearchAnswer, fhir_control: Attempt, profil: str) -> None:
    from recette_sas.server import fhir_rules

    _findings(reponse)
    _verdict(fhir_rules.require_profile(reponse, profil, control=fhir_control))


@then(parsers.parse("le moteur FHIR ne relève aucun constat « {groupe} »"))
def _(reponse: SearchAnswer, fhir_control: Attempt, groupe: str) -> None:
    from recette_sas.server import fhir_rules

    _findings(reponse)
    _verdict(fhir_rules.require_no_group(reponse, groupe, control=fhir_control))


@then("le moteur FHIR ne relève aucun constat recommandé")
def _(reponse: SearchAnswer, fhir_control: Attempt) -> None:
    from recette_sas.server import fhir_rules

    _findings(reponse)
    _verdict(fhir_rules.require_hygiene(reponse, control=fhir_control))


@then("le lien self du Bundle reprend la requête")
def _(reponse: SearchAnswer, fhir_control: Attempt) -> None:
    from recette_sas.server import fhir_rules

    _verdict(fhir_rules.require_self_link(reponse, control=fhir_control))


@then("chaque praticien de test est dans la réponse")
@then("chaque association de test est dans la réponse")
def _(reponse: SearchAnswer, fhir_control: Attempt, cible: Target) -> None:
    from recette_sas.server import fhir_rules

    _verdict(fhir_rules.require_each_answered(reponse, _wanted(cible), control=fhir_control))


@then("la réponse ne porte que le premier praticien de test")
@then("la réponse ne porte que la première association de test")
def _(reponse: SearchAnswer, fhir_control: Attempt, cible: Target) -> None:
    from recette_sas.server import fhir_rules

    _verdict(fhir_rules.require_only(reponse, _wanted(cible)[:1], control=fhir_control))


@then("la médiane des temps de réponse est sous 1 s")
def _(reponses: list[SearchAnswer], fhir_control: Attempt) -> None:
    from recette_sas.server import fhir_rules

    verdict = fhir_rules.require_fast(reponses, control=fhir_control)
    attach_text("temps de réponse (ms)", "\n".join(f"{a.attempt.duration_ms:.1f}" for a in reponses))
    _verdict(verdict)


@then("la recherche est refusée avec 400 et un OperationOutcome")
def _(reponse: SearchAnswer, fhir_control: Attempt) -> None:
    from recette_sas.server import fhir_rules

    _verdict(fhir_rules.require_bad_request(reponse, control=fhir_control))
