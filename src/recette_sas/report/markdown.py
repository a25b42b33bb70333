"""The record in Markdown, for a merge-request comment or a CI job summary (GitHub's step summary).

GitHub and GitLab render inline HTML in Markdown, so run text is HTML-escaped, and the characters
Markdown would read as syntax (``|``, ``*``, ``_``, ``[``, backquotes…) are escaped too.
"""

from __future__ import annotations

import re
from html import escape

from .record import Cell, Record
from .sections import ENV_WORDS, LEGEND, facts_lines, fingerprint_lines, heading, shown_findings
from .words import EXIT_MEANINGS, counts_text, verdict_word, word

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!~>])")


def md(text: str) -> str:
    """One line of run text, inert in Markdown and in the HTML it may embed."""
    line = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", escape(line, quote=False)).replace("|", "&#124;")


def _cell(cell: Cell) -> str:
    w = cell.word
    detail = f" ({md(counts_text(cell.counts))})" if cell.total else ""
    return f"{w.symbol} {md(w.one)}{detail}"


def render_markdown(record: Record) -> str:
    symbol, verdict = verdict_word(record.verdict)
    meaning = EXIT_MEANINGS.get(record.exit_code, "code inconnu")
    out = [
        f"# {md(heading(record))}",
        "",
        f"**{symbol} Verdict : {md(verdict)}** — code de sortie {record.exit_code} : {md(meaning)}",
        "",
        md(record.message),
        "",
        *(f"- **{md(k)}** : {md(v)}" for k, v in facts_lines(record)),
        "",
        "## Exigences par environnement ANS",
        "",
        "| Exigence | Niveau | " + " | ".join(md(c.label) for c in record.columns) + " |",
        "| --- | --- | " + " | ".join("---" for _ in record.columns) + " |",
    ]
    for row in record.rows:
        cells = " | ".join(_cell(row.cells[c.key]) for c in record.columns)
        out.append(f"| **{md(row.requirement)}** {md(row.source)} | {md(row.level)} | {cells} |")
    totals = " | ".join(md(counts_text(record.column_totals.get(c.key, {})) or "—") for c in record.columns)
    out += [f"| **Total des scénarios** | {md(counts_text(record.totals))} | {totals} |", ""]
    out += ["## Constats (contrôle à rechercher dans Allure, étiquette « controle »)", ""]
    if not record.findings:
        out.append("Aucun échec, avertissement, écart ni scénario non jugé.")
    shown, more = shown_findings(record)
    for f in shown:
        w = word(f.status)
        envs = ", ".join(ENV_WORDS.get(e, e) for e in f.environments)
        kind = f" ({md(f.kind)})" if f.kind else ""
        times = f" ×{f.count}" if f.count > 1 else ""
        text = f" : {md(f.message)}" if f.message else ""
        out.append(
            f"- {w.symbol} **{md(w.one)}{kind}** — contrôle `{_code(f.check)}` ({md(envs)}{times}){text}"
        )
    for s, n in more:
        out.append(f"- … et {n} autre(s) constat(s) « {md(word(s).one)} » : voir le rapport Allure.")
    out += ["", "## Écarts attendus déclarés", ""]
    if not record.deviations:
        out.append("Aucun écart attendu n'est déclaré.")
    for d in record.deviations:
        state = "expiré" if d.lapsed else (f"dans {d.days_left} jour(s)" if d.days_left is not None else "")
        out.append(
            f"- ≈ `{_code(d.test)}` : {md(d.reason)} — jusqu'au {md(d.expires)} ({md(state)}), "
            f"{d.seen} scénario(s) concerné(s)"
        )
    if record.unreachable:
        out += ["", "## Cibles injoignables (aucun verdict pour elles)", ""]
        out += [
            f"- ✘ **injoignable** — {md(u['target'])} {md(u['why'])}".rstrip() for u in record.unreachable
        ]
    out += ["", "## Certificats et PKI", ""]
    e = record.earliest_expiry
    if e:
        out.append(
            f"Expiration la plus proche : **{md(str(e.get('not_after', '')))}** — {md(str(e.get('seen_as', '')))} "
            f"`{_code(str(e.get('subject', '')))}`"
        )
        out.append("")
    for kind, name, fp in fingerprint_lines(record):
        out.append(f"- {md(kind)} {md(name)} : `{_code(fp)}`")
    out += ["", f"_{md('Légende : ' + LEGEND)}_", ""]
    return "\n".join(out)


def _code(text: str) -> str:
    """Inline code cannot hold a backquote or a line break; HTML in it is shown, not rendered."""
    return " ".join(str(text).replace("`", "'").split())
