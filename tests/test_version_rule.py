"""The one claim of a TLS version scenario, "la version … est refusée pendant la poignée de main", can fail
for each of the three rules it carries (``rules.require_version_refused_in_handshake``), and for nothing else.

Attempts are built by hand from one refused TLS 1.0 attempt, one field changed at a time: the real servers
that produce each shape are in tests/test_verdict_probe.py and tests/test_variants.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from recette_sas.probe.certrequest import CertificateRequestInfo
from recette_sas.server.rules import require_version_refused_in_handshake
from recette_sas.server.targets import Reachability
from recette_sas.verdict import Attempt, Outcome, VerdictUnavailable

REFUSED = Attempt(
    target="t",
    method="GET",
    url="https://localhost/Slot",
    tls_offered=("TLSv1",),
    client_hello_version="TLSv1",
    tls_negotiated=None,
    cipher=None,
    certificate_sent=None,
    alert="TLSV1_ALERT_PROTOCOL_VERSION",
    error=None,
    phase="handshake",
    http_status=None,
    content_type=None,
    location=None,
    body_excerpt="",
    server_chain=(),
    started_at="2026-01-01T00:00:00+00:00",
    duration_ms=1.0,
    outcome=Outcome.REFUSED_TLS,
    reason="protocol_version alert",
)
CONTROL = dataclasses.replace(
    REFUSED,
    tls_offered=("TLSv1.2", "TLSv1.3"),
    client_hello_version="TLSv1.2",
    tls_negotiated="TLSv1.3",
    alert=None,
    http_status=200,
    content_type="application/fhir+json",
    outcome=Outcome.ACCEPTED,
    reason="HTTP 200",
)
REQUESTED = CertificateRequestInfo(
    target="t",
    requested=True,
    ca_names=(),
    tls_negotiated="TLSv1.3",
    handshake_completed=False,
    alert="certificate_required",
    error=None,
    evidence="CertificateRequest read",
)


def test_a_refusal_of_the_offered_version_passes_after_the_positive_or_the_reachability_control() -> None:
    assert "TLSv1 offered" in require_version_refused_in_handshake(REFUSED, "TLSv1", control=CONTROL)
    reach = Reachability(request=REQUESTED, bare=REFUSED)
    assert "reachability control" in require_version_refused_in_handshake(REFUSED, "TLSv1", reach=reach)


@pytest.mark.parametrize(
    ("attempt", "control", "error", "message"),
    [
        (
            dataclasses.replace(REFUSED, client_hello_version="TLSv1.2"),
            CONTROL,
            VerdictUnavailable,
            "the probe meant to offer TLSv1 but its ClientHello said 'TLSv1.2'",
        ),
        (
            dataclasses.replace(REFUSED, outcome=Outcome.PROBE_FAULT, client_hello_version=None),
            CONTROL,
            VerdictUnavailable,
            "the probe failed on its own side",
        ),
        (
            dataclasses.replace(
                CONTROL, tls_offered=("TLSv1",), client_hello_version="TLSv1", tls_negotiated="TLSv1"
            ),
            CONTROL,
            AssertionError,
            "the target did not refuse",
        ),
        (
            dataclasses.replace(
                REFUSED, tls_negotiated="TLSv1", alert=None, http_status=403, outcome=Outcome.REFUSED_HTTP
            ),
            CONTROL,
            AssertionError,
            "the server completed a TLSv1 handshake",
        ),
        (
            REFUSED,
            dataclasses.replace(CONTROL, outcome=Outcome.REFUSED_TLS, http_status=None),
            VerdictUnavailable,
            "positive control did not pass",
        ),
    ],
    ids=["other-version-offered", "probe-could-not-offer", "accepted", "handshake-completed", "no-control"],
)
def test_each_rule_can_fail(attempt: Attempt, control: Attempt, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        require_version_refused_in_handshake(attempt, "TLSv1", control=control)


def test_a_refusal_without_a_reachability_control_is_not_judged() -> None:
    unrequested = Reachability(request=dataclasses.replace(REQUESTED, requested=False), bare=REFUSED)
    with pytest.raises(VerdictUnavailable, match="reachability control did not pass"):
        require_version_refused_in_handshake(REFUSED, "TLSv1", reach=unrequested)


def test_exactly_one_control_is_required() -> None:
    with pytest.raises(TypeError):
        require_version_refused_in_handshake(REFUSED, "TLSv1")
    with pytest.raises(TypeError):
        require_version_refused_in_handshake(
            REFUSED, "TLSv1", control=CONTROL, reach=Reachability(request=REQUESTED, bare=REFUSED)
        )
