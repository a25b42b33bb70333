"""The IG's FSH example instances as FHIR JSON, without SUSHI.

SUSHI (npm ``fsh-sushi`` 3.x) installs here but cannot build the IG offline: it needs the packages
``hl7.fhir.r4.core#4.0.1`` and ``hl7.fhir.fr.core#1.1.0`` from the FHIR package registry, which is not
reachable (and the suite may download nothing at run time). This module converts the FSH constructs
the IG's examples use, with SUSHI's semantics:

- ``Alias:`` (``input/fsh/aliases.fsh``), ``Instance:``, ``InstanceOf:``, ``Usage:``, ``Title:``,
  ``Description:``, and ``Profile:``/``Extension:`` headers (``Parent:``, ``Id:``, ``^url``);
- ``* path = value`` with ``[n]``, soft indexes ``[+]``/``[=]`` (one counter per array path and per
  slice), named slices ``[SliceName]`` (their own index space; an extension slice gets its ``url``),
  choice elements written by their concrete name (``valueReference``);
- values: strings, numbers, booleans, codes ``system#code "display"`` and ``#code`` (written as code,
  Coding or CodeableConcept according to the element's R4 type), ``Reference(Instance)`` (``Type/id``,
  ``#id`` when the instance is contained), and a bare instance name (the instance inlined, as in
  ``entry.resource = ExampleSlot`` or ``contained[+] = ExampleLocation``);
- what SUSHI adds: ``resourceType``, ``id`` (the instance name unless a rule sets it),
  ``meta.profile`` (the profile's canonical URL), and the values the profile chain assigns
  (``status = #free``, ``identifier.system = ...``) on the elements the instance's rules reach, when
  every step down to them is required (SUSHI's "implied properties").

SUSHI reads the minimum cardinalities from the full StructureDefinitions; here they come from the
IG's FSH (``* path 1..``), R4 (the fhir.resources models) and, for the fr-core parents the IG builds
on, from what the IG's pages say of them (``PARENT_REQUIRED``, with the source of each).

``RuleSet``/``insert``, ``Canonical()``, ``Quantity`` units and indented rules are not supported: the
examples do not use them, and an unsupported line raises ``FshError`` naming the file and line.

The FSH reader is ``recette_sas.fhir.fsh_parser``, the instance-to-JSON builder
``recette_sas.fhir.fsh_build``; this module keeps ``FshTank`` (the two joined) and the loading
entry points ``load_examples``/``iter_examples``, and re-exports the names imported from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recette_sas.fhir.fsh_build import PARENT_EXTENSION_SLICES, PARENT_REQUIRED, Exporter
from recette_sas.fhir.fsh_parser import (
    CanonicalOf,
    Code,
    FshDefinitions,
    FshEntity,
    FshError,
    FshRule,
    InstanceName,
    InstanceRef,
    Unsupported,
)

__all__ = [
    "PARENT_EXTENSION_SLICES",
    "PARENT_REQUIRED",
    "CanonicalOf",
    "Code",
    "FshEntity",
    "FshError",
    "FshRule",
    "FshTank",
    "InstanceName",
    "InstanceRef",
    "Unsupported",
    "iter_examples",
    "load_examples",
]


class FshTank(FshDefinitions):
    """The FSH definitions of an IG's ``input/fsh`` folder, and its instances exported as FHIR JSON."""

    def export(self, name: str) -> dict[str, Any]:
        return Exporter(self).export(name)


def load_examples(ig_root: Path) -> dict[str, dict[str, Any]]:
    """Every instance of the IG (``Usage: #example`` and ``#inline``), by instance name, as FHIR JSON."""
    tank = FshTank.from_ig(ig_root)
    return {name: tank.export(name) for name in tank.instances()}


def iter_examples(ig_root: Path, usage: str = "#example") -> Iterator[tuple[str, dict[str, Any]]]:
    """The instances of one usage (default: the examples the IG publishes)."""
    tank = FshTank.from_ig(ig_root)
    for name in tank.instances():
        if tank.entities[name].keywords.get("Usage", "#example") == usage:
            yield name, tank.export(name)
