"""The no-secret net over every file a run writes (issue 15), and the redaction of key material.

A corrupted key in the PKI cache once made pytest print the key in every traceback; the net scanned only
the Allure results, so the ``--junitxml`` file kept 78 ``PRIVATE KEY`` blocks. Now:

- ``redact`` replaces every PEM private-key block (whole, or cut short as a traceback's ``repr`` cuts
  it) and every known secret value in a text with a marker; the run applies it to each failure report
  before any plugin (junit, Allure, the terminal) reads it;
- ``scan`` looks for a private key or a secret value in a list of files and folders (the Allure
  results, junit, ``summary.json``, the synthesis, the log file), so whatever slipped through is found
  whoever wrote it; the caller removes Allure files (they would be published) and redacts the others
  in place (a CI still reads its junit), then stops with exit code 6.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

MARK = "[clé privée masquée par recette-sas]"
SECRET_MARK = "[secret masqué par recette-sas]"
_PEM_KEY = re.compile(
    r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY)-----"
    r"[A-Za-z0-9+/=\s\\'\":,-]*?"
    r"(?:-----END (?P=kind)-----|(?=[^A-Za-z0-9+/=\s\\'\":,-])|$)"
)
_KEY_WORDS = ("PRIVATE KEY",)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every PEM private-key block and every value of ``secrets`` replaced by a marker."""
    out = _PEM_KEY.sub(MARK, text)
    for value in secrets:
        if value:
            out = out.replace(value, SECRET_MARK)
    return out


def holds_secret(data: bytes, secrets: Iterable[bytes] = ()) -> str | None:
    """What secret ``data`` holds (never the value), or None."""
    if any(word.encode() in data for word in _KEY_WORDS):
        return "a PEM private key"
    if any(s and s in data for s in secrets):
        return "the value of a secret environment variable"
    return None


def scan(places: Iterable[Path], secrets: Iterable[bytes] = ()) -> dict[Path, str]:
    """Files under ``places`` (files or folders, absent ones skipped) holding a secret, and what."""
    wanted = [s for s in secrets if s]
    hits: dict[Path, str] = {}
    for place in places:
        files = sorted(p for p in place.rglob("*") if p.is_file()) if place.is_dir() else [place]
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            what = holds_secret(data, wanted)
            if what:
                hits[path] = what
    return hits


def redact_file(path: Path, secrets: Iterable[str] = ()) -> bool:
    """Redact ``path`` in place; False if it still holds a secret afterwards (the caller removes it)."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        clean = redact(text, secrets)
        path.write_text(clean, encoding="utf-8", errors="surrogateescape")
    except OSError:
        return False
    return holds_secret(clean.encode("utf-8", "surrogateescape"), [s.encode() for s in secrets]) is None
