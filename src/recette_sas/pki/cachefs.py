"""The folder mechanics every cache of the suite shares: one writer of each, so they cannot drift.

``replace_dir`` builds a folder aside and renames it into place (a reader never sees half of it);
``prune_sets`` keeps a cache bounded without removing a set another run is using (loading a set
touches it); ``ensure_writable`` turns an unusable cache folder into a one-line usage error.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from recette_sas.errors import UsageError


def ensure_writable(folder: Path, *, what: str, hint: str = "") -> None:
    """Create ``folder`` if needed and prove a file can be written there, or raise a ``UsageError``:
    ``"{what} not writable (why){hint}"``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise UsageError(f"{what} not writable ({exc.strerror or exc}){hint}") from None


def replace_dir(target: Path, build: Callable[[Path], object]) -> None:
    """Run ``build(work)`` in a fresh folder beside ``target``, then put it in ``target``'s place whole;
    on any failure (or interruption) the work folder is removed and ``target`` is left as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        build(work)
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            target.rename(old)
            work.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def prune_sets(
    root: Path, *, keep: Path, most: int = 6, idle: float = 86400.0, skip: frozenset[str] = frozenset()
) -> None:
    """Beyond ``most`` sets under ``root``, remove those nobody loaded for ``idle`` seconds. ``keep`` (the
    set this run uses) is touched first; hidden folders and the names in ``skip`` are never sets."""
    try:
        if keep.is_dir():
            os.utime(keep)
        sets = sorted(
            (p for p in root.iterdir() if p.is_dir() and p.name not in skip and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        cutoff = time.time() - idle
        for old in [p for p in sets if p != keep][most - 1 :]:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
    except OSError:
        return
