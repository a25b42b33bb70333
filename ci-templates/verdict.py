#!/usr/bin/env python3
"""Last step of the scheduled jobs: print the run's verdict from ``reports/summary.json`` and exit with it.

The suite decides the verdict and pytest already exits with it (the README's exit-code table, once):
  0  conforme       every blocking requirement verified
  1  non-conforme   at least one blocking requirement failed on the target
  2  pas de verdict a scenario could not be judged, the run was interrupted, or nothing ran
  3  injoignable    a target could not be reached: no conformance verdict for it
  4  usage          a mistake in an option, the configuration or a file
  6  secret         a private key or a password reached the results (they were removed)

This script only reads: it prints the suite's message (and the first failures), adds the GitHub job summary
and annotation, and exits with the suite's code. It says "pas de verdict" when the summary is missing or
contradicts pytest's exit code. Standard library only: it runs before or without the suite's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

CONFORME, NON_CONFORME, PAS_DE_VERDICT, INJOIGNABLE, USAGE, SECRET = 0, 1, 2, 3, 4, 6
_BY_VERDICT = {"conforme": 0, "non-conforme": 1, "indetermine": 2, "interrompu": 2, "vide": 2, "injoignable": 3}
_LIST_MAX = 10
_PYTEST_ONLY = {
    USAGE: "erreur d'usage (option, configuration ou fichier) : voir la première ligne du journal",
    5: "aucun scénario sélectionné",
    SECRET: "secret trouvé dans les résultats, fichiers supprimés",
}


def decide(summary: dict[str, Any] | None, pytest_exit: int | None) -> tuple[int, str]:
    """The exit code and the message for a summary (``None`` when missing) and pytest's exit code."""
    if pytest_exit in _PYTEST_ONLY:
        code = pytest_exit if pytest_exit != 5 else PAS_DE_VERDICT
        return code, f"PAS DE VERDICT : pytest a terminé avec le code {pytest_exit} ({_PYTEST_ONLY[pytest_exit]})."
    if summary is None:
        return PAS_DE_VERDICT, "PAS DE VERDICT : reports/summary.json est absent ou illisible."
    verdict = str(summary.get("verdict"))
    code = summary.get("exit_code", _BY_VERDICT.get(verdict, PAS_DE_VERDICT))
    if pytest_exit is not None and pytest_exit != code:
        return PAS_DE_VERDICT, (
            f"PAS DE VERDICT : le résumé dit « {verdict} » (code {code}) mais pytest a terminé avec le code "
            f"{pytest_exit} ; voir le journal du job."
        )
    totals = summary.get("totals") or {}
    counted = ", ".join(f"{n} {k}" for k, n in sorted(totals.items())) or "aucun résultat"
    head = {"conforme": "CONFORME", "non-conforme": "NON CONFORME", "injoignable": "CIBLE INJOIGNABLE"}
    message = str(summary.get("message") or f"{head.get(verdict, 'PAS DE VERDICT')} : {verdict} ({counted}).")
    lines = [message]
    if verdict == "non-conforme":
        failures = [f for f in summary.get("failures") or [] if f.get("status") == "failed"]
        lines += [f"  - {f.get('check') or f.get('test')}: {f.get('message', '')}" for f in failures[:_LIST_MAX]]
        if len(failures) > _LIST_MAX:
            lines.append(f"  … et {len(failures) - _LIST_MAX} autre(s), voir le rapport.")
    elif verdict == "conforme" and summary.get("warnings"):
        lines[0] += f" ; {len(summary['warnings'])} avertissement(s) (recommandations non bloquantes)"
    return int(code), "\n".join(lines)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path, help="reports/summary.json written by the suite")
    parser.add_argument("--pytest-exit-code", type=int, default=None, help="pytest's exit code, if known")
    args = parser.parse_args(argv)
    code, message = decide(_load(args.summary), args.pytest_exit_code)
    print(f"recette-sas : {message}", flush=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        first = message.splitlines()[0]
        level = "notice" if code == CONFORME else "error"
        print(f"::{level} title=recette-sas::{first}")
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as fh:
                fh.write(f"### recette-sas\n\n```\n{message}\n```\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
