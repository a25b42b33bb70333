"""The regulator accounts of the reference editor server (INT_R02, SAS → editor), right or broken on purpose.

ANS IG "Service d'Accès aux Soins", page ``specifications_techniques-tous-gestion_regulateur.md``:

- ``POST /Practitioner``: 201 + ``Location: [base]/Practitioner/{id}``; a second creation of an account
  that is still active is a 409 (a 4xx: the request is at fault, not the server);
- ``PUT /Practitioner?identifier=system|value``: 200 + ``Location`` when the account exists; when it does
  not, the page asks the interface to be idempotent and to "se comporte[r] comme si une requête de création
  avait été émise": 201 + ``Location``, and the same PUT again finds that account (200, same id);
- ``active=false`` deactivates an account, ``active=true`` reactivates it; a creation that carries an
  identifier only deactivated accounts hold (an RPPS reattributed after deactivation) creates the new
  account and takes the identifier from the old ones, so that the next conditional update is unambiguous;
- ``GET /Practitioner?identifier=…`` (a ``searchset`` Bundle) and ``GET /Practitioner/{id}``: reads;
- an invalid resource: 400 (not JSON, not a Practitioner) or 422 (the engine's blocking findings that
  leave the account unmanageable), with an OperationOutcome listing the findings.

Every resource goes through ``fhir.validation.validate_resource`` against FrPractitionerRegul. The
reference refuses only on what makes the account unmanageable (no identifier, no value, a JSON type
FHIR forbids); the rest of SAS's content (``meta.source``, ``identifier.type``) is SAS's business, and
refusing it would refuse SAS's own calls for no gain to the account.

``defect`` breaks one behaviour on purpose (``DEFECTS``), for the broken variants of the reference
server. Answers are ``(status, resource, extra headers)``: the app turns them into HTTP.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from recette_sas.fhir.findings import Finding
from recette_sas.fhir.profiles.fr_practitioner_regul import URL as REGUL_URL
from recette_sas.fhir.validation import validate_resource

Answer = tuple[int, dict[str, Any], tuple[tuple[str, str], ...]]

ACCEPTED_BODY_TYPES: Final = frozenset({"application/fhir+json", "application/json+fhir", "application/json"})

DEFECTS: Final = {
    "creation-sans-location": "answers a creation 200 without Location",
    "maj-sans-creation": "refuses the update of an unknown account (404) instead of creating it",
    "doublon-accepte": "creates a second account for an identifier an active account holds",
    "erreur-500-si-invalide": "answers an invalid resource with 500",
    "desactivation-ignoree": "stores active=true whatever the update says",
}

UNMANAGEABLE: Final = frozenset(
    {"FHIR-REGUL-IDENTIFIER", "FHIR-REGUL-IDNPS-VALUE", "FHIR-REGUL-INTRN-VALUE", "FHIR-BASE-STRUCTURE"}
)
"""Blocking findings after which no account can be created or found again: the reference refuses those."""


def outcome_of(findings: list[Finding], diagnostics: str) -> dict[str, Any]:
    """An OperationOutcome: one issue per finding (path as ``expression``), or one with ``diagnostics``."""
    issues = [
        {
            "severity": "error" if f.blocking else "warning",
            "code": "invariant" if f.blocking else "informational",
            "diagnostics": f"{f.rule_id}: {f.message}",
            "expression": [f.path],
        }
        for f in findings
    ]
    return {
        "resourceType": "OperationOutcome",
        "issue": issues or [{"severity": "error", "code": "invalid", "diagnostics": diagnostics}],
    }


def _error(status: int, diagnostics: str, *, code: str = "invalid") -> Answer:
    issue = {"severity": "error", "code": code, "diagnostics": diagnostics}
    return status, {"resourceType": "OperationOutcome", "issue": [issue]}, ()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def tokens(resource: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``system|value`` of each identifier of ``resource``."""
    identifiers = resource.get("identifier")
    return tuple(
        f"{i.get('system', '')}|{i['value']}"
        for i in (identifiers if isinstance(identifiers, list) else [])
        if isinstance(i, dict) and isinstance(i.get("value"), str)
    )


def _matches(resource: Mapping[str, Any], wanted: str) -> bool:
    system, sep, value = wanted.rpartition("|")
    if not sep:
        return any(t.rpartition("|")[2] == wanted for t in tokens(resource))
    return any(t == f"{system}|{value}" for t in tokens(resource))


@dataclass
class _Account:
    resource: dict[str, Any]
    version: int


@dataclass
class RegulatorStore:
    """In-memory, thread-safe regulator accounts of one reference server."""

    defect: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _accounts: dict[str, _Account] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.defect is not None and self.defect not in DEFECTS:
            raise ValueError(f"unknown regulator defect {self.defect!r} (known: {', '.join(DEFECTS)})")

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._accounts)

    def answer(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        body: bytes,
        base: str,
    ) -> Answer:
        """``headers`` lower-cased; ``path`` without trailing slash; ``base`` what ``Location`` starts with."""
        if path.startswith("/Practitioner/"):
            if method != "GET":
                return _error(405, f"{method} is not supported on {path} (only GET)", code="not-supported")
            return self._read(path.split("/")[2])
        if method == "POST":
            return self._create(base, headers, body)
        if method == "PUT":
            return self._conditional_update(base, headers, body, query)
        if method == "GET":
            return self._search(base, query)
        return _error(405, f"{method} is not supported on /Practitioner", code="not-supported")

    # -- requests ------------------------------------------------------------------------------------

    def _parse(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any] | Answer:
        invalid = 500 if self.defect == "erreur-500-si-invalide" else None
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type and content_type not in ACCEPTED_BODY_TYPES:
            return _error(415, f"unsupported Content-Type {content_type!r} (expected application/fhir+json)")
        try:
            resource = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return _error(invalid or 400, f"body is not valid JSON: {exc}")
        if not isinstance(resource, dict) or resource.get("resourceType") != "Practitioner":
            found = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
            return _error(invalid or 400, f"expected a Practitioner resource, got {found!r}")
        findings = validate_resource(resource, REGUL_URL)
        refused = [f for f in findings if f.blocking and f.rule_id in UNMANAGEABLE]
        if refused:
            return invalid or 422, outcome_of(refused, "invalid Practitioner"), ()
        return resource

    def _create(self, base: str, headers: Mapping[str, str], body: bytes) -> Answer:
        parsed = self._parse(headers, body)
        if isinstance(parsed, tuple):
            return parsed
        with self._lock:
            held = [
                (pid, acc)
                for pid, acc in self._accounts.items()
                if set(tokens(acc.resource)) & set(tokens(parsed))
            ]
            if any(acc.resource.get("active", True) is not False for _, acc in held):
                if self.defect != "doublon-accepte":
                    return _error(409, "an active account already holds this identifier", code="duplicate")
            else:
                for _, acc in held:  # reattribution: the deactivated accounts give the identifier up
                    kept = [i for i in acc.resource.get("identifier", []) if not _token_in(i, parsed)]
                    acc.resource = {**acc.resource, "identifier": kept}
            status, resource, extra = self._store_new(base, parsed)
        if self.defect == "creation-sans-location":
            return 200, resource, ()
        return status, resource, extra

    def _conditional_update(
        self, base: str, headers: Mapping[str, str], body: bytes, query: Mapping[str, list[str]]
    ) -> Answer:
        wanted = [v for v in query.get("identifier", []) if v.strip()]
        if len(wanted) != 1:
            return _error(400, "PUT /Practitioner needs exactly one identifier=system|value search parameter")
        if not wanted[0].rpartition("|")[2]:
            return _error(400, "identifier search parameter has an empty value")
        parsed = self._parse(headers, body)
        if isinstance(parsed, tuple):
            return parsed
        if self.defect == "desactivation-ignoree":
            parsed = {**parsed, "active": True}
        with self._lock:
            matches = [pid for pid, acc in self._accounts.items() if _matches(acc.resource, wanted[0])]
            if len(matches) > 1:
                return _error(412, "identifier matches more than one Practitioner", code="multiple-matches")
            if not matches:
                if self.defect == "maj-sans-creation":
                    return _error(404, f"no Practitioner with identifier {wanted[0]}", code="not-found")
                if not _matches(parsed, wanted[0]):
                    system, sep, value = wanted[0].rpartition("|")
                    extra = {"system": system, "value": value} if sep else {"value": value}
                    parsed = {**parsed, "identifier": [*parsed.get("identifier", []), extra]}
                return self._store_new(base, parsed)
            pid = matches[0]
            account = self._accounts[pid]
            account.version += 1
            account.resource = _with_meta(parsed, pid, account.version)
            location = f"{base}/Practitioner/{pid}/_history/{account.version}"
            return 200, account.resource, (("Location", location),)

    def _store_new(self, base: str, resource: dict[str, Any]) -> Answer:
        pid = uuid.uuid4().hex
        account = _Account(_with_meta(resource, pid, 1), 1)
        self._accounts[pid] = account
        return 201, account.resource, (("Location", f"{base}/Practitioner/{pid}/_history/1"),)

    def _search(self, base: str, query: Mapping[str, list[str]]) -> Answer:
        """A ``searchset`` of the accounts holding every ``identifier`` asked, each trimmed to what
        ``_elements`` names when given (FHIR search, which SAS's read back uses to keep answers short)."""
        wanted = [v for v in query.get("identifier", []) if v.strip()]
        elements = {e.strip() for v in query.get("_elements", []) for e in v.split(",") if e.strip()}
        with self._lock:
            found = [
                acc.resource
                for acc in self._accounts.values()
                if all(_matches(acc.resource, w) for w in wanted)
            ]
        if elements:
            keep = elements | {"resourceType", "id"}
            found = [{k: v for k, v in r.items() if k in keep} for r in found]
        entries = [{"resource": r} for r in found]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}
        return 200, bundle, ()

    def _read(self, pid: str) -> Answer:
        with self._lock:
            account = self._accounts.get(pid)
            if account is None:
                return _error(404, f"Practitioner/{pid} is not known", code="not-found")
            return 200, account.resource, ()


def _token_in(identifier: Any, resource: Mapping[str, Any]) -> bool:
    if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
        return False
    return f"{identifier.get('system', '')}|{identifier['value']}" in tokens(resource)


def _with_meta(resource: Mapping[str, Any], pid: str, version: int) -> dict[str, Any]:
    previous = resource.get("meta")
    meta = dict(previous) if isinstance(previous, dict) else {}
    meta.update(versionId=str(version), lastUpdated=_now())
    return {**resource, "id": pid, "meta": meta}


__all__ = ["DEFECTS", "RegulatorStore", "outcome_of", "tokens"]
