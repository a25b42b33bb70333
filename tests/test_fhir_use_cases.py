"""The CPTS and SOS Médecins slot searches: their requests, their profiles on the IG's examples, the reference
server answering them, and each new check shown failing against a variant with the matching defect.

The features run in a separate pytest process as a CPTS or SOS editor (``--sas-reference-use-case``); each broken
variant (``fhir.slots.CPTS_DEFECTS``, ``fhir.schedules.SOS_DEFECTS``) must fail EXACTLY its scenarios (blocking)
and warn exactly its advisory ones, everything else passing, in ``-m "fhir and agregation and preproduction"``.
"""

from __future__ import annotations

import copy
import urllib.parse
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from recette_sas.config.loader import load_config
from recette_sas.environments import UsageError
from recette_sas.fhir.app import FhirApp
from recette_sas.fhir.schedules import SOS_DEFECTS
from recette_sas.fhir.slots import CPTS_DEFECTS
from recette_sas.fhir.validation import validate_bundle
from recette_sas.server.flows import slot_search
from recette_sas.server.variants import VARIANTS
from tests.conftest import collected
from tests.test_variants import NOT_TESTABLE_HERE, by_status, run_suite

pytest_plugins = ["pytester"]

IG = Path(__file__).resolve().parents[1].parent / "shared" / "spec" / "ig-sas"
PARIS = ZoneInfo("Europe/Paris")
FUNCTIONAL = ("-m", "fhir and agregation and preproduction")

# ------------------------------------------------------------------ requests


def test_cpts_request_adds_the_two_includes_after_the_ps_indiv_ones() -> None:
    now = datetime(2026, 6, 12, 16, 20, tzinfo=PARIS)
    ps, cpts = slot_search(("810002909371",), now=now), slot_search(("810002909371",), now=now, use_case="cpts")
    assert cpts.request.path == ps.request.path + (
        "&_include=Slot%3Aservice-type-reference&_include%3Aiterate=HealthcareService%3Aorganization"
    )
    assert cpts.request.headers == (("Accept", "application/json+fhir"),)


def test_sos_request_is_a_schedule_search_by_siret() -> None:
    now = datetime(2023, 8, 18, 10, 0, tzinfo=PARIS)
    search = slot_search(("334173748400020", "340426662900033"), now=now, use_case="sos", base_path="/fhir")
    path, _, query = search.request.path.partition("?")
    assert path == "/fhir/Schedule"
    assert urllib.parse.parse_qsl(query) == [
        ("_revinclude", "Slot:schedule"),
        ("_include", "Schedule:actor:Location"),
        ("_include:iterate", "Location:organization"),
        ("_has:Slot:schedule:start", "ge2023-08-18T10:00:00.000+02:00"),
        ("_has:Slot:schedule:start", "le2023-08-21T10:00:00.000+02:00"),
        ("_has:Slot:schedule:status", "free"),
        (
            "actor:Location.organization.identifier",
            "urn:oid:1.2.250.1.71.4.2.2|334173748400020,urn:oid:1.2.250.1.71.4.2.2|340426662900033",
        ),
    ]
    with pytest.raises(ValueError, match="unknown use case"):
        slot_search(use_case="hospitalier")


# ------------------------------------------------------------------ the IG's examples

needs_ig = pytest.mark.skipif(not IG.is_dir(), reason=f"IG sources absent: {IG} (the shared/ folder beside the repo)")
CPTS_NOW = datetime(2024, 6, 12, 16, 20, tzinfo=PARIS)
SOS_NOW = datetime(2023, 8, 18, 8, 0, tzinfo=PARIS)


@pytest.fixture(scope="module")
def examples() -> dict[str, dict[str, Any]]:
    if not IG.is_dir():
        pytest.skip(f"IG sources absent: {IG}")
    from recette_sas.fhir.fsh_examples import load_examples

    return load_examples(IG)


def _blocking(bundle: dict[str, Any], use_case: str, now: datetime) -> set[str]:
    return {f.rule_id for f in validate_bundle(bundle, use_case=use_case, now=now) if f.blocking}


@needs_ig
@pytest.mark.parametrize(
    ("name", "use_case", "now"),
    [("ExampleBundleCPTS1", "cpts", CPTS_NOW), ("ExampleBundleCPTS2", "cpts", CPTS_NOW), ("ExampleBundleAgregateurSOS", "sos", SOS_NOW)],
)
def test_the_ig_examples_validate_under_their_use_case(
    examples: dict[str, dict[str, Any]], name: str, use_case: str, now: datetime
) -> None:
    assert _blocking(examples[name], use_case, now) == set()
    # the other use cases' Bundle profiles do not take it: the use case decides the tables
    assert _blocking(examples[name], "sos" if use_case == "cpts" else "cpts", now) != set()


def _entry(bundle: dict[str, Any], resource_type: str, n: int = 0) -> dict[str, Any]:
    found: list[dict[str, Any]] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]
    return found[n]


@needs_ig
def test_mutated_cpts_examples_give_the_expected_finding(examples: dict[str, dict[str, Any]]) -> None:
    original = examples["ExampleBundleCPTS1"]
    finess = copy.deepcopy(original)
    _entry(finess, "Organization")["identifier"][0]["value"] = "195004722"
    assert _blocking(finess, "cpts", CPTS_NOW) == {"FHIR-ORG-CPTS-FINESS"}
    extension = copy.deepcopy(original)
    del _entry(extension, "Slot")["serviceType"][1]["extension"]
    assert _blocking(extension, "cpts", CPTS_NOW) == {"FHIR-SLOT-CPTS-REFERENCE-EXTENSION"}
    no_service = copy.deepcopy(original)
    no_service["entry"] = [e for e in no_service["entry"] if e["resource"]["resourceType"] != "HealthcareService"]
    assert _blocking(no_service, "cpts", CPTS_NOW) == {"FHIR-BUNDLE-CPTS-SERVICE-INCLUDED"}
    no_org = copy.deepcopy(original)
    no_org["entry"] = [e for e in no_org["entry"] if e["resource"]["resourceType"] != "Organization"]
    assert _blocking(no_org, "cpts", CPTS_NOW) == {"FHIR-BUNDLE-CPTS-ORGANIZATION-INCLUDED"}
    no_role = copy.deepcopy(original)
    no_role["entry"] = [e for e in no_role["entry"] if e["resource"]["resourceType"] != "PractitionerRole"]
    assert "FHIR-BUNDLE-CPTS-ENTRIES" in _blocking(no_role, "cpts", CPTS_NOW)


@needs_ig
def test_mutated_sos_examples_give_the_expected_finding(examples: dict[str, dict[str, Any]]) -> None:
    original = examples["ExampleBundleAgregateurSOS"]
    siret = copy.deepcopy(original)
    _entry(siret, "Organization")["identifier"][0]["value"] = "33417374840002"
    assert _blocking(siret, "sos", SOS_NOW) == {"FHIR-ORG-SOS-SIRET"}
    managing = copy.deepcopy(original)
    del _entry(managing, "Location")["managingOrganization"]
    assert _blocking(managing, "sos", SOS_NOW) == {"FHIR-LOC-SOS-MANAGING-ORGANIZATION"}
    actor = copy.deepcopy(original)
    _entry(actor, "Schedule")["actor"] = [{"reference": "Practitioner/x"}]
    assert _blocking(actor, "sos", SOS_NOW) == {"FHIR-SCHEDULE-SOS-ACTOR", "FHIR-BUNDLE-SOS-SCHEDULE-LOCATION"}
    no_slots = copy.deepcopy(original)
    no_slots["entry"] = [e for e in no_slots["entry"] if e["resource"]["resourceType"] != "Slot"]
    assert _blocking(no_slots, "sos", SOS_NOW) == {"FHIR-BUNDLE-SOS-ENTRIES", "FHIR-BUNDLE-SOS-SCHEDULE-SLOTS"}
    security = copy.deepcopy(original)
    _entry(security, "Slot")["meta"]["security"][0]["code"] = "CPTS"
    assert _blocking(security, "sos", SOS_NOW) == {"FHIR-SLOT-SOS-SECURITY"}


def test_an_empty_answer_is_not_failed_on_the_bundle_slices() -> None:
    """The CPTS/SOS Bundle profiles make their slices 1..*, the pages call total: 0 a valid answer."""
    empty = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 0,
        "link": [{"relation": "self", "url": "https://e/Schedule?x=1"}],
    }
    for use_case in ("cpts", "sos"):
        assert _blocking(empty, use_case, SOS_NOW) == set()


# ------------------------------------------------------------------ the reference server


def _get(app: FhirApp, search: Any) -> tuple[int, dict[str, Any]]:
    response = app("GET", search.request.path, {"host": "ref.test"})
    return response.status, response.json()


def test_reference_answers_the_three_searches_conformantly() -> None:
    app = FhirApp()
    now = datetime.now(PARIS)
    for use_case in ("ps-indiv", "cpts", "sos"):
        search = slot_search(use_case=use_case, now=now)
        status, bundle = _get(app, search)
        assert status == 200 and bundle["total"] > 0
        assert validate_bundle(bundle, use_case=use_case, window=search.window, now=now) == []
    status, bundle = _get(app, slot_search(("399999999999990",), use_case="sos"))
    assert (status, bundle["total"], "entry" in bundle) == (200, 0, False)
    many = slot_search(tuple(f"3{n:014d}" for n in range(26)), use_case="sos")
    status, outcome = _get(app, many)
    assert (status, outcome["resourceType"]) == (400, "OperationOutcome")


# ------------------------------------------------------------------ configuration


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "editeur.toml"
    path.write_text(f'editor = "Test"\n[environments.preproduction]\nbase_url = "https://localhost:8443/fhir"\n{extra}')
    return path


def test_cpts_and_sos_use_cases_load(tmp_path: Path) -> None:
    cpts = load_config(_config(tmp_path, 'use_case = "cpts"\npractitioners = ["810002909371"]\n'))
    assert cpts.environments["preproduction"].use_case == "cpts"
    sos = load_config(_config(tmp_path, 'use_case = "sos"\nstructures = ["334173748400020", "392080466300010"]\n'))
    env = sos.environments["preproduction"]
    assert (env.use_case, env.structures) == ("sos", ("334173748400020", "392080466300010"))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('use_case = "hospitalier"\n', "use_case: unknown use case 'hospitalier' (expected ps-indiv, cpts, sos)"),
        ('use_case = "sos"\nstructures = ["33417374840002"]\n', "structures: '33417374840002' is not a SIRET"),
        ('use_case = "sos"\nstructures = ["134173748400020"]\n', "structures: '134173748400020' is not a SIRET"),
        ('use_case = "sos"\nstructures = "334173748400020"\n', "structures: must be a list of SIRET strings"),
        ('use_case = "sos"\nstructures = []\n', "structures: 0 associations: SAS searches 1 to 25 at once"),
        ('use_case = "sos"\nstructures = ["334173748400020", "334173748400020"]\n', "the same SIRET is listed twice"),
        ('use_case = "sos"\npractitioners = ["810002909371"]\n', "practitioners: SAS searches SOS Médecins associations"),
        ('structures = ["334173748400020"]\n', 'structures: only for use_case = "sos" (this environment is ps-indiv)'),
    ],
)
def test_bad_use_case_settings_are_one_line_errors(tmp_path: Path, extra: str, expected: str) -> None:
    path = _config(tmp_path, extra)
    with pytest.raises(UsageError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "environments.preproduction." in message, message
    assert expected in message
    assert "\n" not in message


def test_a_bad_reference_use_case_option_is_one_line(pytester: pytest.Pytester) -> None:
    root = Path(__file__).resolve().parent.parent
    result = pytester.runpytest_subprocess(
        str(root / "features"), f"--rootdir={root}", "-c", str(root / "pyproject.toml"),
        "--collect-only", "-q", "--sas-reference-use-case=hopital",
    )  # fmt: skip
    assert result.ret == 4
    errors = [line for line in result.stderr.lines if "--sas-reference-use-case" in line]
    assert errors and "unknown use case 'hopital' (expected one of: ps-indiv, cpts, sos)" in errors[0]


# ------------------------------------------------------------------ the features, as a CPTS or SOS editor

CPTS_ONLY = {f"SRV-FHIR-CPTS-PROFILS-0{n}" for n in range(1, 5)} | {"SRV-FHIR-CPTS-REFERENCES-01", "SRV-FHIR-CPTS-REFERENCES-02"}
SOS_ONLY = (
    {f"SRV-FHIR-SOS-PROFILS-0{n}" for n in range(1, 6)}
    | {f"SRV-FHIR-SOS-IDENTIFIANTS-0{n}" for n in range(1, 4)}
    | {"SRV-FHIR-SOS-CRENEAUX-01", "SRV-FHIR-SOS-REPONSE-01"}
)
PS_INDIV_ONLY = {"SRV-FHIR-PROFILS-02", "SRV-FHIR-PROFILS-03"}
PS_AND_CPTS = {f"SRV-FHIR-PROFILS-0{n}" for n in range(4, 8)} | {
    "SRV-FHIR-REPONSE-02", "SRV-FHIR-IDENTIFIANTS-01", "SRV-FHIR-IDENTIFIANTS-02", "SRV-FHIR-IDENTIFIANTS-03",
}  # fmt: skip
SLOT_CHECKS = {f"SRV-FHIR-CRENEAUX-0{n}" for n in range(1, 8)} | {"SRV-FHIR-KIT-DATES-01"}


@pytest.fixture(scope="module")
def warm_cache(pki_cache_dir: Path, pki: object) -> Path:
    return pki_cache_dir


@pytest.mark.parametrize(("use_case", "functional"), [("cpts", 34), ("sos", 30)])
def test_reference_passes_the_server_matrix_as_a_cpts_or_sos_editor(
    pytester: pytest.Pytester, warm_cache: Path, use_case: str, functional: int
) -> None:
    option = f"--sas-reference-use-case={use_case}"
    outcome, summary = run_suite(pytester, warm_cache, "-m", "serveur and preproduction", option)
    statuses = by_status(summary)
    assert outcome.ret == 0, outcome.stdout.str()[-3000:]
    assert set(statuses) == {"passed", "skipped"} and statuses["skipped"] == NOT_TESTABLE_HERE
    assert summary["totals"]["passed"] == collected("-m", "serveur and preproduction", option) - len(NOT_TESTABLE_HERE)
    # 30 PS-indiv functional scenarios (the default run's), less those that do not apply, plus the use case's own
    assert collected(*FUNCTIONAL, option) == functional == collected(*FUNCTIONAL) + len(
        CPTS_ONLY if use_case == "cpts" else SOS_ONLY
    ) - len(PS_INDIV_ONLY if use_case == "cpts" else PS_INDIV_ONLY | PS_AND_CPTS)
    checks = {r["check"] for r in summary["results"]}
    assert (CPTS_ONLY if use_case == "cpts" else SOS_ONLY) <= checks
    assert not checks & PS_INDIV_ONLY and not checks & (CPTS_ONLY if use_case == "sos" else SOS_ONLY)


MALFORMED = {f"REC-FHIR-400-01[{c}]" for c in ("sans status", "start sans préfixe", "26 identifiants")}
ORPHANS = {"REC-FHIR-ORPHELINES-01"}

# variant -> (use case, blocking failures, advisory warnings)
EXPECTED: dict[str, tuple[str, set[str], set[str]]] = {
    # no HealthcareService, hence no Organization either (the iterate follows the services)
    "cpts-sans-service": (
        "cpts",
        {"SRV-FHIR-CPTS-REFERENCES-01", "SRV-FHIR-CPTS-PROFILS-03", "SRV-FHIR-CPTS-PROFILS-04"},
        set(),
    ),
    "cpts-finess-malforme": ("cpts", {"SRV-FHIR-CPTS-PROFILS-04"}, set()),
    # the services are still included, but no Slot leads to them any more
    "cpts-sans-extension": ("cpts", {"SRV-FHIR-CPTS-PROFILS-02"}, ORPHANS),
    "cpts-sans-organisation": ("cpts", {"SRV-FHIR-CPTS-REFERENCES-02", "SRV-FHIR-CPTS-PROFILS-04"}, set()),
    "cpts-deux-liens": ("cpts", {"SRV-FHIR-CPTS-PROFILS-01"}, set()),
    # no Slot at all: every Slot check has nothing to judge, and the Schedules are reached by no Slot
    "sos-sans-slots": (
        "sos",
        SLOT_CHECKS | {"SRV-FHIR-SOS-CRENEAUX-01", "SRV-FHIR-SOS-PROFILS-01", "SRV-FHIR-SOS-PROFILS-02"},
        ORPHANS,
    ),
    # the malformed SIRET is no longer the one asked for (as rpps-malforme for PS indiv)
    "sos-siret-malforme": (
        "sos",
        {"SRV-FHIR-SOS-PROFILS-05"} | {f"SRV-FHIR-SOS-IDENTIFIANTS-0{n}" for n in range(1, 4)},
        set(),
    ),
    "sos-location-sans-organisation": ("sos", {"SRV-FHIR-SOS-PROFILS-04"}, ORPHANS),
    "sos-agenda-sans-reference": ("sos", {"SRV-FHIR-SOS-PROFILS-03", "SRV-FHIR-REFERENCES-01"}, ORPHANS),
    "sos-ignore-identifiants": ("sos", {"SRV-FHIR-SOS-IDENTIFIANTS-02", "SRV-FHIR-SOS-REPONSE-01"}, set()),
    "sos-sans-400": ("sos", set(), MALFORMED),
}


def test_every_use_case_defect_has_a_variant_and_an_expected_set() -> None:
    assert set(EXPECTED) == set(CPTS_DEFECTS) | set(SOS_DEFECTS)
    assert {f"fhir-{d}" for d in EXPECTED} <= set(VARIANTS)
    assert sum(u == "cpts" for u, _, _ in EXPECTED.values()) >= 4 <= sum(u == "sos" for u, _, _ in EXPECTED.values())
    # every CPTS/SOS-only scenario is failed by at least one variant
    failed = set().union(*(b | a for _, b, a in EXPECTED.values()))
    assert failed >= CPTS_ONLY | SOS_ONLY


@pytest.mark.parametrize("defect", sorted(EXPECTED))
def test_each_use_case_variant_fails_exactly_its_scenarios(
    pytester: pytest.Pytester, warm_cache: Path, defect: str
) -> None:
    use_case, blocking, advisory = EXPECTED[defect]
    outcome, summary = run_suite(
        pytester, warm_cache, *FUNCTIONAL, f"--sas-reference-use-case={use_case}", f"--sas-reference-variant=fhir-{defect}"
    )
    statuses = by_status(summary)
    assert statuses.get("failed", set()) == blocking, outcome.stdout.str()[-3000:]
    assert statuses.get("warning", set()) == advisory
    assert set(statuses) <= {"passed", "failed", "warning"}
    assert outcome.ret == (1 if blocking else 0)


def test_the_positive_control_sends_the_use_case_request() -> None:
    from recette_sas.server.flows import flow_request

    assert flow_request("agregation").path.startswith("/Slot?")
    assert "service-type-reference" in flow_request("agregation", use_case="cpts").path
    sos = flow_request("agregation", base_path="/fhir", identifiers=("334173748400020",), use_case="sos")
    assert sos.path.startswith("/fhir/Schedule?_revinclude=Slot%3Aschedule&") and "334173748400020" in sos.path


def test_a_configuration_chooses_the_use_case_per_editor_environment(tmp_path: Path) -> None:
    """One editor, two environments of different use cases: each gets its own scenarios, none is skipped."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    config = tmp_path / "editeur.toml"
    config.write_text(
        'editor = "Test"\nmapping = "un-pour-un"\n'
        '[environments.recette]\nbase_url = "https://localhost:8443/fhir"\nuse_case = "cpts"\n'
        '[environments.preproduction]\nbase_url = "https://localhost:8444/fhir"\nuse_case = "sos"\n'
        'structures = ["334173748400020"]\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(root / "features"), f"--rootdir={root}", "-c", str(root / "pyproject.toml"),
         "--collect-only", "-q", "-m", "fhir and agregation", f"--sas-config={config}"],
        capture_output=True, text=True, timeout=120, cwd=root, check=False,
    )  # fmt: skip
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    sos = [i for i in ids if "frslotagregateursos" in i or "association" in i]
    cpts = [i for i in ids if "cpts" in i and "sos" not in i]
    assert sos and all("[preproduction-" in i for i in sos)
    assert cpts and all("[recette-" in i for i in cpts)
    assert not [i for i in ids if "[production-" in i]  # not configured
    assert not [i for i in ids if "respecte_le_profil_bundleagregateur[" in i]  # PS indiv only: none configured
    practitioners = [i for i in ids if "praticien" in i]  # PS indiv and CPTS: only where CPTS
    assert practitioners and all("[recette-" in i for i in practitioners)
    assert len([i for i in ids if "[recette-" in i]) == 34 and len([i for i in ids if "[preproduction-" in i]) == 30
