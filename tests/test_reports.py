"""Reports: Allure labels and run files, failure categories, the HTML report offline, no secret, CI templates.

The acceptance runs here are real: the features against the embedded reference server (and broken
variants of it), in a subprocess, with ``--alluredir`` in a temporary directory. Node, Allure Report 3
(``npm ci``) and Chromium are needed for the report tests: missing, they skip on a workstation and fail
under ``CI=true``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ruamel.yaml import YAML

from fixtures.allure_labels import (
    CATEGORIES_FILE,
    IG_URL,
    SECRET_LEAK_EXIT,
    _requirement_url,
    family_of,
    find_secrets,
    load_categories,
    run_environment,
)
from fixtures.markers import load_catalogue
from fixtures.options import SETTINGS
from recette_sas import __version__

ROOT = Path(__file__).resolve().parent.parent
ALLURE = ROOT / "node_modules" / ".bin" / "allure"
CI_TEMPLATES = ROOT / "ci-templates"
IN_CI = os.environ.get("CI") == "true"
CATALOGUE = load_catalogue()

# Disjoint selections (one scenario never runs twice, so Allure sees no retry), each against the broken
# variant of the reference server that makes it fail, with the category its failures must land in.
VARIANT_RUNS = {
    "tls10": ("SRV-TLS", "Non-conformité : version de TLS"),
    "ignore-cn": ("SRV-CN or REC-CN-CASSE", "Non-conformité : identité (CN / OU)"),
    "sans-revocation": ("SRV-REVOCATION", "Non-conformité : révocation"),
    "deux-hierarchies": (
        "SRV-HIERARCHIE",
        "Non-conformité : validation du certificat (AC IGC Santé, chaîne, validité, profil)",
    ),
    "hors-service": ("SRV-MTLS", "Non jugé : cible injoignable"),
}
WARNINGS = "Avertissements : recommandations non suivies (non bloquant)"


def _require(found: object, what: str) -> None:
    if not found:
        if IN_CI:
            pytest.fail(f"{what} is missing, and CI=true: .ci/run must install it")
        pytest.skip(f"{what} is missing (install it to run this test)")


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    _require(path, "chromium (apt-get install chromium)")
    return str(path)


def _allure() -> Path:
    _require(shutil.which("node"), "node (Node.js 20)")
    _require(ALLURE.exists(), f"Allure Report 3 ({ALLURE.relative_to(ROOT)}: run npm ci)")
    return ALLURE


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSL", "HTTP", "HTTPS", "ALL_PROXY"))}
    env.update(extra)
    return env


def run_features(results: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "features",
        "-q",
        "--sas-env",
        "preproduction",
        "--alluredir",
        str(results),
        "--pki-cache",
        str(cache),
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)


def results_of(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*-result.json"))]


def labels(result: dict[str, Any], name: str) -> list[str]:
    return [lb["value"] for lb in result["labels"] if lb["name"] == name]


@pytest.fixture(scope="module")
def conforme_run(tmp_path_factory: pytest.TempPathFactory, pki_cache_dir: Path) -> Path:
    """The server role against the correct reference server, ANS pre-production only."""
    results = tmp_path_factory.mktemp("conforme") / "allure-results"
    proc = run_features(results, pki_cache_dir, "-m", "preproduction and serveur")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return results


@pytest.fixture(scope="module")
def variant_runs(tmp_path_factory: pytest.TempPathFactory, pki_cache_dir: Path) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("variantes")
    dirs = {}
    for variant, (requirements, _) in VARIANT_RUNS.items():
        dirs[variant] = base / variant / "allure-results"
        proc = run_features(
            dirs[variant],
            pki_cache_dir,
            "--sas-reference-variant",
            variant,
            "-m",
            f"preproduction and agregation and ({requirements})",
        )
        expected_exit = 3 if variant == "hors-service" else 1  # unreachable, or non-conformant
        assert proc.returncode == expected_exit, f"{variant}: {proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    return dirs


def generate(results: list[Path], cwd: Path) -> Path:
    """What ``make report`` does, from ``cwd`` so the output and the history stay in a temporary directory."""
    allure = _allure()
    cwd.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(allure), "generate", *map(str, results), "--config", str(ROOT / "allurerc.mjs")],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=120,
    )
    index = cwd / "reports" / "allure-report" / "index.html"
    subprocess.run(
        ["node", str(ROOT / "scripts" / "strip-analytics.mjs"), str(index)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return index


def embedded(index: Path) -> dict[str, Any]:
    """The data files a single-file Allure 3 report carries inline (``d("widgets/…", "<base64>")``)."""
    html = index.read_text(encoding="utf-8")
    return {
        name: json.loads(base64.b64decode(data))
        for name, data in re.findall(r'd\("([^"]+\.json)","([^"]*)"\)', html)
    }


# --- labels -------------------------------------------------------------------------------------------


def test_each_scenario_result_carries_environment_flow_role_requirement_level_and_severity(
    conforme_run: Path,
) -> None:
    results = results_of(conforme_run)
    assert len(results) > 50
    for result in results:
        name = result["name"]
        pairs = [(lb["name"], lb["value"]) for lb in result["labels"]]
        assert len(pairs) == len(set(pairs)), f"{name}: duplicate labels"
        tags = set(labels(result, "tag"))
        params = {p["name"]: p["value"].strip("'") for p in result["parameters"]}
        assert labels(result, "environnement") == ["preproduction"] == [params["ans_env"]], name
        assert re.fullmatch(rf".+ \[preproduction-{params['flow']}(-[^\]]+)?\]", name), name
        assert labels(result, "flux") == [params["flow"]], name
        assert labels(result, "role") == ["serveur"], name
        (level,) = labels(result, "niveau")
        assert labels(result, "severity") == [{"bloquant": "critical", "recommande": "minor"}[level]], name
        requirements = labels(result, "exigence")
        assert requirements and set(requirements) == {t for t in tags if t in CATALOGUE}, name
        assert labels(result, "famille") == sorted({family_of(r, CATALOGUE) for r in requirements}), name
        links = [(lk["name"], lk["url"]) for lk in result["links"] if lk["type"] == "requirement"]
        assert links == [(r, IG_URL) for r in requirements], name
        # allure-pytest-bdd already turns every Gherkin tag into a `tag` label: no tag is added twice.
        flow_tags = set() if params["flow"] == "transverse" else {params["flow"]}  # IP checks have no flow
        assert {"serveur", level, "preproduction"} | flow_tags <= tags, name
        assert Counter(labels(result, "tag")).most_common(1)[0][1] == 1, name


def test_every_requirement_belongs_to_one_family_and_a_link_pattern_is_honoured() -> None:
    for req, entry in CATALOGUE.items():
        assert family_of(req, CATALOGUE) is not None, f"{req} ({entry['role']}): add it to FAMILIES"

    plain = SimpleNamespace(option=SimpleNamespace(allure_link_pattern=[]))
    assert _requirement_url(plain, "SRV-CN") == IG_URL  # type: ignore[arg-type]
    pattern = [["requirement", "https://git.example/recette-sas/docs/requirements.md#{}"]]
    patterned = SimpleNamespace(option=SimpleNamespace(allure_link_pattern=pattern))
    assert _requirement_url(patterned, "SRV-CN") == "SRV-CN"  # type: ignore[arg-type]


def test_run_files_describe_the_run_without_building_anything_extra(conforme_run: Path) -> None:
    props = dict(
        line.split("=", 1)
        for line in (conforme_run / "environment.properties").read_text("ascii").splitlines()
    )
    assert props["recette-sas.version"] == __version__
    assert props["cible"] == r"serveur de r\u00e9f\u00e9rence embarqu\u00e9"
    assert props["correspondance"] == "un-pour-un" and props["environnements"] == "preproduction"
    fingerprints = {k: v for k, v in props.items() if k.startswith("pki.")}
    assert len(fingerprints) == 4 and all(re.fullmatch(r"[0-9a-f]{64}", v) for v in fingerprints.values())
    executor = json.loads((conforme_run / "executor.json").read_text(encoding="utf-8"))
    assert executor["reportName"] == f"recette-sas {__version__}" and executor["type"] in {
        "local",
        "gitlab",
        "github",
    }
    assert json.loads((conforme_run / "categories.json").read_text(encoding="utf-8")) == load_categories()


def test_environment_names_the_configured_target_without_its_secrets() -> None:
    target = SimpleNamespace(base_url="https://pp.editeur.example/fhir", trust="igc")
    editor = SimpleNamespace(
        path=Path("/x/.secrets/recette-sas.toml"), editor="Éditeur", environments={"preproduction": target}
    )
    settings = SimpleNamespace(
        config=editor,
        environments=("preproduction",),
        mapping=SimpleNamespace(value="simplifie"),
        strict=True,
        variant=None,
    )
    env = run_environment(SimpleNamespace(stash={SETTINGS: settings}))  # type: ignore[arg-type]
    assert env["cible"] == "configuration recette-sas.toml (Éditeur)"
    assert env["cible.preproduction"] == "https://pp.editeur.example/fhir (confiance igc)"
    assert env["correspondance"] == "simplifie" and env["strict"] == "oui"
    assert not any(k.startswith("pki.") for k in env), "no PKI was built: no fingerprint"


# --- categories ---------------------------------------------------------------------------------------


def test_categories_file_is_valid_for_allure_2_and_allure_3() -> None:
    categories = load_categories()
    names = [c["name"] for c in categories]
    assert len(names) == len(set(names))
    for cat in categories:
        assert set(cat) <= {"name", "description", "matchedStatuses", "messageRegex", "traceRegex"}, cat
        assert set(cat["matchedStatuses"]) <= {"failed", "broken", "skipped", "passed", "unknown"}, cat
        for key in ("messageRegex", "traceRegex"):
            if key in cat:
                # Anchored, no inline flags: Java's full match and JavaScript's search then agree.
                assert cat[key].startswith("^") and cat[key].endswith("$") and "(?" not in cat[key], cat
                re.compile(cat[key])
    tokens = {m for c in categories for m in re.findall(r"famille : ([a-z-]+)", c.get("traceRegex", ""))}
    assert tokens == {family_of(r, CATALOGUE) for r in CATALOGUE} | {"presentation-client"}
    if shutil.which("node"):
        subprocess.run(
            [
                "node",
                "-e",
                "for (const c of require(process.argv[1])) for (const k of "
                "['messageRegex', 'traceRegex']) if (c[k]) new RegExp(c[k]);",
                str(CATEGORIES_FILE),
            ],
            check=True,
            timeout=30,
        )


def _java_category(result: dict[str, Any], categories: list[dict[str, Any]]) -> str | None:
    """Allure 2's rule: first category whose statuses match and whose regexes match the whole text."""
    details = result.get("statusDetails") or {}
    for cat in categories:
        if result["status"] not in cat["matchedStatuses"]:
            continue
        if "messageRegex" in cat and not re.fullmatch(cat["messageRegex"], details.get("message") or ""):
            continue
        if "traceRegex" in cat and not re.fullmatch(cat["traceRegex"], details.get("trace") or ""):
            continue
        return str(cat["name"])
    return None


def test_failures_land_in_their_category_in_allure_2_and_allure_3(
    variant_runs: dict[str, Path], tmp_path: Path
) -> None:
    categories = load_categories()
    expected: Counter[str] = Counter()
    for variant, directory in variant_runs.items():
        for result in results_of(directory):
            if result["status"] == "passed":
                continue
            category = _java_category(result, categories)
            if result["status"] == "skipped":
                assert category == WARNINGS, f"{variant}: {result['name']}"
            else:
                assert category == VARIANT_RUNS[variant][1], f"{variant}: {result['name']}"
            expected[category] += 1
    assert set(expected) == {cat for _, cat in VARIANT_RUNS.values()} | {WARNINGS}

    widget = embedded(generate(list(variant_runs.values()), tmp_path))["widgets/categories.json"]
    shown = {
        node["name"]: node["statistic"]["total"]
        for node in widget["nodes"].values()
        if node["type"] == "category"
    }
    assert shown == dict(expected)


# --- the HTML report ----------------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_renders_offline_from_a_file_with_the_scenario_count_and_a_two_run_trend(
    conforme_run: Path, tmp_path: Path
) -> None:
    chromium = _chromium()
    work = tmp_path / "projet"
    first = embedded(generate([conforme_run], work))
    index = generate([conforme_run], work)
    history = (work / "reports" / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(history) == 2
    second = embedded(index)

    def trend(data: dict[str, Any]) -> list[dict[str, Any]]:
        charts = data["widgets/charts.json"]["general"].values()
        return next(c["data"] for c in charts if c["type"] == "statusDynamics")

    assert len(trend(first)) == 1 and len(trend(second)) == 2
    total = len(results_of(conforme_run))
    assert second["widgets/statistic.json"]["total"] == total

    html = index.read_text(encoding="utf-8")
    assert "googletagmanager" not in html
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html), (
        "remote resource in report"
    )

    common = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=10000",
        "--window-size=1400,1000",
    ]
    png = tmp_path / "rapport.png"
    subprocess.run(
        [*common, f"--user-data-dir={tmp_path / 'profil-1'}", f"--screenshot={png}", index.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert _png_size(png) == (1400, 1000)
    assert png.stat().st_size > 30_000, "blank screenshot"
    dom = subprocess.run(
        [*common, f"--user-data-dir={tmp_path / 'profil-2'}", "--dump-dom", index.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    text = re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S))
    )
    assert f"Total {total}" in text, text[:2000]
    assert "serveur" in text and "recette-sas" in text


def test_make_report_runs_the_same_commands() -> None:
    dry = subprocess.run(
        ["make", "-n", "report"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "node_modules/.bin/allure generate reports/allure-results --config allurerc.mjs" in dry
    assert "node scripts/strip-analytics.mjs reports/allure-report/index.html" in dry
    assert "npm ci" in dry
    config = (ROOT / "allurerc.mjs").read_text(encoding="utf-8")
    assert "singleFile: true" in config and 'historyPath: "reports/history.jsonl"' in config
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    version = package["devDependencies"]["allure"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin an exact version"
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/allure"]["version"] == version


# --- no secret in the results ---------------------------------------------------------------------------


def test_a_private_key_or_a_secret_value_in_the_results_stops_the_run_and_is_removed(tmp_path: Path) -> None:
    results = tmp_path / "allure-results"
    (tmp_path / "test_fuite.py").write_text(
        "import os\nfrom pathlib import Path\n\n"
        "def test_fuite(request):\n"
        "    d = Path(request.config.option.allure_report_dir)\n"
        "    d.mkdir(parents=True, exist_ok=True)\n"
        "    (d / 'cle-attachment.txt').write_text('-----BEGIN PRIVATE KEY-----\\nMIIE\\n')\n"
        "    (d / 'mdp-attachment.json').write_text('{\"p\": \"' + os.environ['SAS_P12_PASSWORD'] + '\"}')\n"
        "    (d / 'propre-attachment.txt').write_text('rien')\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "fixtures.allure_labels",
            "-p",
            "no:cacheprovider",
            "--alluredir",
            str(results),
            str(tmp_path / "test_fuite.py"),
        ],
        cwd=tmp_path,
        env=_env(PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}", SAS_P12_PASSWORD="correct-horse-battery"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == SECRET_LEAK_EXIT, proc.stdout + proc.stderr
    assert "SECRET IN THE RUN'S REPORTS" in proc.stdout + proc.stderr
    assert "correct-horse-battery" not in proc.stdout + proc.stderr
    remaining = sorted(p.name for p in results.iterdir())
    assert "cle-attachment.txt" not in remaining and "mdp-attachment.json" not in remaining
    assert "propre-attachment.txt" in remaining and "categories.json" in remaining


def test_secret_scan_finds_keys_and_values_only(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-----BEGIN RSA PRIVATE KEY-----")
    (tmp_path / "b.json").write_text('{"x": "s3cr3t-value"}')
    (tmp_path / "c.json").write_text('{"subject": "CN=sas-aggregator-preproduction"}')
    hits = find_secrets(tmp_path, [b"s3cr3t-value"])
    assert {p.name for p in hits} == {"a.txt", "b.json"}


def test_the_suite_never_attaches_a_key(conforme_run: Path) -> None:
    assert find_secrets(conforme_run) == {}


def test_evidence_judged_by_many_scenarios_is_one_file_every_one_of_them_shows(conforme_run: Path) -> None:
    """A positive control, or SAS's standard search, is written once; each scenario that judged it points at
    that file (steps/evidence.py), and every attachment a result names exists."""

    def attachments(item: dict[str, Any]) -> list[dict[str, Any]]:
        return [*item.get("attachments", []), *(a for s in item.get("steps", []) for a in attachments(s))]

    users: dict[str, set[str]] = {}
    for result in results_of(conforme_run):
        for attachment in attachments(result):
            assert (conforme_run / attachment["source"]).is_file(), attachment
            users.setdefault(attachment["source"], set()).add(result["uuid"])
    by_name: dict[str, int] = {}
    for result in results_of(conforme_run):
        for attachment in attachments(result):
            if len(users[attachment["source"]]) > 1:
                by_name[attachment["name"]] = by_name.get(attachment["name"], 0) + 1
    assert by_name.get("contrôle positif", 0) > 100 and by_name.get("Bundle reçu", 0) >= 20, by_name
    refusals = [r for r in results_of(conforme_run) if any(s["name"].startswith("Alors l'appel est refusé") for s in r["steps"])]
    assert refusals and all(
        any(a["name"] == "contrôle positif" for a in attachments(r)) for r in refusals
    )  # shared, never dropped


# --- CI templates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "schema"),
    [("gitlab-ci.yml", "vendor.gitlab-ci"), ("github-actions.yml", "vendor.github-workflows")],
)
def test_ci_template_is_valid_against_the_official_schema(template: str, schema: str) -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run(
        [str(checker), "--builtin-schema", schema, str(CI_TEMPLATES / template)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _commands(node: Any) -> list[str]:
    """Every shell command of a template (GitLab script lines, GitHub run steps)."""
    if isinstance(node, dict):
        out = []
        for key, value in node.items():
            if key in ("script", "before_script", "after_script") and isinstance(value, list):
                out += [str(v) for v in value]
            elif key == "run" and isinstance(value, str):
                out.append(value)
            else:
                out += _commands(value)
        return out
    if isinstance(node, list):
        return [c for item in node for c in _commands(item)]
    return []


def test_ci_templates_run_nightly_on_preproduction_keep_history_and_keep_secrets_off_command_lines() -> None:
    yaml = YAML(typ="safe")
    gitlab = yaml.load((CI_TEMPLATES / "gitlab-ci.yml").read_text(encoding="utf-8"))
    github = yaml.load((CI_TEMPLATES / "github-actions.yml").read_text(encoding="utf-8"))
    assert github["on"]["schedule"][0]["cron"]
    assert {"if": '$CI_PIPELINE_SOURCE == "schedule"'} in gitlab["workflow"]["rules"]
    for doc in (gitlab, github):
        commands = "\n".join(_commands(doc))
        assert re.search(r"pytest features --sas-config \S+ --sas-env preproduction", commands)
        assert "verdict.py reports/summary.json" in commands and "make report" in commands
        assert "RECETTE_SAS_P12_PASSWORD" not in commands and "secrets." not in commands
        assert "base64 -d" in commands and "rm -rf .secrets" in commands
    job = gitlab["recette-preproduction"]
    assert job["cache"][0]["paths"] == ["reports/history.jsonl", "reports/crl-sentinel.json"]
    assert job["cache"][0]["when"] == "always"
    assert job["artifacts"]["when"] == "always" and gitlab["pages"]["rules"] == [{"when": "always"}]
    steps = github["jobs"]["recette"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    for action in (
        "actions/cache/restore",
        "actions/cache/save",
        "actions/upload-artifact",
        "actions/upload-pages-artifact",
    ):
        assert action in uses
    assert all(s.get("if") == "always()" for s in steps[uses.index("actions/cache/save") :])
    password_steps = [s for s in steps if "RECETTE_SAS_P12_PASSWORD" in str(s)]
    assert len(password_steps) == 1 and "--sas-env preproduction" in password_steps[0]["run"]


SUMMARY = {"totals": {"passed": 60}, "warnings": [], "unreachable_targets": [], "failures": []}


@pytest.mark.parametrize(
    ("summary", "pytest_exit", "code", "start"),
    [
        ({**SUMMARY, "verdict": "conforme"}, 0, 0, "CONFORME"),
        (
            {
                **SUMMARY,
                "verdict": "non-conforme",
                "failures": [{"test": "t", "status": "failed", "message": "m"}],
            },
            1,
            1,
            "NON CONFORME",
        ),
        (
            {**SUMMARY, "verdict": "injoignable", "unreachable_targets": [{"target": "https://pp.example"}]},
            3,
            3,
            "CIBLE INJOIGNABLE",
        ),
        ({**SUMMARY, "verdict": "indetermine"}, 2, 2, "PAS DE VERDICT"),
        ({**SUMMARY, "verdict": "interrompu", "exit_code": 2}, 2, 2, "PAS DE VERDICT"),
        ({**SUMMARY, "verdict": "conforme"}, 1, 2, "PAS DE VERDICT"),  # summary and pytest disagree
        ({**SUMMARY, "verdict": "conforme"}, 6, 6, "PAS DE VERDICT"),
        ({**SUMMARY, "verdict": "conforme"}, 4, 4, "PAS DE VERDICT"),
        (None, 1, 2, "PAS DE VERDICT"),
    ],
)
def test_verdict_step_exit_codes(
    tmp_path: Path, summary: dict[str, Any] | None, pytest_exit: int, code: int, start: str
) -> None:
    path = tmp_path / "summary.json"
    if summary is not None:
        path.write_text(json.dumps(summary), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(CI_TEMPLATES / "verdict.py"), str(path), "--pytest-exit-code", str(pytest_exit)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(GITHUB_ACTIONS="false"),
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"recette-sas : {start}")
