"""The editor configuration: one-line errors for every mistake, and a real run against a configured target."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from recette_sas.config.loader import load_config
from recette_sas.environments import UsageError
from recette_sas.errors import ExitCode
from recette_sas.pki.catalogue import Defect
from recette_sas.pki.store import Pki
from tests.conftest import collected

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
PASSWORD_VAR = "RECETTE_SAS_TEST_P12_PASSWORD"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def editor_files(pki: Pki, tmp_path: Path) -> dict[str, Path]:
    """The editor's certificate as PEM files and as a PKCS#12 (look-alike, for tests)."""
    ident = pki.identity("preproduction", Defect.MAUVAIS_CN)
    cert = tmp_path / "editeur.pem"
    cert.write_bytes(ident.public_pem())
    key = tmp_path / "editeur.key"
    shutil.copy(ident.keyfile, key)
    other_key = tmp_path / "autre.key"
    shutil.copy(pki.identity("production").keyfile, other_key)
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    p12 = tmp_path / "editeur.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"editeur",
            private,
            ident.leaf,
            list(ident.chain),  # type: ignore[arg-type]
            serialization.BestAvailableEncryption(b"bon-mot-de-passe"),
        )
    )
    return {"cert": cert, "key": key, "other_key": other_key, "p12": p12}


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "editeur.toml"
    path.write_text(body)
    return path


BASE = """
editor = "Test"
mapping = "un-pour-un"
[environments.preproduction]
base_url = "https://localhost:8443/fhir"
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'editor = "x"\n[environments.preproduction]\ntrust = "igc"\n',
            "environments.preproduction.base_url: missing",
        ),
        (
            'editor = "x"\nmapping = "double"\n[environments.preproduction]\nbase_url = "https://a"\n',
            "mapping: unknown mapping 'double'",
        ),
        (
            'editor = "x"\n[environments.integration]\nbase_url = "https://a"\n',
            "environments.integration: unknown environment",
        ),
        (
            'editor = "x"\nmapping = "simplifie"\n[environments.recette]\nbase_url = "https://a"\n',
            "environments.recette: environment 'recette' does not exist in mapping simplifie",
        ),
        (
            BASE.replace("https://localhost:8443/fhir", "http://localhost/fhir"),
            "environments.preproduction.base_url: 'http://localhost/fhir' is not an https:// URL",
        ),
        (BASE + 'trust = "magique"\n', "environments.preproduction.trust: unknown trust mode 'magique'"),
        (BASE + "connect_timeout = -1\n", "environments.preproduction.connect_timeout: -1 is out of range"),
        (
            BASE + '[environments.preproduction.certificate]\ncert = "absent.pem"\nkey = "absent.key"\n',
            "environments.preproduction.certificate.cert: cannot read absent.pem",
        ),
        (
            BASE + '[[expected_deviations]]\ntest = "x"\nreason = "y"\nexpires = 2020-01-01\n',
            "expected_deviations[0].expires: this expected deviation lapsed on 2020-01-01",
        ),
        ("editor = \n", "invalid TOML"),
    ],
)
def test_invalid_configurations_are_one_line_errors(tmp_path: Path, body: str, expected: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(UsageError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert expected in message
    assert "\n" not in message


def _cert_block(kind: str, files: dict[str, Path]) -> str:
    if kind == "p12":
        return f'[environments.preproduction.certificate]\npkcs12 = "{files["p12"]}"\npassword_env = "{PASSWORD_VAR}"\n'
    key = files["other_key"] if kind == "mismatch" else files["key"]
    return f'[environments.preproduction.certificate]\ncert = "{files["cert"]}"\nkey = "{key}"\n'


@pytest.mark.parametrize(
    ("kind", "password", "expected"),
    [
        ("p12", None, f"certificate.password_env: environment variable {PASSWORD_VAR} is not set"),
        (
            "p12",
            "mauvais",
            f"editeur.p12: cannot open the PKCS#12 file: wrong password in {PASSWORD_VAR} or corrupt file",
        ),
        ("mismatch", None, "autre.key: the private key does not match the certificate"),
    ],
)
def test_certificate_problems_stop_the_run_in_one_line_and_leave_reports_untouched(
    pytester: pytest.Pytester,
    tmp_path: Path,
    editor_files: dict[str, Path],
    kind: str,
    password: str | None,
    expected: str,
) -> None:
    config = _write(tmp_path, BASE + _cert_block(kind, editor_files))
    env = {k: v for k, v in os.environ.items() if k != PASSWORD_VAR}
    if password is not None:
        env[PASSWORD_VAR] = password
    reports = pytester.path / "reports"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "features"),
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            f"--sas-config={config}",
            f"--alluredir={reports / 'allure-results'}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=pytester.path,
        timeout=120,
    )
    assert result.returncode == ExitCode.USAGE  # the suite's table, not pytest's (both are 4)
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "bon-mot-de-passe" not in result.stderr + result.stdout and "mauvais" not in result.stdout
    assert not reports.exists()  # nothing written: not even an empty results folder


def test_a_good_pkcs12_configuration_loads(
    tmp_path: Path, editor_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from recette_sas.config.credentials import validate_credentials

    monkeypatch.setenv(PASSWORD_VAR, "bon-mot-de-passe")
    config = load_config(_write(tmp_path, BASE + _cert_block("p12", editor_files)))
    validate_credentials(config)
    assert config.environments["preproduction"].base_path == "/fhir"
    assert config.environments["preproduction"].port == 8443


def test_the_commented_example_is_valid(tmp_path: Path) -> None:
    example = (ROOT / "config" / "editeur.example.toml").read_text()
    (tmp_path / "staging-pki" / "server").mkdir(parents=True)
    (tmp_path / "staging-pki" / "server" / "ca.pem").write_text("placeholder")
    config = load_config(_write(tmp_path, example))
    assert config.environments["preproduction"].trust == "look-alike"
    assert config.environments["preproduction"].ip_allow_list == ("31.15.27.36", "193.41.222.248")


@pytest.fixture
def exported_reference(pki_cache_dir: Path, tmp_path: Path) -> Iterator[tuple[Path, int, int]]:
    """The reference server in its own process, configured only from a PKI export."""
    responder_port = _free_port()
    export_dir = tmp_path / "staging-pki"
    cli = [sys.executable, "-m", "recette_sas.cli"]
    subprocess.run(
        [
            *cli,
            "pki",
            "export",
            str(export_dir),
            "--cache",
            str(pki_cache_dir),
            "--responder-url",
            f"http://127.0.0.1:{responder_port}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [
            *cli,
            "serve-reference",
            "--pki-dir",
            str(export_dir),
            "--env",
            "preproduction",
            "--ready-file",
            str(ready),
            "--max-seconds",
            "300",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "reference server did not start"
            time.sleep(0.05)
        port = int(ready.read_text().split()[1])
        yield export_dir, port, responder_port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_configured_target_gets_the_same_verdicts_as_the_embedded_run(
    pytester: pytest.Pytester, pki_cache_dir: Path, exported_reference: tuple[Path, int, int]
) -> None:
    export_dir, port, responder_port = exported_reference
    config = pytester.path / "editeur.toml"
    config.write_text(
        f"""
editor = "Référence hors processus"
mapping = "un-pour-un"
[pki]
responder_url = "http://127.0.0.1:{responder_port}"
responder_bind = "127.0.0.1:{responder_port}"
export_dir = "{export_dir}"
[environments.preproduction]
base_url = "https://localhost:{port}"
server_ca = "{export_dir / "server" / "ca.pem"}"
"""
    )

    def run(*extra: str, out: str) -> dict[str, str]:
        # Each run its own reports folder: the CRL-refresh sentinel one run leaves is judged by the next.
        results = pytester.path / out / "allure-results"
        outcome = pytester.runpytest_subprocess(
            str(ROOT / "features"),
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            f"--pki-cache={pki_cache_dir}",
            f"--alluredir={results}",
            "-q",
            "--tb=short",
            "-m",
            "serveur and not igc",
            "--sas-env=preproduction",
            *extra,
            timeout=600,
        )
        summary = json.loads((results.parent / "summary.json").read_text())
        assert outcome.ret == 0, outcome.stdout.str()[-4000:]
        return {r["test"]: r["status"] for r in summary["results"]}

    configured = run(f"--sas-config={config}", out="configured")
    embedded = run(out="embedded")
    assert configured == embedded
    assert sorted(set(configured.values())) == ["passed", "skipped"]
    assert len(configured) == collected("-m", "serveur and not igc and preproduction")  # the whole matrix


def test_igc_trust_targets_skip_the_look_alike_matrix_with_a_reason(
    pytester: pytest.Pytester, pki_cache_dir: Path, tmp_path: Path
) -> None:
    config = _write(tmp_path, BASE + 'trust = "igc"\n')
    outcome = pytester.runpytest_subprocess(
        str(ROOT / "features"),
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        f"--pki-cache={pki_cache_dir}",
        f"--alluredir={pytester.path / 'r' / 'allure-results'}",
        "-m",
        "serveur and not igc and not ip",
        f"--sas-config={config}",
        "-rs",
        timeout=300,
    )
    outcome.assert_outcomes(skipped=collected("-m", "serveur and not igc and not ip and preproduction"))
    assert "trusts the real IGC Santé chain" in outcome.stdout.str()


def test_expected_deviation_turns_a_known_failure_into_an_expected_one(
    pytester: pytest.Pytester, pki_cache_dir: Path, exported_reference: tuple[Path, int, int]
) -> None:
    export_dir, port, responder_port = exported_reference
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    config = pytester.path / "editeur.toml"
    # The reference refuses TLS 1.0, so declaring that scenario a deviation must FAIL the run (it passes),
    # while a deviation on a scenario that really fails would be reported as expected.
    config.write_text(
        f"""
editor = "Référence"
[pki]
responder_url = "http://127.0.0.1:{responder_port}"
responder_bind = "127.0.0.1:{responder_port}"
[environments.preproduction]
base_url = "https://localhost:{port}"
server_ca = "{export_dir / "server" / "ca.pem"}"
[[expected_deviations]]
test = "test_une_version_de_tls_antérieure_à_12_est_refusée[preproduction-agregation-TLS 1.0]"
reason = "migration en cours"
expires = {until}
"""
    )
    outcome = pytester.runpytest_subprocess(
        str(ROOT / "features"),
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        f"--pki-cache={pki_cache_dir}",
        f"--alluredir={pytester.path / 'r' / 'allure-results'}",
        "-m",
        "serveur",
        "-k",
        "antérieure",
        f"--sas-config={config}",
        timeout=300,
    )
    outcome.assert_outcomes(passed=3, failed=1, skipped=2)  # the two real-chain TLS checks skip here
    assert "remove it from expected_deviations" in outcome.stdout.str()


def test_check_export_says_when_a_reexport_is_needed(pki: Pki, tmp_path: Path) -> None:
    from recette_sas.pki.export import check_export, export_pki

    export_pki(pki, tmp_path / "exp")
    assert check_export(pki, tmp_path / "exp", horizon=dt.timedelta(days=7)) is None
    assert "CRLs expire" in str(check_export(pki, tmp_path / "exp", horizon=dt.timedelta(days=400)))
    moved = Pki.load_or_build(pki.root, responder_url="http://127.0.0.1:9")
    assert "re-export" in str(check_export(moved, tmp_path / "exp", horizon=dt.timedelta(days=7)))
    assert "no readable manifest.json" in str(check_export(pki, tmp_path, horizon=dt.timedelta(days=7)))
    key = tmp_path / "exp" / "server" / "key.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("allow", "expected"),
    [
        ('["31.15.27.36", "193.41.222.248"]', {"passed": 1, "warning": 1}),
        ('["10.9.9.9/32"]', {"failed": 1, "warning": 1}),
        ('["31.15.27.36", "127.0.0.0/8"]', {"passed": 1, "skipped": 1}),
    ],
    ids=["sas-listed", "sas-missing", "runner-listed"],
)
def test_ip_allow_list_checks(
    pytester: pytest.Pytester,
    pki_cache_dir: Path,
    exported_reference: tuple[Path, int, int],
    allow: str,
    expected: dict[str, int],
) -> None:
    export_dir, port, responder_port = exported_reference
    config = pytester.path / "editeur.toml"
    config.write_text(
        f"""
editor = "Référence"
[pki]
responder_url = "http://127.0.0.1:{responder_port}"
responder_bind = "127.0.0.1:{responder_port}"
[environments.preproduction]
base_url = "https://localhost:{port}"
server_ca = "{export_dir / "server" / "ca.pem"}"
ip_allow_list = {allow}
"""
    )
    results = pytester.path / "r" / "allure-results"
    pytester.runpytest_subprocess(
        str(ROOT / "features"),
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        f"--pki-cache={pki_cache_dir}",
        f"--alluredir={results}",
        "-m",
        "ip",
        f"--sas-config={config}",
        timeout=300,
    )
    summary = json.loads((results.parent / "summary.json").read_text())
    # The reference answers anyone: with the suite's loopback address unlisted, that is a warning.
    assert summary["totals"] == expected


def test_a_pkcs12_run_leaves_no_key_and_no_password_in_reports_or_terminal(
    pytester: pytest.Pytester, pki: Pki, pki_cache_dir: Path, exported_reference: tuple[Path, int, int]
) -> None:
    """The editor's PKCS#12 and its password go through a real run; nothing secret comes out."""
    import base64

    from recette_sas.pki.editor import EditorPki

    export_dir, port, responder_port = exported_reference
    ident = EditorPki(pki).identity("preproduction")
    key = serialization.load_pem_private_key(ident.keyfile.read_bytes(), password=None)
    password = "Tr3s-Secret-Pkcs12-Password"
    p12 = pytester.path / "editeur.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"editeur",
            key,
            ident.leaf,
            list(ident.chain),  # type: ignore[arg-type]
            serialization.BestAvailableEncryption(password.encode()),
        )
    )
    config = pytester.path / "editeur.toml"
    config.write_text(
        f"""
editor = "Référence"
[pki]
responder_url = "http://127.0.0.1:{responder_port}"
responder_bind = "127.0.0.1:{responder_port}"
[environments.preproduction]
base_url = "https://localhost:{port}"
trust = "igc"
server_ca = "{export_dir / "server" / "ca.pem"}"
[environments.preproduction.certificate]
pkcs12 = "{p12}"
password_env = "{PASSWORD_VAR}"
"""
    )
    reports = pytester.path / "reports"
    env = {**os.environ, PASSWORD_VAR: password}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "features"),
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            f"--pki-cache={pki_cache_dir}",
            f"--alluredir={reports / 'allure-results'}",
            f"--sas-config={config}",
            # The look-alike CAs stand in for the IGC chain the editor's certificate must be proven against.
            f"--igc-ca-dir={pki.root / 'material' / 'ca'}",
            "-m",
            "igc or client",
            "-rA",
            "-v",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=pytester.path,
        timeout=600,
    )
    assert "passed" in result.stdout, result.stdout[-3000:]
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_b64 = base64.b64encode(der).decode()
    secrets = [password, "PRIVATE KEY", key_b64[100:160], base64.b64encode(p12.read_bytes()).decode()[50:110]]
    terminal = result.stdout + result.stderr
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert any(p.name.endswith("-result.json") for p in files)
    for secret in secrets:
        assert secret not in terminal
        for path in files:
            assert secret not in path.read_text(errors="replace"), f"{secret[:12]}… found in {path.name}"
