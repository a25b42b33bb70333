"""The page's data: one cell per requirement × ANS environment, built from ``summary.json`` and the catalogue.

Every number on the page comes from the summary's ``results``: a requirement's cells add up to its
``requirements`` counts, and the cells of all rows to the summary's totals (a project test holds this).
A result's ANS environment is the first word of its parameters (``[preproduction-agregation-…]``), the
order ``fixtures/matrix.py`` gives them, or its ``environment`` field when a summary carries one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .facts import RunFacts, TargetFacts
from .words import NOT_RUN, NOT_SELECTED, Word, rank, word

NO_REQUIREMENT = "(sans exigence)"
OTHER_ENV = "autre"
SOURCE_CHARS = 64
MESSAGE_CHARS = 140
_PARAMS = re.compile(r"\[(?P<params>[^\]]*)\]$")


def environment_of(result: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The ANS environment of a summary result, None when it has none of ``keys``."""
    env = result.get("environment")
    if isinstance(env, str) and env in keys:
        return env
    match = _PARAMS.search(str(result.get("test", "")))
    first = match["params"].split("-", 1)[0] if match else ""
    return first if first in keys else None


def shorten(text: str, limit: int) -> str:
    """One line, cut at a word boundary with an ellipsis."""
    line = " ".join(str(text).split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:—-") + "…"


@dataclass(frozen=True)
class Cell:
    counts: dict[str, int]
    selected: bool = True  # the environment was part of the run

    @property
    def status(self) -> str | None:
        present = [s for s, n in self.counts.items() if n]
        return min(present, key=lambda s: (rank(s), s)) if present else None

    @property
    def word(self) -> Word:
        if self.status is None:
            return NOT_RUN if self.selected else NOT_SELECTED
        return word(self.status)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Row:
    requirement: str
    level: str
    source: str
    role: str
    cells: dict[str, Cell]

    @property
    def counts(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for cell in self.cells.values():
            total.update(cell.counts)
        return dict(total)


@dataclass(frozen=True)
class Finding:
    """One line of the page: a check key, the environments it concerns, and for a failure its first finding."""

    status: str
    check: str
    environments: tuple[str, ...]
    count: int
    message: str = ""
    kind: str = ""


@dataclass(frozen=True)
class DeviationLine:
    test: str
    reason: str
    expires: str
    seen: int  # results that ended as this expected deviation
    lapsed: bool
    days_left: int | None


@dataclass(frozen=True)
class Record:
    facts: RunFacts
    columns: tuple[TargetFacts, ...]
    rows: tuple[Row, ...]
    verdict: str
    exit_code: int
    message: str
    generated_at: str
    collected: int
    ran: int
    interrupted: str | None
    totals: dict[str, int]
    findings: tuple[Finding, ...]
    deviations: tuple[DeviationLine, ...]
    unreachable: tuple[dict[str, str], ...]
    no_verdict: dict[str, int]
    earliest_expiry: dict[str, str] | None
    column_totals: dict[str, dict[str, int]] = field(default_factory=dict)  # a scenario counts once


def build_record(summary: dict[str, Any], catalogue: dict[str, dict[str, Any]], facts: RunFacts) -> Record:
    columns = list(facts.environments)
    keys = tuple(c.key for c in columns)
    results = list(summary.get("results", ()))
    if any(environment_of(r, keys) is None for r in results):
        columns.append(TargetFacts(OTHER_ENV, "Hors environnement", "scénarios sans environnement ANS"))
    counts: dict[tuple[str, str], Counter[str]] = {}
    per_column: dict[str, Counter[str]] = {c.key: Counter() for c in columns}
    for result in results:
        env = environment_of(result, keys) or OTHER_ENV
        per_column[env][str(result.get("status", "?"))] += 1
        for req in result.get("requirements") or (NO_REQUIREMENT,):
            counts.setdefault((req, env), Counter())[str(result.get("status", "?"))] += 1
    ran = {req for req, _ in counts}
    # A requirement of one slot-search use case (``use_case`` in the catalogue: CPTS, SOS Médecins) is no row of
    # a run that judged none of it: it belongs to another use case's editors, not a gap of this one.
    row_ids = [req for req in catalogue if "use_case" not in catalogue[req] or req in ran] + sorted(
        ran - set(catalogue)
    )
    rows = tuple(
        Row(
            requirement=req,
            level=str(catalogue.get(req, {}).get("level", "—")),
            source=shorten(str(catalogue.get(req, {}).get("source", "")), SOURCE_CHARS),
            role=str(catalogue.get(req, {}).get("role", "")),
            cells={c.key: Cell(dict(counts.get((req, c.key), {})), selected=c.selected) for c in columns},
        )
        for req in row_ids
    )
    generated = str(summary.get("generated_at", ""))
    return Record(
        facts=facts,
        columns=tuple(columns),
        rows=rows,
        verdict=str(summary.get("verdict", "?")),
        exit_code=int(summary.get("exit_code", 2)),
        message=str(summary.get("message", "")),
        generated_at=generated,
        collected=int(summary.get("collected", 0)),
        ran=int(summary.get("ran", 0)),
        interrupted=summary.get("interrupted"),
        totals={str(k): int(v) for k, v in summary.get("totals", {}).items()},
        findings=_findings(summary, keys),
        deviations=_deviations(facts, results, generated),
        unreachable=tuple(
            {"target": str(u.get("target", "")), "why": str(u.get("why", ""))}
            for u in summary.get("unreachable_targets", ())
        ),
        no_verdict={str(k): int(v) for k, v in summary.get("no_verdict", {}).items()},
        earliest_expiry=summary.get("earliest_certificate_expiry"),
        column_totals={k: dict(v) for k, v in per_column.items()},
    )


def _findings(summary: dict[str, Any], keys: tuple[str, ...]) -> tuple[Finding, ...]:
    """Failures and scenarios without verdict with their first finding, then warnings and the rest, one line per
    check key and status (the environments it concerns listed), worst first."""
    messages = {f.get("test"): f for f in summary.get("failures", ())}
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for result in summary.get("results", ()):
        status = str(result.get("status", ""))
        if status in ("passed", "skipped"):
            continue
        check = str(result.get("check") or result.get("test", ""))
        grouped.setdefault((status, check), []).append(result)
    lines = []
    for (status, check), members in grouped.items():
        envs = sorted({environment_of(m, keys) or OTHER_ENV for m in members}, key=_env_order(keys))
        first: dict[str, Any] = next((messages[m["test"]] for m in members if m.get("test") in messages), {})
        lines.append(
            Finding(
                status=status,
                check=check,
                environments=tuple(envs),
                count=len(members),
                message=shorten(str(first.get("message", "")).split("\n", 1)[0], MESSAGE_CHARS),
                kind=str(first.get("kind", members[0].get("kind", ""))),
            )
        )
    return tuple(sorted(_merge_no_verdict(lines), key=lambda f: (rank(f.status), f.status, f.check)))


def _merge_no_verdict(lines: list[Finding]) -> list[Finding]:
    """An unreachable target leaves every check without verdict: one line per reason and environments,
    naming the first check, instead of one per check."""
    kept = [f for f in lines if f.status != "broken"]
    groups: dict[tuple[str, tuple[str, ...]], list[Finding]] = {}
    for f in lines:
        if f.status == "broken":
            groups.setdefault((f.kind, f.environments), []).append(f)
    for (kind, envs), members in groups.items():
        members.sort(key=lambda f: f.check)
        first = members[0]
        others = f" et {len(members) - 1} autre(s) contrôle(s)" if len(members) > 1 else ""
        count = sum(f.count for f in members)
        kept.append(Finding("broken", first.check + others, envs, count, first.message, kind))
    return kept


def _env_order(keys: tuple[str, ...]) -> Any:
    return lambda env: keys.index(env) if env in keys else len(keys)


def _matches(pattern: str, names: list[str]) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return any(re.fullmatch(regex, name) for name in names)


def _deviations(facts: RunFacts, results: list[dict[str, Any]], generated: str) -> tuple[DeviationLine, ...]:
    try:
        today = dt.datetime.fromisoformat(generated).date()
    except ValueError:
        today = dt.datetime.now(dt.UTC).date()
    lines = []
    for deviation in facts.deviations:
        seen = 0
        for r in results:
            test = str(r.get("test", ""))
            names = [str(r.get("check") or ""), test.rsplit("::", 1)[-1], test]
            if r.get("status") == "deviation" and _matches(deviation.test, names):
                seen += 1
        try:
            days: int | None = (dt.date.fromisoformat(deviation.expires) - today).days
        except ValueError:
            days = None
        lines.append(
            DeviationLine(
                deviation.test, deviation.reason, deviation.expires, seen, days is not None and days < 0, days
            )
        )
    return tuple(lines)
