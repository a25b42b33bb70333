#!/usr/bin/env python3
"""Last step of the scheduled jobs: turn ``reports/summary.json`` and pytest's exit code into one verdict.

Exit codes (the contract ci-templates/README.md documents):
  0  conforme       every blocking requirement verified
  1  non-conforme   at least one blocking requirement failed on the target
  2  pas de verdict the run could not judge (probe fault, no scenario, summary missing, pytest error,
                    secret found in the results…): a problem of the run, not of the target
  3  injoignable    the target could not be reached: no conformance verdict at all

Standard library only: it runs before or without the suite's virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

CONFORME, NON_CONFORME, PAS_DE_VERDICT, INJOIGNABLE = 0, 1, 2, 3
_LIST_MAX = 10


def decide(summary: dict[str, Any] | None, pytest_exit: int | None) -> tuple[int, str]:
    """The exit code and the message for a summary (``None`` when missing) and pytest's exit code."""
    if pytest_exit not in (None, 0, 1):
        reason = {
            2: "interrompu",
            3: "erreur interne",
            4: "erreur d'usage (option ou configuration)",
            5: "aucun scénario sélectionné",
            6: "secret trouvé dans les résultats Allure",
        }
        return PAS_DE_VERDICT, (
            f"PAS DE VERDICT : pytest a terminé avec le code {pytest_exit} "
            f"({reason.get(pytest_exit, 'erreur de la suite')}) ; voir le journal du job."
        )
    if summary is None:
        return PAS_DE_VERDICT, "PAS DE VERDICT : reports/summary.json est absent ou illisible."
    verdict = summary.get("verdict")
    totals = summary.get("totals") or {}
    counted = ", ".join(f"{n} {k}" for k, n in sorted(totals.items())) or "aucun résultat"
    if verdict == "non-conforme":
        failures = [f for f in summary.get("failures") or [] if f.get("status") == "failed"]
        lines = [f"NON CONFORME : {len(failures)} exigence(s) bloquante(s) non respectée(s) ({counted})."]
        lines += [f"  - {f.get('test')}: {f.get('message', '')}" for f in failures[:_LIST_MAX]]
        if len(failures) > _LIST_MAX:
            lines.append(f"  … et {len(failures) - _LIST_MAX} autre(s), voir le rapport.")
        return NON_CONFORME, "\n".join(lines)
    if verdict == "injoignable":
        targets = ", ".join(summary.get("unreachable_targets") or []) or "la cible"
        return INJOIGNABLE, (
            f"CIBLE INJOIGNABLE : {targets} n'a pas répondu ; aucun verdict de conformité. "
            "Vérifier l'URL, le filtrage IP et que l'environnement de l'éditeur est démarré."
        )
    if verdict == "conforme":
        if pytest_exit == 1:
            return PAS_DE_VERDICT, f"PAS DE VERDICT : résumé « conforme » mais pytest a échoué ({counted})."
        warnings = summary.get("warnings") or []
        note = f" ; {len(warnings)} avertissement(s) (recommandations non bloquantes)" if warnings else ""
        return CONFORME, f"CONFORME : toutes les exigences bloquantes sont respectées ({counted}){note}."
    return PAS_DE_VERDICT, f"PAS DE VERDICT : verdict « {verdict} » ({counted}) ; voir le rapport."


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
