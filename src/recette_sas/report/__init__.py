"""The one-page acceptance record (``reports/synthese.html`` and ``reports/synthese.md``).

An editor forwards it to a project manager or to ANS: which requirement holds in which ANS environment, on
which target, with which suite version and PKI, and what knowingly deviates until when. It is built from
plain data only — the run's ``summary.json``, the catalogue ``docs/requirements.toml`` and the run's
:class:`RunFacts` — so it can be rendered again from a saved summary, and it carries no pytest.

``record``  the data of the page (:func:`build_record`): one :class:`Cell` per requirement × environment
``words``   the French word and symbol of every status (colour is never the only signal)
``html``    the self-contained HTML page (no script, inline CSS, two A4 pages in print)
``markdown`` the same content for a merge-request comment or a CI job summary
``write``   :func:`write_synthese`: both files beside ``summary.json``, a problem as one line, never a raise
"""

from __future__ import annotations

from .facts import Deviation, RunFacts, TargetFacts, git_commit
from .html import render_html
from .markdown import render_markdown
from .record import Cell, Record, build_record, environment_of
from .write import write_synthese

__all__ = [
    "Cell",
    "Deviation",
    "Record",
    "RunFacts",
    "TargetFacts",
    "build_record",
    "environment_of",
    "git_commit",
    "render_html",
    "render_markdown",
    "write_synthese",
]
