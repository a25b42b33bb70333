"""The FHIR side of the mock SAS platform: the Appointments it stores and how it answers them.

ANS IG "Service d'Accès aux Soins", INT_R03:

- ``POST /Appointment``: 201 + ``Location``; 400 when the body is not an Appointment in JSON, 422
  when the minimal shape is wrong (identifier, start, end, status, participant), 409 when an
  Appointment with the same identifier was already created, 415 for a non-JSON media type.
- every Appointment is validated by the FHIR engine against FrAppointmentSAS
  (``fhir.validation.validate_resource``): a blocking finding is a 422 whose OperationOutcome lists the
  findings (one issue each, the path as ``expression``), as SAS's validator would refuse it;
- ``PUT /Appointment?identifier=system|value``: 200 + ``Location`` when that identifier was created
  on this mock; **404** when it never was. SAS only knows appointments the editor created, so an
  update that designates anything else is an error, not an implicit creation (unlike the regulator
  accounts of the server role, where a PUT on an unknown account creates it). 400 when the body's
  identifiers do not include the one designated. The search parameter is taken as ``identifier`` (FHIR's
  name, which the IG's CapabilityStatements declare and the regulator page uses) or ``Identifier`` (what
  the appointments page writes, NOTES.md item 1): SAS's platform is the IG's reference reading and an
  editor that copied the page must not fail for it; both at once is a 400.
- ``GET /metadata``: a CapabilityStatement (reachability); anything else: 404 or 405.

Errors are OperationOutcome resources. ``appointment_problems`` and ``identifier_tokens`` are also what
the client rules judge a recorded request by, so the mock's answer and the verdict cannot disagree on
what a minimal Appointment is. No TLS here: the store answers a ``RecordedRequest``, whoever read it.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from recette_sas.client.presentation import RecordedRequest
from recette_sas.fhir.profiles.fr_appointment_sas import URL as APPOINTMENT_PROFILE
from recette_sas.fhir.regulators import outcome_of
from recette_sas.fhir.validation import validate_resource

FHIR_JSON: Final = "application/fhir+json"
ACCEPTED_BODY_TYPES: Final = frozenset({"application/fhir+json", "application/json+fhir", "application/json"})
"""The IG's prose says ``application/json+fhir``, its CapabilityStatements ``application/fhir+json``."""
APPOINTMENT_STATUSES: Final = ("booked", "fulfilled", "noshow", "cancelled")
PARTICIPANT_STATUSES: Final = ("accepted", "declined", "tentative", "needs-action")


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def appointment_problems(resource: Any) -> list[str]:
    """Why ``resource`` is not a minimal SAS Appointment (empty when it is one).

    Minimal shape: resourceType Appointment; identifier (system and value); start and end as FHIR
    instants with a time zone, end not before start; status booked/fulfilled/noshow/cancelled; at
    least one participant with an actor and a status.
    """
    if not isinstance(resource, dict):
        return [f"the body is not a JSON object ({type(resource).__name__})"]
    if resource.get("resourceType") != "Appointment":
        return [f"resourceType is {resource.get('resourceType')!r}, expected 'Appointment'"]
    problems: list[str] = []
    identifiers = resource.get("identifier")
    if not isinstance(identifiers, list) or not identifiers:
        problems.append("identifier is missing (a list with at least one system and value is expected)")
    elif not all(
        isinstance(i, dict)
        and isinstance(i.get("value"), str)
        and i["value"].strip()
        and isinstance(i.get("system"), str)
        and i["system"].strip()
        for i in identifiers
    ):
        problems.append("every identifier needs a non-empty system and value")
    status = resource.get("status")
    if status not in APPOINTMENT_STATUSES:
        problems.append(f"status is {status!r}, expected one of {', '.join(APPOINTMENT_STATUSES)}")
    start, end = _instant(resource.get("start")), _instant(resource.get("end"))
    if start is None:
        problems.append(f"start is {resource.get('start')!r}, expected an instant with a time zone")
    if end is None:
        problems.append(f"end is {resource.get('end')!r}, expected an instant with a time zone")
    if start is not None and end is not None and end < start:
        problems.append("end is before start")
    participants = resource.get("participant")
    if not isinstance(participants, list) or not participants:
        problems.append("participant is missing (at least one is expected)")
    else:
        for index, participant in enumerate(participants):
            if not isinstance(participant, dict) or not isinstance(participant.get("actor"), dict):
                problems.append(f"participant[{index}] has no actor")
            elif participant.get("status") not in PARTICIPANT_STATUSES:
                problems.append(
                    f"participant[{index}].status is {participant.get('status')!r}, "
                    f"expected one of {', '.join(PARTICIPANT_STATUSES)}"
                )
    return problems


def identifier_tokens(resource: Any) -> tuple[str, ...]:
    """The ``system|value`` tokens of a resource's identifiers."""
    if not isinstance(resource, dict) or not isinstance(resource.get("identifier"), list):
        return ()
    return tuple(
        f"{i.get('system', '')}|{i['value']}"
        for i in resource["identifier"]
        if isinstance(i, dict) and isinstance(i.get("value"), str)
    )


Answer = tuple[int, dict[str, Any], tuple[tuple[str, str], ...]]
"""(status, FHIR resource, extra headers)."""


def operation_outcome(diagnostics: str, *, code: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


def _error(status: int, diagnostics: str, *, code: str) -> Answer:
    return status, operation_outcome(diagnostics, code=code), ()


@dataclass
class _Stored:
    resource_id: str
    version: int
    resource: dict[str, Any]


class AppointmentStore:
    """The appointments created on one mock; thread-safe."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._by_token: dict[str, _Stored] = {}
        self._lock = threading.Lock()

    def answer(self, request: RecordedRequest) -> Answer:
        path = request.path.rstrip("/") or "/"
        if path == "/metadata":
            if request.method != "GET":
                return _error(405, "only GET is supported on /metadata", code="not-supported")
            return 200, _capability_statement(self.base_url), ()
        if path != "/Appointment":
            return _error(404, f"no such resource path: {request.path}", code="not-found")
        if request.method == "POST":
            return self._create(request)
        if request.method == "PUT":
            return self._update(request)
        return _error(
            405,
            f"{request.method} is not supported on /Appointment (POST creates, PUT updates)",
            code="not-supported",
        )

    @staticmethod
    def _parse(request: RecordedRequest) -> Answer | dict[str, Any]:
        """The Appointment in the body, or the error answer."""
        if request.media_type not in ACCEPTED_BODY_TYPES:
            return _error(
                415,
                f"unsupported Content-Type {request.header('content-type')!r} (expected {FHIR_JSON})",
                code="not-supported",
            )
        resource = request.json()
        if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
            found = resource.get("resourceType") if isinstance(resource, dict) else "no JSON object"
            return _error(400, f"expected an Appointment resource in JSON, got {found!r}", code="invalid")
        problems = appointment_problems(resource)
        if problems:
            return _error(422, "; ".join(problems), code="invariant")
        blocking = [f for f in validate_resource(resource, APPOINTMENT_PROFILE) if f.blocking]
        if blocking:
            return 422, outcome_of(blocking, "not an FrAppointmentSAS"), ()
        return resource

    def _create(self, request: RecordedRequest) -> Answer:
        if request.query:
            return _error(
                400,
                "POST /Appointment takes no search parameter (an update is PUT ?identifier=)",
                code="invalid",
            )
        parsed = self._parse(request)
        if isinstance(parsed, tuple):
            return parsed
        tokens = identifier_tokens(parsed)
        with self._lock:
            if any(t in self._by_token for t in tokens):
                return _error(409, "an Appointment with this identifier exists", code="duplicate")
            stored = _Stored(uuid.uuid4().hex, 1, {})
            stored.resource = _with_meta(parsed, stored)
            for token in tokens:
                self._by_token[token] = stored
            return 201, stored.resource, (("Location", self._location(stored)),)

    def _update(self, request: RecordedRequest) -> Answer:
        lower, capital = request.query_values("identifier"), request.query_values("Identifier")
        if lower and capital:
            return _error(400, "PUT /Appointment takes identifier= or Identifier=, not both", code="invalid")
        wanted = lower or capital
        if len(wanted) != 1 or "|" not in wanted[0]:
            return _error(
                400,
                "PUT /Appointment needs exactly one identifier=system|value search parameter",
                code="invalid",
            )
        system, _, value = wanted[0].partition("|")
        if not system or not value:
            return _error(400, "identifier needs both a system and a value", code="invalid")
        parsed = self._parse(request)
        if isinstance(parsed, tuple):
            return parsed
        if wanted[0] not in identifier_tokens(parsed):
            return _error(
                400,
                "the Appointment's identifiers do not include the one the update designates",
                code="invalid",
            )
        with self._lock:
            stored = self._by_token.get(wanted[0])
            if stored is None:
                return _error(
                    404, f"no Appointment was created with identifier {wanted[0]}", code="not-found"
                )
            stored.version += 1
            stored.resource = _with_meta(parsed, stored)
            return 200, stored.resource, (("Location", self._location(stored)),)

    def _location(self, stored: _Stored) -> str:
        return f"{self.base_url}/Appointment/{stored.resource_id}/_history/{stored.version}"


def _with_meta(resource: Mapping[str, Any], stored: _Stored) -> dict[str, Any]:
    meta = dict(resource["meta"]) if isinstance(resource.get("meta"), dict) else {}
    meta.update(versionId=str(stored.version), lastUpdated=now_iso())
    return {**resource, "id": stored.resource_id, "meta": meta}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now_iso(),
        "kind": "instance",
        "software": {"name": "recette-sas mock SAS platform"},
        "implementation": {"description": "Mock SAS platform of the recette-sas suite", "url": base},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "security": {"description": "Mutual TLS with IGC Santé certificates"},
                "resource": [
                    {
                        "type": "Appointment",
                        "interaction": [{"code": "create"}, {"code": "update"}],
                        "conditionalUpdate": True,
                        "searchParam": [{"name": "identifier", "type": "token"}],
                    }
                ],
            }
        ],
    }
