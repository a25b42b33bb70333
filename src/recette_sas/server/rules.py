"""Verdict rules: when an attempt proves what a scenario claims, and when nothing can be concluded.

A refusal counts only if the positive control for the same target, flow and ANS environment was
accepted in the same run; an unreachable target or a probe that failed on its own side is never a
refusal. ``AssertionError`` means the target is non-conformant (Allure *failed*);
``VerdictUnavailable`` means the run could not judge (Allure *broken*).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from recette_sas.verdict import Attempt, Outcome, VerdictUnavailable

if TYPE_CHECKING:
    from recette_sas.server.targets import Reachability

FHIR_MEDIA_TYPES = ("application/fhir+json", "application/json+fhir")


def _describe(attempt: Attempt) -> str:
    facts = [f"outcome={attempt.outcome.value}"]
    if attempt.tls_negotiated:
        facts.append(f"tls={attempt.tls_negotiated}")
    if attempt.alert:
        facts.append(f"alert={attempt.alert}")
    if attempt.http_status is not None:
        facts.append(f"http={attempt.http_status}")
    return f"{', '.join(facts)}: {attempt.reason}"


def require_usable(attempt: Attempt) -> None:
    """Raise ``VerdictUnavailable`` when the attempt says nothing about the target's policy."""
    if attempt.outcome is Outcome.UNREACHABLE:
        raise VerdictUnavailable(f"target unreachable, no verdict ({_describe(attempt)})")
    if attempt.outcome is Outcome.PROBE_FAULT:
        raise VerdictUnavailable(f"the probe failed on its own side, no verdict ({_describe(attempt)})")


def require_control(control: Attempt) -> None:
    """The positive control must have been accepted with a FHIR answer."""
    try:
        require_usable(control)
        require_fhir_acceptance(control)
    except (AssertionError, VerdictUnavailable) as exc:
        raise VerdictUnavailable(
            f"positive control did not pass on this target and flow, so no refusal can be trusted: {exc}"
        ) from None


def require_refusal(attempt: Attempt, *, control: Attempt) -> str:
    """A negative check: the target really refused, and was shown up and accepting in this run."""
    require_control(control)
    require_usable(attempt)
    if not attempt.outcome.is_refusal:
        raise AssertionError(f"the target did not refuse ({_describe(attempt)})")
    return f"refused ({_describe(attempt)}); positive control accepted with HTTP {control.http_status}"


def require_fhir_acceptance(attempt: Attempt) -> str:
    """A positive check: a 2xx FHIR answer."""
    require_usable(attempt)
    if attempt.outcome is not Outcome.ACCEPTED:
        raise AssertionError(f"the target refused a call it must accept ({_describe(attempt)})")
    status = attempt.http_status or 0
    if not 200 <= status < 300:
        raise AssertionError(f"accepted at TLS level but no successful FHIR answer ({_describe(attempt)})")
    media = (attempt.content_type or "").split(";", 1)[0].strip().lower()
    if media not in FHIR_MEDIA_TYPES:
        raise AssertionError(f"answer is not FHIR JSON (Content-Type {attempt.content_type!r})")
    return f"accepted ({_describe(attempt)})"


def require_certificate_request(reach: Reachability) -> str:
    """The reachability control: the server answered TLS and asked for a client certificate."""
    require_usable(reach.bare)
    info = reach.request
    if not info.requested:
        raise AssertionError(
            f"the server completed a handshake without asking for a client certificate ({info.evidence})"
        )
    return f"client certificate requested ({info.evidence}); CA names: {len(info.ca_names)}"


def require_refusal_after_reachability(attempt: Attempt, *, reach: Reachability) -> str:
    """A negative check on a server that trusts the real IGC chain: gated on the reachability control."""
    try:
        require_certificate_request(reach)
    except (AssertionError, VerdictUnavailable) as exc:
        raise VerdictUnavailable(
            f"reachability control did not pass on this target, so no refusal can be trusted: {exc}"
        ) from None
    require_usable(attempt)
    if not attempt.outcome.is_refusal:
        raise AssertionError(f"the target did not refuse ({_describe(attempt)})")
    return f"refused ({_describe(attempt)}); reachability control: {reach.request.evidence}"


CHAIN_REFUSAL_STATUSES = frozenset({400, 495, 496})


def require_chain_refusal_after_reachability(attempt: Attempt, *, reach: Reachability) -> str:
    """A refusal that must come from certificate verification, not from the subject check.

    With a real chain, the certificates the suite holds (the editor's own) never carry SAS's subject,
    so a 401/403 may only mean "wrong subject" and would pass for the wrong reason. Only a TLS refusal,
    or an HTTP answer that reports a certificate-verification failure (nginx: 400/495/496), counts.
    """
    verdict = require_refusal_after_reachability(attempt, reach=reach)
    if attempt.outcome is Outcome.REFUSED_HTTP and attempt.http_status not in CHAIN_REFUSAL_STATUSES:
        raise AssertionError(
            f"refused only by the application (HTTP {attempt.http_status}) after the TLS layer accepted this "
            "certificate's chain: a refusal on the subject proves nothing about the chain check"
        )
    return verdict


def require_version_not_negotiated(attempt: Attempt, version: str) -> None:
    """A legacy version is refused only if the handshake at that version did not complete."""
    if attempt.tls_negotiated == version:
        raise AssertionError(
            f"the server completed a {version} handshake (refused later at HTTP level: {attempt.http_status}); "
            f"{version} must be refused during the handshake"
        )


def require_version_refused_in_handshake(
    attempt: Attempt, version: str, *, control: Attempt | None = None, reach: Reachability | None = None
) -> str:
    """A TLS version (``TLSv1``…) is refused during the handshake: the claim of a version scenario.

    Three rules, in this order, so none can pass for the wrong reason: the probe proves from its own
    ClientHello that it offered ``version`` (a probe that could not offer it is no refusal: no verdict);
    the target refused, gated on the positive control (look-alike target) or the reachability control
    (real chain); and no handshake completed at ``version`` before a later HTTP refusal.
    """
    if (control is None) == (reach is None):
        raise TypeError("give exactly one of control (look-alike target) or reach (real IGC chain)")
    require_usable(attempt)
    if attempt.client_hello_version != version:
        raise VerdictUnavailable(
            f"the probe meant to offer {version} but its ClientHello said {attempt.client_hello_version!r}"
        )
    if control is not None:
        verdict = require_refusal(attempt, control=control)
    else:
        assert reach is not None
        verdict = require_refusal_after_reachability(attempt, reach=reach)
    require_version_not_negotiated(attempt, version)
    return f"{version} offered by the probe's ClientHello, not negotiated; {verdict}"
