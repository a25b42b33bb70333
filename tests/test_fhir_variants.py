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

ANSWERED = {"SRV-FHIR-MULTI-01", "SRV-FHIR-25-01"}  # a practitioner asked for is not in the answer
BUNDLE_READ = {
    "SRV-FHIR-REPONSE-01", "SRV-FHIR-VIDE-01", "SRV-FHIR-STRUCTURE-01", "SRV-FHIR-BUNDLE-01", "SRV-FHIR-SLOT-01",
    "SRV-FHIR-SCHEDULE-01", "SRV-FHIR-PRACTITIONER-01", "SRV-FHIR-ROLE-01", "SRV-FHIR-LOCATION-01",
    "SRV-FHIR-STATUT-01", "SRV-FHIR-DEBUT-FIN-01", "SRV-FHIR-FENETRE-01", "SRV-FHIR-PASSE-01",
    "SRV-FHIR-URL-RDV-01", "SRV-FHIR-TYPE-CRENEAU-01", "SRV-FHIR-TYPE-CONSULTATION-01", "SRV-FHIR-FORMAT-DATE-01",
    "SRV-FHIR-REFERENCES-01", "SRV-FHIR-FILTRE-01", "SRV-FHIR-SELF-01",
} | ANSWERED
"""Every blocking check that reads the Bundle: an invalid JSON body fails them all."""
MALFORMED = {f"REC-FHIR-400-01[{c}]" for c in ("sans status", "start sans préfixe", "26 identifiants")}

# variant -> (blocking failures, advisory warnings)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "statut-occupe": ({"SRV-FHIR-STATUT-01"}, set()),
    "sans-total": ({"SRV-FHIR-REPONSE-01", "SRV-FHIR-VIDE-01", "SRV-FHIR-25-01"}, set()),
    "404-si-vide": ({"SRV-FHIR-VIDE-01"}, set()),
    "sans-include": ({"SRV-FHIR-REFERENCES-01"} | ANSWERED, set()),
    "reference-pendante": ({"SRV-FHIR-REFERENCES-01"}, set()),
    "hors-fenetre": ({"SRV-FHIR-FENETRE-01"}, set()),
    # A slot an hour ago is also before the window, which starts now.
    "passe": ({"SRV-FHIR-PASSE-01", "SRV-FHIR-FENETRE-01"}, set()),
    # The malformed RPPS is no longer the one asked for: that practitioner is not answered, and an
    # unrequested identifier comes back.
    "rpps-malforme": ({"SRV-FHIR-PRACTITIONER-01", "SRV-FHIR-FILTRE-01"} | ANSWERED, set()),
    "sans-url-rdv": ({"SRV-FHIR-URL-RDV-01"}, set()),
    "mauvais-charset": ({"SRV-FHIR-CONTENT-TYPE-01"}, set()),
    "json-invalide": (BUNDLE_READ, {"REC-FHIR-HYGIENE-01", "REC-FHIR-ORPHELINES-01"}),
    "lent": ({"SRV-FHIR-PERF-01"}, set()),
    "ignore-identifiants": ({"SRV-FHIR-FILTRE-01", "SRV-FHIR-VIDE-01"}, set()),
    "lien-self-faux": ({"SRV-FHIR-SELF-01"}, set()),
    "sans-400": (set(), MALFORMED),
    # The orphan is a Practitioner nobody asked for.
    "orphelin": ({"SRV-FHIR-FILTRE-01"}, {"REC-FHIR-ORPHELINES-01"}),
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
