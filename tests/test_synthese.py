"""The one-page acceptance record: renderer units, then real feature runs rendered in headless Chromium.

Two real runs, each in a subprocess writing into its own ``reports/``:

* the features against the embedded reference server, every ANS environment: the page lists every catalogue
  requirement against the three environments, and its numbers are ``summary.json``'s;
* a ``--sas-config`` run against the reference server exported and served in its own processes for the
  editor's recette and pre-production, with an IP allow-list that leaves out SAS's egress address and does not
  cover the suite (SRV-IP-01 fails in recette, REC-IP-01 is a warning), SRV-IP-01 declared an expected
  deviation in pre-production, and production pointed at a closed loopback port (unreachable).

Chromium and axe-core (``npm ci``) are needed for the rendering tests: missing, they skip on a workstation
and fail under ``CI=true``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from fixtures.allure_labels import find_secrets, run_environment, synthese_link
from fixtures.markers import load_catalogue
from recette_sas.report import Deviation, RunFacts, TargetFacts, build_record, render_html, render_markdown
from recette_sas.report.words import STATUSES, counts_text, word
from recette_sas.report.write import write_synthese

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
IN_CI = os.environ.get("CI") == "true"
ENVS = ("recette", "preproduction", "production")
CATALOGUE = load_catalogue()
PS_INDIV = {req: entry for req, entry in CATALOGUE.items() if "use_case" not in entry}
"""The requirements a PS-indiv run shows: those of one other use case (``use_case``, CPTS or SOS) are not its rows."""
IP_CHECK = "test_ladresse_ip_sortante_de_sas_figure_dans_la_liste_déclarée"
CLI = (sys.executable, "-m", "recette_sas.cli")
SERVE_BOUND = ("--max-seconds", "300", "--ready-file")
SECRET = "ne-doit-jamais-paraitre-7f3a"


def _require(found: object, what: str) -> None:
    if not found:
        if IN_CI:
            pytest.fail(f"{what} is missing, and CI=true: .ci/run must install it")
        pytest.skip(f"{what} is missing (install it to run this test)")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSL", "HTTP", "HTTPS", "ALL_PROXY"))}
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_features(reports: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:randomly", "--tb=no"]
    cmd += ["--alluredir", str(reports / "allure-results"), "--pki-cache", str(cache), *args]
    env = _env(RECETTE_SAS_TEST_PASSWORD=SECRET)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def ans_env_of(result: dict[str, Any]) -> str:
    match = re.fullmatch(r".*::test_[^\[]+\[(?P<env>[a-z]+)-.*\]", result["test"])
    assert match, result["test"]
    return match["env"]


# --- the page, parsed back --------------------------------------------------------------------------------

_NOUNS = {noun: status for status, w in STATUSES.items() for noun in (w.many, w.single)}


def parse_counts(text: str) -> dict[str, int]:
    """``(1 échoué, 8 réussis)`` back into statuses, with the renderer's own words."""
    found = re.search(r"\(([^()]*)\)\s*$", text)
    if not found:
        return {}
    counts = {}
    for part in found.group(1).split(", "):
        n, noun = part.split(" ", 1)
        counts[_NOUNS.get(noun, noun)] = int(n)
    return counts


class _Table(HTMLParser):
    """The requirement table's body and foot rows, as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.foot: list[str] = []
        self._section = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._tables += 1
        if self._tables == 1 and tag in ("tbody", "tfoot"):
            self._section = tag
        elif self._section and tag == "tr":
            self._row = []
        elif self._row is not None and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            (self.rows.append(self._row) if self._section == "tbody" else self.foot.extend(self._row))
            self._row = None
        elif tag in ("tbody", "tfoot"):
            self._section = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_of(page: str) -> _Table:
    parser = _Table()
    parser.feed(page)
    return parser


def visible_text(dom: str) -> str:
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S))
    return " ".join(html.unescape(text).split())


# --- headless Chromium ------------------------------------------------------------------------------------


def chromium(tmp: Path, *args: str, url: str, text: bool = True) -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    _require(binary, "chromium (apt-get install chromium)")
    profile = tmp / f"profil-{time.monotonic_ns()}"
    cmd = [
        str(binary),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        f"--user-data-dir={profile}",
        *args,
        url,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=text, timeout=120, check=True)
    return proc.stdout if text else ""


def rendered_text(page: Path, tmp: Path) -> str:
    return visible_text(chromium(tmp, "--virtual-time-budget=5000", "--dump-dom", url=page.as_uri()))


def pdf_pages(page: Path, tmp: Path) -> int:
    pdf = tmp / f"{page.stem}.pdf"
    chromium(tmp, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", url=page.as_uri())
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


def axe_violations(page: Path, tmp: Path) -> list[dict[str, Any]]:
    """axe-core (WCAG 2 A/AA and best practices) run on a copy of the page in headless Chromium."""
    _require(AXE.exists(), f"axe-core ({AXE.relative_to(ROOT)}: run npm ci)")
    probe = tmp / f"axe-{page.name}"
    runner = (
        f'<script src="{AXE.as_uri()}"></script><script>'
        "axe.run(document,{resultTypes:['violations']}).then(r=>{const p=document.createElement('pre');"
        "p.id='axe-result';p.textContent=JSON.stringify(r.violations.map(v=>({id:v.id,impact:v.impact,"
        "help:v.help,targets:v.nodes.map(n=>n.target)})));document.body.appendChild(p)},"
        "e=>{const p=document.createElement('pre');p.id='axe-result';p.textContent='ERREUR '+e;"
        "document.body.appendChild(p)})</script>"
    )
    probe.write_text(
        page.read_text(encoding="utf-8").replace("</body>", runner + "</body>"), encoding="utf-8"
    )
    dom = chromium(tmp, "--virtual-time-budget=30000", "--dump-dom", url=probe.as_uri())
    found = re.search(r'<pre id="axe-result">(.*?)</pre>', dom, flags=re.S)
    assert found, "axe-core did not finish in the page"
    result = html.unescape(found.group(1))
    assert not result.startswith("ERREUR"), result
    return json.loads(result)  # type: ignore[no-any-return]


# --- real runs --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory, pki_cache_dir: Path) -> Path:
    reports = tmp_path_factory.mktemp("reference") / "reports"
    proc = run_features(reports, pki_cache_dir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return reports


def _serve(export_dir: Path, env: str, tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    ready = tmp / f"ready-{env}"
    proc = subprocess.Popen(
        [*CLI, "serve-reference", "--pki-dir", str(export_dir), "--env", env, *SERVE_BOUND, str(ready)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None, f"serve-reference {env} exited"
        assert time.monotonic() < deadline, f"serve-reference {env} did not start"
        time.sleep(0.05)
    return proc, int(ready.read_text().split()[1])


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory, pki_cache_dir: Path) -> Iterator[Path]:
    """One failure, one warning, one expected deviation and one unreachable target, in one real run."""
    tmp = tmp_path_factory.mktemp("mixte")
    responder = _free_port()
    export_dir = tmp / "pki"
    url = f"http://127.0.0.1:{responder}"
    subprocess.run(
        [*CLI, "pki", "export", str(export_dir), "--cache", str(pki_cache_dir), "--responder-url", url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    servers = [_serve(export_dir, env, tmp) for env in ("recette", "preproduction")]
    try:
        ca = export_dir / "server" / "ca.pem"
        until = (dt.date.today() + dt.timedelta(days=45)).isoformat()
        config = tmp / "editeur.toml"
        config.write_text(
            f"""
editor = "Éditeur <Démo> & fils"
[pki]
responder_url = "http://127.0.0.1:{responder}"
responder_bind = "127.0.0.1:{responder}"
[environments.recette]
base_url = "https://localhost:{servers[0][1]}"
server_ca = "{ca}"
ip_allow_list = ["203.0.113.7"]
[environments.preproduction]
base_url = "https://localhost:{servers[1][1]}"
server_ca = "{ca}"
ip_allow_list = ["203.0.113.7"]
[environments.production]
base_url = "https://localhost:{_free_port()}"
server_ca = "{ca}"
[[expected_deviations]]
test = "{IP_CHECK}[preproduction-*]"
reason = "filtrage IP en cours d'ouverture chez l'hébergeur <ticket 42>"
expires = {until}
""",
            encoding="utf-8",
        )
        reports = tmp / "reports"
        proc = run_features(reports, pki_cache_dir, "--sas-config", str(config), "-m", "serveur")
        assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
        yield reports
    finally:
        for proc, _ in servers:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _summary(reports: Path) -> dict[str, Any]:
    return json.loads((reports / "summary.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# --- the reference run --------------------------------------------------------------------------------


def test_every_requirement_against_the_three_environments_with_the_summarys_numbers(
    reference_run: Path,
) -> None:
    summary = _summary(reference_run)
    page = (reference_run / "synthese.html").read_text(encoding="utf-8")
    table = table_of(page)
    assert [row[0].split(" ", 1)[0] for row in table.rows] == list(PS_INDIV)
    expected: dict[tuple[str, str], Counter[str]] = {}
    for result in summary["results"]:
        for req in result["requirements"]:
            expected.setdefault((req, ans_env_of(result)), Counter())[result["status"]] += 1
    for row in table.rows:
        req, level, *cells = row
        assert level == CATALOGUE[req.split(" ", 1)[0]]["level"]
        req = req.split(" ", 1)[0]
        assert len(cells) == len(ENVS)
        for env, cell in zip(ENVS, cells, strict=True):
            assert parse_counts(cell) == dict(expected.get((req, env), {})), (req, env, cell)
            assert cell.startswith(word(min(parse_counts(cell), key=list(STATUSES).index)).symbol)
        total = Counter[str]()
        for cell in cells:
            total.update(parse_counts(cell))
        assert dict(total) == summary["requirements"][req], req
    assert parse_counts(f"({table.foot[1]})") == summary["totals"]
    per_env = Counter(ans_env_of(r) for r in summary["results"])
    assert [sum(parse_counts(f"({c})").values()) for c in table.foot[2:]] == [per_env[e] for e in ENVS]
    assert "Verdict : CONFORME" in page and "code de sortie 0" in page
    assert summary["suite_version"] in page and summary["generated_at"] in page


def test_the_page_is_self_contained_and_the_markdown_says_the_same(reference_run: Path) -> None:
    page = (reference_run / "synthese.html").read_text(encoding="utf-8")
    assert "<script" not in page and not re.search(r"(src|href)=", page), "the page must need nothing"
    assert "@page{size:A4" in page
    markdown = (reference_run / "synthese.md").read_text(encoding="utf-8")
    for req in PS_INDIV:
        assert re.search(rf"^\| \*\*{re.escape(req.replace('-', '-'))}\*\* ", markdown, flags=re.M), req
    assert "**✔ Verdict : CONFORME** — code de sortie 0" in markdown
    assert counts_text(_summary(reference_run)["totals"]) in markdown


def test_reference_page_renders_passes_axe_and_prints_on_two_a4_pages(
    reference_run: Path, tmp_path: Path
) -> None:
    page = reference_run / "synthese.html"
    png = tmp_path / "synthese.png"
    chromium(tmp_path, "--window-size=1200,2400", f"--screenshot={png}", url=page.as_uri(), text=False)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 50_000, "blank screenshot"
    text = rendered_text(page, tmp_path)
    for req in PS_INDIV:
        assert f"{req} " in text, req
    assert text.count("✔ conforme") >= 3 * 30
    assert axe_violations(page, tmp_path) == []
    assert pdf_pages(page, tmp_path) <= 2


def test_no_secret_in_the_record_and_the_reports_net_covers_it(reference_run: Path, mixed_run: Path) -> None:
    for reports in (reference_run, mixed_run):
        for name in ("synthese.html", "synthese.md"):
            assert (reports / name).is_file()
        assert {p.name for p in find_secrets(reports, [SECRET.encode()])} == set()
        assert b"PRIVATE KEY" not in (reports / "synthese.html").read_bytes()
    planted = mixed_run.parent / "planted"
    planted.mkdir()
    (planted / "synthese.html").write_text("-----BEGIN PRIVATE KEY-----", encoding="utf-8")
    assert set(find_secrets(planted)) == {planted / "synthese.html"}


# --- the mixed run ----------------------------------------------------------------------------------------


def test_failure_warning_deviation_and_unreachable_each_show_distinctly(
    mixed_run: Path, tmp_path: Path
) -> None:
    summary = _summary(mixed_run)
    status = {(r["check"], ans_env_of(r)): r["status"] for r in summary["results"]}
    assert status[("SRV-IP-01", "recette")] == "failed"
    assert status[("REC-IP-01", "recette")] == "warning"
    assert status[("SRV-IP-01", "preproduction")] == "deviation"
    assert summary["unreachable_targets"] and summary["no_verdict"].get("injoignable")
    page = mixed_run / "synthese.html"
    text = rendered_text(page, tmp_path)
    assert "✘ Verdict : NON CONFORME — code de sortie 1" in text
    assert "Éditeur <Démo> & fils" in text and "<Démo>" not in page.read_text(encoding="utf-8")
    assert re.search(r"✘ échec — contrôle SRV-IP-01 \(recette\) : \S", text), text
    assert "⚠ avertissement — contrôle REC-IP-01 (recette, pré-production" in text
    assert "≈ écart attendu — contrôle SRV-IP-01 (pré-production)" in text
    assert "? pas de verdict (injoignable) — contrôle" in text and "(production" in text
    assert (
        f"{IP_CHECK}[preproduction-*] filtrage IP en cours d'ouverture chez l'hébergeur <ticket 42>" in text
    )
    assert re.search(r"dans 4[45] jour\(s\)\) 1 ", text)
    assert re.search(
        r"✘ injoignable — Éditeur <Démo> & fils \(production, https://localhost:\d+\) : no TCP", text
    )
    cells = {row[0].split(" ", 1)[0]: row[2:] for row in table_of(page.read_text(encoding="utf-8")).rows}
    assert cells["SRV-IP"][0].startswith("✘ échec") and cells["SRV-IP"][1].startswith("≈ écart attendu")
    assert cells["REC-IP"][0].startswith("⚠ avertissement")
    assert cells["SRV-MTLS"][0].startswith("✔ conforme") and cells["SRV-MTLS"][2].startswith(
        "? pas de verdict"
    )
    assert axe_violations(page, tmp_path) == []
    assert pdf_pages(page, tmp_path) <= 2
    markdown = (mixed_run / "synthese.md").read_text(encoding="utf-8")
    assert "✘ **échec** — contrôle `SRV-IP-01` (recette)" in markdown
    assert "&lt;ticket 42&gt;" in markdown and "<ticket 42>" not in markdown


# --- the renderer alone -------------------------------------------------------------------------------------

FACTS = RunFacts(
    editor="<script>alert(1)</script>",
    mapping="un-pour-un",
    environments=tuple(TargetFacts(e, e.title(), f"https://{e}.example") for e in ENVS),
    suite_version="9.9",
    deviations=(Deviation("SRV-CN-01[*]", "r", "2000-01-01"),),
)


def _result(check: str, env: str, status: str, req: str = "SRV-CN") -> dict[str, Any]:
    return {
        "test": f"f.py::t_{check}[{env}-agregation]",
        "check": check,
        "status": status,
        "requirements": [req],
    }


def test_unknown_and_non_verifiable_statuses_are_their_own_words_and_rank_below_a_failure() -> None:
    summary = {
        "verdict": "conforme",
        "exit_code": 0,
        "generated_at": "2026-12-01T00:00:00+00:00",
        "results": [
            _result("SRV-CN-01", "recette", "non-verifiable"),
            _result("SRV-CN-02", "recette", "passed"),
            _result("SRV-CN-01", "preproduction", "reporte"),
            _result("SRV-CN-01", "production", "failed"),
            _result("SRV-CN-02", "production", "reporte"),
            {"test": "f.py::t_sans_env", "check": "X-01", "status": "passed", "requirements": []},
        ],
        "failures": [{"test": "f.py::t_SRV-CN-01[production-agregation]", "message": "refus absent\nsuite"}],
    }
    record = build_record(summary, {"SRV-CN": {"level": "bloquant", "source": "x " * 200}}, FACTS)
    cells = record.rows[0].cells
    assert cells["recette"].word.one == "non vérifiable" and cells["preproduction"].word.one == "reporte"
    assert cells["production"].status == "failed"
    assert [r.requirement for r in record.rows] == ["SRV-CN", "(sans exigence)"]
    assert record.rows[1].cells["autre"].counts == {"passed": 1}
    assert record.findings[0].message == "refus absent" and record.deviations[0].lapsed
    page = render_html(record)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "◌ non vérifiable" in visible_text(page) and "• reporte" in visible_text(page) and "expiré" in page
    assert "<script>" not in render_markdown(record)


def test_a_record_that_cannot_be_written_is_one_line_never_a_raise(tmp_path: Path) -> None:
    blocker = tmp_path / "fichier"
    blocker.write_text("", encoding="utf-8")
    problem = write_synthese(blocker / "sous", summary={}, catalogue={}, facts=FACTS)
    assert problem is not None and "could not write" in problem and "\n" not in problem
    broken = write_synthese(tmp_path, summary={"results": [None]}, catalogue={}, facts=FACTS)
    assert broken is not None and broken.startswith("recette-sas: could not build the acceptance record")


def test_the_allure_environment_block_links_the_record() -> None:
    assert synthese_link({}).startswith("synthese.html")
    assert synthese_link({"GITLAB_CI": "true", "CI_PAGES_URL": "https://g.example/p/"}) == (
        "https://g.example/p/synthese.html"
    )
    config = type("C", (), {"stash": {}})()
    assert run_environment(config)["synthese"].startswith("synthese.html")  # type: ignore[arg-type]


def test_ci_templates_publish_the_record_beside_the_allure_report_and_as_the_job_summary() -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    gitlab = yaml.load((ROOT / "ci-templates" / "gitlab-ci.yml").read_text(encoding="utf-8"))
    github = yaml.load((ROOT / "ci-templates" / "github-actions.yml").read_text(encoding="utf-8"))
    job = gitlab["recette-preproduction"]
    assert job["artifacts"]["expose_as"] and "reports/synthese.html" in job["artifacts"]["paths"]
    assert any("cp reports/synthese.html public/synthese.html" in line for line in gitlab["pages"]["script"])
    steps = github["jobs"]["recette"]["steps"]
    summary_step = next(s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", ""))
    assert summary_step["if"] == "always()" and "cat reports/synthese.md" in summary_step["run"]
    assert "reports/allure-report/synthese.html" in summary_step["run"]
    pages = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert steps.index(summary_step) < steps.index(pages) and pages["with"]["path"] == "reports/allure-report"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert "reports/synthese.html" in upload["with"]["path"]


def test_a_use_case_requirement_is_a_row_only_where_the_run_judged_it() -> None:
    """A CPTS or SOS requirement (``use_case`` in the catalogue) belongs to that use case's editors' records."""
    catalogue = {
        "SRV-CN": {"level": "bloquant"},
        "SRV-FHIR-SOS-PROFILS": {"level": "bloquant", "use_case": "sos"},
        "SRV-FHIR-CPTS-PROFILS": {"level": "bloquant", "use_case": "cpts"},
    }
    summary = {
        "verdict": "conforme",
        "exit_code": 0,
        "results": [_result("SRV-FHIR-SOS-PROFILS-01", "recette", "passed", req="SRV-FHIR-SOS-PROFILS")],
    }
    record = build_record(summary, catalogue, FACTS)
    assert [r.requirement for r in record.rows] == ["SRV-CN", "SRV-FHIR-SOS-PROFILS"]
