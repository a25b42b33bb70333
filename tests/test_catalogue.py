"""The requirements catalogue and the scenarios agree: requirement ids, check ids, levels, Gherkin shape.

Read from the feature files with pytest-bdd's own parser (what pytest-bdd collects is what is checked here),
and, for what only collection sees, by running pytest ``--collect-only`` on the suite or on a copy of it
changed on purpose: a rule that no broken copy can make fail is not a rule.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from pytest_bdd.parser import Feature, FeatureParser

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = tomllib.loads((ROOT / "docs" / "requirements.toml").read_text())
LEVELS = {"bloquant", "recommande"}
NON_REQUIREMENT_TAGS = {
    "serveur",
    "client",
    "agregation",
    "regulateurs",
    "creation_rdv",
    "maj_rdv",
    "recette",
    "preproduction",
    "production",
    "live",
    "igc",
    "fhir",
    "ip",
    "correspondance_partagee",
    "correspondance_separee",
    "cas_ps_indiv",
    "cas_cpts",
    "cas_sos",
    *LEVELS,
}
CHECK_ID = re.compile(r"(?P<requirement>[A-Z]{3}-[A-Z0-9-]+)-(?P<number>\d{2})")


@dataclass(frozen=True)
class Check:
    """One scenario, or one Examples block of a Scenario Outline: what carries exactly one check id."""

    feature: str
    title: str
    tags: frozenset[str]
    examples: tuple[str, ...]  # first Examples column, outlines only

    @property
    def check_ids(self) -> set[str]:
        return {t for t in self.tags if CHECK_ID.fullmatch(t)}

    @property
    def requirements(self) -> set[str]:
        return self.tags - NON_REQUIREMENT_TAGS - self.check_ids

    @property
    def levels(self) -> set[str]:
        return self.tags & LEVELS

    def check_keys(self) -> set[str]:
        (check,) = self.check_ids
        return {f"{check}[{e}]" for e in self.examples} if self.examples else {check}


def features(root: Path) -> list[tuple[Path, Feature]]:
    base = root / "features"
    return [
        (path, FeatureParser(str(base), str(path.relative_to(base))).parse())
        for path in sorted(base.rglob("*.feature"))
    ]


def checks(root: Path = ROOT) -> list[Check]:
    found = []
    for path, feature in features(root):
        for scenario in feature.scenarios.values():
            tags = feature.tags | scenario.tags
            blocks = [e for e in scenario.examples if e.examples] or [None]
            for block in blocks:
                first = tuple(next(iter(row.values())) for row in block.as_contexts()) if block else ()
                found.append(
                    Check(
                        path.name,
                        scenario.name + (f" / {block.name or 'Exemples'}" if block else ""),
                        frozenset(tags | (block.tags if block else set())),
                        first,
                    )
                )
    return found


def level_contradictions(root: Path = ROOT) -> list[str]:
    """Keys whose level tag is not their requirements' level, or whose requirements disagree on it."""
    bad = []
    for check in checks(root):
        required = {CATALOGUE[r]["level"] for r in check.requirements if r in CATALOGUE}
        if len(required) > 1 or (len(check.levels) == 1 and check.levels != required):
            bad += sorted(
                f"{key} (@{'/@'.join(sorted(check.levels))}, requirement: {'/'.join(required)})"
                for key in check.check_keys()
            )
    return bad


# --- the catalogue ----------------------------------------------------------------------------------


def test_catalogue_entries_are_complete() -> None:
    for req_id, entry in CATALOGUE.items():
        assert re.fullmatch(r"(SRV|CLI|REC)-[A-Z0-9-]+", req_id), req_id
        assert entry["level"] in LEVELS, req_id
        assert entry["source"].strip() and entry["section"].strip() and entry["summary"].strip(), req_id
        if entry["level"] == "recommande":
            assert entry.get("why", "").strip(), f"{req_id}: an advisory requirement says why it matters"
        assert entry.get("checks"), f"{req_id}: a requirement lists its check ids"
        for number, check in enumerate(entry["checks"], start=1):
            assert check == f"{req_id}-{number:02d}", f"{req_id}: checks are numbered 01, 02 … in order"


def test_every_requirement_has_a_scenario_and_every_scenario_a_known_requirement() -> None:
    used: set[str] = set()
    for check in checks():
        unknown = {t for t in check.requirements if t not in CATALOGUE}
        assert not unknown, f"{check.feature}: {check.title}: unknown tag(s) {unknown}"
        assert check.requirements, f"{check.feature}: {check.title}: no requirement id"
        used |= check.requirements
    assert set(CATALOGUE) - used == set(), f"requirements without a scenario: {set(CATALOGUE) - used}"


# --- check ids ----------------------------------------------------------------------------------------


def test_every_scenario_has_exactly_one_check_id_of_one_of_its_requirements() -> None:
    for check in checks():
        ids = check.check_ids
        assert len(ids) == 1, f"{check.feature}: {check.title}: check ids {sorted(ids) or 'none'}"
        (check_id,) = ids
        requirement = CHECK_ID.fullmatch(check_id)["requirement"]  # type: ignore[index]
        assert requirement in check.requirements, (
            f"{check.feature}: {check.title}: @{check_id} is not a check of {sorted(check.requirements)}"
        )


def test_check_ids_are_unique_and_are_exactly_the_catalogued_ones() -> None:
    seen: dict[str, str] = {}
    for check in checks():
        for check_id in check.check_ids:
            assert check_id not in seen, f"@{check_id} on both {seen[check_id]} and {check.title}"
            seen[check_id] = check.title
    catalogued = {c for entry in CATALOGUE.values() for c in entry["checks"]}
    assert set(seen) == catalogued, (
        f"tagged, not catalogued: {sorted(set(seen) - catalogued)}; "
        f"catalogued, not tagged: {sorted(catalogued - set(seen))}"
    )


def test_check_keys_are_unique() -> None:
    keys = [key for check in checks() for key in check.check_keys()]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def _collect(root: Path, *args: str, pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        str(root / "features"),
        f"--rootdir={root}",
        "-c",
        str(root / "pyproject.toml"),
        "--collect-only",
        "-q",
        *args,
    )


def test_collected_scenarios_carry_one_check_id_and_their_requirements_level(
    pytester: pytest.Pytester,
) -> None:
    """Collection applies the same rules (fixtures/markers.py, fixtures/levels.py) and accepts the suite."""
    outcome = _collect(ROOT, pytester=pytester)
    assert outcome.ret == 0, outcome.stdout.str()[-2000:] + outcome.stderr.str()[-2000:]
    assert len([line for line in outcome.stdout.lines if "::" in line]) > 200


class _Item:
    """Just what ``check_key`` and ``_deviation_for`` read of a collected scenario."""

    def __init__(self, markers: list[str], example: dict[str, str], name: str) -> None:
        self._markers = markers
        self.callspec = SimpleNamespace(params={"_pytest_bdd_example": example, "ans_env": "preproduction"})
        self.name = name
        self.nodeid = f"features/test_serveur.py::{name}"

    def iter_markers(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=m) for m in self._markers]


CASE_ITEM = _Item(
    ["serveur", "REC-CN-CASSE", "REC-CN-CASSE-01", "recommande"],
    {"défaut": "cn-casse"},
    "test_un_certificat_igc_santé_qui_nest_pas_celui_de_sas_est_refusé[preproduction-agregation-cn-casse]",
)


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("REC-CN-CASSE-01[cn-casse]", True),
        ("REC-CN-CASSE-01[*]", True),
        ("REC-CN-*", True),
        ("REC-CN-CASSE-01", False),  # an outline's key names its example
        ("REC-CN-CASSE-01[cn-espace-fin]", False),
        ("SRV-CN-01[cn-casse]", False),
        ("test_un_certificat_igc_santé_qui_nest_pas_celui_de_sas_est_refusé[preproduction-*-cn-casse]", True),
        ("test_un_certificat_igc_santé_qui_nest_pas_celui_de_sas_est_refusé[production-*-cn-casse]", False),
    ],
)
def test_expected_deviations_match_check_keys_and_still_the_old_test_names(
    pattern: str, matches: bool
) -> None:
    from fixtures.levels import _deviation_for
    from fixtures.markers import check_key
    from recette_sas.config.loader import ExpectedDeviation

    assert check_key(CASE_ITEM) == "REC-CN-CASSE-01[cn-casse]"  # type: ignore[arg-type]
    deviation = ExpectedDeviation(test=pattern, reason="r", expires=dt.date(2099, 1, 1))
    assert (_deviation_for(CASE_ITEM, (deviation,)) is deviation) is matches  # type: ignore[arg-type]


# --- levels -----------------------------------------------------------------------------------------


def test_every_scenario_has_the_level_of_its_requirements() -> None:
    for check in checks():
        assert len(check.levels) == 1, f"{check.feature}: {check.title}: level tags {sorted(check.levels)}"
    assert level_contradictions() == []


def _copy_suite(tmp: Path) -> Path:
    root = tmp / "suite"
    for name in ("features", "steps", "fixtures", "docs", "src"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    return root


CN_BLOCK = "    @SRV-CN @SRV-CN-01 @bloquant\n    Exemples: CN\n"
CN_KEYS = [f"SRV-CN-01[{d}]" for d in ("mauvais-cn", "cn-prefixe", "cn-suffixe", "deux-cn", "nom-dans-san")]


def test_a_drifted_level_is_found_by_the_check_and_refused_at_collection(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    root = _copy_suite(tmp_path)
    feature = root / "features" / "serveur" / "identite.feature"
    original = feature.read_text()
    assert original.count(CN_BLOCK) == 1
    feature.write_text(original.replace(CN_BLOCK, CN_BLOCK.replace("@bloquant", "@recommande")))
    drifted = level_contradictions(root)
    assert sorted(key.split(" ")[0] for key in drifted) == sorted(CN_KEYS)
    assert all("(@recommande, requirement: bloquant)" in key for key in drifted)
    outcome = _collect(root, pytester=pytester)
    assert outcome.ret == pytest.ExitCode.USAGE_ERROR
    err = outcome.stderr.str()
    assert "level tags must be the level of the requirement in docs/requirements.toml" in err
    assert all(key in err for key in CN_KEYS), err
    assert "Traceback" not in err + outcome.stdout.str()


def _retag(old: str, new: str) -> Callable[[str], str]:
    return lambda text: text.replace(old, new)


TLS12 = "  @SRV-TLS @SRV-TLS-01 @bloquant\n  Scénario: TLS 1.2 est accepté"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_retag(TLS12, TLS12.replace(" @bloquant", "")), "scenarios need exactly one level tag"),
        (
            _retag(TLS12, TLS12.replace("@bloquant", "@bloquant @recommande")),
            "scenarios need exactly one level tag",
        ),
        (_retag(TLS12, TLS12.replace("@SRV-TLS ", "@SRV-INCONNU ")), "'SRV-INCONNU' not found in `markers`"),
        (_retag(TLS12, TLS12.replace("@SRV-TLS-01 ", "")), "scenarios need exactly one check id"),
        (
            _retag(TLS12, TLS12.replace("@SRV-TLS-01 ", "@SRV-TLS-01 @SRV-TLS-02 ")),
            "scenarios need exactly one check id",
        ),
        (_retag(TLS12, TLS12.replace("@SRV-TLS-01", "@SRV-TLS-09")), "'SRV-TLS-09' not found in `markers`"),
        (
            _retag(TLS12, TLS12.replace("@SRV-TLS-01", "@SRV-MTLS-01")),
            "check ids must belong to a requirement the scenario names",
        ),
        (
            _retag(TLS12, TLS12.replace("@SRV-TLS @", "@SRV-TLS @REC-TLS13 @")),
            "scenarios name requirements of different levels",
        ),
        (_retag(TLS12, TLS12.replace("@bloquant", "@recommande")), "level tags must be the level"),
    ],
    ids=[
        "no-level",
        "both-levels",
        "unknown-requirement",
        "no-check-id",
        "two-check-ids",
        "unknown-check-id",
        "check-id-of-another-requirement",
        "requirements-of-two-levels",
        "level-of-another-requirement",
    ],
)
def test_a_scenario_that_contradicts_the_catalogue_is_refused_at_collection(
    pytester: pytest.Pytester, tmp_path: Path, change: Callable[[str], str], message: str
) -> None:
    root = _copy_suite(tmp_path)
    feature = root / "features" / "serveur" / "versions_tls.feature"
    original = feature.read_text()
    changed = change(original)
    assert changed != original
    feature.write_text(changed)
    outcome = _collect(root, pytester=pytester)
    assert outcome.ret != 0
    assert message in outcome.stdout.str() + outcome.stderr.str()


# --- Gherkin shape ----------------------------------------------------------------------------------


def test_backgrounds_hold_given_steps_only() -> None:
    for path, feature in features(ROOT):
        background = feature.background
        if background is not None:
            kinds = {step.type for step in background.steps}
            assert kinds <= {"given"}, f"{path.name}: the Background has {sorted(kinds)} steps"


def test_readme_lists_every_advisory_check() -> None:
    readme = (ROOT / "README.md").read_text()
    advisory = [req for req, entry in CATALOGUE.items() if entry["level"] == "recommande"]
    missing = [req for req in advisory if f"| {req} |" not in readme]
    assert not missing, f"README's advisory table lacks {missing}"
