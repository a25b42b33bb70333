"""The SAS → editor requests of the two server-role flows (ANS FHIR IG "Service d'Accès aux Soins")."""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization

from recette_sas.config.loader import USE_CASES
from recette_sas.environments import SasSubject
from recette_sas.fhir.seed import SEEDED_RPPS
from recette_sas.fhir.seed_use_cases import SEEDED_CPTS_RPPS, SEEDED_SIRETS
from recette_sas.identity import Identity
from recette_sas.probe.endpoint import HttpRequest

FLOWS: tuple[str, ...] = ("agregation", "regulateurs")
FLOW_LABELS = {"agregation": "agrégation des créneaux", "regulateurs": "gestion des comptes régulateurs"}

_ACCEPT = ("Accept", "application/fhir+json")
_SAS_ACCEPT = ("Accept", "application/json+fhir")
"""What SAS really sends on the slot search (the IG's search page and ANS's kit both say so)."""
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
_SAS_ACCOUNT_SYSTEM = "urn:oid:1.2.250.1.213.3.6"
PARIS = ZoneInfo("Europe/Paris")
WINDOW = timedelta(hours=72)
"""SAS searches from now to at most 72 h later."""
MAX_IDENTIFIERS = 25
IDENTIFIER_PARAM = "schedule.actor:Practitioner.identifier"
"""The IG's cardinality of ``schedule.actor:Practitioner.identifier`` (1..25)."""
SIRET_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
SOS_IDENTIFIER_PARAM = "actor:Location.organization.identifier"
"""The SOS search's identifiers: 1..25 associations, ``urn:oid:1.2.250.1.71.4.2.2|3<SIRET>``."""
SOS_HAS = "_has:Slot:schedule:"
DEFAULT_IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "ps-indiv": SEEDED_RPPS,
    "cpts": SEEDED_CPTS_RPPS,
    "sos": SEEDED_SIRETS,
}
"""The reference server's test identifiers per use case (RPPS, CPTS RPPS, SIRET)."""


@dataclass(frozen=True)
class SlotSearch:
    """A slot search as SAS sends it, and what it asked for (the functional checks judge against it)."""

    request: HttpRequest
    window: tuple[datetime, datetime]
    identifiers: tuple[str, ...]
    query: str


def paris_instant(moment: datetime) -> str:
    """``2026-12-01T11:10:02.123+01:00``: Europe/Paris with an explicit offset and milliseconds."""
    return moment.astimezone(PARIS).isoformat(timespec="milliseconds")


def slot_search(
    identifiers: Sequence[str] | None = None,
    *,
    use_case: str = "ps-indiv",
    now: datetime | None = None,
    base_path: str = "",
    window: timedelta = WINDOW,
    params: Sequence[tuple[str, str]] | None = None,
) -> SlotSearch:
    """SAS's slot search for ``use_case``, a window from ``now`` (default: the current time) to ``window``
    later; ``params`` replaces the whole query (the malformed searches), ``identifiers`` default to the
    reference server's (``DEFAULT_IDENTIFIERS``).

    - ``ps-indiv``: ``GET [base]/Slot``, the practitioners' RPPS (``8`` + 11 digits, sent as ``system|value``,
      comma-separated as the IG's example does), ``status=free`` and the two includes;
    - ``cpts``: the same, plus ``_include=Slot:service-type-reference`` and
      ``_include:iterate=HealthcareService:organization``, after the first two as in the CPTS page's example;
    - ``sos``: ``GET [base]/Schedule`` with ``_revinclude=Slot:schedule``, ``_include=Schedule:actor:Location``,
      ``_include:iterate=Location:organization``, the window and status as ``_has:Slot:schedule:…`` and the
      associations' SIRET (``3`` + 14 digits) as ``urn:oid:1.2.250.1.71.4.2.2|<SIRET>``. The SOS page's
      example writes ``…4.2.27C334…`` (the ``%`` of ``%7C`` lost) and ``%7C`` for the second one: what is sent
      here is the system, ``|`` and the SIRET, percent-encoded like every other value (``%7C``), which is
      what the example means and what any FHIR server decodes; its order is the example's.
    """
    if use_case not in USE_CASES:
        raise ValueError(f"unknown use case {use_case!r} (expected one of: {', '.join(USE_CASES)})")
    wanted = tuple(identifiers) if identifiers is not None else DEFAULT_IDENTIFIERS[use_case]
    start = (now or datetime.now(PARIS)).astimezone(PARIS)
    end = start + window
    if use_case == "sos":
        resource = "Schedule"
        pairs = list(params) if params is not None else [
            ("_revinclude", "Slot:schedule"),
            ("_include", "Schedule:actor:Location"),
            ("_include:iterate", "Location:organization"),
            (f"{SOS_HAS}start", f"ge{paris_instant(start)}"),
            (f"{SOS_HAS}start", f"le{paris_instant(end)}"),
            (f"{SOS_HAS}status", "free"),
            (SOS_IDENTIFIER_PARAM, ",".join(f"{SIRET_SYSTEM}|{i}" for i in wanted)),
        ]
    else:
        resource = "Slot"
        values = ",".join(f"{RPPS_SYSTEM}|{i}" for i in wanted)
        pairs = list(params) if params is not None else [
            ("start", f"ge{paris_instant(start)}"),
            ("start", f"le{paris_instant(end)}"),
            ("schedule.actor:Practitioner.identifier", values),
            ("status", "free"),
            ("_include", "Slot:schedule"),
            ("_include:iterate", "Schedule:actor"),
        ]
        if use_case == "cpts" and params is None:
            pairs += [
                ("_include", "Slot:service-type-reference"),
                ("_include:iterate", "HealthcareService:organization"),
            ]
    query = urllib.parse.urlencode(pairs)
    request = HttpRequest(method="GET", path=f"{base_path}/{resource}?{query}", headers=(_SAS_ACCEPT,), body=None)
    return SlotSearch(request=request, window=(start, end), identifiers=wanted, query=query)


def _practitioner(account_id: str) -> bytes:
    return json.dumps(
        {
            "resourceType": "Practitioner",
            "identifier": [{"system": _SAS_ACCOUNT_SYSTEM, "value": account_id}],
            "active": True,
            "name": [{"family": "REGULATEUR", "given": ["Recette"]}],
        }
    ).encode()


def flow_request(
    flow: str, *, base_path: str = "", identifiers: Sequence[str] = (), use_case: str = "ps-indiv"
) -> HttpRequest:
    """The request SAS sends first in ``flow``: the slot search of the target's ``use_case`` (for
    ``identifiers``, the editor's test practitioners or associations; default: the reference server's
    seeded ones), or an account creation."""
    if flow == "agregation":
        return slot_search(identifiers or None, use_case=use_case, base_path=base_path).request
    if flow == "regulateurs":
        # A fresh account per call: SAS never creates the same regulator account twice.
        return HttpRequest(
            method="POST",
            path=f"{base_path}/Practitioner",
            headers=(_ACCEPT, ("Content-Type", "application/fhir+json")),
            body=_practitioner(str(uuid.uuid4())),
        )
    raise ValueError(f"unknown flow {flow!r}")


def update_request(*, base_path: str = "") -> HttpRequest:
    """A regulator account update: a conditional PUT on the account's SAS identifier (ANS: a PUT on an
    unknown account creates it, so 200 and 201 are both success)."""
    account = str(uuid.uuid4())
    identifier = urllib.parse.quote(f"{_SAS_ACCOUNT_SYSTEM}|{account}", safe="")
    return HttpRequest(
        method="PUT",
        path=f"{base_path}/Practitioner?identifier={identifier}",
        headers=(_ACCEPT, ("Content-Type", "application/fhir+json")),
        body=_practitioner(account),
    )


HEADER_FORMS: tuple[str, ...] = ("usuelle", "minuscules", "soulignes", "doubles")
"""How the forged headers' names are written: as terminators name them; all lower case; with
underscores for dashes (what a CGI/WSGI application reads under the same name, and what a
terminator deleting the dashed name lets through); each header sent twice."""


def forged_identity_headers(
    subject: SasSubject, genuine: Identity, *, form: str = "usuelle"
) -> tuple[tuple[str, str], ...]:
    """Headers a naive application might trust, all claiming SAS's subject (and carrying SAS's real
    public certificate, the strongest forgery a client without SAS's key can make), their names
    written in ``form`` (``HEADER_FORMS``)."""
    headers = _forged(subject, genuine)
    if form == "usuelle":
        return headers
    if form == "minuscules":
        return tuple((name.lower(), value) for name, value in headers)
    if form == "soulignes":
        return tuple((name.replace("-", "_"), value) for name, value in headers)
    if form == "doubles":
        return tuple(h for header in headers for h in (header, header))
    raise ValueError(f"unknown header form {form!r} (expected one of: {', '.join(HEADER_FORMS)})")


def _forged(subject: SasSubject, genuine: Identity) -> tuple[tuple[str, str], ...]:
    pem = genuine.leaf.public_bytes(serialization.Encoding.PEM).decode()
    dn = subject.rfc4514()
    return (
        ("X-SSL-Client-S-DN", dn),
        ("X-SSL-Client-CN", subject.cn),
        ("X-SSL-Client-Verify", "SUCCESS"),
        ("X-Client-Cert", urllib.parse.quote(pem)),
        ("X-Forwarded-Client-Cert", f'Subject="{dn}";Cert="{urllib.parse.quote(pem)}"'),
        ("SSL_CLIENT_S_DN_CN", subject.cn),
    )
