"""The FHIR side of the reference editor server: just enough of the SAS flows to answer like an editor.

The app knows nothing about TLS or sockets: it maps (method, target, headers, body) to a
``FhirResponse``, so the same object can sit behind the embedded pyOpenSSL server or, later, behind
nginx, HAProxy or Apache over plain HTTP. Authentication is not its business: whoever calls it has
already decided the client may talk to it.

Flows served (ANS FHIR IG "Service d'Accès aux Soins", R4, JSON):

- ``GET /metadata``: CapabilityStatement (the harmless reachability request);
- ``GET /Slot?...``: the seeded agenda searched (``fhir.slots``, ``fhir.seed``): a ``searchset`` Bundle
  with ``total`` (empty is an answer, never 404), 400 + OperationOutcome for a malformed search;
- ``POST /Practitioner``: 201 + ``Location`` (INT_R02, account creation);
- ``PUT /Practitioner?identifier=system|value``: 200 if known, 201 if not (a PUT on an unknown
  account creates it, per ANS).

Errors are OperationOutcome resources with the status the IG gives (400 malformed, 404 unknown).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recette_sas.fhir import slots

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
class _Stored:
    resource: dict[str, Any]
    version: int


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
    _practitioners: dict[str, _Stored] = field(default_factory=dict, init=False, repr=False)

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
        if path == "/Practitioner":
            if method == "POST":
                return self._create_practitioner(base, lowered, body)
            if method == "PUT":
                return self._conditional_update(base, lowered, body, query)
            return error_response(405, f"{method} is not supported on /Practitioner", code="not-supported")
        if path.startswith("/Practitioner/"):
            return self._only(method, "GET") or self._read_practitioner(path.split("/")[2])
        return error_response(404, f"no such resource path: {path}", code="not-found")

    @property
    def practitioner_count(self) -> int:
        with self._lock:
            return len(self._practitioners)

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

    def _create_practitioner(self, base: str, headers: Mapping[str, str], body: bytes) -> FhirResponse:
        parsed = _parse_practitioner(headers, body)
        if isinstance(parsed, FhirResponse):
            return parsed
        with self._lock:
            return self._store_new(base, parsed)

    def _conditional_update(
        self, base: str, headers: Mapping[str, str], body: bytes, query: Mapping[str, list[str]]
    ) -> FhirResponse:
        wanted = [v for v in query.get("identifier", []) if v.strip()]
        if len(wanted) != 1:
            return error_response(
                400, "PUT /Practitioner needs exactly one identifier=system|value search parameter"
            )
        system, sep, value = wanted[0].rpartition("|")
        if not sep:
            system, value = "", wanted[0]
        if not value:
            return error_response(400, "identifier search parameter has an empty value", code="invalid")
        parsed = _parse_practitioner(headers, body)
        if isinstance(parsed, FhirResponse):
            return parsed
        with self._lock:
            matches = [
                pid
                for pid, stored in self._practitioners.items()
                if _has_identifier(stored.resource, system if sep else None, value)
            ]
            if len(matches) > 1:
                return error_response(
                    412, "identifier matches more than one Practitioner", code="multiple-matches"
                )
            if not matches:
                # Keep the searched identifier so that the next PUT on it finds this account.
                if not _has_identifier(parsed, system if sep else None, value):
                    extra = {"system": system, "value": value} if sep else {"value": value}
                    parsed = {**parsed, "identifier": [*_identifiers(parsed), extra]}
                return self._store_new(base, parsed)
            pid = matches[0]
            stored = self._practitioners[pid]
            stored.version += 1
            stored.resource = _with_meta(parsed, pid, stored.version)
            location = f"{base}/Practitioner/{pid}/_history/{stored.version}"
            return fhir_response(200, stored.resource, headers=(("Location", location),))

    def _store_new(self, base: str, resource: dict[str, Any]) -> FhirResponse:
        pid = uuid.uuid4().hex
        stored = _Stored(_with_meta(resource, pid, 1), 1)
        self._practitioners[pid] = stored
        location = f"{base}/Practitioner/{pid}/_history/1"
        return fhir_response(201, stored.resource, headers=(("Location", location),))

    def _read_practitioner(self, pid: str) -> FhirResponse:
        with self._lock:
            stored = self._practitioners.get(pid)
            if stored is None:
                return error_response(404, f"Practitioner/{pid} is not known", code="not-found")
            return fhir_response(200, stored.resource)


def _parse_practitioner(headers: Mapping[str, str], body: bytes) -> dict[str, Any] | FhirResponse:
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type and content_type not in ACCEPTED_BODY_TYPES:
        return error_response(
            415, f"unsupported Content-Type {content_type!r} (expected application/fhir+json)"
        )
    try:
        resource = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return error_response(400, f"body is not valid JSON: {exc}", code="invalid")
    if not isinstance(resource, dict) or resource.get("resourceType") != "Practitioner":
        found = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
        return error_response(400, f"expected a Practitioner resource, got {found!r}", code="invalid")
    return resource


def _identifiers(resource: Mapping[str, Any]) -> list[Any]:
    identifiers = resource.get("identifier")
    return list(identifiers) if isinstance(identifiers, list) else []


def _has_identifier(resource: Mapping[str, Any], system: str | None, value: str) -> bool:
    return any(
        isinstance(i, dict) and i.get("value") == value and (system is None or i.get("system", "") == system)
        for i in _identifiers(resource)
    )


def _with_meta(resource: Mapping[str, Any], pid: str, version: int) -> dict[str, Any]:
    previous = resource.get("meta")
    meta = dict(previous) if isinstance(previous, dict) else {}
    meta.update(versionId=str(version), lastUpdated=_now())
    return {**resource, "id": pid, "meta": meta}


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
                        "searchInclude": ["Slot:schedule", "Schedule:actor"],
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
