"""The shape of a profile table: rows the one engine (``recette_sas.fhir.validation``) reads.

Why Python data rather than TOML or JSON: the rows are typed (mypy strict checks every column, a
misspelt column is an error, not a silently ignored key), FHIRPath expressions and regexes sit in
raw strings without a second escaping layer, the catalogue and ``docs/fhir-rules.md`` are rendered
from the same objects, and importing a table costs nothing at collection time (no file to parse).

A row (``Rule``) carries one rule id, one level and one source, and the columns of an
ElementDefinition that apply to it:

- ``path``: element path from the resource root, FHIRPath-like without the resource type
  (``identifier.system``); ``""`` is the resource itself. A segment ``name:slice`` keeps the items of
  ``name`` that belong to the slice (``Profile.slices``);
- ``min`` / ``max``: cardinality, counted per occurrence of the parent element (as FHIR does);
- ``fixed`` (``fixed[x]``: equal, nothing more) and ``pattern`` (``pattern[x]``: contains);
- ``binding``: value set canonical URL and strength, for code, Coding and CodeableConcept;
- ``targets``: the resource types a Reference may point to (``"#Location"``: a local reference to a
  contained Location);
- ``invariant``: a FHIRPath expression evaluated (fhirpathpy) on each element at ``path``; the rule
  holds when it is true;
- ``when``: a FHIRPath guard evaluated on the resource; the row applies only when it is true;
- ``at``: for a row on the resource itself (``path == ""``), the element a finding points to;
- ``check``: the name of a Python check for what a path expression cannot say (date arithmetic with
  offsets, references across a Bundle, the requested window); the engine's registry runs it.

Several rows may share a rule id (the same rule on ``start`` and ``end``); they must then agree on
level, title and source (a test checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from recette_sas.fhir.findings import Level

Strength = Literal["required", "extensible", "preferred", "example"]


@dataclass(frozen=True)
class Binding:
    valueset: str
    strength: Strength


@dataclass(frozen=True)
class Slice:
    """Items of ``element`` whose ``discriminator`` (a dotted path) has ``value`` (value discriminator)."""

    element: str
    discriminator: str
    value: str


@dataclass(frozen=True)
class Rule:
    rule_id: str
    level: Level
    title: str
    source: str
    path: str = ""
    min: int | None = None
    max: int | None = None
    fixed: Any = None
    pattern: Any = None
    binding: Binding | None = None
    targets: tuple[str, ...] = ()
    invariant: str | None = None
    when: str | None = None
    check: str | None = None
    at: str = ""
    message: str = ""


@dataclass(frozen=True)
class Profile:
    url: str
    name: str
    resource_type: str
    fsh: str
    rules: tuple[Rule, ...]
    slices: Mapping[str, Slice] = field(default_factory=dict)
    contained: Mapping[str, str] = field(default_factory=dict)
    """resourceType of a contained resource -> canonical URL of the profile it is checked against."""
    alt_urls: tuple[str, ...] = ()
    """Other canonical URLs the IG uses for the same profile (NOTES.md item 2)."""
