"""Write both renderings beside ``summary.json``: atomically, and a failure is a line to show, never a raise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .facts import RunFacts
from .html import render_html
from .markdown import render_markdown
from .record import build_record

HTML_NAME = "synthese.html"
MD_NAME = "synthese.md"


def write_synthese(
    directory: Path, *, summary: dict[str, Any], catalogue: dict[str, dict[str, Any]], facts: RunFacts
) -> str | None:
    """``directory/synthese.html`` and ``synthese.md``; returns a one-line problem, or None."""
    try:
        record = build_record(summary, catalogue, facts)
        pages = {HTML_NAME: render_html(record), MD_NAME: render_markdown(record)}
    except Exception as exc:  # the record is a courtesy: the verdict stands without it
        return f"recette-sas: could not build the acceptance record: {type(exc).__name__}: {exc}"
    for name, text in pages.items():
        path = directory / name
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{name}.tmp{os.getpid()}")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            return f"recette-sas: could not write {path}: {exc.strerror}"
    return None
