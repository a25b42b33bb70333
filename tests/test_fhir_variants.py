"""Every functional aggregation check is shown to fail against a reference server with the matching defect.

Each ``fhir-*`` variant of the embedded reference server gets one thing of the Slot search wrong
(``recette_sas.fhir.slots.FHIR_DEFECTS``). The server features run against it in a separate pytest process
(pre-production, the whole server matrix: mTLS and functional); the test asserts the EXACT sets of checks
that fail (blocking) and warn (advisory), and that everything else passes, so no mTLS verdict moves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recette_sas.fhir.slots import FHIR_DEFECTS
from recette_sas.server.variants import VARIANTS
from tests.test_variants import NOT_TESTABLE_HERE, by_status, run_suite

pytest_plugins = ["pytester"]

ANSWERED = {"SRV-FHIR-IDENTIFIANTS-01", "SRV-FHIR-IDENTIFIANTS-03"}  # a practitioner asked for is not in the answer
BUNDLE_READ = {
    "SRV-FHIR-REPONSE-01", "SRV-FHIR-REPONSE-02", "SRV-FHIR-PROFILS-01", "SRV-FHIR-PROFILS-02", "SRV-FHIR-PROFILS-03",
    "SRV-FHIR-PROFILS-04", "SRV-FHIR-PROFILS-05", "SRV-FHIR-PROFILS-06", "SRV-FHIR-PROFILS-07",
    "SRV-FHIR-CRENEAUX-01", "SRV-FHIR-CRENEAUX-02", "SRV-FHIR-CRENEAUX-03", "SRV-FHIR-CRENEAUX-04",
    "SRV-FHIR-CRENEAUX-05", "SRV-FHIR-CRENEAUX-06", "SRV-FHIR-CRENEAUX-07", "SRV-FHIR-KIT-DATES-01",
    "SRV-FHIR-REFERENCES-01", "SRV-FHIR-IDENTIFIANTS-02", "SRV-FHIR-KIT-SELF-01",
} | ANSWERED
"""Every blocking check that reads the Bundle: an invalid JSON body fails them all."""
MALFORMED = {f"REC-FHIR-400-01[{c}]" for c in ("sans status", "start sans préfixe", "26 identifiants")}

# variant -> (blocking failures, advisory warnings)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "statut-occupe": ({"SRV-FHIR-CRENEAUX-01"}, set()),
    "sans-total": ({"SRV-FHIR-REPONSE-01", "SRV-FHIR-REPONSE-02", "SRV-FHIR-IDENTIFIANTS-03"}, set()),
    "404-si-vide": ({"SRV-FHIR-REPONSE-02"}, set()),
    # No Schedule, Practitioner nor PractitionerRole (nor its contained Location): their profile scenarios
    # find nothing to hold to the profile, which is a failure, never a vacuous pass.
    "sans-include": (
        {"SRV-FHIR-REFERENCES-01", "SRV-FHIR-PROFILS-04", "SRV-FHIR-PROFILS-05", "SRV-FHIR-PROFILS-06",
         "SRV-FHIR-PROFILS-07"} | ANSWERED,
        set(),
    ),
    "reference-pendante": ({"SRV-FHIR-REFERENCES-01"}, set()),
    "hors-fenetre": ({"SRV-FHIR-CRENEAUX-03"}, set()),
    # A slot an hour ago is also before the window, which starts now.
    "passe": ({"SRV-FHIR-CRENEAUX-04", "SRV-FHIR-CRENEAUX-03"}, set()),
    # The malformed RPPS is no longer the one asked for: that practitioner is not answered, and an
    # unrequested identifier comes back.
    "rpps-malforme": ({"SRV-FHIR-PROFILS-05", "SRV-FHIR-IDENTIFIANTS-02"} | ANSWERED, set()),
    "sans-url-rdv": ({"SRV-FHIR-CRENEAUX-05"}, set()),
    "mauvais-charset": ({"SRV-FHIR-FORMAT-01"}, set()),
    "json-invalide": (BUNDLE_READ, {"REC-FHIR-HYGIENE-01", "REC-FHIR-ORPHELINES-01"}),
    "lent": ({"SRV-FHIR-KIT-PERF-01"}, set()),
    "ignore-identifiants": ({"SRV-FHIR-IDENTIFIANTS-02", "SRV-FHIR-REPONSE-02"}, set()),
    "lien-self-faux": ({"SRV-FHIR-KIT-SELF-01"}, set()),
    "sans-400": (set(), MALFORMED),
    # The orphan is a Practitioner nobody asked for.
    "orphelin": ({"SRV-FHIR-IDENTIFIANTS-02"}, {"REC-FHIR-ORPHELINES-01"}),
}


def test_every_fhir_defect_has_a_variant_and_an_expected_set() -> None:
    assert set(EXPECTED) == set(FHIR_DEFECTS)
    assert {f"fhir-{d}" for d in FHIR_DEFECTS} <= set(VARIANTS)
    assert len(EXPECTED) >= 12


@pytest.fixture(scope="module")
def warm_cache(pki_cache_dir: Path, pki: object) -> Path:
    return pki_cache_dir


@pytest.mark.parametrize("defect", sorted(EXPECTED))
def test_each_fhir_variant_fails_exactly_its_scenarios(
    pytester: pytest.Pytester, warm_cache: Path, defect: str
) -> None:
    outcome, summary = run_suite(
        pytester, warm_cache, "-m", "serveur and preproduction", f"--sas-reference-variant=fhir-{defect}"
    )
    statuses = by_status(summary)
    blocking, advisory = EXPECTED[defect]
    assert statuses.get("failed", set()) == blocking, outcome.stdout.str()[-3000:]
    assert statuses.get("warning", set()) == advisory
    assert statuses.get("broken", set()) == set()
    assert statuses.get("skipped", set()) == NOT_TESTABLE_HERE
    assert set(statuses) <= {"passed", "failed", "warning", "skipped"}
    assert outcome.ret == (1 if blocking else 0)
