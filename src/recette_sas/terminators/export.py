"""The terminators' part of ``recette-sas pki export``: their reference configurations and run folders.

``pki/export.py`` writes what the PKI owns (CAs, CRLs, the staging server certificate, the manifest);
the configurations of nginx, HAProxy and Apache httpd are the terminators' and join the export here,
as an ``ExportContribution``. The dependency goes one way, terminators → pki, which breaks the cycle
the two modules used to have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recette_sas.environments import ENVIRONMENTS, Mapping
from recette_sas.pki.export import ExportContribution, ExportLayout, export_pki
from recette_sas.pki.store import Pki
from recette_sas.terminators.render import TERMINATORS, render_snippets


def terminator_files(*, mapping: Mapping, responder_url: str) -> ExportContribution:
    """The contribution that writes ``snippets/`` (the configurations) and ``run/`` (their work folders)."""

    def contribute(work: ExportLayout, final: ExportLayout) -> None:
        for env in ENVIRONMENTS:
            for name in TERMINATORS:
                (work.root / "run" / f"{name}-{env}").mkdir(parents=True)
        snippets = work.root / "snippets"
        snippets.mkdir()
        # The configurations name the files where they will be once the export is in place.
        for filename, text in render_snippets(final, mapping=mapping, responder_url=responder_url).items():
            (snippets / filename).write_text(text)

    return contribute


def export_with_snippets(
    pki: Pki,
    target: Path,
    *,
    server_names: tuple[str, ...] = ("localhost",),
    mapping: Mapping = Mapping.ONE_TO_ONE,
    p12_password_env: str | None = None,
) -> dict[str, Any]:
    """The whole ``pki export``: the PKI's files and the terminators' configurations; the manifest."""
    contribution = terminator_files(mapping=mapping, responder_url=pki.responder_url)
    return export_pki(
        pki,
        target,
        server_names=server_names,
        mapping=mapping,
        contributions=(contribution,),
        p12_password_env=p12_password_env,
    )
