"""Verdict rules of the regulator accounts flow (INT_R02): what the editor answered to SAS's requests.

Every rule is gated as ``server.rules`` gates a refusal: the positive control of the same target, flow
and ANS environment must have been accepted in this run (``require_control``), and every answer judged
must be usable (``require_usable``: a target down, a stall or a probe fault is "no verdict", never a
pass nor a failure). Then the answer itself is judged, never only its family: a creation is 201 with
``Location: [base]/Practitioner/{id}``; an update is 200 (or 201 when it created the account) with a
``Location``; a rejection is a 4xx with an OperationOutcome (a 5xx says the server failed, not that it
refused the request: advisory level, since the IG's page allows "4XX ou 5XX").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from recette_sas.errors import ProbeFault
from recette_sas.server.rules import require_control, require_usable
from recette_sas.verdict import Attempt, Outcome

_LOCATION = re.compile(
    r"(?:^|/)Practitioner/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?/?$"
)
_OUTCOME = re.compile(r'"resourceType"\s*:\s*"OperationOutcome"')
EXCERPT_LIMIT = 500
"""What the probe keeps of a body (``probe.attempt.EXCERPT_CHARS``): a longer answer cannot be read back."""


def _said(attempt: Attempt) -> str:
    status = attempt.http_status if attempt.http_status is not None else attempt.outcome.value
    location = f", Location {attempt.location}" if attempt.location else ", no Location"
    return f"{attempt.method} {attempt.url} → {status}{location}"


def _answered(attempt: Attempt, what: str) -> int:
    """The HTTP status of a usable attempt; a TLS refusal after the control passed is a failure."""
    require_usable(attempt)
    if attempt.http_status is None or attempt.outcome is Outcome.REFUSED_TLS:
        raise AssertionError(f"{what}: no HTTP answer ({attempt.outcome.value}: {attempt.reason})")
    return attempt.http_status


def account_id(attempt: Attempt) -> str | None:
    """The account id a ``Location`` designates, or ``None``."""
    match = _LOCATION.search((attempt.location or "").split("?", 1)[0])
    return match["id"] if match else None


def _gate(control: Attempt, attempts: Sequence[Attempt]) -> None:
    require_control(control)
    for attempt in attempts:
        require_usable(attempt)


def require_created(attempt: Attempt, *, control: Attempt, what: str = "the creation") -> str:
    """``POST [base]/Practitioner`` → 201 Created with ``Location: [base]/Practitioner/{id}``."""
    _gate(control, (attempt,))
    status = _answered(attempt, what)
    if status != 201:
        raise AssertionError(f"{what} was answered {status}, the IG asks for 201 Created ({_said(attempt)})")
    if account_id(attempt) is None:
        raise AssertionError(
            f"{what} was answered 201 without a Location [base]/Practitioner/{{id}} ({_said(attempt)})"
        )
    return f"{what}: {_said(attempt)}"


def require_updated(attempt: Attempt, *, control: Attempt, what: str = "the update") -> str:
    """A conditional update → 200 (201 when it created the account) with a ``Location`` on the account."""
    _gate(control, (attempt,))
    status = _answered(attempt, what)
    if status not in (200, 201):
        raise AssertionError(
            f"{what} was answered {status}: a conditional update succeeds with 200 (201 when it creates) "
            f"({_said(attempt)})"
        )
    if account_id(attempt) is None:
        raise AssertionError(
            f"{what} was answered {status} without a Location on the account ({_said(attempt)})"
        )
    return f"{what}: {_said(attempt)}"


def require_setup(attempts: Sequence[tuple[str, Attempt]], *, control: Attempt) -> str:
    """The steps that only prepare the one a scenario judges (a creation before an update) succeeded: 2xx.
    They are judged no further, so that one defect fails the scenarios that claim it and no other."""
    _gate(control, [a for _, a in attempts])
    for name, attempt in attempts:
        status = _answered(attempt, name)
        if not 200 <= status < 300:
            raise AssertionError(f"the preparatory step « {name} » failed: {_said(attempt)}")
    return "; ".join(f"{name}: {_said(a)}" for name, a in attempts) or "no preparatory step"


def require_same_account(first: Attempt, second: Attempt, *, control: Attempt) -> str:
    """The same PUT twice: both succeed, the second finds the account the first created (same id, not 201)."""
    verdicts = [
        require_updated(first, control=control, what="the first update"),
        require_updated(second, control=control, what="the same update again"),
    ]
    if second.http_status == 201 or account_id(first) != account_id(second):
        raise AssertionError(
            "repeating the same conditional update created another account: "
            f"{_said(first)}, then {_said(second)} (the IG asks for an idempotent interface)"
        )
    return "; ".join(verdicts) + f"; the same account {account_id(first)} both times"


def _is_outcome(attempt: Attempt) -> bool:
    try:
        body = json.loads(attempt.body_excerpt)
    except ValueError:
        return bool(_OUTCOME.search(attempt.body_excerpt))
    return isinstance(body, dict) and body.get("resourceType") == "OperationOutcome"


def require_error_with_outcome(attempt: Attempt, *, control: Attempt, what: str) -> str:
    """Refused with an HTTP error status (4xx or 5xx, as the IG's page allows) and an OperationOutcome."""
    _gate(control, (attempt,))
    status = _answered(attempt, what)
    if status < 400:
        raise AssertionError(f"{what} was accepted ({_said(attempt)}): it must be refused")
    if not _is_outcome(attempt):
        raise AssertionError(f"{what} was refused {status} without an OperationOutcome ({_said(attempt)})")
    return f"{what} refused with an OperationOutcome: {_said(attempt)}"


def require_client_error(
    attempt: Attempt, *, control: Attempt, what: str, statuses: tuple[int, ...] | None = None
) -> str:
    """Refused as the request's fault: a 4xx (``statuses`` when given) with an OperationOutcome."""
    verdict = require_error_with_outcome(attempt, control=control, what=what)
    status = attempt.http_status or 0
    wanted = statuses or tuple(range(400, 500))
    if status not in wanted:
        expected = " or ".join(map(str, statuses)) if statuses else "4xx"
        raise AssertionError(
            f"{what} was answered {status}, expected {expected}: a 5xx says the server failed, "
            f"not that it refused the request ({_said(attempt)})"
        )
    return verdict


def _read_back(attempt: Attempt) -> tuple[dict[str, Any] | None, str]:
    try:
        body = json.loads(attempt.body_excerpt)
    except ValueError:
        return None, attempt.body_excerpt
    return (body if isinstance(body, dict) else None), attempt.body_excerpt


def _resources(body: dict[str, Any]) -> list[dict[str, Any]]:
    if body.get("resourceType") == "Practitioner":
        return [body]
    entries = body.get("entry") if body.get("resourceType") == "Bundle" else None
    return [
        e["resource"]
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, dict)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType") == "Practitioner"
    ]


def require_read_back(attempt: Attempt, *, control: Attempt, expected: dict[str, Any], token: str) -> str:
    """``GET [base]/Practitioner?identifier=token`` returns one account whose ``active``, name and e-mail
    are what SAS sent last. An answer longer than the probe keeps cannot be read: no verdict."""
    _gate(control, (attempt,))
    status = _answered(attempt, "the read back")
    if status != 200:
        raise AssertionError(f"the read back was answered {status} ({_said(attempt)})")
    body, text = _read_back(attempt)
    if body is None:
        if len(text) >= EXCERPT_LIMIT:
            raise ProbeFault(
                f"the read back answer is longer than the {EXCERPT_LIMIT} characters the probe keeps: "
                "the suite cannot compare it, no verdict"
            )
        raise AssertionError(f"the read back answer is not JSON: {text[:200]!r}")
    found = _resources(body)
    if len(found) != 1:
        raise AssertionError(
            f"the read back of {token} found {len(found)} account(s), expected 1 ({_said(attempt)})"
        )
    got = found[0]
    differences = [
        f"{key}: read {_show(got, key)}, SAS sent {_show(expected, key)}"
        for key in ("active", "name", "telecom")
        if _show(got, key) != _show(expected, key)
    ]
    if differences:
        raise AssertionError(f"the account read back differs from what SAS sent: {'; '.join(differences)}")
    return f"read back {token}: active, name and e-mail are what SAS sent ({_said(attempt)})"


def _show(resource: dict[str, Any], key: str) -> str:
    value = resource.get(key, True if key == "active" else None)
    if key == "name" and isinstance(value, list):
        value = [(n.get("family"), tuple(n.get("given", ()))) for n in value if isinstance(n, dict)]
    if key == "telecom" and isinstance(value, list):
        value = sorted(
            t.get("value", "") for t in value if isinstance(t, dict) and t.get("system") == "email"
        )
    return json.dumps(value, ensure_ascii=False, default=str)
