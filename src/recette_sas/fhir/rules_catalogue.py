"""Every rule the FHIR validation engine can report, as data the suite can render.

``RULES`` maps a stable rule id to ``(level, title in French, source)``. It is built from the profile
tables (``recette_sas.fhir.profiles``) and from the few rules the engine owns (base R4 structure, the
self-link helper, an unevaluable rule). ``docs/fhir-rules.md`` is ``render_markdown()``'s output
(``python -m recette_sas.fhir.rules_catalogue > docs/fhir-rules.md``); a test checks they agree.
"""

from __future__ import annotations

from recette_sas.fhir.findings import Level
from recette_sas.fhir.profiles import ALL, Profile

BASE_SOURCE = "FHIR R4 4.0.1 (structure de base, modèles fhir.resources R4B)"
SELF_LINK_SOURCE = "ANS test kit (BundleUrlEqualUrl : compare les query de Bundle.link.url et de la requête)"

ENGINE_RULES: dict[str, tuple[Level, str, str]] = {
    "FHIR-BASE-RESOURCETYPE": (
        "bloquant",
        "resourceType présent, connu de FHIR R4 et celui qu'attend le profil",
        BASE_SOURCE,
    ),
    "FHIR-BASE-STRUCTURE": (
        "bloquant",
        "Structure R4 : éléments connus, cardinalités et types de base, JSON sans valeur vide ni null",
        f"{BASE_SOURCE} ; FHIR R4 JSON (pas d'élément vide) ; faq.md:352-356 (principales erreurs, point 10)",
    ),
    "FHIR-BASE-CODE": (
        "bloquant",
        "Codes dans les jeux de valeurs R4 de force required (Slot.status, Appointment.status…)",
        BASE_SOURCE,
    ),
    "FHIR-BASE-UNCHECKED": (
        "recommande",
        "Ressource R4 dont la structure n'a pas pu être vérifiée (type absent des modèles R4B)",
        BASE_SOURCE,
    ),
    "FHIR-ENGINE": (
        "bloquant",
        "Règle non évaluable sur la ressource reçue (elle n'est jamais tenue pour respectée)",
        "recette-sas (moteur de validation)",
    ),
    "FHIR-BUNDLE-SELF-LINK-QUERY": (
        "bloquant",
        "Le lien self reprend les paramètres de la requête de recherche",
        SELF_LINK_SOURCE,
    ),
    "FHIR-BUNDLE-SELF-LINK-EXACT": (
        "recommande",
        "Le lien self est textuellement l'URL de la requête (le kit avertit sinon)",
        SELF_LINK_SOURCE,
    ),
}


def _build() -> tuple[dict[str, tuple[Level, str, str]], dict[str, list[str]]]:
    rules: dict[str, tuple[Level, str, str]] = dict(ENGINE_RULES)
    where: dict[str, list[str]] = {rule_id: ["(tous)"] for rule_id in ENGINE_RULES}
    where["FHIR-BUNDLE-SELF-LINK-QUERY"] = where["FHIR-BUNDLE-SELF-LINK-EXACT"] = ["BundleAgregateur"]
    for profile in ALL:
        for rule in profile.rules:
            entry = (rule.level, rule.title, rule.source)
            if rules.setdefault(rule.rule_id, entry) != entry:
                raise ValueError(f"{rule.rule_id} : niveau, titre ou source différents selon les lignes")
            names = where.setdefault(rule.rule_id, [])
            if profile.name not in names:
                names.append(profile.name)
    return rules, where


RULES, PROFILES_OF = _build()
"""rule id -> (level, title, source); rule id -> names of the profiles whose table carries it."""


def rules_of(profile: Profile) -> list[str]:
    """The distinct rule ids of one profile table, in table order."""
    return list(dict.fromkeys(rule.rule_id for rule in profile.rules))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    """The catalogue as the Markdown of ``docs/fhir-rules.md``."""
    lines = [
        "# Règles FHIR du moteur de validation",
        "",
        "<!-- Généré par `python -m recette_sas.fhir.rules_catalogue > docs/fhir-rules.md` : ne pas éditer. -->",
        "",
        "Chaque constat (`Finding`) du moteur `recette_sas.fhir.validation` porte l'un de ces identifiants.",
        "`bloquant` : exigé par l'IG SAS (cardinalités, valeurs fixées, bindings required, phrases des pages)",
        "ou par le kit de test de l'ANS ; `recommande` : binding preferred, hygiène, au-delà de l'IG, ou",
        "contradiction de l'IG lue en faveur de l'éditeur (voir `NOTES.md` des sources de l'IG).",
        "",
        f"{len(RULES)} règles. Chemins des sources : fichiers FSH sous `input/fsh/`, pages sous `input/pagecontent/`.",
        "",
    ]
    sections: list[tuple[str, list[str]]] = [("Structure de base et moteur", list(ENGINE_RULES))]
    for profile in ALL:
        ids = rules_of(profile)
        if profile.name == "BundleAgregateur":
            ids += ["FHIR-BUNDLE-SELF-LINK-QUERY", "FHIR-BUNDLE-SELF-LINK-EXACT"]
        sections.append((f"{profile.name} — `{profile.url}`", ids))
    shown: set[str] = set()
    for title, ids in sections:
        lines += [f"## {title}", "", "| Id | Règle | Niveau | Source |", "| --- | --- | --- | --- |"]
        for rule_id in ids:
            if rule_id in shown:
                continue
            shown.add(rule_id)
            level, text, source = RULES[rule_id]
            lines.append(f"| `{rule_id}` | {_cell(text)} | {level} | {_cell(source)} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
