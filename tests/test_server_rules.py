"""The server-role verdict rules, one by one: each decides pass, fail or no verdict from an attempt alone.

Attempts here are built field by field (the rules are pure); ``tests/test_honest_verdicts.py`` and
``tests/test_variants.py`` show the same rules on real handshakes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from typing import Any

import pytest

from recette_sas.errors import ControlNotPassed, NoAnswer, ProbeFault, TargetUnreachable, WrongCause
from recette_sas.pki.catalogue import Defect
from recette_sas.probe.certrequest import CertificateRequestInfo
from recette_sas.server import rules
from recette_sas.server.rules import ALERT_CAUSES, Cause, defect_causes
from recette_sas.server.targets import Reachability
from recette_sas.verdict import CONNECTION_CLOSED, Attempt, Outcome


def attempt(outcome: Outcome, **changes: Any) -> Attempt:
    base = Attempt(
        target="t",
        method="GET",
        url="https://t/Slot",
        tls_offered=("TLSv1.2", "TLSv1.3"),
        client_hello_version="TLSv1.2",
        tls_negotiated="TLSv1.3",
        cipher=None,
        certificate_sent=None,
        alert=None,
        error=None,
        phase="done",
        http_status=None,
        content_type=None,
        location=None,
        body_excerpt="",
        server_chain=(),
        started_at="2026-12-01T00:00:00.000+00:00",
        duration_ms=12.0,
        outcome=outcome,
        reason="r",
        tls_messages=("write ClientHello", "read ServerHello"),
    )
    return dataclasses.replace(base, **changes)


ACCEPTED = attempt(Outcome.ACCEPTED, http_status=200, content_type="application/fhir+json")
NAMED_ALERTS = {
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": Cause.VALIDITY,
    "SSLV3_ALERT_CERTIFICATE_REVOKED": Cause.REVOCATION,
    "TLSV1_ALERT_UNKNOWN_CA": Cause.ISSUER,
}
GENERIC_ALERTS = (
    "SSLV3_ALERT_HANDSHAKE_FAILURE",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    CONNECTION_CLOSED,
)


def test_the_alerts_that_name_a_cause_are_exactly_these() -> None:
    assert {alert: next(iter(causes)) for alert, causes in ALERT_CAUSES.items()} == NAMED_ALERTS


def test_every_look_alike_defect_has_its_causes() -> None:
    assert set(rules._DEFECT_CAUSES) == {d.value for d in Defect}
    assert defect_causes("valide") == frozenset()
    assert defect_causes("inconnu") == frozenset(Cause)  # unknown: nothing is ruled out


@pytest.mark.parametrize("defect", [d.value for d in Defect if d is not Defect.VALIDE])
@pytest.mark.parametrize("alert", sorted(NAMED_ALERTS))
def test_a_refusal_naming_a_cause_counts_only_for_a_certificate_that_has_it(defect: str, alert: str) -> None:
    refused = attempt(Outcome.REFUSED_TLS, alert=alert, phase="handshake")
    causes = defect_causes(defect)
    if NAMED_ALERTS[alert] in causes:
        assert rules.require_refusal(refused, control=ACCEPTED, defects=causes).startswith("refused")
    else:
        with pytest.raises(WrongCause, match="names another cause"):
            rules.require_refusal(refused, control=ACCEPTED, defects=causes)


@pytest.mark.parametrize("defect", [d.value for d in Defect if d is not Defect.VALIDE])
@pytest.mark.parametrize("alert", GENERIC_ALERTS)
def test_a_generic_refusal_counts_for_every_defect(defect: str, alert: str) -> None:
    refused = attempt(Outcome.REFUSED_TLS, alert=alert, phase="handshake")
    assert rules.require_refusal(refused, control=ACCEPTED, defects=defect_causes(defect))


@pytest.mark.parametrize(
    ("status", "defect", "counts"),
    [
        (403, "mauvais-cn", True),
        (401, "mauvais-ou", True),
        (400, "mauvais-cn", True),  # nginx's default for everything: generic
        (495, "expire", True),  # nginx: the certificate failed verification
        (495, "mauvais-cn", False),  # a valid chain cannot fail verification
        (496, "mauvais-cn", False),  # "no certificate sent", yet one was
    ],
)
def test_nginx_statuses_name_their_cause(status: int, defect: str, counts: bool) -> None:
    refused = attempt(Outcome.REFUSED_HTTP, http_status=status)
    if counts:
        assert rules.require_refusal(refused, control=ACCEPTED, defects=defect_causes(defect))
    else:
        with pytest.raises(WrongCause):
            rules.require_refusal(refused, control=ACCEPTED, defects=defect_causes(defect))


def test_the_editors_genuine_certificate_refused_as_expired_is_no_verdict() -> None:
    """The igc-mode false pass of the honest-verdicts issue, as a rule."""
    refused = attempt(Outcome.REFUSED_TLS, alert="SSLV3_ALERT_CERTIFICATE_EXPIRED")
    reach = Reachability(request=_request(requested=True), bare=attempt(Outcome.REFUSED_TLS))
    with pytest.raises(WrongCause, match="validité"):
        rules.require_refusal_after_reachability(refused, reach=reach, defects={Cause.SUBJECT})
    generic = attempt(Outcome.REFUSED_TLS, alert="SSLV3_ALERT_BAD_CERTIFICATE")
    assert rules.require_refusal_after_reachability(generic, reach=reach, defects={Cause.SUBJECT})


def _request(*, requested: bool, names: tuple[str, ...] = ()) -> CertificateRequestInfo:
    return CertificateRequestInfo(
        target="t",
        requested=requested,
        ca_names=names,
        tls_negotiated="TLSv1.3",
        handshake_completed=True,
        alert=None,
        error=None,
        evidence="the server sent a CertificateRequest" if requested else "no CertificateRequest seen",
    )


@pytest.mark.parametrize(
    ("control", "error"),
    [
        (
            attempt(Outcome.UNREACHABLE, tls_negotiated=None, tls_messages=(), phase="connect"),
            TargetUnreachable,
        ),
        (
            attempt(Outcome.NO_ANSWER, tls_negotiated=None, tls_messages=("write ClientHello",)),
            TargetUnreachable,
        ),
        (attempt(Outcome.NO_ANSWER, phase="response"), ControlNotPassed),  # it spoke TLS, then stalled
        (attempt(Outcome.PROBE_FAULT), ControlNotPassed),
        (attempt(Outcome.REFUSED_TLS, alert=CONNECTION_CLOSED), ControlNotPassed),
        (attempt(Outcome.ACCEPTED, http_status=404, content_type="application/fhir+json"), ControlNotPassed),
        (attempt(Outcome.ACCEPTED, http_status=200, content_type="text/html"), ControlNotPassed),
    ],
)
def test_a_refusal_needs_a_passed_control(control: Attempt, error: type[Exception]) -> None:
    refused = attempt(Outcome.REFUSED_TLS, alert="SSLV3_ALERT_BAD_CERTIFICATE")
    with pytest.raises(error):
        rules.require_refusal(refused, control=control)


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        (Outcome.UNREACHABLE, TargetUnreachable),
        (Outcome.NO_ANSWER, NoAnswer),
        (Outcome.PROBE_FAULT, ProbeFault),
    ],
)
def test_an_attempt_that_says_nothing_is_never_a_refusal(outcome: Outcome, error: type[Exception]) -> None:
    with pytest.raises(error):
        rules.require_refusal(attempt(outcome), control=ACCEPTED)


def test_an_acceptance_is_a_failure_of_a_negative() -> None:
    with pytest.raises(AssertionError, match="did not refuse"):
        rules.require_refusal(ACCEPTED, control=ACCEPTED)


def test_a_silent_close_after_the_handshake_says_no_http_answer_came() -> None:
    closed = attempt(Outcome.REFUSED_TLS, alert=CONNECTION_CLOSED, phase="response")
    with pytest.raises(AssertionError, match="closed the connection without any HTTP answer"):
        rules.require_fhir_acceptance(closed)
    alerted = attempt(Outcome.REFUSED_TLS, alert="SSLV3_ALERT_BAD_CERTIFICATE")
    with pytest.raises(AssertionError, match="refused a call it must accept"):
        rules.require_fhir_acceptance(alerted)


def test_a_stall_after_the_handshake_still_proves_reachability() -> None:
    stalled = attempt(Outcome.NO_ANSWER, phase="response")
    assert rules.require_certificate_request(Reachability(request=_request(requested=True), bare=stalled))
    silent = attempt(Outcome.NO_ANSWER, tls_negotiated=None, tls_messages=("write ClientHello",))
    with pytest.raises(TargetUnreachable):
        rules.require_certificate_request(Reachability(request=_request(requested=True), bare=silent))
    with pytest.raises(AssertionError, match="without asking for a client certificate"):
        rules.require_certificate_request(Reachability(request=_request(requested=False), bare=stalled))


INTER = "CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE TEST,OU=0002 187512751,O=ASIP-SANTE,C=FR"
OTHER = {
    "ACI-EL-ORG": "CN=AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE,OU=0002 187512751,O=ASIP-SANTE,C=FR"
}


def test_ca_names_rules() -> None:
    bare = attempt(Outcome.REFUSED_TLS)
    named = Reachability(request=_request(requested=True, names=(INTER,)), bare=bare)
    assert rules.require_ca_names(named, intermediate_name="ACI-EL-ORG-TEST", intermediate_subject=INTER)
    assert rules.require_no_ca_names_of(named, OTHER)
    empty = Reachability(request=_request(requested=True), bare=bare)
    with pytest.raises(AssertionError, match="does not name ACI-EL-ORG-TEST"):
        rules.require_ca_names(empty, intermediate_name="ACI-EL-ORG-TEST", intermediate_subject=INTER)
    both = Reachability(request=_request(requested=True, names=(INTER, OTHER["ACI-EL-ORG"])), bare=bare)
    with pytest.raises(AssertionError, match="also names the other hierarchy: ACI-EL-ORG"):
        rules.require_no_ca_names_of(both, OTHER)


def _chain(
    *pairs: tuple[str, str], not_after: str = "2030-01-01T00:00:00+00:00"
) -> tuple[dict[str, Any], ...]:
    return tuple({"subject": s, "issuer": i, "not_after": not_after} for s, i in pairs)


def test_server_certificate_rules() -> None:
    good = attempt(Outcome.REFUSED_TLS, server_chain=_chain(("CN=leaf", "CN=inter"), ("CN=inter", "CN=root")))
    assert "in order" in rules.require_server_certificate(good)
    swapped = dataclasses.replace(good, server_chain=tuple(reversed(good.server_chain)))
    with pytest.raises(AssertionError, match="out of order"):
        rules.require_server_certificate(swapped)
    with pytest.raises(AssertionError, match="could not be verified"):
        rules.require_server_certificate(attempt(Outcome.PROBE_FAULT))
    with pytest.raises(AssertionError, match="no certificate"):
        rules.require_server_certificate(attempt(Outcome.REFUSED_TLS))
    stalled = dataclasses.replace(good, outcome=Outcome.NO_ANSWER)  # the chain came before the stall
    assert rules.require_server_certificate(stalled)
    now = dt.datetime(2029, 12, 15, tzinfo=dt.UTC)
    with pytest.raises(AssertionError, match="expires in 17 day"):
        rules.require_server_certificate_lifetime(good, days=30, now=now)
    assert rules.require_server_certificate_lifetime(good, days=30, now=now - dt.timedelta(days=60))


def test_ip_rules() -> None:
    nets = (ipaddress.ip_network("31.15.27.0/24"),)
    assert rules.require_ip_allowed("31.15.27.36", nets, editor_env="preproduction", ans_env="preproduction")
    with pytest.raises(AssertionError, match="not in the declared allow-list"):
        rules.require_ip_allowed("193.41.222.248", nets, editor_env="preproduction", ans_env="recette")
    assert "cannot tell" in rules.require_ip_filter_enforced(None, "timed out", nets)
    assert "nothing to learn" in rules.require_ip_filter_enforced("31.15.27.9", "answered", nets)
    with pytest.raises(AssertionError, match="IP filter is not enforced"):
        rules.require_ip_filter_enforced("127.0.0.1", "answered", nets)
