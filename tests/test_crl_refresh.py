"""The daily CRL refresh is judged across two runs, and can fail.

The features run twice with the same reports directory (so the same ``crl-sentinel.json``): the first run
plants a sentinel and says it will be judged next time (skipped, never passed), the second judges it. The
reference refreshes (it loads the day's CRLs and asks OCSP: passed); ``crl-figee`` loads the CRLs as first
published and asks no OCSP (warning, and failed under ``--sas-strict``). A state from another PKI, or a
corrupt file, is a first run again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recette_sas.pki.sentinel import STATE_FILE, load_state

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
CHECK = "REC-CRL-RAFRAICHIE-01"


def _run(pytester: pytest.Pytester, cache: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    results = pytester.path / "reports" / "allure-results"
    outcome = pytester.runpytest_subprocess(
        str(ROOT / "features"),
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        f"--pki-cache={cache}",
        f"--alluredir={results}",
        "-q",
        "-m",
        "REC-CRL-RAFRAICHIE",
        *args,
        timeout=300,
    )
    return outcome, json.loads((results.parent / "summary.json").read_text())


def _statuses(summary: dict[str, Any]) -> set[str]:
    assert {r["check"] for r in summary["results"]} == {CHECK}
    assert len(summary["results"]) == 3  # one per ANS environment
    return {r["status"] for r in summary["results"]}


@pytest.fixture
def cache(pki_cache_dir: Path, pki: object) -> Path:
    return pki_cache_dir


def test_the_reference_refreshes_its_crl_between_runs(pytester: pytest.Pytester, cache: Path) -> None:
    outcome, first = _run(pytester, cache)
    assert _statuses(first) == {"skipped"} and outcome.ret == 0
    state = load_state(pytester.path / "reports" / STATE_FILE)
    assert set(state) == {"recette", "preproduction", "production"}
    assert "PRIVATE KEY" not in (pytester.path / "reports" / STATE_FILE).read_text()
    outcome, second = _run(pytester, cache)
    assert _statuses(second) == {"passed"} and outcome.ret == 0
    assert set(load_state(pytester.path / "reports" / STATE_FILE)) == set(state)
    assert {s.serial for s in load_state(pytester.path / "reports" / STATE_FILE).values()}.isdisjoint(
        {s.serial for s in state.values()}
    ), "each run plants a new sentinel"


def test_a_server_that_never_reloads_its_crl_fails_the_second_time(
    pytester: pytest.Pytester, cache: Path
) -> None:
    _, first = _run(pytester, cache, "--sas-reference-variant=crl-figee")
    assert _statuses(first) == {"skipped"}
    outcome, second = _run(pytester, cache, "--sas-reference-variant=crl-figee")
    assert _statuses(second) == {"warning"} and outcome.ret == 0
    outcome, strict = _run(pytester, cache, "--sas-reference-variant=crl-figee", "--sas-strict")
    assert _statuses(strict) == {"failed"} and outcome.ret == 1
    assert all("sentinelle" in f["message"] for f in strict["failures"])


def test_a_corrupt_or_foreign_state_is_a_first_run(pytester: pytest.Pytester, cache: Path) -> None:
    reports = pytester.path / "reports"
    reports.mkdir()
    (reports / STATE_FILE).write_text("{not json")
    _, summary = _run(pytester, cache)
    assert _statuses(summary) == {"skipped"}
    data = json.loads((reports / STATE_FILE).read_text())
    for entry in data["sentinels"].values():
        entry["issuer_sha256"] = "0" * 64  # a PKI rebuilt since: its CAs are not these
    (reports / STATE_FILE).write_text(json.dumps(data))
    _, summary = _run(pytester, cache)
    assert _statuses(summary) == {"skipped"}
