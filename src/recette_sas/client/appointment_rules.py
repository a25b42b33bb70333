"""Verdict rules of the appointment flows (INT_R03, editor → SAS), judged functionally.

The mock SAS platform validated each Appointment with the FHIR engine and answered as SAS does; these
rules judge both what the editor sent (its findings against FrAppointmentSAS, the same engine and the
same finding format as the Slot flow) and what the platform answered: an update the platform answered
404 or 422 is not a passing update, whatever its shape. ``AssertionError``: the client is
non-conformant; ``VerdictUnavailable``: nothing of the flow arrived, nothing to judge.
"""

from __future__ import annotations

from collections.abc import Callable

from recette_sas.client.presentation import Presentation
from recette_sas.client.rules import ExchangeLike, creation_of, require_flow, update_of
from recette_sas.fhir.findings import Finding
from recette_sas.fhir.profiles.fr_appointment_sas import URL as PROFILE
from recette_sas.fhir.validation import validate_resource
from recette_sas.verdict import VerdictUnavailable

SAS_STATUSES = ("booked", "fulfilled", "noshow", "cancelled")
"""What the page says SAS's platform uses (« La plateforme numérique SAS exploite à date les valeurs suivantes »)."""

OPERATOR_RULES = frozenset(
    {
        "FHIR-APPT-OPERATOR",
        "FHIR-APPT-OPERATOR-IDENTIFIER",
        "FHIR-APPT-OPERATOR-REFERENCE",
        "FHIR-APPT-OPERATOR-KIND",
        "FHIR-APPT-OPERATOR-UUID",
    }
)
PARTICIPANT_RULES = frozenset(
    {
        "FHIR-APPT-PARTICIPANT-PS",
        "FHIR-APPT-PARTICIPANT-IDENTIFIER",
        "FHIR-APPT-PARTICIPANT-RPPS",
        "FHIR-APPT-PARTICIPANT-STATUS",
    }
)
ACCEPTED_RULES = frozenset({"FHIR-APPT-PARTICIPANT-ACCEPTED"})


def findings_of(presentation: Presentation) -> list[Finding]:
    """The engine's findings on the Appointment a request carried (none when there is no JSON object)."""
    assert presentation.request is not None
    resource = presentation.request.json()
    if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
        return []
    return validate_resource(resource, PROFILE)


def _appointments(exchange: ExchangeLike, flow: str) -> list[Presentation]:
    """The requests of ``flow`` that carried an Appointment, whatever their path or method (those are
    the flow scenarios' business: a resource sent to the wrong place is still judged on its content)."""
    found = [
        p
        for p in require_flow(exchange, flow)
        if p.request is not None
        and isinstance(p.request.json(), dict)
        and p.request.json().get("resourceType") == "Appointment"
    ]
    if not found:
        raise VerdictUnavailable(f"no Appointment was sent in this flow ({exchange.label}): nothing to judge")
    return found


def _judge(exchange: ExchangeLike, flow: str, keep: Callable[[Finding], bool], what: str) -> str:
    sent = _appointments(exchange, flow)
    problems = []
    for p in sent:
        assert p.request is not None
        hits = [f for f in findings_of(p) if keep(f)]
        if hits:
            listed = "; ".join(f"{f.rule_id} {f.path}: {f.message}" for f in hits)
            problems.append(f"{p.request.line()} (answered {p.status}): {listed}")
    if problems:
        raise AssertionError(f"{what}: " + " | ".join(problems))
    return f"{what}: {len(sent)} Appointment(s), no finding"


def require_profile(exchange: ExchangeLike, flow: str) -> str:
    """Every Appointment of the flow has no blocking finding against FrAppointmentSAS."""
    return _judge(exchange, flow, lambda f: f.blocking, "conforms to FrAppointmentSAS")


def require_operator(exchange: ExchangeLike, flow: str) -> str:
    """Every Appointment names the regulator who booked (FrAppointmentOperator with its identifier)."""
    return _judge(exchange, flow, lambda f: f.rule_id in OPERATOR_RULES and f.blocking, "regulator named")


def require_participant(exchange: ExchangeLike, flow: str) -> str:
    """The practitioner participant is identified by RPPS or ADELI, with a status SAS takes."""
    return _judge(
        exchange, flow, lambda f: f.rule_id in PARTICIPANT_RULES and f.blocking, "practitioner participant"
    )


def require_participant_accepted(exchange: ExchangeLike, flow: str) -> str:
    """The participant status is ``accepted`` (« ce champ aura systématiquement la valeur accepted »)."""
    return _judge(exchange, flow, lambda f: f.rule_id in ACCEPTED_RULES, "participant accepted")


def _answer(p: Presentation) -> str:
    excerpt = p.answer_excerpt[:300]
    return f"answered {p.status}" + (f" ({excerpt})" if excerpt and p.status not in (200, 201) else "")


def require_creation_accepted(exchange: ExchangeLike) -> str:
    """The platform answered the creation 201 Created (it validated the Appointment)."""
    creation = creation_of(exchange)
    if creation is None or creation.request is None:
        raise AssertionError("no creation (POST [base]/Appointment) reached the platform")
    if creation.status != 201:
        raise AssertionError(
            f"the platform did not accept the creation: {creation.request.line()} {_answer(creation)}"
        )
    return f"{creation.request.line()} {_answer(creation)}"


def require_update_accepted(exchange: ExchangeLike) -> str:
    """The platform answered the update 200 OK: a 4xx (unknown appointment, invalid resource) is a failure."""
    update = update_of(exchange)
    if update is None or update.request is None:
        raise AssertionError("no update after the creation reached the platform")
    if update.status != 200:
        raise AssertionError(
            f"the platform did not accept the update: {update.request.line()} {_answer(update)}"
        )
    return f"{update.request.line()} {_answer(update)}"


def require_status_changed(exchange: ExchangeLike) -> str:
    """The update carries a status SAS uses, changed from the creation's (a cancellation, say)."""
    creation, update = creation_of(exchange), update_of(exchange)
    if creation is None or creation.request is None or update is None or update.request is None:
        raise AssertionError("the platform did not receive a creation followed by an update")
    before, after = creation.request.json(), update.request.json()
    old = before.get("status") if isinstance(before, dict) else None
    new = after.get("status") if isinstance(after, dict) else None
    if new not in SAS_STATUSES:
        raise AssertionError(f"the update's status is {new!r}, not one SAS uses ({', '.join(SAS_STATUSES)})")
    if new == old:
        raise AssertionError(
            f"the update carries the creation's status {old!r}: it changes nothing SAS shows"
        )
    return f"status {old} → {new} (answered {update.status})"


__all__ = [
    "findings_of",
    "require_creation_accepted",
    "require_operator",
    "require_participant",
    "require_participant_accepted",
    "require_profile",
    "require_status_changed",
    "require_update_accepted",
]
