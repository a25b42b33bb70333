"""The reference server's CPTS and SOS Médecins data, beside the PS-indiv agenda of ``fhir.seed``.

CPTS (modelled on ``input/fsh/examples/CPTS/``): practitioners of their own (never the PS-indiv ones, so the
PS-indiv answer does not change) whose every slot is a CPTS slot: ``meta.security`` PUBLIC + CPTS, a coded
consultation type, the TRE-R66 ``604`` serviceType carrying the R5 extension that references the CPTS's
HealthcareService, itself ``providedBy`` the CPTS Organization (FINESS ``1`` + 9 digits, IDNST).

SOS Médecins (modelled on ``input/fsh/examples/SOS/``): associations (Organization, SIRET ``3`` + 14 digits),
their fixed consultation places (Location, ``managingOrganization``), one Schedule per place (``actor`` the
Location), free Slots on each. Dates are computed from the current time as ``fhir.seed`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from recette_sas.fhir import seed

IG_SD = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/"
TRE_R66 = "https://mos.esante.gouv.fr/NOS/TRE_R66-CategorieEtablissement/FHIR/TRE-R66-CategorieEtablissement"
R5_SERVICE_TYPE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"
LOCATION_TYPES = "http://interopsante.org/fhir/CodeSystem/fr-location-identifier-type"
BOOKING = "https://rdv.reference.recette-sas.test"


@dataclass(frozen=True)
class Cpts:
    finess: str  # "1" + 9 digits
    name: str
    phone: str


CPTS: tuple[Cpts, ...] = (
    Cpts("1950047225", "CPTS AXE MAJEUR", "+33102030405"),
    Cpts("1470001234", "CPTS DU PAYS D'ALBRET", "+33553000010"),
)
CPTS_PRACTITIONERS: tuple[tuple[seed.SeededPractitioner, Cpts], ...] = (
    (
        seed.SeededPractitioner(
            "810002909371", "FORET", "Pierre", "25 chemin de Mounestie", "31840", "AUSSONNE", "1310004421", "SM54",
            "+33561000001",
        ),
        CPTS[0],
    ),
    (
        seed.SeededPractitioner(
            "810001288385", "DURAND", "Émilie", "4 allée des Érables", "95000", "CERGY", "1950001111", "SM54",
            "+33130000002",
        ),
        CPTS[0],
    ),
    (
        seed.SeededPractitioner(
            "810004444447", "NOËL", "François", "8 cours Gambetta", "47600", "NÉRAC", "1470002222", "SM54",
            "+33553000011",
        ),
        CPTS[1],
    ),
)
"""Three CPTS practitioners; SAS's default CPTS search (``SEEDED_CPTS_RPPS``) names the first two."""
SEEDED_CPTS_RPPS: tuple[str, ...] = tuple(p.rpps for p, _ in CPTS_PRACTITIONERS[:2])
CPTS_BY_RPPS = {p.rpps: (p, c) for p, c in CPTS_PRACTITIONERS}


def service(cpts: Cpts) -> dict[str, Any]:
    return {
        "resourceType": "HealthcareService",
        "id": f"hs-cpts-{cpts.finess}",
        "meta": {"profile": [f"{IG_SD}sas-cpts-healthcareservice-aggregator"]},
        "providedBy": {"reference": f"Organization/org-cpts-{cpts.finess}"},
    }


def cpts_organization(cpts: Cpts, finess: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": f"org-cpts-{cpts.finess}",
        "meta": {"profile": [f"{IG_SD}sas-cpts-organization-aggregator"]},
        "identifier": [
            {
                "type": {"coding": [{"system": seed.V2_0203, "code": "IDNST"}]},
                "system": seed.IDNST_SYSTEM,
                "value": finess or cpts.finess,
            }
        ],
        "name": cpts.name,
        "telecom": [{"system": "phone", "value": cpts.phone}],
    }


def cpts_slot(p: seed.SeededPractitioner, cpts: Cpts, start: datetime, n: int) -> dict[str, Any]:
    slot = seed.slot(p, start, n)
    service_type = {
        "coding": [{"system": TRE_R66, "code": "604"}],
        "extension": [{"url": R5_SERVICE_TYPE, "valueReference": {"reference": f"HealthcareService/hs-cpts-{cpts.finess}"}}],
    }
    slot["meta"] = {
        "profile": [f"{IG_SD}sas-cpts-slot-aggregator"],
        "security": [{"system": seed.SLOT_TYPES, "code": c} for c in ("PUBLIC", "CPTS")],
    }
    slot["serviceType"] = [slot["serviceType"][0], service_type, {"text": "Consultation de soins non programmés"}]
    return slot


def cpts_slots_of(p: seed.SeededPractitioner, cpts: Cpts, now: datetime) -> Iterator[tuple[datetime, dict[str, Any]]]:
    start = seed.first_start(now) + timedelta(minutes=10 * (list(CPTS_BY_RPPS).index(p.rpps) % 3))
    n = 0
    while start < now + seed.HORIZON:
        yield start, cpts_slot(p, cpts, start, n)
        start += seed.SLOT_EVERY
        n += 1


@dataclass(frozen=True)
class Place:
    """A fixed consultation place (PFG) of an association."""

    location_id: str
    name: str
    line: str
    postal_code: str
    city: str
    phone: str


@dataclass(frozen=True)
class Association:
    siret: str  # "3" + 14 digits, as SAS sends it
    name: str
    places: tuple[Place, ...]


ASSOCIATIONS: tuple[Association, ...] = (
    Association(
        "334173748400020",
        "SOS Médecins de Rennes",
        (
            Place("1111111111", "Centre de consultation Rennes Nord", "320 avenue Général George Patton", "35700", "RENNES", "+33193246789"),
            Place("2222222222", "Centre de consultation Rennes Cleunay", "106 rue Eugène Pottier", "35000", "RENNES", "+33145249912"),
        ),
    ),
    Association(
        "392080466300010",
        "SOS Médecins Lorient et agglomération",
        (Place("3333333333", "Centre de consultation Lorient", "12 impasse Royer Dubail", "56100", "LORIENT", "+33139555992"),),
    ),
    Association(
        "340426662900033",
        "SOS Médecins Agen Lot-et-Garonne",
        (Place("4444444444", "Centre de consultation d'Agen", "2 place du Pin", "47000", "AGEN", "+33553000020"),),
    ),
)
"""Three associations; SAS's default SOS search (``SEEDED_SIRETS``) names the first two."""
SEEDED_SIRETS: tuple[str, ...] = tuple(a.siret for a in ASSOCIATIONS[:2])
BY_SIRET = {a.siret: a for a in ASSOCIATIONS}


def sos_organization(a: Association, siret: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": f"org-sos-{a.siret}",
        "meta": {"profile": [f"{IG_SD}sas-sos-organization-aggregator"]},
        "identifier": [
            {
                "type": {"coding": [{"system": LOCATION_TYPES, "code": "IDNST"}]},
                "system": seed.IDNST_SYSTEM,
                "value": siret or a.siret,
            }
        ],
        "name": a.name,
    }


def location(a: Association, place: Place) -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "id": place.location_id,
        "meta": {"profile": [f"{IG_SD}sas-sos-location-aggregator"]},
        "identifier": [
            {
                "type": {"coding": [{"system": LOCATION_TYPES, "code": "INTRN"}]},
                "system": "https://reference.recette-sas.test/pfg",
                "value": place.location_id,
            }
        ],
        "name": place.name,
        "telecom": [{"system": "phone", "value": place.phone}],
        "address": {"line": [place.line], "postalCode": place.postal_code, "city": place.city},
        "managingOrganization": {"reference": f"Organization/org-sos-{a.siret}"},
    }


def sos_schedule(place: Place) -> dict[str, Any]:
    return {
        "resourceType": "Schedule",
        "id": f"sched-sos-{place.location_id}",
        "meta": {"profile": [f"{IG_SD}sas-sos-schedule-aggregator"]},
        "actor": [{"reference": f"Location/{place.location_id}"}],
    }


_SOS_SECURITY = (("PUBLIC", "SNP"), ("PUBLIC",), ("SNP",))
_SOS_SERVICE = (("AMB", "VR"), ("AMB",), ("VR",))


def sos_slot(place: Place, start: datetime, n: int) -> dict[str, Any]:
    sid = f"slot-sos-{place.location_id}-{start.astimezone(seed.PARIS):%Y%m%d%H%M}"
    return {
        "resourceType": "Slot",
        "id": sid,
        "meta": {
            "profile": [f"{IG_SD}sas-sos-slot-aggregator"],
            "security": [{"system": seed.SLOT_TYPES, "code": c} for c in _SOS_SECURITY[n % 3]],
        },
        "serviceType": [{"coding": [{"system": seed.ACT_CODE, "code": c}]} for c in _SOS_SERVICE[n % 3]],
        "appointmentType": {"coding": [{"system": seed.V2_0276, "code": "ROUTINE"}]},
        "schedule": {"reference": f"Schedule/sched-sos-{place.location_id}"},
        "status": "free",
        "start": seed.instant(start),
        "end": seed.instant(start + seed.SLOT_LENGTH),
        "comment": f"{BOOKING}/agenda-pfg/{place.location_id}?creneau={sid}",
    }


def sos_slots_of(place: Place, now: datetime) -> Iterator[tuple[datetime, dict[str, Any]]]:
    shift = int(place.location_id[0]) % 4
    start = seed.first_start(now) + timedelta(minutes=15 * shift)
    n = 0
    while start < now + seed.HORIZON:
        yield start, sos_slot(place, start, n)
        start += seed.SLOT_EVERY
        n += 1
