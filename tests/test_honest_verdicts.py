"""Verdicts that stay honest when things go wrong: interrupted runs, dead targets, dead or hanging clients,
refusals for another cause, and an exit code a CI job can trust from pytest alone.

Every test runs the real features in a subprocess against real loopback servers and reads what a CI job
reads: pytest's exit code, ``summary.json`` and junit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fixtures.targets import reference_policy
from recette_sas.environments import Hierarchy, Mapping
from recette_sas.errors import ExitCode, WrongCause
from recette_sas.pki.catalogue import Defect
from recette_sas.pki.editor import editor_subject
from recette_sas.pki.profile import issue_leaf
from recette_sas.pki.store import Pki
from recette_sas.probe.attempt import attempt
from recette_sas.probe.endpoint import Endpoint, HttpRequest
from recette_sas.server.reference import ReferenceServer
from recette_sas.server.rules import Cause, defect_causes, require_refusal
from tests.conftest import collected

ROOT = Path(__file__).resolve().parent.parent
CURL = Path("/usr/bin/curl")

SLOW_PLUGIN = """
import os, pathlib, time
_done = [0]
def pytest_runtest_teardown(item):
    time.sleep(0.02)
    _done[0] += 1
    if _done[0] == 30:
        pathlib.Path(os.environ["RECETTE_SAS_MARK"]).write_text("30")
"""


def _features(
    tmp: Path, cache: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    results = tmp / "reports" / "allure-results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            f"--pki-cache={cache}",
            f"--alluredir={results}",
            "-q",
            "--tb=no",
            *args,
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    path = results.parent / "summary.json"
    return proc, (json.loads(path.read_text()) if path.exists() else None)


# --- a refusal proves only what its cause allows ----------------------------------------------------------


def test_an_expired_certificate_refused_as_expired_proves_nothing_about_the_subject(pki: Pki) -> None:
    """The igc-mode false pass, on the wire: a server that checks dates but never the CN/OU refuses an
    expired certificate with certificate_expired; counted for the CN check, that refusal would pass."""
    base = reference_policy(pki, "preproduction", Mapping.ONE_TO_ONE)
    blind = dataclasses.replace(base, subject_match="ignore_subject")
    with ReferenceServer(blind) as server:
        endpoint = Endpoint(
            host=server.host, port=server.port, server_name=server.server_name, ca_file=server.ca_file
        )
        request = HttpRequest(method="GET", path="/metadata")
        control = attempt(endpoint, request, identity=pki.identity("preproduction", Defect.VALIDE))
        expired = attempt(endpoint, request, identity=pki.identity("preproduction", Defect.EXPIRE))
        wrong_cn = attempt(endpoint, request, identity=pki.identity("preproduction", Defect.MAUVAIS_CN))
    assert expired.alert == "SSLV3_ALERT_CERTIFICATE_EXPIRED", expired.reason
    # Presented as "the editor's certificate, wrong only by its subject": no verdict, never a pass.
    with pytest.raises(WrongCause, match=r"CERTIFICATE_EXPIRED.*\(validité\)"):
        require_refusal(expired, control=control, defects=frozenset({Cause.SUBJECT}))
    # Presented as the expired defect: the same refusal is the right one.
    assert require_refusal(expired, control=control, defects=defect_causes("expire"))
    # And the blind server really accepts a wrong CN: the CN scenario fails it.
    with pytest.raises(AssertionError, match="did not refuse"):
        require_refusal(wrong_cn, control=control, defects=defect_causes("mauvais-cn"))


def _editor_files(pki: Pki, folder: Path, *, not_after: dt.datetime) -> tuple[Path, Path]:
    """An editor certificate issued by the look-alike ACI-EL-ORG-TEST, valid until ``not_after``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _root, inter = pki.hierarchy(Hierarchy.TEST)
    leaf = issue_leaf(
        subject=editor_subject("preproduction"),
        public_key=key.public_key(),
        issuer_name=inter.subject,
        issuer_key=pki.ca_key("ACI-EL-ORG-TEST"),
        pointer="ACI-EL-ORG-TEST",
        base_url="http://127.0.0.1:9",
        not_before=not_after - dt.timedelta(days=365),
        not_after=not_after,
    )
    cert, keyfile = folder / "editeur.pem", folder / "editeur.key"
    pem = serialization.Encoding.PEM
    cert.write_bytes(leaf.public_bytes(pem) + inter.public_bytes(pem))
    keyfile.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    keyfile.chmod(0o600)
    return cert, keyfile


@pytest.mark.parametrize("days", [-2, 0])
def test_an_unusable_editor_certificate_in_igc_mode_stops_the_run_in_one_line(
    pki: Pki, pki_cache_dir: Path, tmp_path: Path, days: int
) -> None:
    """Expired two days ago, or expiring before the run's bound: exit 4, one line, nothing judged."""
    not_after = dt.datetime.now(dt.UTC) + dt.timedelta(days=days, minutes=30 if days == 0 else 0)
    cert, key = _editor_files(pki, tmp_path, not_after=not_after)
    config = tmp_path / "editeur.toml"
    config.write_text(
        'editor = "Editeur"\n[environments.preproduction]\nbase_url = "https://localhost:9"\ntrust = "igc"\n'
        f'[environments.preproduction.certificate]\ncert = "{cert}"\nkey = "{key}"\n'
    )
    proc, summary = _features(
        tmp_path,
        pki_cache_dir,
        str(ROOT / "features"),
        f"--sas-config={config}",
        f"--igc-ca-dir={pki.root / 'material' / 'ca'}",
    )
    assert proc.returncode == ExitCode.USAGE, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "environments.preproduction.certificate" in lines[0], lines
    assert "expired" in lines[0] or "the run may last until" in lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert summary is None


# --- an interrupted run never says conforme ---------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_says_interrompu(
    pki: Pki, pki_cache_dir: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    (tmp_path / "slow_plugin.py").write_text(SLOW_PLUGIN)
    mark = tmp_path / "mark"
    results = tmp_path / "reports" / "allure-results"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "slow_plugin",
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            f"--pki-cache={pki_cache_dir}",
            f"--alluredir={results}",
            f"--junitxml={tmp_path / 'junit.xml'}",
            "-q",
            str(ROOT / "features"),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "RECETTE_SAS_MARK": str(mark),
        },
    )
    try:
        deadline = time.monotonic() + 120
        while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mark.exists(), "the run never reached 30 scenarios"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    summary = json.loads((results.parent / "summary.json").read_text())
    assert proc.returncode == ExitCode.NO_VERDICT, out[-3000:]
    assert summary["verdict"] == "interrompu"
    assert summary["interrupted"] == ("Ctrl-C" if sig == signal.SIGINT else "SIGTERM")
    assert 20 <= summary["ran"] < summary["collected"] == collected()
    assert "verdict : interrompu" in out
    assert "conforme" not in summary["message"].lower().replace("non conforme", "")


def test_the_run_bound_stops_a_runaway_run(pki_cache_dir: Path, tmp_path: Path) -> None:
    proc, summary = _features(
        tmp_path,
        pki_cache_dir,
        str(ROOT / "features"),
        "--sas-reference-variant=muet",
        "--sas-timeout=1",
        "--sas-run-timeout=0.5",
    )
    assert proc.returncode == ExitCode.NO_VERDICT, proc.stdout[-2000:]
    assert summary is not None and summary["verdict"] == "interrompu"
    assert "borne d'exécution de 0.5 s" in summary["interrupted"]
    assert summary["ran"] < summary["collected"]


# --- a dead target: exit 3, named, and junit errors (not failures) ------------------------------------------


def _junit_counts(path: Path) -> dict[str, int]:
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")  # type: ignore[assignment]
    assert suite is not None
    return {k: int(suite.get(k, "0")) for k in ("tests", "errors", "failures", "skipped")}


def test_a_closed_port_exits_3_names_the_target_and_junit_shows_errors(
    pki_cache_dir: Path, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    proc, summary = _features(
        tmp_path,
        pki_cache_dir,
        str(ROOT / "features" / "test_serveur.py"),
        "-m",
        "serveur and preproduction",
        "--sas-reference-variant=hors-service",
        f"--junitxml={junit}",
    )
    assert proc.returncode == ExitCode.UNREACHABLE, proc.stdout[-2000:]
    assert summary is not None and summary["verdict"] == "injoignable"
    assert [u["target"] for u in summary["unreachable_targets"]] == [
        "serveur de référence (preproduction, chaîne IGC injectée, variante hors-service)",
        "serveur de référence (preproduction, variante hors-service)",
    ]
    assert all("Connection refused" in u["why"] for u in summary["unreachable_targets"])
    broken = summary["totals"]["broken"]
    counts = _junit_counts(junit)
    assert counts["errors"] == broken and counts["failures"] == 0
    assert broken == collected("-m", "serveur and preproduction") - summary["totals"].get("skipped", 0)
    assert summary["no_verdict"] == {"injoignable": broken}


def test_a_non_conformant_run_shows_failures_and_warnings_pass_with_a_property(
    pki_cache_dir: Path, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    proc, summary = _features(
        tmp_path,
        pki_cache_dir,
        str(ROOT / "features" / "test_serveur.py"),
        "-m",
        "serveur and preproduction",
        "--sas-reference-variant=sans-revocation",
        f"--junitxml={junit}",
    )
    assert proc.returncode == ExitCode.NON_CONFORME
    assert summary is not None
    counts = _junit_counts(junit)
    # SRV-REVOCATION-01 (two flows), its real-chain check, and the intermediate revoked in the root CRL (two flows)
    assert counts["failures"] == summary["totals"]["failed"] == 5 and counts["errors"] == 0
    warned = [
        case
        for case in ET.parse(junit).getroot().iter("testcase")
        if any(p.get("value") == "avertissement" for p in case.iter("property"))
    ]
    assert len(warned) == summary["totals"]["warning"] == 2 + 7  # + every revocation fault lets it in
    assert all(case.find("skipped") is None and case.find("failure") is None for case in warned)


# --- the client role: a client that never ran is no verdict, once -------------------------------------------


def _client_config(tmp_path: Path, command: str, *, timeout: float = 60) -> Path:
    config = tmp_path / "editeur.toml"
    config.write_text(
        'editor = "Editeur"\n[environments.preproduction]\nbase_url = "https://editeur.example:8443/fhir"\n'
        "[environments.preproduction.client]\n"
        f"mode = \"command\"\ncommand = '''{command}'''\ncommand_timeout = {timeout}\n"
    )
    return config


def _client_run(
    pki_cache_dir: Path, tmp_path: Path, config: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], float]:
    began = time.monotonic()
    proc, summary = _features(
        tmp_path, pki_cache_dir, str(ROOT / "features" / "test_client.py"), f"--sas-config={config}"
    )
    assert summary is not None, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc, summary, time.monotonic() - began


def test_a_dead_trigger_is_no_verdict_with_its_exit_code_and_output(
    pki_cache_dir: Path, tmp_path: Path
) -> None:
    command = "sh -c 'echo début-du-journal; echo fin-du-journal >&2; exit 3' sh --password hunter2"
    proc, summary, _ = _client_run(pki_cache_dir, tmp_path, _client_config(tmp_path, command))
    assert proc.returncode == ExitCode.NO_VERDICT, proc.stdout[-3000:]
    statuses = {r["status"] for r in summary["results"]}
    assert statuses == {"broken", "skipped"}  # the live check is skipped: no editor certificate
    assert summary["no_verdict"] == {"client-absent": summary["totals"]["broken"]}
    message = summary["failures"][0]["message"]
    assert "exited with code 3" in message and "début-du-journal ⏎ fin-du-journal" in message
    assert "hunter2" not in json.dumps(summary) + proc.stdout + proc.stderr
    full = (tmp_path / "reports" / "allure-results").glob("*-result.json")
    text = "".join(p.read_text() for p in full)
    assert "début-du-journal" in text and "fin-du-journal" in text and "--password ***" in text
    assert "hunter2" not in text


def test_a_hanging_trigger_costs_one_timeout(pki_cache_dir: Path, tmp_path: Path) -> None:
    proc, summary, seconds = _client_run(
        pki_cache_dir, tmp_path, _client_config(tmp_path, "sleep 60", timeout=2)
    )
    assert proc.returncode == ExitCode.NO_VERDICT
    assert summary["no_verdict"] == {"client-absent": summary["totals"]["broken"]}
    assert "did not finish within 2 s" in summary["failures"][0]["message"]
    assert seconds < 2 + 25  # one timeout for the environment (not six), plus the suite's own start


@pytest.mark.skipif(not CURL.is_file(), reason="curl is not installed at /usr/bin/curl")
def test_a_trigger_that_never_exits_after_sending_is_stopped_and_judged(
    pki: Pki, pki_cache_dir: Path, tmp_path: Path
) -> None:
    from tests.test_client_role import _curl_command

    curl = _curl_command(tmp_path)  # the exported client certificate, through the placeholders
    command = f"sh -c '{curl.replace(chr(39), chr(34))}; sleep 300'"
    proc, summary, seconds = _client_run(
        pki_cache_dir, tmp_path, _client_config(tmp_path, command, timeout=120)
    )
    assert proc.returncode == ExitCode.CONFORME, proc.stdout[-3000:]
    assert summary["verdict"] == "conforme"
    assert seconds < 120  # stopped after its requests, not at the timeout


# --- a stalled call costs its own scenario only; a silent close is said -----------------------------------------


def _not_passed(summary: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        req: {k: n for k, n in counts.items() if k not in ("passed", "skipped")}
        for req, counts in summary["requirements"].items()
        if set(counts) - {"passed", "skipped"}
    }


def test_a_server_that_stalls_calls_without_certificate_is_still_judged_on_the_rest(
    pki_cache_dir: Path, tmp_path: Path
) -> None:
    """It holds calls without a certificate open and checks no revocation: the three stalled scenarios are
    "no answer", every other scenario is judged, and its revocation defect makes the run non-conformant."""
    began = time.monotonic()
    proc, summary = _features(
        tmp_path,
        pki_cache_dir,
        str(ROOT / "features" / "test_serveur.py"),
        "-m",
        "serveur and preproduction",
        "--sas-reference-variant=bloque-sans-certificat",
        "--sas-timeout=0.5",
    )
    assert proc.returncode == ExitCode.NON_CONFORME, proc.stdout[-3000:]
    assert summary is not None and summary["verdict"] == "non-conforme"
    assert _not_passed(summary) == {
        "SRV-MTLS": {"broken": 3},  # the two flows' no-certificate call, and the real-chain one
        "SRV-IDENTITE-TLS": {"broken": 2},  # forged identity headers sent without a certificate: held too
        "SRV-REVOCATION": {"failed": 3},
        "SRV-CHAINE-VALIDE": {"failed": 2},  # an intermediate revoked in the root's CRL: no revocation check
        "REC-OCSP": {"warning": 2},
        "REC-REVOCATION-PANNE": {"warning": 7},  # it checks no revocation: every fault lets the revoked in
    }
    assert summary["no_verdict"] == {"sans-reponse": 5}
    # The five scenarios, and the real-chain reachability control's call without certificate (the
    # CertificateRequest it reads comes from its own handshake, so the control still passes).
    assert summary["stalled_calls"]["count"] == 6 and summary["stalled_calls"]["seconds_waited"] < 6 * 1.5
    assert summary["unreachable_targets"] == []
    assert all("no answer within" in f["message"] for f in summary["failures"] if f["status"] == "broken")
    assert time.monotonic() - began < 6 * 1.0 + 20  # one read timeout (2 x 0.5 s) per stalled call


def test_a_server_that_closes_after_the_handshake_fails_its_control_and_says_why(
    pki_cache_dir: Path, tmp_path: Path
) -> None:
    proc, summary = _features(
        tmp_path,
        pki_cache_dir,
        str(ROOT / "features" / "test_serveur.py"),
        "-m",
        "serveur and preproduction and not igc",
        "--sas-reference-variant=ferme-apres-poignee",
    )
    assert proc.returncode == ExitCode.NON_CONFORME, proc.stdout[-3000:]
    assert summary is not None
    failed = [f for f in summary["failures"] if f["status"] == "failed"]
    assert failed and all("without any HTTP answer" in f["message"] for f in failed)
    broken = {r["kind"] for r in summary["results"] if r["status"] == "broken"}
    assert broken == {"controle-non-passe"}  # no refusal is trusted on a target that accepts nobody
    assert not any(r["status"] == "passed" and "refus" in r["test"] for r in summary["results"])


def test_the_features_refuse_xdist_in_one_line(pki_cache_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    proc, summary = _features(tmp_path, pki_cache_dir, str(ROOT / "features"), "-n", "2")
    assert proc.returncode == ExitCode.USAGE
    assert [line for line in proc.stderr.splitlines() if line.strip()] == [
        "ERROR: -n/--numprocesses: the acceptance features run in one process (positive controls, "
        "reachability and the run summary are per run; the embedded matrix takes a few seconds on one core)"
    ]
    assert summary is None
