"""The words both renderers share: title, the run's facts, fingerprints, legend."""

from __future__ import annotations

from .record import Finding, Record
from .words import STATUSES

ENV_WORDS = {"recette": "recette", "preproduction": "pré-production", "production": "production"}
LEGEND = " ; ".join(f"{w.symbol} {w.one}" for w in STATUSES.values()) + (
    " ; · non exécuté (aucun scénario de l'exigence n'a tourné dans cet environnement) ou non testé "
    "(environnement hors de cette exécution). Le code couleur ne fait que répéter le symbole et le mot."
)


def heading(record: Record) -> str:
    return f"Synthèse de recette SAS — {record.facts.editor}"


def facts_lines(record: Record) -> list[tuple[str, str]]:
    f = record.facts
    lines = [
        ("Éditeur", f.editor),
        ("Correspondance", f.mapping),
        ("Date", record.generated_at or "—"),
        ("Version de la suite", f"recette-sas {f.suite_version}"),
        ("Commit", f.commit or "hors dépôt git"),
        (
            "Scénarios",
            f"{record.ran} exécuté(s) sur {record.collected}"
            + (f" — interrompu : {record.interrupted}" if record.interrupted else ""),
        ),
        ("Avertissements", "bloquants (--sas-strict)" if f.strict else "non bloquants"),
    ]
    if f.variant:
        lines.append(
            ("Variante", f"{f.variant} (variante volontairement défectueuse du serveur de référence)")
        )
    for column in record.columns:
        lines.append((f"Cible {ENV_WORDS.get(column.key, column.key)}", column.target))
    if record.no_verdict:
        lines.append(("Non jugés", ", ".join(f"{n} {k}" for k, n in record.no_verdict.items())))
    return lines


def fingerprint_lines(record: Record) -> list[tuple[str, str, str]]:
    f = record.facts
    return [("ressemblante", n, fp) for n, fp in sorted(f.pki_fingerprints.items())] + [
        ("IGC Santé (épinglée)", n, fp) for n, fp in sorted(f.igc_fingerprints.items())
    ]


PER_STATUS = 4


def shown_findings(record: Record) -> tuple[list[Finding], list[tuple[str, int]]]:
    """At most ``PER_STATUS`` lines per status, so every kind of finding is on the page whatever the others
    number; the rest is counted (Allure has them all)."""
    shown: list[Finding] = []
    hidden: dict[str, int] = {}
    for f in record.findings:
        if sum(1 for g in shown if g.status == f.status) < PER_STATUS:
            shown.append(f)
        else:
            hidden[f.status] = hidden.get(f.status, 0) + 1
    return shown, list(hidden.items())
