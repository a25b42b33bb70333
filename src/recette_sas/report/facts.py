"""What the run was: editor, mapping, targets, suite version and commit, PKI — plain values the caller gathers."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TargetFacts:
    """One ANS environment column: who answers for it in this run."""

    key: str  # recette | preproduction | production
    label: str  # "Recette", "Pré-production", "Production"
    target: (
        str  # "serveur de référence embarqué (recette)", "https://pp.editeur.example:8443 (confiance igc)"
    )
    selected: bool = True  # whether this run tested it at all (--sas-env)


@dataclass(frozen=True)
class Deviation:
    test: str
    reason: str
    expires: str  # ISO date


@dataclass(frozen=True)
class RunFacts:
    editor: str
    mapping: str
    environments: tuple[TargetFacts, ...]
    suite_version: str
    commit: str | None = None
    strict: bool = False
    variant: str | None = None
    deviations: tuple[Deviation, ...] = ()
    pki_fingerprints: dict[str, str] = field(default_factory=dict)
    igc_fingerprints: dict[str, str] = field(default_factory=dict)


def git_commit(root: Path, *, timeout: float = 5.0) -> str | None:
    """The checkout's commit (``+ modifications locales`` when tracked files differ), None outside a checkout."""
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head} + modifications locales" if dirty else head or None
