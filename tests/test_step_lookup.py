"""What the suite does to run faster changes no answer: the memoised step lookup, the step parameters the
report keeps, the remembered port.

- ``fixtures/step_lookup.py`` memoises pytest-bdd's search for a step's definition. A run of the
  pre-production matrix (both roles, both test modules) checks every lookup against the library's own
  answer, computed afresh.
- ``fixtures/pki.py`` asks for the responder port the system chose for the previous run, so that run's
  certificates are reused; a port someone else holds makes the system choose again, and the run still
  passes.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from fixtures.pki import LAST_PORT_FILE, _last_port
from tests.test_variants import NOT_TESTABLE_HERE, ROOT, by_status, run_suite

pytest_plugins = ["pytester"]

CHECKING_PLUGIN = '''
import importlib, json, os
import pytest

scenario = importlib.import_module("pytest_bdd.scenario")
SEEN = {"calls": 0, "distinct": 0, "mismatches": []}


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    step_lookup = config.pluginmanager.get_plugin("fixtures.step_lookup")  # the suite's, once registered
    cached = scenario.find_fixturedefs_for_step
    assert cached is step_lookup.find_fixturedefs_for_step, cached
    keys = set()

    def checking(step, fixturemanager, node):
        got = cached(step=step, fixturemanager=fixturemanager, node=node)
        fresh = tuple(step_lookup._ORIGINAL(step=step, fixturemanager=fixturemanager, node=node))
        SEEN["calls"] += 1
        keys.add((step.type, step.name, node.nodeid.split("::")[0]))
        SEEN["distinct"] = len(keys)
        if got != fresh:
            SEEN["mismatches"].append(f"{step.type} {step.name} ({node.nodeid})")
        return got

    scenario.find_fixturedefs_for_step = checking


def pytest_unconfigure(config):
    with open(os.environ["LOOKUP_OUT"], "w") as fh:
        json.dump(SEEN, fh)
'''


@pytest.fixture(scope="module")
def warm_cache(pki_cache_dir: Path, pki: object) -> Path:
    return pki_cache_dir


def test_memoised_step_lookup_answers_what_pytest_bdd_answers(
    pytester: pytest.Pytester, warm_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(lookup_check=CHECKING_PLUGIN)
    out = pytester.path / "lookups.json"
    monkeypatch.setenv("LOOKUP_OUT", str(out))
    monkeypatch.setenv("PYTHONPATH", f"{pytester.path}:{ROOT}", prepend=":")
    outcome, _ = run_suite(pytester, warm_cache, "-m", "preproduction", "-p", "lookup_check")
    assert outcome.ret == 0, outcome.stdout.str()[-3000:]
    seen = json.loads(out.read_text())
    assert seen["mismatches"] == []
    assert seen["calls"] > 800  # every step of the pre-production matrix (847), server and client
    assert seen["distinct"] < seen["calls"] / 3  # and the memo is what answers most of them
    # The report shows each step's Gherkin arguments, never the fixtures its function takes (restored
    # for the call: every scenario above passed).
    params: dict[str, set[str]] = {}
    for path in (pytester.path / "reports" / "allure-results").glob("*-result.json"):
        for step in json.loads(path.read_text())["steps"]:
            for param in step.get("parameters", []):
                params.setdefault(param["name"], set()).add(param["value"])
    assert {"defaut", "version", "cas"} <= set(params), sorted(params)
    assert not {"pki", "cible", "tentative", "target_session", "ans_env"} & set(params)
    assert not any(" object at 0x" in v for values in params.values() for v in values)


def test_last_port_is_read_only_when_it_is_a_plausible_port(tmp_path: Path) -> None:
    path = tmp_path / LAST_PORT_FILE
    assert _last_port(path) == 0  # none remembered: the system chooses
    for text, port in (("41234\n", 41234), ("80", 0), ("70000", 0), ("abc", 0), ("", 0)):
        path.write_text(text)
        assert _last_port(path) == port, text


def test_next_run_reuses_the_port_and_its_certificates_or_lets_the_system_choose(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"

    def run() -> tuple[int, set[str]]:
        outcome, summary = run_suite(pytester, cache, "-m", "serveur and preproduction and not fhir")
        assert outcome.ret == 0, outcome.stdout.str()[-3000:]
        assert by_status(summary).get("skipped", set()) <= NOT_TESTABLE_HERE
        return int((cache / LAST_PORT_FILE).read_text()), {p.name for p in (cache / "issued").iterdir()}

    port, issued = run()
    assert run() == (port, issued)  # same port, same certificates: nothing issued again
    with socket.socket() as holder:  # someone else now listens on that port
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # over the last run's TIME_WAIT
        holder.bind(("127.0.0.1", port))
        holder.listen()
        other, issued_after = run()
    assert other != port and len(issued_after) == len(issued) + 1
