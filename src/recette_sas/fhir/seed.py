"""The reference server's seeded agenda: practitioners, their place of practice and their free slots.

Modelled on the IG's PS-indiv example (``input/fsh/examples/PS Indiv/``: ``ExampleBundlePSIndiv`` and the
instances it inlines): the same profiles in ``meta.profile``, an IDNPS RPPS identifier, a PractitionerRole
with its Location contained and an IDNST organisation, a Schedule whose actors are both, Slots with a
slot type in ``meta.security``, a coded ``serviceType``, ``appointmentType`` ROUTINE and the booking URL in
``comment``. Dates are computed at each search from the current time, in Europe/Paris with an explicit
offset and milliseconds (ANS's kit), so a slot is never in the past and never outside a 72 h window that
starts now. The data is public test data (the RPPS values are the IG's own or fictitious ``8100…``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
SD = "http://sas.fr/fhir/StructureDefinition/"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
V2_0203 = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203"
SLOT_TYPES = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_0276 = "http://terminology.hl7.org/CodeSystem/v2-0276"
R38 = "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale"
BOOKING = "https://rdv.reference.recette-sas.test/agenda"

SLOT_EVERY = timedelta(hours=4)
SLOT_LENGTH = timedelta(minutes=20)
HORIZON = timedelta(days=7)
"""Slots are generated this far ahead; the search keeps those inside the requested window."""


@dataclass(frozen=True)
class SeededPractitioner:
    rpps: str  # "8" + 11 digits, as SAS sends it
    family: str
    given: str
    line: str
    postal_code: str
    city: str
    idnst: str
    specialty: str
    phone: str


PRACTITIONERS: tuple[SeededPractitioner, ...] = (
    SeededPractitioner(
        "810100050075", "THOMAS", "Sébastien", "1 rue Mme DELMAS", "47000", "AGEN", "1810004421", "SM54",
        "+33553000001",
    ),
    SeededPractitioner(
        "810002673899", "MARCEL", "Guillaume", "30 rue Mme DELMAS", "47000", "AGEN", "1810004956", "SM41",
        "+33658913859",
    ),
    SeededPractitioner(
        "810003456781", "LEFÈVRE", "Hélène", "12 rue de l'Évêché", "33000", "BORDEAUX", "1330001234", "SM54",
        "+33556000002",
    ),
    SeededPractitioner(
        "810009876543", "GARÇON", "Zoé", "3 place Aristide-Briand", "47600", "NÉRAC", "1470005678", "SM54",
        "+33553000003",
    ),
)
"""Four practitioners; SAS's default search (``SEEDED_RPPS``) names the first three, so a server that
ignores the identifiers is seen answering the fourth."""

SEEDED_RPPS: tuple[str, ...] = tuple(p.rpps for p in PRACTITIONERS[:3])
BY_RPPS = {p.rpps: p for p in PRACTITIONERS}

_SECURITY = (("PUBLIC",), ("PRO",), ("PUBLIC", "PRO"))
_SERVICE = ("AMB", "VR", "HH")


def instant(moment: datetime) -> str:
    return moment.astimezone(PARIS).isoformat(timespec="milliseconds")


def _coding(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def practitioner(p: SeededPractitioner, rpps: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": f"pract-{p.rpps}",
        "meta": {"profile": [f"{SD}FrPractitionerAgregateur"]},
        "identifier": [
            {"type": _coding(V2_0203, "IDNPS"), "system": RPPS_SYSTEM, "value": rpps or p.rpps}
        ],
        "name": [{"family": p.family, "given": [p.given]}],
    }


def role(p: SeededPractitioner) -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "id": f"role-{p.rpps}",
        "meta": {"profile": [f"{SD}FrPractitionerRoleExerciceAgregateur"]},
        "contained": [
            {
                "resourceType": "Location",
                "id": f"loc-{p.rpps}",
                "meta": {"profile": [f"{SD}FrLocationAgregateur"]},
                "address": {"line": [p.line], "city": p.city, "postalCode": p.postal_code},
            }
        ],
        "practitioner": {"reference": f"Practitioner/pract-{p.rpps}"},
        "organization": {
            "identifier": {"type": _coding(V2_0203, "IDNST"), "system": IDNST_SYSTEM, "value": p.idnst}
        },
        "location": [{"reference": f"#loc-{p.rpps}"}],
        "telecom": [{"system": "phone", "value": p.phone}],
    }


def schedule(p: SeededPractitioner) -> dict[str, Any]:
    return {
        "resourceType": "Schedule",
        "id": f"sched-{p.rpps}",
        "meta": {"profile": [f"{SD}FrScheduleAgregateur"]},
        "actor": [
            {"reference": f"Practitioner/pract-{p.rpps}"},
            {"reference": f"PractitionerRole/role-{p.rpps}"},
        ],
    }


def slot(p: SeededPractitioner, start: datetime, n: int) -> dict[str, Any]:
    sid = f"slot-{p.rpps}-{start.astimezone(PARIS):%Y%m%d%H%M}"
    return {
        "resourceType": "Slot",
        "id": sid,
        "meta": {
            "profile": [f"{SD}FrSlotAgregateur"],
            "security": [{"system": SLOT_TYPES, "code": c} for c in _SECURITY[n % 3]],
        },
        "serviceType": [_coding(ACT_CODE, _SERVICE[n % 3]), {"text": "Consultation de médecine générale"}],
        "specialty": [_coding(R38, p.specialty)],
        "appointmentType": _coding(V2_0276, "ROUTINE"),
        "schedule": {"reference": f"Schedule/sched-{p.rpps}"},
        "status": "free",
        "start": instant(start),
        "end": instant(start + SLOT_LENGTH),
        "comment": f"{BOOKING}/{p.rpps}?creneau={sid}",
    }


def first_start(now: datetime) -> datetime:
    """The next quarter hour at least 30 min after ``now``: every seeded slot is in the future."""
    base = (now + timedelta(minutes=30)).astimezone(PARIS).replace(second=0, microsecond=0)
    return base + timedelta(minutes=(15 - base.minute % 15) % 15)


def slots_of(p: SeededPractitioner, now: datetime) -> Iterator[tuple[datetime, dict[str, Any]]]:
    """The practitioner's free slots from ``now`` to ``HORIZON``, each practitioner shifted a little."""
    start = first_start(now) + timedelta(minutes=15 * (PRACTITIONERS.index(p) % 4))
    n = 0
    while start < now + HORIZON:
        yield start, slot(p, start, n)
        start += SLOT_EVERY
        n += 1
