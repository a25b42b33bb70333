"""Shared fixtures for the project's own tests."""

from __future__ import annotations

import os
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
