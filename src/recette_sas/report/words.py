"""The French word and symbol of each status: every cell says in words what its colour shows."""

from __future__ import annotations

from typing import NamedTuple


class Word(NamedTuple):
    symbol: str
    one: str  # the cell's word
    many: str  # "3 réussis"
    css: str  # class suffix
    single: str = ""  # "1 réussi" (defaults to ``many``)


STATUSES: dict[str, Word] = {
    "failed": Word("✘", "échec", "échoués", "failed", "échoué"),
    "broken": Word("?", "pas de verdict", "non jugés", "broken", "non jugé"),
    "non-verifiable": Word("◌", "non vérifiable", "non vérifiables", "nonverif", "non vérifiable"),
    "warning": Word("⚠", "avertissement", "avertissements", "warning", "avertissement"),
    "deviation": Word("≈", "écart attendu", "écarts attendus", "deviation", "écart attendu"),
    "passed": Word("✔", "conforme", "réussis", "passed", "réussi"),
    "skipped": Word("–", "ignoré", "ignorés", "skipped", "ignoré"),
}
# The worst status of a cell names it; an unknown status ranks just below "pas de verdict".
PRECEDENCE = ("failed", "broken", "*", "non-verifiable", "warning", "deviation", "passed", "skipped")
NOT_RUN = Word("·", "non exécuté", "", "none")  # no scenario of the requirement ran in this environment
NOT_SELECTED = Word("·", "non testé", "", "none")  # the environment was not part of the run (--sas-env)


def word(status: str) -> Word:
    """A status nobody taught the renderer is shown as its own word, never hidden or mistaken for another."""
    return STATUSES.get(status) or Word("•", status, status, "other")


def rank(status: str) -> int:
    return PRECEDENCE.index(status if status in STATUSES else "*")


EXIT_MEANINGS: dict[int, str] = {
    0: "conforme : toutes les exigences bloquantes sont respectées",
    1: "non conforme : au moins une exigence bloquante n'est pas respectée",
    2: "pas de verdict : un scénario n'a pas pu être jugé, ou l'exécution a été interrompue",
    3: "cible injoignable : aucun verdict de conformité pour elle",
    4: "erreur d'utilisation (option, configuration ou fichier)",
    6: "secret trouvé dans les rapports (fichier retiré)",
}

VERDICT_WORDS: dict[str, tuple[str, str]] = {
    "conforme": ("✔", "CONFORME"),
    "non-conforme": ("✘", "NON CONFORME"),
    "indetermine": ("?", "PAS DE VERDICT"),
    "interrompu": ("?", "PAS DE VERDICT (interrompu)"),
    "vide": ("?", "PAS DE VERDICT (aucun scénario)"),
    "injoignable": ("✘", "CIBLE INJOIGNABLE"),
}


def verdict_word(verdict: str) -> tuple[str, str]:
    return VERDICT_WORDS.get(verdict, ("•", verdict.upper()))


def counts_text(counts: dict[str, int]) -> str:
    """``1 échoué, 8 réussis`` in precedence order (the worst first)."""
    ordered = sorted(counts.items(), key=lambda kv: (rank(kv[0]), kv[0]))
    return ", ".join(f"{n} {_noun(word(s), n)}" for s, n in ordered if n)


def _noun(w: Word, n: int) -> str:
    return (w.single or w.many) if n == 1 else w.many
