"""Verdict rules: when an attempt proves what a scenario claims, and when nothing can be concluded.

A refusal counts only if the positive control for the same target, flow and ANS environment was
accepted in the same run; an unreachable target or a probe that failed on its own side is never a
refusal. ``AssertionError`` means the target is non-conformant (Allure *failed*);
``VerdictUnavailable`` means the run could not judge (Allure *broken*).
"""

from __future__ import annotations

from .verdict import Attempt, Outcome, VerdictUnavailable

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
