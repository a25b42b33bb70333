"""Robust under faults (issue 15): a PKI cache that cannot be poisoned, no secret or process left behind,
and a one-line error for every bad input."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from recette_sas import _proc
from recette_sas.config.addresses import parse_bind, responder_url_problem
from recette_sas.config.loader import load_config
from recette_sas.config.private_dirs import (
    MARKER,
    SECRETS_PREFIX,
    private_directory,
    sweep_secret_directories,
)
from recette_sas.environments import UsageError
from recette_sas.errors import ConfigError
from recette_sas.pki.cache_guard import sweep_work_dirs
from recette_sas.pki.catalogue import Defect
from recette_sas.pki.certcheck import load_ca_dir
from recette_sas.pki.credential_files import CredentialError
from recette_sas.pki.store import Pki
from recette_sas.secret_net import MARK, redact, scan

ROOT = Path(__file__).resolve().parent.parent
URL = "http://127.0.0.1:9"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SSL", "HTTP", "HTTPS", "ALL_PROXY"))}
    env.update(PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}", **extra)
    return env


def _features(tmp: Path, cache: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "pytest", str(ROOT / "features"), f"--rootdir={ROOT}",
            "-c", str(ROOT / "pyproject.toml"), f"--pki-cache={cache}", f"--alluredir={tmp / 'allure-results'}",
            "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *args,
        ],
        cwd=tmp, env=_env(), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _notices(cache: Path) -> list[str]:
    said: list[str] = []
    Pki.load_or_build(cache, responder_url=URL, notify=said.append)
    return said


# -- 1. the PKI cache -------------------------------------------------------------------------------------


def test_two_cold_runs_at_once_on_one_new_cache_are_both_green(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    runs = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        runs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    str(ROOT / "features"),
                    f"--rootdir={ROOT}",
                    "-c",
                    str(ROOT / "pyproject.toml"),
                    f"--pki-cache={cache}",
                    f"--alluredir={tmp_path / name / 'allure-results'}",
                    "-q",
                    "-p",
                    "no:randomly",
                    "-p",
                    "no:cacheprovider",
                    "-m",
                    "serveur",
                    "--sas-env=preproduction",
                ],
                cwd=tmp_path / name,
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [proc.communicate(timeout=900)[0] for proc in runs]
    for proc, out in zip(runs, outputs, strict=True):
        assert proc.returncode == 0, out[-3000:]
    assert _notices(cache) == []  # consistent after: one generation, every leaf chains to it
    assert not [p for p in cache.iterdir() if p.name.startswith(".") and p.name != ".lock"]


@pytest.fixture
def warm_copy(pki_cache_dir: Path, pki: Pki, tmp_path: Path) -> Path:
    """A private copy of the session's cache, loaded once for ``URL`` (so it holds that issued set)."""
    cache = tmp_path / "cache"
    shutil.copytree(pki_cache_dir, cache, ignore=shutil.ignore_patterns(".lock"))
    Pki.load_or_build(cache, responder_url=URL, notify=lambda line: None)
    return cache


def _issued(cache: Path) -> Path:
    return Pki.load_or_build(cache, responder_url=URL).issued_dir


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _foreign_leaf(cache: Path) -> Path:
    issued = _issued(cache)
    target = issued / "leaves" / "preproduction" / "valide" / "leaf.pem"
    target.write_bytes((issued / "leaves" / "recette" / "valide" / "leaf.pem").read_bytes())
    return target


def _other_generation(cache: Path) -> Path:
    """What two concurrent cold builds once left: leaves signed by another CA generation, under a
    manifest claiming the current one."""
    other = cache.parent / "other"
    Pki.load_or_build(other, responder_url=URL, notify=lambda line: None)
    issued = _issued(cache)
    manifest = json.loads((issued / "issued.json").read_text())
    shutil.rmtree(issued)
    shutil.copytree(_issued(other), issued)
    theirs = json.loads((issued / "issued.json").read_text())
    theirs["generation"] = manifest["generation"]
    (issued / "issued.json").write_text(json.dumps(theirs))
    return issued / "leaves"


CORRUPTIONS: dict[str, Callable[[Path], Path]] = {
    "cle-ac-tronquee": lambda c: (p := c / "material" / "keys" / "ACI-EL-ORG-TEST.key.pem", _truncate(p))[0],
    "cle-feuille-tronquee": lambda c: (
        p := _issued(c) / "leaves" / "preproduction" / "valide" / "key.pem",
        _truncate(p),
    )[0],
    "crl-tronquee": lambda c: (p := _issued(c) / "crl" / "ACI-EL-ORG-TEST.crl.pem", _truncate(p))[0],
    "ac-tronquee": lambda c: (p := c / "material" / "ca" / "ACR-EL-TEST.pem", _truncate(p))[0],
    "feuille-etrangere": _foreign_leaf,
    "autre-generation": _other_generation,
    "manifeste-illisible": lambda c: (p := c / "material" / "material.json", p.write_text("{nope"))[0],
    "issued-illisible": lambda c: (p := _issued(c) / "issued.json", _truncate(p))[0],
    "cle-manquante": lambda c: (p := c / "material" / "keys" / "leaf-recette.key.pem", p.unlink())[0],
    "ac-ajoutee": lambda c: (p := c / "material" / "ca" / "INCONNUE.pem", p.write_bytes(b"x"))[0],
    "chaine-vide": lambda c: (
        p := _issued(c) / "leaves" / "recette" / "signe-par-feuille" / "chain.pem",
        p.write_bytes(b""),
    )[0],
    "crl-remplacee": lambda c: (
        p := _issued(c) / "crl" / "ACR-EL.crl.pem",
        p.write_bytes((_issued(c) / "crl" / "ACR-EL-TEST.crl.pem").read_bytes()),
    )[0],
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_a_corrupt_cache_heals_with_one_line_naming_the_file(warm_copy: Path, kind: str) -> None:
    broken = CORRUPTIONS[kind](warm_copy)
    said = _notices(warm_copy)
    assert len(said) == 1 and "\n" not in said[0], said
    assert "rebuilding" in said[0]
    assert broken.name in said[0] or "leaves" in said[0], said
    healed = Pki.load_or_build(warm_copy, responder_url=URL, notify=pytest.fail)
    from recette_sas.environments import get_environment

    leaf = healed.identity("preproduction", Defect.VALIDE).leaf
    assert leaf.issuer == healed.hierarchy(get_environment("preproduction").hierarchy)[1].subject


def test_a_killed_build_leaves_no_work_folder_after_the_next_load(warm_copy: Path) -> None:
    (warm_copy / ".material-abc").mkdir()
    (warm_copy / "issued" / ".0123abcd-xyz").mkdir()
    assert _notices(warm_copy) == []
    assert (
        not (warm_copy / ".material-abc").exists() and not (warm_copy / "issued" / ".0123abcd-xyz").exists()
    )
    assert sweep_work_dirs(warm_copy) == []


def test_sigterm_during_a_cold_build_stops_every_worker(tmp_path: Path) -> None:
    code = (
        "import sys; from recette_sas.pki.store import Pki; "
        f"Pki.load_or_build(sys.argv[1], responder_url={URL!r})"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "cache")],
        env=_env(), start_new_session=True, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(1.0)  # the pool is up, RSA-4096 keys under way
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)  # the workers share the build's process group
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("key-generation workers outlived the build")
    cache = tmp_path / "cache"
    assert not [p for p in cache.iterdir() if p.name.startswith(".material")] if cache.exists() else True


# -- 2. and 3. nothing secret, no process left ---------------------------------------------------------


def _dead_marker() -> dict[str, int]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    started = _proc.start_time(child.pid)
    child.wait(timeout=10)
    assert started is not None
    return {"pid": child.pid, "start_time": started}


def test_a_secret_folder_left_by_a_killed_run_is_swept_and_only_that(tmp_path: Path) -> None:
    dead, alive, unmarked = (tmp_path / f"{SECRETS_PREFIX}{n}" for n in ("dead", "alive", "nomark"))
    for folder in (dead, alive, unmarked):
        folder.mkdir()
        (folder / "editeur-preproduction.key").write_text("secret")
    (dead / MARKER).write_text(json.dumps(_dead_marker()))
    (alive / MARKER).write_text(json.dumps(_proc.owner_marker()))
    assert sweep_secret_directories(tmp_path) == [dead]
    assert alive.exists() and unmarked.exists()


def test_the_private_directory_is_marked_and_removed() -> None:
    with private_directory() as folder:
        assert json.loads((Path(folder) / MARKER).read_text())["pid"] == os.getpid()
        assert Path(folder).stat().st_mode & 0o077 == 0
    assert not Path(folder).exists()


def test_release_group_ends_what_the_command_left_running() -> None:
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!; exit 0"], stdout=subprocess.PIPE,
                              start_new_session=True, text=True)  # fmt: skip
    assert leader.stdout is not None
    straggler = int(leader.stdout.readline())
    leader.stdout.close()
    leader.wait(timeout=10)
    assert _proc.start_time(straggler) is not None
    _proc.release_group(leader.pid)
    deadline = time.monotonic() + 5
    while _proc.start_time(straggler) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (
        _proc.start_time(straggler) is None or "Z" in Path(f"/proc/{straggler}/stat").read_text().split()[2]
    )


def test_a_group_left_by_a_killed_run_is_stopped_only_if_provably_ours(tmp_path: Path) -> None:
    ours = subprocess.Popen(["sleep", "60"], start_new_session=True)
    live_owner = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        groups = _proc._groups_dir()
        for proc, owner in ((ours, _dead_marker()), (live_owner, _proc.owner_marker())):
            record = {"pgid": proc.pid, "leader_start": _proc.start_time(proc.pid), "owner": owner}
            (groups / f"{proc.pid}.json").write_text(json.dumps(record))
        # a record whose leader start time does not match (the pid was reused): never touched
        (groups / "1.json").write_text(json.dumps({"pgid": 1, "leader_start": -5, "owner": _dead_marker()}))
        stopped = _proc.sweep_groups()
        assert ours.pid in stopped and live_owner.pid not in stopped and 1 not in stopped
        assert ours.wait(timeout=10) != 0
        assert live_owner.poll() is None
    finally:
        for proc in (ours, live_owner):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        (_proc._groups_dir() / f"{live_owner.pid}.json").unlink(missing_ok=True)


# -- 4. the secret net -------------------------------------------------------------------------------------


def test_pem_keys_are_redacted_whole_or_cut_short(pki: Pki) -> None:
    pem = pki.identity("recette").keyfile.read_text()
    assert "PRIVATE KEY" not in redact(f"E  ValueError: {pem}")
    assert redact(f"x {pem} y").startswith(f"x {MARK}")
    assert "PRIVATE KEY" not in redact("E   b'" + repr(pem.encode())[2:300] + "…")
    assert (
        redact("mot de passe hunter2hunter2", ["hunter2hunter2"])
        == "mot de passe [secret masqué par recette-sas]"
    )


def test_the_net_scans_every_file_given(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text("<x>-----BEGIN PRIVATE KEY-----</x>")
    (tmp_path / "summary.json").write_text("{}")
    assert set(scan([tmp_path / "junit.xml", tmp_path / "summary.json", tmp_path / "absent"])) == {
        tmp_path / "junit.xml"
    }


# -- 5. and 7. every configuration value checked at load ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("http://", "no host"),
        ("not a url", "not a URL"),
        ("ftp://192.0.2.10:47600", "scheme ftp"),
        ("https://192.0.2.10", "scheme https"),
        ("http://192.0.2.10:99999", "port '99999'"),
        ("http://u:p@192.0.2.10", "user information"),
        ("http://192.0.2.10/?q", "query"),
    ],
)
def test_bad_responder_urls(value: str, problem: str) -> None:
    found = responder_url_problem(value)
    assert found is not None and problem in found


@pytest.mark.parametrize(
    ("value", "problem"),
    [("abc", "no port"), ("127.0.0.1:99999", "port '99999'"), (":47600", "no host"), ("h:x", "port 'x'")],
)
def test_bad_responder_binds(value: str, problem: str) -> None:
    found = parse_bind(value)
    assert isinstance(found, str) and problem in found


def test_good_addresses() -> None:
    assert responder_url_problem("http://[2001:db8::1]:47600/ocsp") is None
    assert parse_bind("0.0.0.0:0") == ("0.0.0.0", 0) and parse_bind("[::1]:47600") == ("::1", 47600)


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "editeur.toml"
    path.write_text(
        f'editor = "Essai"\nmapping = "un-pour-un"\n{extra}\n'
        '[environments.preproduction]\nbase_url = "https://127.0.0.1:9/fhir"\n'
    )
    return path


@pytest.mark.parametrize(
    ("pki_table", "key"),
    [
        ('[pki]\nresponder_bind = "abc"', "pki.responder_bind"),
        ('[pki]\nresponder_bind = "127.0.0.1:99999"', "pki.responder_bind"),
        ('[pki]\nresponder_url = "http://"', "pki.responder_url"),
    ],
)
def test_bad_pki_addresses_are_one_line_config_errors(tmp_path: Path, pki_table: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, pki_table))
    assert key in str(caught.value) and "\n" not in str(caught.value)


def _one_line_exit_4(proc: subprocess.CompletedProcess[str], words: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out[-3000:]
    assert words in out and "Traceback" not in out, out[-3000:]


def test_a_busy_responder_port_is_one_line_exit_4(tmp_path: Path, pki_cache_dir: Path, pki: Pki) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = _config(tmp_path, f'[pki]\nresponder_bind = "127.0.0.1:{port}"')
        proc = _features(tmp_path, pki_cache_dir, f"--sas-config={config}", "-m", "serveur", "-x")
    _one_line_exit_4(proc, f"cannot listen on 127.0.0.1:{port}")
    assert not (tmp_path / "summary.json").exists()


def test_an_unknown_expected_deviation_is_a_usage_error(tmp_path: Path, pki_cache_dir: Path) -> None:
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    config = _config(
        tmp_path, f'[[expected_deviations]]\ntest = "SRV-NOPE-99"\nreason = "x"\nexpires = {later}'
    )
    proc = _features(tmp_path, pki_cache_dir, f"--sas-config={config}", "--collect-only")
    _one_line_exit_4(proc, "'SRV-NOPE-99' names no scenario")


def test_wrong_igc_ca_dir_content_is_a_usage_error(tmp_path: Path, pki_cache_dir: Path) -> None:
    (tmp_path / "cas").mkdir()
    (tmp_path / "cas" / "ACR-EL.pem").write_text("not a certificate")
    proc = _features(tmp_path, pki_cache_dir, f"--igc-ca-dir={tmp_path / 'cas'}", "-m", "igc")
    _one_line_exit_4(proc, "missing")


def test_an_expired_configured_certificate_is_refused_at_load(tmp_path: Path, pki: Pki) -> None:
    from recette_sas.config.credentials import validate_credentials

    folder = pki.issued_dir / "leaves" / "preproduction" / Defect.EXPIRE.value
    path = _config(tmp_path, "")
    path.write_text(
        path.read_text()
        + f'[environments.preproduction.certificate]\ncert = "{folder / "fullchain.pem"}"\n'
        + f'key = "{folder / "key.pem"}"\n'
    )
    with pytest.raises(CredentialError, match=r"certificate expired on .* UTC"):
        validate_credentials(load_config(path))


# -- 6. cert check pins the IGC fingerprints ---------------------------------------------------------------


def test_cert_check_igc_ca_dir_refuses_look_alikes_under_igc_names(pki: Pki) -> None:
    with pytest.raises(CredentialError, match="not its pinned certificate"):
        load_ca_dir(pki.root / "material" / "ca")
    assert load_ca_dir(pki.root / "material" / "ca", pinned=False)


# -- 7. each run's Allure results start clean --------------------------------------------------------------


def test_allure_results_start_clean_unless_appending(tmp_path: Path) -> None:
    from fixtures.options import _clean_allure_results

    results = tmp_path / "allure-results"
    results.mkdir()
    for name in ("a-result.json", "b-container.json", "c-attachment.txt", "executor.json", "notes.txt"):
        (results / name).write_text("x")
    _clean_allure_results(results)
    assert sorted(p.name for p in results.iterdir()) == ["notes.txt"]


def test_unwritable_rebuild_target_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError) as caught:
        Pki.load_or_build(blocker / "cache", responder_url=URL)
    assert "\n" not in str(caught.value)


def test_look_alike_impostors_as_igc_ca_dir_on_the_embedded_run_are_one_line(
    tmp_path: Path, pki_cache_dir: Path, pki: Pki
) -> None:
    cas = tmp_path / "cas"
    cas.mkdir()
    for name in ("ACR-EL", "ACI-EL-ORG", "ACR-EL-TEST", "ACI-EL-ORG-TEST"):
        shutil.copy(pki.root / "material" / "ca" / f"IMPOSTEUR-{name}.pem", cas / f"{name}.pem")
    proc = _features(tmp_path, pki_cache_dir, f"--igc-ca-dir={cas}", "-m", "igc")
    _one_line_exit_4(proc, "is not the look-alike chain")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_no_editor_key_survives_sigterm_or_sigkill_and_the_next_start(tmp_path: Path, sig: int) -> None:
    """SIGTERM unwinds (as ``fixtures/run_verdict.py`` turns it into KeyboardInterrupt) into the folder's
    removal; after SIGKILL the folder stays until the next run's sweep, which proves the run dead."""
    code = (
        "import signal, sys, time\n"
        "from pathlib import Path\n"
        "from recette_sas.config.private_dirs import private_directory\n"
        "def stop(signum, frame):\n    raise KeyboardInterrupt\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "with private_directory() as d:\n"
        "    (Path(d) / 'editeur-preproduction.key').write_text('-----BEGIN PRIVATE KEY-----')\n"
        "    print(d, flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=_env(TMPDIR=str(tmp_path)), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    assert (folder / "editeur-preproduction.key").exists()
    proc.send_signal(sig)
    proc.wait(timeout=30)
    proc.stdout.close()
    assert folder.exists() == (sig == signal.SIGKILL)
    sweep_secret_directories(tmp_path)  # what the next run does first (fixtures/pki.py)
    assert not list(tmp_path.glob(f"{SECRETS_PREFIX}*"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_no_trigger_process_outlives_the_run(pki: Pki, pki_cache_dir: Path, tmp_path: Path, sig: int) -> None:
    """The client trigger command runs in its own session; SIGTERM of pytest ends its whole group (the
    command's own background child too), and after SIGKILL the next start stops it, proved ours."""
    started = tmp_path / "child.pid"
    config = tmp_path / "editeur.toml"
    config.write_text(
        'editor = "Editeur"\n[environments.preproduction]\nbase_url = "https://editeur.example:8443/fhir"\n'
        "[environments.preproduction.client]\n"
        f"mode = \"command\"\ncommand = '''sh -c 'sleep 120 & echo $! > {started}; sleep 120' '''\n"
        "command_timeout = 100\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "pytest", str(ROOT / "features" / "test_client.py"), f"--rootdir={ROOT}",
            "-c", str(ROOT / "pyproject.toml"), f"--pki-cache={pki_cache_dir}", f"--sas-config={config}",
            f"--alluredir={tmp_path / 'allure-results'}", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
        ],
        cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (started.exists() and started.read_text().strip()) and time.monotonic() < deadline:
            assert proc.poll() is None, "the run ended before its trigger command started"
            time.sleep(0.05)
        child = int(started.read_text())
        group = _proc._process_group(child)
        assert group is not None and _proc.start_time(child) is not None
        proc.send_signal(sig)
        proc.wait(timeout=60)
        if sig == signal.SIGKILL:
            assert _proc.start_time(child) is not None  # a SIGKILL cannot be caught: the next start sweeps
            assert group in _proc.sweep_groups()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the trigger command's group {group} outlived the run")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_no_key_in_junit_terminal_or_synthesis(tmp_path: Path, pki: Pki) -> None:
    """A traceback carrying a key is redacted before junit and the terminal see it; a key written into
    any file of the run (here the synthesis) is redacted in place and the run exits 6."""
    pem = pki.identity("recette").keyfile.read_text()
    (tmp_path / "key.pem").write_text(pem)
    (tmp_path / "test_fuite.py").write_text(
        "from pathlib import Path\n\n"
        "def test_traceback(request):\n"
        "    key = Path(__file__).with_name('key.pem').read_text()\n"
        "    raise ValueError(f'Unable to load PEM file {key!r}')\n\n"
        "def test_synthese(request):\n"
        "    d = Path(request.config.option.allure_report_dir).parent\n"
        "    (d / 'synthese.md').write_text(Path(__file__).with_name('key.pem').read_text())\n"
    )
    junit = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "fixtures.allure_labels", "-p", "no:cacheprovider",
            f"--alluredir={tmp_path / 'reports' / 'allure-results'}", f"--junitxml={junit}",
            str(tmp_path / "test_fuite.py"),
        ],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 6, out[-3000:]
    assert "PRIVATE KEY" not in out and "PRIVATE KEY" not in junit.read_text()
    assert MARK in junit.read_text()
    assert (tmp_path / "reports" / "synthese.md").read_text().strip() == MARK
    assert scan([tmp_path / "reports", junit]) == {}
