"""Shared fixtures for the project's own tests."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recette_sas.pki.publisher import Publisher
from recette_sas.pki.store import Pki

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _clean_tls_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's shell must not make a negative test pass (or a positive one fail)."""
    for name in (
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
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def pki_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PKI cache for the whole test session (``RECETTE_SAS_CACHE`` reuses a warm one)."""
    shared = os.environ.get("RECETTE_SAS_CACHE")
    return Path(shared) if shared else tmp_path_factory.mktemp("pki-cache")


@pytest.fixture(scope="session")
def publisher() -> Iterator[Publisher]:
    with Publisher(port=0) as pub:
        yield pub


@pytest.fixture(scope="session")
def pki(pki_cache_dir: Path, publisher: Publisher) -> Pki:
    loaded = Pki.load_or_build(pki_cache_dir, responder_url=publisher.url)
    publisher.serve(loaded)
    return loaded


@functools.cache
def collected(*args: str) -> int:
    """How many scenarios ``pytest features --collect-only`` selects with ``args``: the tests that check a
    whole matrix ran compare against this, so adding a scenario does not mean editing a count."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(ROOT / "features"),
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--collect-only",
            "-q",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return sum(1 for line in proc.stdout.splitlines() if "::" in line)
