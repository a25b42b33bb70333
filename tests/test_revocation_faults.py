"""The publisher's revocation faults, the fetching fault target, and the fault verdict rules.

Each fault is shown to be exactly that fault as a strict client judges it (``pki/revocation.py``, the
suite's one copy of the rule), the publisher counts what it is asked during a window only, and every
behaviour a target can show under a fault is named, with only "the revoked certificate got in" failing.
"""

from __future__ import annotations

import http.client
import re
from typing import Any

import pytest

from recette_sas.errors import ControlNotPassed, NoAnswer
from recette_sas.identity import ocsp_url
from recette_sas.pki import revocation
from recette_sas.pki.catalogue import Defect
from recette_sas.pki.faults import PublisherFault
from recette_sas.pki.publisher import Publisher
from recette_sas.pki.store import Pki
from recette_sas.server.fetching import FetchingChecker, RevocationHabits
from recette_sas.server.revocation_rules import (
    FaultBehaviour,
    FaultObservation,
    observe_fault,
    require_revoked_kept_out,
)
from recette_sas.verdict import Attempt, Outcome

ENV = "preproduction"


def _leaf_and_issuer(pki: Pki, defect: Defect = Defect.VALIDE) -> tuple[Any, Any]:
    identity = pki.identity(ENV, defect)
    return identity.leaf, identity.chain[0]


def _ocsp(pki: Pki, defect: Defect = Defect.VALIDE) -> revocation.Status:
    leaf, issuer = _leaf_and_issuer(pki, defect)
    url = ocsp_url(leaf)
    assert url is not None
    return revocation.query_ocsp(url, leaf, issuer, timeout=3)


def _crl(pki: Pki, defect: Defect = Defect.VALIDE) -> revocation.Status:
    leaf, issuer = _leaf_and_issuer(pki, defect)
    crl = revocation.parse_crl(revocation.fetch(revocation.crl_urls(leaf)[0], timeout=3))
    return revocation.crl_status(leaf, issuer, crl)


def test_without_a_fault_both_sources_answer(pki: Pki, publisher: Publisher) -> None:
    assert publisher.fault is None
    assert _ocsp(pki).state == "good" and _crl(pki).state == "good"
    assert _ocsp(pki, Defect.REVOQUE).state == "revoked" and _crl(pki, Defect.REVOQUE).state == "revoked"


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        (PublisherFault.OCSP_TRY_LATER, "responder answered TRY_LATER"),
        (PublisherFault.OCSP_UNAUTHORIZED, "responder answered UNAUTHORIZED"),
        (PublisherFault.OCSP_WRONG_SIGNER, "not issued by the issuing CA"),
        (PublisherFault.OCSP_STALE, "stale (nextUpdate passed)"),
    ],
)
def test_each_ocsp_fault_is_an_answer_that_proves_nothing(
    pki: Pki, publisher: Publisher, fault: PublisherFault, problem: str
) -> None:
    with publisher.faulty(fault), pytest.raises(revocation.RevocationProblem, match=re.escape(problem)):
        _ocsp(pki)
    assert _crl(pki).state == "good"  # the other source is untouched
    assert publisher.fault is None and _ocsp(pki).state == "good"  # and the fault is off again


def test_ocsp_down_and_crl_unreachable_close_without_an_answer(pki: Pki, publisher: Publisher) -> None:
    with publisher.faulty(PublisherFault.OCSP_DOWN), pytest.raises((OSError, http.client.HTTPException)):
        _ocsp(pki)
    with (
        publisher.faulty(PublisherFault.CRL_UNREACHABLE),
        pytest.raises((OSError, http.client.HTTPException)),
    ):
        _crl(pki)


def test_the_expired_crl_is_the_same_crl_past_its_next_update(pki: Pki, publisher: Publisher) -> None:
    with (
        publisher.faulty(PublisherFault.CRL_EXPIRED),
        pytest.raises(revocation.RevocationProblem, match="stale"),
    ):
        _crl(pki, Defect.REVOQUE)
    leaf, issuer = _leaf_and_issuer(pki, Defect.REVOQUE)
    with publisher.faulty(PublisherFault.CRL_EXPIRED):
        expired = revocation.parse_crl(revocation.fetch(revocation.crl_urls(leaf)[0], timeout=3))
    assert expired.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    assert expired.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]


def test_the_publisher_counts_per_serial_and_per_crl_only_in_the_window(
    pki: Pki, publisher: Publisher
) -> None:
    _ocsp(pki)
    with publisher.faulty(PublisherFault.OCSP_TRY_LATER) as seen:
        for _ in range(2):
            with pytest.raises(revocation.RevocationProblem):
                _ocsp(pki)
        _crl(pki)
    leaf, _ = _leaf_and_issuer(pki)
    snapshot = seen.snapshot()
    assert snapshot["ocsp_requests"] == {f"{leaf.serial_number:x}": 2}
    assert sum(snapshot["crl_downloads"].values()) == 1
    _ocsp(pki)
    assert seen.snapshot() == snapshot
    with publisher.faulty(PublisherFault.OCSP_DOWN), pytest.raises(RuntimeError, match="already on"):  # noqa: SIM117
        with publisher.faulty(PublisherFault.OCSP_STALE):
            pass


@pytest.mark.parametrize(
    ("habits", "fault", "valid_ok", "revoked_ok"),
    [
        (RevocationHabits(), PublisherFault.OCSP_DOWN, False, False),
        (RevocationHabits(), PublisherFault.CRL_EXPIRED, False, False),
        (RevocationHabits(soft_fail=True), PublisherFault.OCSP_DOWN, True, False),
        (RevocationHabits(ocsp=False, soft_fail=True), PublisherFault.CRL_UNREACHABLE, True, True),
        (RevocationHabits(crl=False, soft_fail=True), PublisherFault.OCSP_WRONG_SIGNER, True, True),
        (RevocationHabits(crl=False, ocsp=False), PublisherFault.OCSP_DOWN, True, True),
    ],
)
def test_the_fetching_checker_decides_as_its_habits_say(
    pki: Pki,
    publisher: Publisher,
    habits: RevocationHabits,
    fault: PublisherFault,
    valid_ok: bool,
    revoked_ok: bool,
) -> None:
    checker = FetchingChecker(habits)
    with publisher.faulty(fault):
        valid = checker.problem(*_leaf_and_issuer(pki))
        revoked = checker.problem(*_leaf_and_issuer(pki, Defect.REVOQUE))
    assert (valid is None) is valid_ok, valid
    assert (revoked is None) is revoked_ok, revoked


def _attempt(outcome: Outcome, status: int | None = None) -> Attempt:
    return Attempt(
        target="cible",
        method="GET",
        url="https://cible/Slot",
        tls_offered=("TLSv1.2",),
        client_hello_version="TLSv1.2",
        tls_negotiated="TLSv1.2",
        cipher=None,
        certificate_sent=None,
        alert=None,
        error=None,
        phase="done",
        http_status=status,
        content_type="application/fhir+json" if status == 200 else None,
        location=None,
        body_excerpt="",
        server_chain=(),
        started_at="2026-12-01T00:00:00+00:00",
        duration_ms=1.0,
        outcome=outcome,
        reason="test",
    )


OK, NO = _attempt(Outcome.ACCEPTED, 200), _attempt(Outcome.REFUSED_HTTP, 403)


def _observation(valid: Attempt, revoked: Attempt, *, control: Attempt = OK) -> FaultObservation:
    return FaultObservation(
        fault="ocsp-hors-service",
        control=control,
        revoked_before=NO,
        valid=valid,
        revoked=revoked,
        valid_serial=1,
        revoked_serial=2,
        consultations={"ocsp_requests": {"1": 1, "99": 4}, "crl_downloads": {}},
    )


@pytest.mark.parametrize(
    ("valid", "revoked", "behaviour", "passes"),
    [
        (NO, NO, FaultBehaviour.REFUSES_EVERYONE, True),
        (OK, NO, FaultBehaviour.REFUSES_ONLY_REVOKED, True),
        (OK, OK, FaultBehaviour.ACCEPTS_EVERYONE, False),
        (NO, OK, FaultBehaviour.ACCEPTS_ONLY_REVOKED, False),
    ],
)
def test_each_behaviour_is_named_and_only_letting_the_revoked_in_fails(
    valid: Attempt, revoked: Attempt, behaviour: FaultBehaviour, passes: bool
) -> None:
    report = observe_fault(_observation(valid, revoked))
    assert report.behaviour is behaviour
    assert report.consulted_ocsp and not report.fetched_crl
    assert report.ocsp_requests == {"1": 1}  # only the serials this scenario presented
    if passes:
        assert behaviour.value in require_revoked_kept_out(report)
    else:
        with pytest.raises(AssertionError, match="panne de révocation"):
            require_revoked_kept_out(report)


def test_no_behaviour_is_read_from_attempts_that_prove_nothing() -> None:
    with pytest.raises(ControlNotPassed):
        observe_fault(_observation(NO, NO, control=NO))
    with pytest.raises(NoAnswer):
        observe_fault(_observation(OK, _attempt(Outcome.NO_ANSWER)))
