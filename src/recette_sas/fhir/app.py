"""The FHIR side of the reference editor server: just enough of the SAS flows to answer like an editor.

The app knows nothing about TLS or sockets: it maps (method, target, headers, body) to a
``FhirResponse``, so the same object can sit behind the embedded pyOpenSSL server or, later, behind
nginx, HAProxy or Apache over plain HTTP. Authentication is not its business: whoever calls it has
already decided the client may talk to it.

Flows served (ANS FHIR IG "Service d'Accès aux Soins", R4, JSON):

- ``GET /metadata``: CapabilityStatement (the harmless reachability request);
- ``GET /Slot?...``: the seeded agenda searched (``fhir.slots``, ``fhir.seed``): a ``searchset`` Bundle
  with ``total`` (empty is an answer, never 404), 400 + OperationOutcome for a malformed search;
- ``GET /Schedule?...``: the SOS Médecins search (``fhir.schedules``, ``fhir.seed_use_cases``): the
  associations' Schedules with their Slots, Locations and Organizations;
- ``/Practitioner``: the regulator accounts (INT_R02), answered by ``fhir.regulators.RegulatorStore``.

Errors are OperationOutcome resources with the status the IG gives (400 malformed, 404 unknown).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recette_sas.fhir import schedules, slots
from recette_sas.fhir.regulators import RegulatorStore

FHIR_JSON = "application/fhir+json"
"""The media type every answer carries (the IG's CapabilityStatements use it)."""

ACCEPTED_BODY_TYPES = frozenset({"application/fhir+json", "application/json+fhir", "application/json"})
"""Request body types accepted: the IG's prose says ``application/json+fhir``, its
CapabilityStatements ``application/fhir+json``; plain JSON costs nothing to accept."""


@dataclass(frozen=True)
class FhirResponse:
    """One HTTP answer: status, headers (without Content-Length, the transport adds it) and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def json(self) -> Any:
        return json.loads(self.body)


def operation_outcome(
    diagnostics: str, *, code: str = "processing", severity: str = "error"
) -> dict[str, Any]:
    """An OperationOutcome with one issue; ``code`` is a FHIR IssueType (``security``, ``invalid``…)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def fhir_response(
    status: int, resource: Mapping[str, Any], *, headers: tuple[tuple[str, str], ...] = ()
) -> FhirResponse:
    body = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return FhirResponse(status, (("Content-Type", FHIR_JSON), *headers), body)


def error_response(status: int, diagnostics: str, *, code: str = "processing") -> FhirResponse:
    return fhir_response(status, operation_outcome(diagnostics, code=code))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class FhirApp:
    """In-memory, thread-safe editor app; one instance per server, state lives as long as it does.

    ``base_url`` is what ``Location`` headers start with. When ``None`` it is taken from the
    request's ``Host`` header with ``scheme``, which is what a reverse proxy in front needs.
    """

    base_url: str | None = None
    scheme: str = "https"
    defect: str | None = None
    """One deliberate mistake of the Slot search (``slots.FHIR_DEFECTS``), for the broken variants."""
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    regulators: RegulatorStore = field(default_factory=RegulatorStore)

    def __call__(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
    ) -> FhirResponse:
        lowered = {k.lower(): v for k, v in headers.items()}
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = parse_qs(parts.query, keep_blank_values=True)
        base = self._base(lowered)
        method = method.upper()

        if path == "/metadata":
            return self._only(method, "GET") or fhir_response(200, _capability_statement(base))
        if path == "/Slot":
            return self._only(method, "GET") or self._search_slots(base, target)
        if path == "/Schedule":
            return self._only(method, "GET") or self._search_schedules(base, target)
        if path == "/Practitioner" or path.startswith("/Practitioner/"):
            status, resource, extra = self.regulators.answer(method, path, query, lowered, body, base)
            return fhir_response(status, resource, headers=extra)
        return error_response(404, f"no such resource path: {path}", code="not-found")

    @property
    def practitioner_count(self) -> int:
        return self.regulators.count

    def _base(self, headers: Mapping[str, str]) -> str:
        if self.base_url is not None:
            return self.base_url.rstrip("/")
        host = headers.get("host", "").strip()
        return f"{self.scheme}://{host}" if host else ""

    @staticmethod
    def _only(method: str, allowed: str) -> FhirResponse | None:
        if method == allowed:
            return None
        return error_response(405, f"{method} is not supported here (only {allowed})", code="not-supported")

    def _search_slots(self, base: str, target: str) -> FhirResponse:
        status, content_type, body = slots.search(base, target, defect=self.defect)
        return FhirResponse(status, (("Content-Type", content_type),), body)

    def _search_schedules(self, base: str, target: str) -> FhirResponse:
        status, content_type, body = schedules.search(base, target, defect=self.defect)
        return FhirResponse(status, (("Content-Type", content_type),), body)


def _capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _now(),
        "kind": "instance",
        "software": {"name": "recette-sas reference editor server"},
        "implementation": {"description": "Reference editor server of the recette-sas suite", "url": base},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "application/json+fhir"],
        "rest": [
            {
                "mode": "server",
                "security": {"description": "Mutual TLS with IGC Santé certificates (CN and OU checked)"},
                "resource": [
                    {
                        "type": "Slot",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [
                            {"name": "start", "type": "date"},
                            {"name": "status", "type": "token"},
                            {"name": "schedule.actor:Practitioner.identifier", "type": "token"},
                        ],
                        "searchInclude": [
                            "Slot:schedule",
                            "Schedule:actor",
                            "Slot:service-type-reference",
                            "HealthcareService:organization",
                        ],
                    },
                    {
                        "type": "Schedule",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [{"name": "actor:Location.organization.identifier", "type": "token"}],
                        "searchInclude": ["Schedule:actor:Location", "Location:organization"],
                        "searchRevInclude": ["Slot:schedule"],
                    },
                    {
                        "type": "Practitioner",
                        "interaction": [{"code": "create"}, {"code": "update"}, {"code": "read"}],
                        "conditionalUpdate": True,
                        "searchParam": [{"name": "identifier", "type": "token"}],
                    },
                ],
            }
        ],
    }
