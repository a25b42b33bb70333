"""The requirements catalogue and the scenarios agree: ids, levels, and one level tag per scenario."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest

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
    "ip",
    *LEVELS,
}


def _tag_blocks() -> list[tuple[Path, set[str], str]]:
    """(feature file, tags that apply, scenario or Examples title) for every scenario and Examples block."""
    blocks = []
    for feature in sorted((ROOT / "features").rglob("*.feature")):
        feature_tags: set[str] = set()
        pending: set[str] = set()
        outline_tags: set[str] | None = None
        seen_feature = False
        for line in feature.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("@"):
                pending |= {t[1:] for t in stripped.split()}
                continue
            if stripped.startswith("Fonctionnalité:"):
                feature_tags, pending, seen_feature = pending, set(), True
            elif stripped.startswith(("Scénario:", "Plan du scénario:")) and seen_feature:
                tags = feature_tags | pending
                if stripped.startswith("Plan du scénario:"):
                    outline_tags = tags
                    blocks.append((feature, tags, stripped))
                else:
                    outline_tags = None
                    blocks.append((feature, tags, stripped))
                pending = set()
            elif stripped.startswith("Exemples") and outline_tags is not None:
                if pending:
                    blocks.append((feature, outline_tags | pending, f"{stripped} (exemples)"))
                pending = set()
    return blocks


def test_every_requirement_has_a_scenario_and_every_scenario_a_known_requirement() -> None:
    used: set[str] = set()
    for feature, tags, title in _tag_blocks():
        ids = tags - NON_REQUIREMENT_TAGS
        unknown = {t for t in ids if t not in CATALOGUE}
        assert not unknown, f"{feature.name}: {title}: unknown requirement id(s) {unknown}"
        used |= ids
    scenario_blocks = [b for b in _tag_blocks() if "(exemples)" not in b[2]]
    for feature, tags, title in scenario_blocks:
        outline_examples = [b for b in _tag_blocks() if b[0] == feature and "(exemples)" in b[2]]
        has_id = bool(tags - NON_REQUIREMENT_TAGS) or any(
            b[1] - NON_REQUIREMENT_TAGS for b in outline_examples
        )
        assert has_id, f"{feature.name}: {title}: no requirement id"
    assert set(CATALOGUE) - used == set(), f"requirements without a scenario: {set(CATALOGUE) - used}"


def test_catalogue_entries_are_complete() -> None:
    for req_id, entry in CATALOGUE.items():
        assert re.fullmatch(r"(SRV|CLI|REC)-[A-Z0-9-]+", req_id), req_id
        assert entry["level"] in LEVELS, req_id
        assert entry["source"].strip() and entry["section"].strip() and entry["summary"].strip(), req_id
        if entry["level"] == "recommande":
            assert entry.get("why", "").strip(), f"{req_id}: an advisory requirement says why it matters"


def test_collected_scenarios_have_exactly_one_level_and_the_level_of_their_requirements(
    pytester: pytest.Pytester,
) -> None:
    outcome = pytester.runpytest_subprocess(
        str(ROOT / "features"),
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        "--collect-only",
        "-q",
    )
    assert outcome.ret == 0, outcome.stdout.str()[-2000:]
    assert len([line for line in outcome.stdout.lines if "::" in line]) > 200


def _copy_suite(tmp: Path) -> Path:
    root = tmp / "suite"
    for name in ("features", "steps", "fixtures", "docs", "src"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    return root


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s.replace(
                "  @SRV-TLS @bloquant\n  Scénario: TLS 1.2 est accepté",
                "  @SRV-TLS\n  Scénario: TLS 1.2 est accepté",
            ),
            "scenarios need exactly one level tag",
        ),
        (
            lambda s: s.replace(
                "  @SRV-TLS @bloquant\n  Scénario: TLS 1.2 est accepté",
                "  @SRV-TLS @bloquant @recommande\n  Scénario: TLS 1.2 est accepté",
            ),
            "scenarios need exactly one level tag",
        ),
        (
            lambda s: s.replace(
                "  @SRV-TLS @bloquant\n  Scénario: TLS 1.2 est accepté",
                "  @SRV-INCONNU @bloquant\n  Scénario: TLS 1.2 est accepté",
            ),
            "'SRV-INCONNU' not found in `markers`",
        ),
    ],
    ids=["no-level", "both-levels", "unknown-id"],
)
def test_a_scenario_with_no_level_both_levels_or_an_unknown_id_is_refused(
    pytester: pytest.Pytester,
    tmp_path: Path,
    change,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    root = _copy_suite(tmp_path)
    feature = root / "features" / "serveur" / "versions_tls.feature"
    original = feature.read_text()
    changed = change(original)
    assert changed != original
    feature.write_text(changed)
    outcome = pytester.runpytest_subprocess(
        str(root / "features"),
        f"--rootdir={root}",
        "-c",
        str(root / "pyproject.toml"),
        "--collect-only",
        "-q",
    )
    assert outcome.ret != 0
    assert message in outcome.stdout.str() + outcome.stderr.str()


def test_readme_lists_every_advisory_check() -> None:
    readme = (ROOT / "README.md").read_text()
    advisory = [req for req, entry in CATALOGUE.items() if entry["level"] == "recommande"]
    missing = [req for req in advisory if f"| {req} |" not in readme]
    assert not missing, f"README's advisory table lacks {missing}"
