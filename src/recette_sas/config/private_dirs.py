"""The run's private (0700) folders for decrypted key files, and the sweep of those a killed run left.

Light on purpose (no cryptography): the sweep runs when every session starts (``fixtures/pki.py``).
A folder is removed only when its owner marker proves the run that made it is dead (pid and start
time, ``recette_sas._proc``).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from recette_sas._proc import marker_is_orphan, owner_marker

SECRETS_PREFIX = "recette-sas-secrets-"
MARKER = ".owner.json"


def sweep_secret_directories(parent: Path | None = None) -> list[Path]:
    """Remove the secret directories of runs that are provably dead (a SIGKILL left them behind)."""
    removed: list[Path] = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{SECRETS_PREFIX}*"):
        with contextlib.suppress(OSError, ValueError):
            if folder.is_symlink() or not folder.is_dir():
                continue
            if marker_is_orphan(json.loads((folder / MARKER).read_text())):
                shutil.rmtree(folder)
                removed.append(folder)
    return removed


@contextlib.contextmanager
def private_directory() -> Iterator[str]:
    """A mode-0700 temporary directory marked as this run's, removed when the context ends; the ones
    killed runs left are swept first."""
    sweep_secret_directories()
    folder = tempfile.mkdtemp(prefix=SECRETS_PREFIX)
    try:
        (Path(folder) / MARKER).write_text(json.dumps(owner_marker()))
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
