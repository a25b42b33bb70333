"""The reference terminator configurations pass the whole server matrix; every mutant is caught.

Each case starts real terminators (nginx, HAProxy, Apache httpd) in the foreground, one per editor
environment, on loopback ports, configured from a PKI export, with the reference FHIR app behind them;
then runs the server features against them in a separate pytest process (as an editor would, with
``--sas-config``) and reads ``summary.json``. Terminators are stopped by the PID the test started.

- reference configurations: every scenario of the three environments passes, except SSL 3.0 (not
  testable with this OpenSSL) and the advisory warnings documented in ``expected.REFERENCE_WARNINGS``;
- mutants (one environment each): the EXACT sets of failed, warning and broken checks; everything
  else passes, so no negative passes for a wrong reason and no positive control breaks silently;

Scenarios are keyed by the ``check`` field of ``summary.json`` (``SRV-CN-01[cn-prefixe]``), never by title.
- ``terminators/README.md`` is generated from what the run measured, and must equal the committed file.

A missing terminator binary skips its cases with the reason on a developer's machine and fails them
under CI (``CI=true``). ``RECETTE_SAS_TERMINATOR_JOBS`` (default 2) cases run side by side.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from recette_sas.environments import Mapping, accepted_subjects, editor_environments
from recette_sas.pki.export import ExportLayout
from recette_sas.pki.store import Pki
from recette_sas.server.flows import slot_search
from recette_sas.terminators import expected as ex
from recette_sas.terminators import mutants as mt
from recette_sas.terminators import readme
from recette_sas.terminators.export import export_with_snippets
from recette_sas.terminators.mutation import MutationContext
from recette_sas.terminators.render import (
    TERMINATORS,
    Placement,
    Running,
    TerminatorError,
    free_port,
    nginx_map_key,
    render,
    render_snippets,
    run_as_for_current_user,
    subject_dn,
)
from recette_sas.terminators.upstream import Upstream

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "terminators" / "README.md"
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
JOBS = max(1, int(os.environ.get("RECETTE_SAS_TERMINATOR_JOBS", "2")))
CASE_TIMEOUT = 300
MATRIX = "serveur and not igc and not ip and not fhir"
"""The look-alike server matrix: the real-IGC-chain and IP-filtering scenarios need targets of another kind
(``trust = "igc"``, a declared allow-list) and skip on these; the functional FHIR scenarios judge the
application behind the terminator, the same upstream app whatever terminates TLS, and have their own tests."""
_SCRUBBED = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSLKEYLOGFILE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)


@dataclass(frozen=True)
class Case:
    """One run of the server matrix against terminators of one kind."""

    terminator: str
    mapping: Mapping
    envs: tuple[str, ...]
    mutant: mt.Mutant | None = None

    @property
    def id(self) -> str:
        if self.mutant is not None:
            return f"{self.terminator}-{self.mutant.name}"
        return f"{self.terminator}-reference-{self.mapping.value}"

    @property
    def matrix(self) -> tuple[frozenset[str], frozenset[str]]:
        """(positive, negative) checks of this case's matrix: in simplified mapping the editor's
        pre-production serves both ANS test environments, so the other one's certificate is accepted."""
        if self.mapping is Mapping.SIMPLIFIED:
            return ex.POSITIVES | {ex.OTHER_ENV_SERVED}, ex.NEGATIVES - {ex.OTHER_ENV}
        return ex.POSITIVES, ex.NEGATIVES


REFERENCE_CASES = [Case(t, Mapping.ONE_TO_ONE, editor_environments(Mapping.ONE_TO_ONE)) for t in TERMINATORS]
SIMPLIFIED_CASES = [Case(t, Mapping.SIMPLIFIED, ("preproduction",)) for t in TERMINATORS]
MUTANT_CASES = [Case(m.terminator, Mapping.ONE_TO_ONE, (m.env,), m) for m in mt.MUTANTS.values()]
ALL_CASES = [*REFERENCE_CASES, *SIMPLIFIED_CASES, *MUTANT_CASES]


@dataclass
class Measured:
    """What one case's run showed."""

    case: Case
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)
    """ANS environment -> check key -> status (passed, failed, warning, broken, skipped)."""
    messages: dict[str, str] = field(default_factory=dict)
    attempts: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    """(ANS environment, flow, check key) -> the attempt the scenario judged."""
    infos: dict[str, readme.ScenarioInfo] = field(default_factory=dict)
    """check key -> its check id, example value, requirement id and title (from the Allure results)."""
    seconds: float = 0.0
    returncode: int | None = None
    output: str = ""
    error: str | None = None

    def by_status(self, env: str) -> dict[str, set[str]]:
        grouped: dict[str, set[str]] = {}
        for key, status in self.statuses.get(env, {}).items():
            grouped.setdefault(status, set()).add(key)
        return grouped

    def explain(self) -> str:
        """Everything needed to re-measure a case: exit status, the non-passing sets, each failure's reason."""
        lines = [f"case {self.case.id}: exit {self.returncode} in {self.seconds:.1f}s"]
        if self.error:
            lines.append(self.error)
        for env in sorted(self.statuses):
            for status, keys in sorted(self.by_status(env).items()):
                if status != "passed":
                    lines.append(f"  {env} {status}: {sorted(keys)}")
        lines += [f"  {k}: {v}" for k, v in sorted(self.messages.items())][:40]
        lines.append(self.output[-3000:])
        return "\n".join(lines)


_SEVERITY = ["passed", "skipped", "deviation", "warning", "failed", "broken"]
_PARAMS = re.compile(r".*::test_[^\[]+\[(?P<env>[a-z]+)-(?P<flow>[a-z]+)(?:-.+)?\]")


def scenario_key(result: dict[str, Any]) -> tuple[str, str, str]:
    """A summary result -> (ANS environment, flow, check key): the key is the result's ``check`` field
    (``SRV-CN-01[mauvais-cn]``); only the parameters come from the node id."""
    match = _PARAMS.fullmatch(result["test"])
    assert match and result.get("check"), result
    return match["env"], match["flow"], result["check"]


def _read_allure(results: Path, measured: Measured) -> None:
    for path in results.glob("*-result.json"):
        data = json.loads(path.read_text())
        title = data.get("fullName", "").split(":", 1)[-1]
        params = {p["name"]: p["value"].strip("'") for p in data.get("parameters", [])}
        labels = {label["name"]: label["value"] for label in data.get("labels", [])}
        key = labels["controle"]
        check, _, example = key.partition("[")
        measured.infos[key] = readme.ScenarioInfo(
            check, example.removesuffix("]"), labels.get("exigence", ""), title
        )
        for step in data.get("steps", []):
            for attachment in step.get("attachments", []):
                if attachment.get("name") == "tentative":
                    attempt = json.loads((results / attachment["source"]).read_text())
                    measured.attempts[(params.get("ans_env", ""), params.get("flow", ""), key)] = attempt


@dataclass
class Slot:
    """A worker's own OCSP/CRL address and the PKI export made for it (reused by its successive cases)."""

    responder_port: int
    export_dir: Path


class Campaign:
    """Runs cases (at most ``jobs`` at once) and keeps what they measured."""

    def __init__(self, cache: Path, work: Path, jobs: int) -> None:
        self.cache = cache
        self.work = work
        self.jobs = jobs
        self.measured: dict[str, Measured] = {}
        self.wanted: list[Case] = []
        """The cases the selected tests need: run together, side by side, on first need."""
        self._slots: list[Slot] = []
        self._free: list[Slot] = []
        self._lock = threading.Lock()

    def _slot(self, index: int) -> Slot:
        port = free_port()
        pki = Pki.load_or_build(self.cache, responder_url=f"http://127.0.0.1:{port}")
        export_dir = self.work / f"export-{index}"
        export_with_snippets(pki, export_dir)
        return Slot(port, export_dir)

    def run(self, cases: list[Case]) -> None:
        todo = [c for c in cases if c.id not in self.measured and TERMINATORS[c.terminator].find_binary()]
        if not todo:
            return
        while len(self._slots) < min(self.jobs, len(todo)):
            slot = self._slot(len(self._slots))
            self._slots.append(slot)
            self._free.append(slot)
        with ThreadPoolExecutor(max_workers=len(self._slots)) as pool:
            for measured in pool.map(self._run_in_slot, todo):
                self.measured[measured.case.id] = measured
        dump = os.environ.get("RECETTE_SAS_TERMINATOR_DUMP")
        if dump:  # for a maintainer re-measuring the expected sets after adding scenarios
            Path(dump).write_text(
                json.dumps({k: m.statuses for k, m in self.measured.items()}, indent=1, sort_keys=True)
            )

    def _run_in_slot(self, case: Case) -> Measured:
        with self._lock:
            slot = self._free.pop()
        try:
            return run_case(case, slot, self.cache, self.work / case.id)
        finally:
            with self._lock:
                self._free.append(slot)


def run_case(case: Case, slot: Slot, cache: Path, case_dir: Path) -> Measured:
    """Start the case's terminators and upstreams, run the features against them, stop everything."""
    spec = TERMINATORS[case.terminator]
    binary = spec.find_binary()
    assert binary is not None
    case_dir.mkdir(parents=True)
    layout = ExportLayout(slot.export_dir)
    measured = Measured(case)
    started = time.monotonic()
    ports: dict[str, int] = {}
    try:
        with contextlib.ExitStack() as stack:
            for env in case.envs:
                trusts = case.mutant is not None and case.mutant.upstream_trusts_client_cn
                upstream = stack.enter_context(
                    Upstream(
                        trust_client_cn_header=trusts,
                        allowed_subjects=accepted_subjects(env, case.mapping) if trusts else (),
                    )
                )
                ports[env] = free_port()
                run_dir = case_dir / f"{case.terminator}-{env}"
                run_dir.mkdir()
                text = render(
                    case.terminator,
                    layout,
                    env=env,
                    mapping=case.mapping,
                    responder_url=f"http://127.0.0.1:{slot.responder_port}",
                    placement=Placement(
                        listen=f"127.0.0.1:{ports[env]}",
                        upstream=upstream.address,
                        run_dir=run_dir,
                        run_as=run_as_for_current_user(),
                    ),
                )
                if case.mutant is not None:
                    context = MutationContext(case.terminator, env, case.mapping, layout, run_dir)
                    text = mt.apply(case.mutant, text, context)
                config = run_dir / f"{case.terminator}{spec.suffix}"
                config.write_text(text)
                stack.enter_context(Running(spec, binary, config, run_dir, host="127.0.0.1", port=ports[env]))
            _run_features(case, slot, cache, case_dir, ports, measured)
    except Exception as exc:  # reported by the test that reads this case, with the terminator's own words
        measured.error = f"{type(exc).__name__}: {exc}"
    measured.seconds = time.monotonic() - started
    return measured


def _run_features(
    case: Case, slot: Slot, cache: Path, case_dir: Path, ports: dict[str, int], measured: Measured
) -> None:
    responder = f"127.0.0.1:{slot.responder_port}"
    blocks = "".join(
        f'[environments.{env}]\nbase_url = "https://localhost:{port}"\n'
        f'server_ca = "{slot.export_dir / "server" / "ca.pem"}"\n'
        for env, port in ports.items()
    )
    config = case_dir / "editeur.toml"
    config.write_text(
        f'editor = "{case.id}"\nmapping = "{case.mapping.value}"\n'
        f'[pki]\nresponder_url = "http://{responder}"\nresponder_bind = "{responder}"\n{blocks}'
    )
    results = case_dir / "reports" / "allure-results"
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "features"),
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            f"--pki-cache={cache}",
            f"--alluredir={results}",
            f"--sas-config={config}",
            f"--sas-env={','.join(case.envs)}",
            "-m",
            MATRIX,
            "-q",
            "--tb=no",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=case_dir,
        timeout=CASE_TIMEOUT,
        check=False,
    )
    measured.returncode = completed.returncode
    measured.output = completed.stdout + completed.stderr
    summary = json.loads((results.parent / "summary.json").read_text())
    seen: dict[tuple[str, str, str], str] = {}
    for result in summary["results"]:
        ans_env, flow, key = scenario_key(result)
        first = seen.setdefault((ans_env, flow, key), result["test"])
        assert first == result["test"], f"two scenarios share the key {key}: {first} and {result['test']}"
        # One status per scenario and environment, over both flows: the worse one, so a flow that
        # disagrees with the other stays visible.
        statuses = measured.statuses.setdefault(ans_env, {})
        previous = statuses.get(key, "passed")
        statuses[key] = max(previous, result["status"], key=_SEVERITY.index)
    for failure in summary["failures"]:
        measured.messages[failure["test"].split("::", 1)[-1]] = failure["message"]
    _read_allure(results, measured)


def require_binary(terminator: str) -> str:
    spec = TERMINATORS[terminator]
    binary = spec.find_binary()
    if binary is None:
        reason = (
            f"{spec.label} is not installed (no {' or '.join(spec.binaries)} in PATH or sbin; "
            f"Debian package {spec.package})"
        )
        if IN_CI:
            pytest.fail(f"{reason}: CI must install it (.ci/run)")
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="module")
def campaign(
    request: pytest.FixtureRequest, pki_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Campaign]:
    """Every selected case, run once, side by side (the first test that needs it pays for all)."""
    campaign = Campaign(pki_cache_dir, tmp_path_factory.mktemp("terminators"), JOBS)
    wanted: dict[str, Case] = {}
    for item in request.session.items:
        if item.module is not request.module:
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("case"), Case):
            wanted[callspec.params["case"].id] = callspec.params["case"]
        if item.name == "test_readme_is_generated_from_the_run":
            wanted.update({c.id: c for c in ALL_CASES})
    campaign.wanted = list(wanted.values())
    yield campaign


def _measure(campaign: Campaign, case: Case) -> Measured:
    require_binary(case.terminator)
    campaign.run(campaign.wanted)
    campaign.run([case])
    measured = campaign.measured[case.id]
    assert measured.error is None, measured.explain()
    assert measured.statuses, measured.explain()
    return measured


def _assert_reference(measured: Measured) -> None:
    warnings = ex.REFERENCE_WARNINGS[measured.case.terminator]
    positives, negatives = measured.case.matrix
    assert set(measured.statuses) >= set(measured.case.envs), measured.explain()
    for env in measured.statuses:
        statuses = measured.by_status(env)
        assert statuses.get("failed", set()) == set(), measured.explain()
        assert statuses.get("broken", set()) == set(), measured.explain()
        assert statuses.get("warning", set()) == warnings, measured.explain()
        assert statuses.get("skipped", set()) == ex.SKIPPED, measured.explain()
        assert statuses["passed"] >= positives
        # Exactly the look-alike matrix ran in this environment: every positive and negative check.
        assert set(measured.statuses[env]) == positives | negatives | ex.SKIPPED, measured.explain()
    assert measured.returncode == 0, measured.explain()


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=lambda c: c.terminator)
def test_reference_configuration_passes_the_server_matrix_in_every_environment(
    campaign: Campaign, case: Case
) -> None:
    measured = _measure(campaign, case)
    assert set(measured.statuses) == {"recette", "preproduction", "production"}
    _assert_reference(measured)


@pytest.mark.parametrize("case", SIMPLIFIED_CASES, ids=lambda c: c.terminator)
def test_reference_configuration_in_simplified_mapping_accepts_both_test_subjects(
    campaign: Campaign, case: Case
) -> None:
    measured = _measure(campaign, case)
    assert set(measured.statuses) == {"recette", "preproduction"}  # both ANS test environments call it
    _assert_reference(measured)
    assert all(measured.statuses[env][ex.OTHER_ENV_SERVED] == "passed" for env in measured.statuses)
    assert all(ex.OTHER_ENV not in measured.statuses[env] for env in measured.statuses)


@pytest.mark.parametrize("case", MUTANT_CASES, ids=lambda c: c.id)
def test_each_mutant_is_caught_by_its_scenarios_and_no_negative_passes_wrongly(
    campaign: Campaign, case: Case
) -> None:
    mutant = case.mutant
    assert mutant is not None and mutant.expected.caught, (
        "a mutant no scenario is meant to catch tests nothing"
    )
    measured = _measure(campaign, case)
    (env,) = measured.statuses
    statuses = measured.by_status(env)
    expected = mt.full_expected(mutant)
    assert statuses.get("failed", set()) == expected.failed, measured.explain()
    assert statuses.get("warning", set()) == expected.warning, measured.explain()
    assert statuses.get("broken", set()) == expected.broken, measured.explain()
    # Where the positive control fails, even the check judged next run is unjudgeable (broken, not skipped).
    assert statuses.get("skipped", set()) == ex.SKIPPED - expected.broken, measured.explain()
    positives, negatives = case.matrix
    assert set(measured.statuses[env]) == positives | negatives | ex.SKIPPED  # exactly the whole matrix ran
    if mutant.refuses_everyone:
        # The positive control failed, so no refusal was credited: no negative passed.
        assert statuses.get("passed", set()) & negatives == set()
        assert "positive control did not pass" in " ".join(measured.messages.values())
    else:
        assert statuses["passed"] >= positives, measured.explain()
    assert measured.returncode == (1 if expected.failed or expected.broken else 0), measured.explain()


def test_readme_is_generated_from_the_run(campaign: Campaign) -> None:
    for terminator in TERMINATORS:
        require_binary(terminator)
    campaign.run(ALL_CASES)
    missing = [c.id for c in ALL_CASES if c.id not in campaign.measured or campaign.measured[c.id].error]
    assert not missing, f"cases that did not run: {missing}"
    text = render_readme(campaign)
    current = README.read_text(encoding="utf-8") if README.is_file() else ""
    if current != text:
        if not IN_CI:
            README.write_text(text, encoding="utf-8")
        pytest.fail(
            f"{README.relative_to(ROOT)} does not match this run"
            + ("" if IN_CI else ": regenerated from it, review the difference and commit it")
        )


def render_readme(campaign: Campaign) -> str:
    infos: dict[str, readme.ScenarioInfo] = {}
    for measured in campaign.measured.values():
        infos.update(measured.infos)
    reference: dict[str, readme.RunSummary] = {}
    refusals: dict[str, dict[str, str]] = {}
    for case in REFERENCE_CASES:
        measured = campaign.measured[case.id]
        reference[case.terminator] = readme.RunSummary.of(
            {
                status: set().union(*(measured.by_status(env).get(status, set()) for env in case.envs))
                for status in ("failed", "warning", "broken")
            }
        )
        refusals[case.terminator] = {
            key: readme.describe_attempt(attempt)
            for (env, flow, key), attempt in measured.attempts.items()
            if env == "preproduction" and flow == "agregation"
        }
    measured_mutants = [
        (case.mutant, readme.RunSummary.of(campaign.measured[case.id].by_status(case.envs[0])))
        for case in MUTANT_CASES
        if case.mutant is not None
    ]
    return readme.render_readme(
        reference=reference,
        refusals=refusals,
        mutants=measured_mutants,
        infos=infos,
        environments=editor_environments(Mapping.ONE_TO_ONE),
    )


# --- fast checks: no terminator needed -------------------------------------------------------------


@pytest.mark.parametrize("mapping", list(Mapping))
def test_nginx_subject_keys_match_exactly_the_sas_subjects(mapping: Mapping) -> None:
    """The generated keys, read as PCRE by nginx (Python's ``re`` agrees on these escapes), match the DN of
    each accepted subject and nothing one character, one case or one attribute away from it."""
    for env in editor_environments(mapping):
        for subject in accepted_subjects(env, mapping):
            dn = subject_dn(subject)
            key = nginx_map_key(dn)
            assert key.startswith('"~^') and key.endswith('$"'), key
            pattern = re.compile(key[2:-1])
            assert pattern.search(dn)
            cn = subject.cn
            for near in (
                dn.replace(f"CN={cn}", f"CN={cn.upper()}"),
                dn.replace(f"CN={cn}", f"CN=x{cn}"),
                dn.replace(f"CN={cn}", f"CN={cn}.evil"),
                dn.replace(f"OU={subject.ou}", "OU=499700999999001"),
                f"CN=autre,{dn}",
                dn + ",CN=autre",
                dn.replace(".", "x") if "." in dn else dn + "x",
            ):
                assert not pattern.search(near), (key, near)


def test_every_mutant_applies_to_its_reference_configuration(tmp_path: Path, pki: Pki) -> None:
    export_with_snippets(pki, tmp_path / "export")
    layout = ExportLayout(tmp_path / "export")
    for mutant in mt.MUTANTS.values():
        placement = Placement(listen="127.0.0.1:8443", upstream="127.0.0.1:8080", run_dir=tmp_path)
        text = render(
            mutant.terminator,
            layout,
            env=mutant.env,
            mapping=Mapping.ONE_TO_ONE,
            responder_url=pki.responder_url,
            placement=placement,
        )
        context = MutationContext(mutant.terminator, mutant.env, Mapping.ONE_TO_ONE, layout, tmp_path)
        changed = mt.apply(mutant, text, context)
        assert changed != text
        assert "{{" not in changed
        assert len(mutant.description.splitlines()) == 1


def test_export_carries_a_ready_configuration_per_terminator_and_environment(
    tmp_path: Path, pki: Pki
) -> None:
    export_with_snippets(pki, tmp_path / "export")
    snippets = sorted(p.name for p in (tmp_path / "export" / "snippets").iterdir())
    assert snippets == sorted(
        f"{t}-{e}{TERMINATORS[t].suffix}"
        for t in TERMINATORS
        for e in ("recette", "preproduction", "production")
    )
    for name in snippets:
        text = (tmp_path / "export" / "snippets" / name).read_text()
        assert "{{" not in text
        assert str(tmp_path / "export") in text  # the final paths, not the temporary build folder
        assert ".export-" not in text
    pem = tmp_path / "export" / "server" / "haproxy.pem"
    assert oct(pem.stat().st_mode & 0o777) == "0o600"
    assert b"PRIVATE KEY" in pem.read_bytes() and b"CERTIFICATE" in pem.read_bytes()
    assert render_snippets(
        ExportLayout(tmp_path / "export"), mapping=Mapping.SIMPLIFIED, responder_url="http://x"
    )


def test_the_application_believes_only_the_terminator_header() -> None:
    from recette_sas.environments import get_environment

    subject = get_environment("preproduction").subject
    dn = subject_dn(subject)
    slot = ("GET", slot_search().request.path)  # SAS's real search, as SAS sends it
    with Upstream() as app:
        assert app.handle(*slot, [], b"").status == 403  # did not come through the terminator
        assert app.handle(*slot, [("X-SSL-Client-S-DN", dn)], b"").status == 200
        assert app.handle(*slot, [("X-SSL-Client-S-DN", dn), ("X-SSL-Client-S-DN", dn)], b"").status == 403
        assert (
            app.handle(
                *slot, [("X-SSL-Client-S-DN", "CN=autre"), ("X-SSL-Client-CN", subject.cn)], b""
            ).status
            == 200
        )
    with Upstream(trust_client_cn_header=True, allowed_subjects=[subject]) as broken:
        other = dn.replace(f"CN={subject.cn}", "CN=autre")
        assert broken.handle(*slot, [("X-SSL-Client-S-DN", other)], b"").status == 403
        assert (
            broken.handle(*slot, [("X-SSL-Client-S-DN", other), ("X-SSL-Client-CN", subject.cn)], b"").status
            == 200
        )


def test_a_refused_configuration_is_reported_in_the_terminator_words(tmp_path: Path) -> None:
    require_binary("nginx")
    spec = TERMINATORS["nginx"]
    config = tmp_path / "nginx.conf"
    config.write_text("events {}\nhttp { server { listen 127.0.0.1:1 ssl; ssl_verify_client peut-etre; } }\n")
    running = Running(spec, str(spec.find_binary()), config, tmp_path, host="127.0.0.1", port=free_port())
    with pytest.raises(TerminatorError, match='invalid value "peut-etre"'):
        running.start()
    assert running.pid is None
