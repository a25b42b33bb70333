"""The record as one self-contained HTML page: no script, no remote resource, inline CSS, two A4 pages in print.

Every text that comes from the run (editor name, target URL, finding, justification) goes through
``html.escape``; a status is always a symbol and a word, its colour only repeats them.
"""

from __future__ import annotations

from html import escape

from .record import Cell, Finding, Record
from .sections import ENV_WORDS, LEGEND, facts_lines, fingerprint_lines, heading, shown_findings
from .words import EXIT_MEANINGS, counts_text, verdict_word, word

CSS = """
:root{color:#1b1b1b;background:#fff;font:10pt/1.35 system-ui,"DejaVu Sans",Arial,sans-serif}
body{margin:0 auto;max-width:60rem;padding:1rem}
h1{font-size:1.35rem;margin:0 0 .3rem}h2{font-size:1.05rem;margin:1rem 0 .3rem;border-bottom:1px solid #888}
.verdict{font-size:1.1rem;padding:.4rem .6rem;border:2px solid;margin:.4rem 0}
.v-ok{background:#e6f4ea;color:#0b3d1a}.v-ko{background:#fde7e9;color:#7a0010}.v-nv{background:#f1e6f7;color:#4b1a66}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.05rem .8rem;margin:.3rem 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:.3rem 0}table.matrix{table-layout:fixed}
th.env{width:15%}th.lvl{width:9%}
th,td{border:1px solid #8a8a8a;padding:.15rem .3rem;text-align:left;vertical-align:top}
thead th{background:#eceff1}caption{text-align:left;font-weight:600;padding:.2rem 0}
th.req{font-weight:400}.id{font-weight:700}.src{font-size:.8rem;color:#333}
td.c{font-weight:600}.n{font-weight:400;font-size:.8rem}
.s-passed{background:#e6f4ea;color:#0b3d1a}.s-failed{background:#fde7e9;color:#7a0010}
.s-warning{background:#fff4ce;color:#5c3b00}.s-deviation{background:#e8eefc;color:#1a3670}
.s-broken{background:#f1e6f7;color:#4b1a66}.s-nonverif{background:#eef0f2;color:#303840}
.s-skipped{color:#444}.s-none{color:#555;font-weight:400}.s-other{background:#fff;color:#1b1b1b;outline:1px dashed #555}
ul.findings{padding-left:1.1rem;margin:.2rem 0}ul.findings li{margin:.1rem 0}
code{font-family:"DejaVu Sans Mono",monospace;font-size:.85em;overflow-wrap:anywhere}
.fp{font-size:.75rem}.legend{font-size:.8rem;color:#333}
@page{size:A4 portrait;margin:9mm}
@media print{:root{font-size:6.4pt;line-height:1.15}table.matrix td.c{white-space:nowrap}body{max-width:none;padding:0}h2{margin:.4rem 0 .15rem;break-after:avoid}
dl.facts{grid-template-columns:max-content 1fr max-content 1fr}th,td{padding:.05rem .25rem}
tr,li{break-inside:avoid}.verdict,td,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def render_html(record: Record) -> str:
    symbol, verdict = verdict_word(record.verdict)
    tone = "ok" if record.exit_code == 0 else "ko" if record.exit_code in (1, 3) else "nv"
    meaning = EXIT_MEANINGS.get(record.exit_code, "code inconnu")
    out = [
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(heading(record))}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>",
        f"<h1>{escape(heading(record))}</h1>",
        f'<p class="verdict v-{tone}"><strong><span aria-hidden="true">{escape(symbol)}</span> '
        f"Verdict : {escape(verdict)}</strong> — code de sortie {record.exit_code} : {escape(meaning)}</p>",
        f"<p>{escape(record.message)}</p>",
        '<dl class="facts">',
        *(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts_lines(record)),
        "</dl>",
        _matrix(record),
        *_findings(record),
        *_deviations(record),
        *_unreachable(record),
        "<h2>Certificats et PKI</h2>",
        *_certificates(record),
        f'<p class="legend">Légende : {escape(LEGEND)}</p>',
        "</main>\n</body>\n</html>\n",
    ]
    return "\n".join(out)


def _cell(cell: Cell) -> str:
    w = cell.word
    detail = f' <span class="n">({escape(counts_text(cell.counts))})</span>' if cell.total else ""
    return f'<td class="c s-{w.css}"><span aria-hidden="true">{escape(w.symbol)}</span> {escape(w.one)}{detail}</td>'


def _matrix(record: Record) -> str:
    head = "".join(f'<th scope="col" class="env">{escape(c.label)}</th>' for c in record.columns)
    rows = []
    for row in record.rows:
        cells = "".join(_cell(row.cells[c.key]) for c in record.columns)
        rows.append(
            f'<tr><th scope="row" class="req"><span class="id">{escape(row.requirement)}</span> '
            f'<span class="src">{escape(row.source)}</span></th><td>{escape(row.level)}</td>{cells}</tr>'
        )
    totals = "".join(
        f'<td class="n">{escape(counts_text(_column_total(record, c.key)) or "—")}</td>'
        for c in record.columns
    )
    return (
        '<h2>Exigences par environnement ANS</h2>\n<table class="matrix">\n'
        f"<caption>{len(record.rows)} exigences du catalogue × {len(record.columns)} environnements ANS "
        f"(chaque case : le pire résultat, puis le décompte des scénarios)</caption>\n"
        f'<thead><tr><th scope="col">Exigence (phrase de la spécification ou du guide)</th>'
        f'<th scope="col" class="lvl">Niveau</th>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody>\n"
        f'<tfoot><tr><th scope="row">Total des scénarios</th><td>{escape(counts_text(record.totals))}</td>'
        f"{totals}</tr></tfoot>\n</table>"
    )


def _column_total(record: Record, key: str) -> dict[str, int]:
    return record.column_totals.get(key, {})


def _finding(f: Finding) -> str:
    w = word(f.status)
    envs = ", ".join(ENV_WORDS.get(e, e) for e in f.environments)
    what = f" ({escape(f.kind)})" if f.kind else ""
    text = f" : {escape(f.message)}" if f.message else ""
    times = f" ×{f.count}" if f.count > 1 else ""
    return (
        f'<li class="s-{w.css}"><span aria-hidden="true">{escape(w.symbol)}</span> <strong>{escape(w.one)}'
        f"{what}</strong> — contrôle <code>{escape(f.check)}</code> ({escape(envs)}{times}){text}</li>"
    )


def _findings(record: Record) -> list[str]:
    if not record.findings:
        return ["<h2>Constats</h2>", "<p>Aucun échec, avertissement, écart ni scénario non jugé.</p>"]
    shown, more = shown_findings(record)
    return [
        "<h2>Constats (contrôle à rechercher dans Allure, étiquette « controle »)</h2>",
        '<ul class="findings">',
        *(_finding(f) for f in shown),
        *(
            f"<li>… et {n} autre(s) constat(s) « {escape(word(s).one)} » : voir le rapport Allure.</li>"
            for s, n in more
        ),
        "</ul>",
    ]


def _deviations(record: Record) -> list[str]:
    if not record.deviations:
        return ["<h2>Écarts attendus déclarés</h2>", "<p>Aucun écart attendu n'est déclaré.</p>"]
    rows = []
    for d in record.deviations:
        state = "expiré" if d.lapsed else (f"dans {d.days_left} jour(s)" if d.days_left is not None else "")
        rows.append(
            f"<tr><td><code>{escape(d.test)}</code></td><td>{escape(d.reason)}</td>"
            f"<td>{escape(d.expires)} ({escape(state)})</td><td>{d.seen}</td></tr>"
        )
    return [
        "<h2>Écarts attendus déclarés</h2>",
        '<table><thead><tr><th scope="col">Contrôle</th><th scope="col">Justification</th>'
        '<th scope="col">Jusqu\'au</th><th scope="col">Scénarios concernés</th></tr></thead><tbody>',
        *rows,
        "</tbody></table>",
    ]


def _unreachable(record: Record) -> list[str]:
    if not record.unreachable:
        return []
    return [
        "<h2>Cibles injoignables (aucun verdict pour elles)</h2>",
        '<ul class="findings">',
        *(
            f'<li class="s-broken"><span aria-hidden="true">✘</span> <strong>injoignable</strong> — '
            f"{escape(u['target'])}{' : ' + escape(u['why']) if u['why'] else ''}</li>"
            for u in record.unreachable
        ),
        "</ul>",
    ]


def _certificates(record: Record) -> list[str]:
    e = record.earliest_expiry
    expiry = (
        f"<p>Expiration la plus proche : <strong>{escape(str(e.get('not_after', '')))}</strong> — "
        f"{escape(str(e.get('seen_as', '')))} <code>{escape(str(e.get('subject', '')))}</code></p>"
        if e
        else "<p>Aucun certificat vu par l'exécution.</p>"
    )
    fps = "".join(
        f"<tr><td>{escape(kind)}</td><td>{escape(name)}</td><td><code>{escape(fp)}</code></td></tr>"
        for kind, name, fp in fingerprint_lines(record)
    )
    table = (
        '<table class="fp"><thead><tr><th scope="col">PKI</th><th scope="col">AC</th>'
        f'<th scope="col">Empreinte SHA-256</th></tr></thead><tbody>{fps}</tbody></table>'
        if fps
        else "<p>Aucune empreinte de PKI relevée.</p>"
    )
    return [expiry, table]
