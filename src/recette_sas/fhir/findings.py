"""What the FHIR validation engine reports: one ``Finding`` per broken rule and element.

A finding names the profile it was checked against (canonical URL), where in the submitted JSON the
problem sits (a FHIRPath-like path with indexes, ``Bundle.entry[3].resource.comment``), the entry's
``fullUrl`` when the resource came in a Bundle, its level, a stable rule id from the catalogue
(``rules_catalogue.RULES``), a French message for the editor and the source of the rule.

Levels mirror the suite's verdict levels (``docs/requirements.toml``):

- ``bloquant``: what the IG states as required (cardinalities, fixed values, required bindings,
  sentences of its pages that say "doit", "est nécessaire", "systématiquement") and what ANS's
  test kit fails on;
- ``recommande``: preferred bindings, hygiene, what goes beyond the IG, and the IG's own
  contradictions read in the editor's favour (see ``NOTES.md`` of the IG sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["bloquant", "recommande"]
LEVELS: tuple[Level, ...] = ("bloquant", "recommande")


@dataclass(frozen=True, order=True)
class Finding:
    """One broken rule on one element."""

    profile: str
    path: str
    full_url: str | None
    severity: Level
    rule_id: str
    message: str
    source: str

    @property
    def blocking(self) -> bool:
        return self.severity == "bloquant"

    def key(self) -> tuple[str, str, str | None]:
        """What identifies the finding regardless of its wording: (rule id, path, fullUrl)."""
        return (self.rule_id, self.path, self.full_url)


def blocking(findings: list[Finding]) -> list[Finding]:
    """The findings that fail a verdict."""
    return [f for f in findings if f.severity == "bloquant"]
