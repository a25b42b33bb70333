"""The reference server's Slot search (IG: ``specifications_techniques-ps-recherche_creneaux.md``).

``search(base, target, now, defect)`` answers ``GET [base]/Slot?…`` as a conformant editor does: the
window (``start=ge…``/``start=le…``, prefixes required), 1 to 25 ``schedule.actor:Practitioner.identifier``
values (comma-separated or repeated, ``system|value``), ``status``, and the includes asked for
(``_include=Slot:schedule``, ``_include:iterate=Schedule:actor``); a ``searchset`` Bundle with ``total``
and a self link that is the request; 200 with ``total: 0`` for a practitioner it does not know; 400 with an
OperationOutcome for a malformed search.

``defect`` names one deliberate mistake (``FHIR_DEFECTS``), for the broken variants of the reference
server: each changes one thing in the answer and nothing else. The CPTS practitioners
(``fhir.seed_use_cases``) are searched the same way; their slots bring the CPTS HealthcareService and
Organization with ``_include=Slot:service-type-reference`` and ``_include:iterate=HealthcareService:organization``
(``CPTS_DEFECTS`` breaks those).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recette_sas.fhir import seed, seed_use_cases

FHIR_JSON = "application/fhir+json"
IDENTIFIER_PARAM = "schedule.actor:Practitioner.identifier"
MAX_IDENTIFIERS = 25
SLOW_SECONDS = 1.3

FHIR_DEFECTS: dict[str, str] = {
    "statut-occupe": "answers a slot with status busy",
    "sans-total": "leaves Bundle.total out",
    "404-si-vide": "answers 404 when no slot matches",
    "sans-include": "ignores the _include parameters (no Schedule, Practitioner nor PractitionerRole)",
    "reference-pendante": "points a Slot at a Schedule the Bundle does not carry",
    "hors-fenetre": "adds a slot after the end of the requested window",
    "passe": "adds a slot that started an hour ago",
    "rpps-malforme": "writes a practitioner's RPPS with one digit missing",
    "sans-url-rdv": "gives no booking URL in Slot.comment",
    "mauvais-charset": "declares charset=iso-8859-1 on a UTF-8 body",
    "json-invalide": "answers a truncated, invalid JSON body",
    "lent": f"takes {SLOW_SECONDS} s per slot search",
    "ignore-identifiants": "ignores the practitioners' identifiers: everyone's slots come back",
    "lien-self-faux": "gives a self link without the search parameters",
    "sans-400": "answers a malformed search with 200 and an empty Bundle",
    "orphelin": "includes a Practitioner no Slot leads to",
}

CPTS_DEFECTS: dict[str, str] = {
    "cpts-sans-service": "ignores _include=Slot:service-type-reference (no HealthcareService, hence no Organization)",
    "cpts-finess-malforme": "writes the CPTS's FINESS with one digit missing",
    "cpts-sans-extension": "leaves the R5 extension referencing the HealthcareService out of the 604 serviceType",
    "cpts-sans-organisation": "ignores _include:iterate=HealthcareService:organization",
    "cpts-deux-liens": "adds a next link beside the self link (BundleAgregateurCPTS: link 1..1)",
}


class BadSearch(ValueError):
    """A malformed search: 400 with an OperationOutcome saying this."""


def _instant(text: str, param: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadSearch(f"{param}: {text!r} n'est pas une date FHIR") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=seed.PARIS)


def _window(values: list[str]) -> tuple[datetime | None, datetime | None]:
    if not values:
        raise BadSearch("start: la fenêtre de recherche (start=ge… et start=le…) est absente")
    low: datetime | None = None
    high: datetime | None = None
    for value in values:
        prefix, rest = value[:2], value[2:]
        if prefix not in ("ge", "gt", "le", "lt"):
            raise BadSearch(f"start={value} : préfixe ge, gt, le ou lt attendu")
        moment = _instant(rest, "start")
        if prefix in ("ge", "gt"):
            low = moment
        else:
            high = moment
    return low, high


def token_values(values: list[str], *, param: str, system: str, what: str) -> list[str]:
    """The 1..25 ``system|value`` tokens of ``param`` (comma-separated or repeated, the system optional),
    their values; none, more than 25 or another system is a ``BadSearch`` (400)."""
    wanted = [v.strip() for value in values for v in value.split(",") if v.strip()]
    if not wanted:
        raise BadSearch(f"{param} : au moins un {what} est attendu")
    if len(wanted) > MAX_IDENTIFIERS:
        raise BadSearch(f"{param} : {len(wanted)} identifiants, {MAX_IDENTIFIERS} au plus (IG : 1..25)")
    found = []
    for item in wanted:
        given, sep, value = item.rpartition("|")
        if sep and given not in ("", system):
            raise BadSearch(f"{param} : système {given!r} inconnu (attendu {system})")
        found.append(value)
    return found


def _identifiers(values: list[str]) -> list[str]:
    return token_values(
        values, param=IDENTIFIER_PARAM, system=seed.RPPS_SYSTEM, what="identifiant de praticien"
    )


def _entry(base: str, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


def _outcome(status: int, message: str, code: str = "invalid") -> tuple[int, str, bytes]:
    body = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": message}]}
    return status, FHIR_JSON, json.dumps(body, ensure_ascii=False).encode("utf-8")


def search(base: str, target: str, *, now: datetime | None = None, defect: str | None = None) -> tuple[int, str, bytes]:
    """``(status, content type, body)`` of the answer to ``GET [base]/Slot?…``."""
    if defect == "lent":
        time.sleep(SLOW_SECONDS)
    moment = now or datetime.now(UTC)
    query = parse_qs(urlsplit(target).query, keep_blank_values=True)
    try:
        if not [s for s in query.get("status", []) if s.strip()]:
            raise BadSearch("status : paramètre obligatoire (status=free)")
        low, high = _window(query.get("start", []))
        wanted = _identifiers(query.get(IDENTIFIER_PARAM, []))
    except BadSearch as exc:
        if defect == "sans-400":
            low = high = None
            wanted = []
        else:
            return _outcome(400, str(exc))
    statuses = {s for v in query.get("status", []) for s in v.split(",")}
    includes = set(query.get("_include", [])) | set(query.get("_include:iterate", []))
    people = list(seed.PRACTITIONERS) if defect == "ignore-identifiants" else [
        seed.BY_RPPS[r] for r in dict.fromkeys(wanted) if r in seed.BY_RPPS
    ]
    matched: list[dict[str, Any]] = []
    included: list[dict[str, Any]] = []
    for p in people:
        slots = [
            s
            for start, s in seed.slots_of(p, moment)
            if (low is None or start >= low) and (high is None or start <= high) and s["status"] in statuses
        ]
        if not slots:
            continue
        matched += slots
        if "Slot:schedule" in includes and defect != "sans-include":
            included.append(seed.schedule(p))
            if "Schedule:actor" in includes:
                rpps = p.rpps[:-1] if defect == "rpps-malforme" and p is people[0] else None
                included += [seed.practitioner(p, rpps), seed.role(p)]
    matched = _break(matched, defect, moment, low, high, people)
    cpts_matched, cpts_included = _cpts(wanted, includes, statuses, low, high, moment, defect)
    matched += cpts_matched
    included += cpts_included
    if defect == "orphelin" and included:
        included.append(seed.practitioner(seed.PRACTITIONERS[3]) | {"id": "pract-orphelin"})
    if not matched and defect == "404-si-vide":
        return _outcome(404, "aucun créneau trouvé", code="not-found")
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {
            "lastUpdated": seed.instant(moment),
            "profile": [
                f"{seed_use_cases.IG_SD}sas-cpts-bundle-aggregator"
                if "Slot:service-type-reference" in includes
                else f"{seed.SD}BundleAgregateur"
            ],
        },
        "type": "searchset",
        "total": len(matched),
        "link": [{"relation": "self", "url": f"{base}{target}" if defect != "lien-self-faux" else f"{base}/Slot"}],
        "entry": [_entry(base, s, "match") for s in matched] + [_entry(base, r, "include") for r in included],
    }
    if defect == "cpts-deux-liens":
        bundle["link"].append({"relation": "next", "url": f"{base}{target}&_page=2"})
    if defect == "sans-total":
        del bundle["total"]
    if not bundle["entry"]:
        del bundle["entry"]
    body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if defect == "json-invalide":
        body = body[: len(body) // 2]
    content_type = f"{FHIR_JSON}; charset=iso-8859-1" if defect == "mauvais-charset" else FHIR_JSON
    return 200, content_type, body


def _break(
    matched: list[dict[str, Any]],
    defect: str | None,
    now: datetime,
    low: datetime | None,
    high: datetime | None,
    people: list[seed.SeededPractitioner],
) -> list[dict[str, Any]]:
    if not matched or not people:
        return matched
    first = dict(matched[0])
    if defect == "statut-occupe":
        first["status"] = "busy"
    elif defect == "reference-pendante":
        first["schedule"] = {"reference": "Schedule/inconnu"}
    elif defect == "sans-url-rdv":
        return [{k: v for k, v in s.items() if k != "comment"} for s in matched]
    elif defect == "hors-fenetre" and high is not None:
        return [*matched, seed.slot(people[0], high + timedelta(hours=2), 0)]
    elif defect == "passe":
        past = seed.slot(people[0], now - timedelta(hours=1), 0)
        # Still inside the requested window where the window starts earlier (the defect is the date).
        return [*matched, past]
    else:
        return matched
    return [first, *matched[1:]]


def _cpts(
    wanted: list[str],
    includes: set[str],
    statuses: set[str],
    low: datetime | None,
    high: datetime | None,
    moment: datetime,
    defect: str | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The CPTS practitioners' slots asked for, and what the includes bring with them."""
    matched: list[dict[str, Any]] = []
    included: list[dict[str, Any]] = []
    services: dict[str, dict[str, Any]] = {}
    organizations: dict[str, dict[str, Any]] = {}
    known = seed_use_cases.CPTS_BY_RPPS
    for p, cpts in [known[r] for r in dict.fromkeys(wanted) if r in known]:
        slots = [
            s
            for start, s in seed_use_cases.cpts_slots_of(p, cpts, moment)
            if (low is None or start >= low) and (high is None or start <= high) and s["status"] in statuses
        ]
        if not slots:
            continue
        if defect == "cpts-sans-extension":
            for s in slots:
                s["serviceType"][1] = {k: v for k, v in s["serviceType"][1].items() if k != "extension"}
        matched += slots
        if "Slot:schedule" in includes:
            included.append(seed.schedule(p))
            if "Schedule:actor" in includes:
                included += [seed.practitioner(p), seed.role(p)]
        if "Slot:service-type-reference" in includes and defect != "cpts-sans-service":
            services.setdefault(cpts.finess, seed_use_cases.service(cpts))
            if "HealthcareService:organization" in includes and defect != "cpts-sans-organisation":
                finess = cpts.finess[:-1] if defect == "cpts-finess-malforme" else None
                organizations.setdefault(cpts.finess, seed_use_cases.cpts_organization(cpts, finess))
    return matched, [*included, *services.values(), *organizations.values()]
