"""Benchmark: the FHIR validation engine on a valid 100-slot searchset Bundle.

Builds a PS-indiv Bundle of 100 Slots over 10 practitioners with 2 places of consultation each
(20 Schedules, 20 PractitionerRoles with their contained Location, 10 Practitioners: 150 entries),
checks it gives no finding, then validates it N times and prints the median milliseconds per Bundle.
Also prints the import time of the engine in a fresh interpreter (what a test collection pays) and
the first validation (which imports fhir.resources and fhirpathpy lazily). Prints figures, asserts
nothing but the Bundle's validity (these machines are noisy).

    python benchmarks/fhir_validation.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

BASE = "https://editeur.example/fhir"
TRE_R314 = "https://mos.esante.gouv.fr/NOS/TRE_R314-TypeCreneau/FHIR/TRE-R314-TypeCreneau"
FR_V2_0203 = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203"
SD = "http://sas.fr/fhir/StructureDefinition"


def _rpps(i: int) -> str:
    return f"8{10100050000 + i:011d}"


def build_bundle(
    slots: int = 100, practitioners: int = 10, places: int = 2, start: datetime | None = None
) -> dict[str, Any]:
    start = start or datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
    entries: list[dict[str, Any]] = []
    slot_entries: list[dict[str, Any]] = []
    schedules: list[str] = []
    for p in range(practitioners):
        pid = f"pract-{p}"
        entries.append(
            {
                "fullUrl": f"{BASE}/Practitioner/{pid}",
                "resource": {
                    "resourceType": "Practitioner",
                    "id": pid,
                    "meta": {"profile": [f"{SD}/FrPractitionerAgregateur"]},
                    "identifier": [
                        {
                            "type": {"coding": [{"system": FR_V2_0203, "code": "IDNPS"}]},
                            "system": "urn:oid:1.2.250.1.71.4.2.1",
                            "value": _rpps(p),
                        }
                    ],
                    "name": [{"family": f"NOM{p}", "given": ["Prénom"]}],
                },
                "search": {"mode": "include"},
            }
        )
        for place in range(places):
            rid, sid = f"role-{p}-{place}", f"sched-{p}-{place}"
            entries.append(
                {
                    "fullUrl": f"{BASE}/PractitionerRole/{rid}",
                    "resource": {
                        "resourceType": "PractitionerRole",
                        "id": rid,
                        "meta": {"profile": [f"{SD}/FrPractitionerRoleExerciceAgregateur"]},
                        "contained": [
                            {
                                "resourceType": "Location",
                                "id": "lieu",
                                "meta": {"profile": [f"{SD}/FrLocationAgregateur"]},
                                "identifier": [
                                    {
                                        "type": {
                                            "coding": [
                                                {
                                                    "system": "http://interopsante.org/fhir/CodeSystem/fr-location-identifier-type",
                                                    "code": "INTRN",
                                                }
                                            ]
                                        },
                                        "system": "https://editeur.example/lieux",
                                        "value": rid,
                                    }
                                ],
                                "address": {
                                    "line": [f"{place + 1} rue Mme Delmas"],
                                    "city": "AGEN",
                                    "postalCode": "47000",
                                },
                            }
                        ],
                        "practitioner": {"reference": f"Practitioner/{pid}"},
                        "organization": {
                            "identifier": {
                                "type": {"coding": [{"system": FR_V2_0203, "code": "IDNST"}]},
                                "system": "urn:oid:1.2.250.1.71.4.2.2",
                                "value": f"1{810004421 + p:09d}",
                            }
                        },
                        "location": [{"reference": "#lieu"}],
                        "telecom": [{"system": "phone", "value": "+33561855977"}],
                    },
                    "search": {"mode": "include"},
                }
            )
            entries.append(
                {
                    "fullUrl": f"{BASE}/Schedule/{sid}",
                    "resource": {
                        "resourceType": "Schedule",
                        "id": sid,
                        "meta": {"profile": [f"{SD}/FrScheduleAgregateur"]},
                        "actor": [
                            {"reference": f"Practitioner/{pid}"},
                            {"reference": f"PractitionerRole/{rid}"},
                        ],
                    },
                    "search": {"mode": "include"},
                }
            )
            schedules.append(sid)
    for n in range(slots):
        begin = start + timedelta(minutes=20 * n)
        walkin = n % 10 == 9
        slot = {
            "resourceType": "Slot",
            "id": f"slot-{n}",
            "meta": {
                "profile": [f"{SD}/FrSlotAgregateur"],
                "security": [{"system": TRE_R314, "code": "PUBLIC"}, {"system": TRE_R314, "code": "SNP"}],
            },
            "serviceType": [
                {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}]},
                {"text": "Consultation"},
            ],
            "specialty": [
                {
                    "coding": [
                        {
                            "system": "https://mos.esante.gouv.fr/NOS/TRE_R38-SpecialiteOrdinale/FHIR/TRE-R38-SpecialiteOrdinale",
                            "code": "SM54",
                        }
                    ]
                }
            ],
            "appointmentType": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0276",
                        "code": "WALKIN" if walkin else "ROUTINE",
                    }
                ]
            },
            "schedule": {"reference": f"Schedule/{schedules[n % len(schedules)]}"},
            "status": "free",
            "start": begin.isoformat(timespec="milliseconds"),
            "end": (begin + timedelta(minutes=20)).isoformat(timespec="milliseconds"),
            "comment": f"https://editeur.example/agenda/{schedules[n % len(schedules)]}",
        }
        slot_entries.append(
            {"fullUrl": f"{BASE}/Slot/slot-{n}", "resource": slot, "search": {"mode": "match"}}
        )
    query = "_include=Slot:schedule&_include:iterate=Schedule:actor&status=free"
    return {
        "resourceType": "Bundle",
        "id": "bench",
        "meta": {"profile": [f"{SD}/BundleAgregateur"]},
        "type": "searchset",
        "total": slots,
        "link": [{"relation": "self", "url": f"{BASE}/Slot?{query}"}],
        "entry": slot_entries + entries,
    }


def import_ms(runs: int = 5) -> float:
    """Median import time of the engine in a fresh interpreter (python startup excluded)."""
    code = "import time; t = time.perf_counter(); import recette_sas.fhir.validation; print((time.perf_counter() - t) * 1000)"
    env_path = str(ROOT / "src")
    values = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", f"import sys; sys.path.insert(0, {env_path!r}); {code}"],
            check=True,
            capture_output=True,
            text=True,
        )
        values.append(float(out.stdout.strip()))
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    print(f"engine import (fresh interpreter, median of 5): {import_ms():.1f} ms")
    from recette_sas.fhir.validation import validate_bundle

    bundle = build_bundle()
    now = datetime(2030, 1, 7, 7, 0, tzinfo=UTC)
    window = (now, now + timedelta(days=3))
    t = time.perf_counter()
    findings = validate_bundle(bundle, window=window, now=now)
    first = (time.perf_counter() - t) * 1000
    blocking = [f for f in findings if f.blocking]
    print(
        f"bundle: {len(bundle['entry'])} entries, {sum(1 for e in bundle['entry'] if e['resource']['resourceType'] == 'Slot')} slots"
    )
    print(f"findings: {len(findings)} ({len(blocking)} bloquant)")
    for f in findings[:5]:
        print(f"  {f.severity} {f.rule_id} {f.path}: {f.message}")
    assert not blocking, "the benchmark Bundle must be valid"
    print(f"first validation (lazy imports of fhir.resources and fhirpathpy): {first:.1f} ms")
    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        validate_bundle(bundle, window=window, now=now)
        times.append((time.perf_counter() - t) * 1000)
    print(
        f"validate_bundle, {args.runs} runs: median {statistics.median(times):.1f} ms per 100-slot Bundle "
        f"(min {min(times):.1f}, max {max(times):.1f})"
    )


if __name__ == "__main__":
    main()
