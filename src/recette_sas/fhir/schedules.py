"""The reference server's SOS Médecins search (IG: ``specifications_techniques-sos-recherche_creneaux.md``).

``search(base, target, now, defect)`` answers ``GET [base]/Schedule?…`` as a conformant editor does: the window
on the Slots (``_has:Slot:schedule:start=ge…``/``le…``, prefixes required), ``_has:Slot:schedule:status``, 1 to
25 ``actor:Location.organization.identifier`` values (``urn:oid:1.2.250.1.71.4.2.2|3<SIRET>``, comma-separated or
repeated); the Schedules of the associations' places that have a free Slot in the window (``match``), their Slots
with ``_revinclude=Slot:schedule``, their Locations with ``_include=Schedule:actor:Location`` and the
associations with ``_include:iterate=Location:organization`` (``include``), in the order of the IG's example
Bundle; ``total`` is the number of Slots, as that example counts (without the Slots, the number of Schedules).
200 with ``total: 0`` for an association it does not know; 400 with an OperationOutcome for a malformed search.

``defect`` names one deliberate mistake (``SOS_DEFECTS``), for the broken variants.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recette_sas.fhir import seed, seed_use_cases
from recette_sas.fhir.slots import FHIR_JSON, BadSearch, _entry, _outcome, _window, token_values

IDENTIFIER_PARAM = "actor:Location.organization.identifier"
HAS = "_has:Slot:schedule:"

SOS_DEFECTS: dict[str, str] = {
    "sos-sans-slots": "ignores _revinclude=Slot:schedule: the Schedules come back without their Slots",
    "sos-siret-malforme": "writes an association's SIRET with one digit missing",
    "sos-location-sans-organisation": "leaves Location.managingOrganization out (the Organization still included)",
    "sos-agenda-sans-reference": "names the Schedule's Location by display only, without a reference",
    "sos-ignore-identifiants": "ignores the associations' identifiers: every association's slots come back",
    "sos-sans-400": "answers a malformed Schedule search with 200 and an empty Bundle",
}


def _sirets(values: list[str]) -> list[str]:
    return token_values(values, param=IDENTIFIER_PARAM, system=seed.IDNST_SYSTEM, what="SIRET d'association")


def search(base: str, target: str, *, now: datetime | None = None, defect: str | None = None) -> tuple[int, str, bytes]:
    """``(status, content type, body)`` of the answer to ``GET [base]/Schedule?…``."""
    moment = now or datetime.now(UTC)
    query = parse_qs(urlsplit(target).query, keep_blank_values=True)
    try:
        if not [s for s in query.get(f"{HAS}status", []) if s.strip()]:
            raise BadSearch(f"{HAS}status : paramètre obligatoire (status=free)")
        low, high = _window(query.get(f"{HAS}start", []))
        wanted = _sirets(query.get(IDENTIFIER_PARAM, []))
    except BadSearch as exc:
        if defect != "sos-sans-400":
            return _outcome(400, str(exc))
        low = high = None
        wanted = []
    statuses = {s for v in query.get(f"{HAS}status", []) for s in v.split(",")}
    revincludes = set(query.get("_revinclude", []))
    includes = set(query.get("_include", [])) | set(query.get("_include:iterate", []))
    associations = (
        list(seed_use_cases.ASSOCIATIONS)
        if defect == "sos-ignore-identifiants"
        else [seed_use_cases.BY_SIRET[s] for s in dict.fromkeys(wanted) if s in seed_use_cases.BY_SIRET]
    )
    entries: list[dict[str, Any]] = []
    slots_count = schedules_count = 0
    for n, association in enumerate(associations):
        organization_added = False
        for place in association.places:
            slots = [
                s
                for start, s in seed_use_cases.sos_slots_of(place, moment)
                if (low is None or start >= low) and (high is None or start <= high) and s["status"] in statuses
            ]
            if not slots:
                continue
            schedule = seed_use_cases.sos_schedule(place)
            if defect == "sos-agenda-sans-reference":
                schedule["actor"] = [{"display": place.name}]
            if "Slot:schedule" in revincludes and defect != "sos-sans-slots":
                entries += [_entry(base, s, "include") for s in slots]
                slots_count += len(slots)
            entries.append(_entry(base, schedule, "match"))
            schedules_count += 1
            if "Schedule:actor:Location" in includes:
                location = seed_use_cases.location(association, place)
                if defect == "sos-location-sans-organisation":
                    del location["managingOrganization"]
                entries.append(_entry(base, location, "include"))
                if "Location:organization" in includes and not organization_added:
                    siret = association.siret[:-1] if defect == "sos-siret-malforme" and n == 0 else None
                    entries.append(_entry(base, seed_use_cases.sos_organization(association, siret), "include"))
                    organization_added = True
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {
            "lastUpdated": seed.instant(moment),
            "profile": [f"{seed_use_cases.IG_SD}sas-sos-bundle-aggregator"],
        },
        "type": "searchset",
        "total": slots_count if slots_count else schedules_count,
        "link": [{"relation": "self", "url": f"{base}{target}"}],
        "entry": entries,
    }
    if not entries:
        del bundle["entry"]
    return 200, FHIR_JSON, json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
