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
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recette_sas.fhir import base


class FshError(ValueError):
    """A line the converter does not understand, or a reference it cannot resolve."""


PARENT_REQUIRED: dict[str, dict[str, str]] = {
    "FrPractitioner": {
        "identifier.type": "faq.md:15-17 « identifier.system, identifier.type et identifier.value sont obligatoires »",
        "identifier.system": "faq.md:15-17",
        "identifier.value": "faq.md:15-17",
        "telecom.system": "FHIR R4 ContactPoint, invariant cpt-2 (« A system is required if a value is provided »)",
    },
    "FrLocation": {
        "identifier.type": "faq.md:15-17 (FrLocation)",
        "identifier.system": "faq.md:15-17 (FrLocation)",
        "identifier.value": "faq.md:15-17 (FrLocation)",
        "telecom.system": "FHIR R4 ContactPoint, invariant cpt-2",
    },
    "FrPractitionerRoleExercice": {"telecom.system": "FHIR R4 ContactPoint, invariant cpt-2"},
    "FrOrganization": {"telecom.system": "FHIR R4 ContactPoint, invariant cpt-2"},
    "FrHealthcareService": {"telecom.system": "FHIR R4 ContactPoint, invariant cpt-2"},
}
"""Elements the fr-core parents require (minimum 1), as the IG's pages state them."""

PARENT_EXTENSION_SLICES: dict[str, dict[str, str]] = {
    "FrAppointment": {
        "appointmentOperator": "http://interopsante.org/fhir/StructureDefinition/FrAppointmentOperator",
    },
}
"""Extension slices the fr-core parents declare (URL from specifications_techniques-tous-gestion_rdv.md:181)."""


@dataclass(frozen=True)
class Code:
    system: str | None
    code: str
    display: str | None = None

    def coding(self) -> dict[str, str]:
        out = {"system": self.system} if self.system else {}
        out["code"] = self.code
        if self.display:
            out["display"] = self.display
        return out


@dataclass(frozen=True)
class InstanceRef:
    """``Reference(Name)``."""

    name: str


@dataclass(frozen=True)
class Unsupported:
    """A value the converter cannot read; exporting its instance raises ``FshError`` with this text."""

    error: str


@dataclass(frozen=True)
class CanonicalOf:
    """``Canonical(Name)``: the canonical URL of a profile, extension or instance of the IG."""

    name: str


@dataclass(frozen=True)
class InstanceName:
    """A bare instance name: the instance itself, inlined."""

    name: str


@dataclass(frozen=True)
class FshRule:
    path: str
    value: Any
    file: str
    line: int


@dataclass
class FshEntity:
    kind: str
    name: str
    file: str
    line: int
    keywords: dict[str, str] = field(default_factory=dict)
    rules: list[FshRule] = field(default_factory=list)
    caret: dict[str, Any] = field(default_factory=dict)
    minimums: dict[str, int] = field(default_factory=dict)
    extension_slices: dict[str, str] = field(default_factory=dict)
    """slice name -> the extension (name or id) it contains."""


_HEADER = re.compile(
    r"^(Alias|Profile|Extension|Instance|ValueSet|CodeSystem|Invariant|Logical|Resource|Mapping|RuleSet):\s*(.+?)\s*$"
)
_KEYWORD = re.compile(
    r"^(InstanceOf|Parent|Id|Title|Description|Usage|Expression|Severity|XPath|Source|Target)\s*:\s*(.*?)\s*$"
)
_CARD = re.compile(r"^(\S+)\s+(\d*)\.\.(\d+|\*)?(\s+.*)?$")
_CONTAINS_ITEM = re.compile(r"^(\S+)(?:\s+named\s+(\S+))?\s+(\d+)\.\.(\d+|\*)")


def _strip_comment(line: str) -> str:
    """Drop a ``//`` comment that is not inside a string nor part of a URL (``https://``)."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"' and (i == 0 or line[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and line.startswith("//", i) and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def _string(token: str) -> str:
    return bytes(token[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


class FshTank:
    """The FSH definitions of an IG's ``input/fsh`` folder."""

    def __init__(self, fsh_dir: Path, canonical: str) -> None:
        self.canonical = canonical.rstrip("/")
        self.aliases: dict[str, str] = {}
        self.entities: dict[str, FshEntity] = {}
        files = sorted(fsh_dir.rglob("*.fsh"))
        for path in files:  # aliases first: a file may use an alias another file declares
            for line in path.read_text(encoding="utf-8").splitlines():
                alias = re.match(r"^Alias:\s*(\S+)\s*=\s*(\S+)", _strip_comment(line))
                if alias:
                    self.aliases[alias.group(1)] = alias.group(2)
        for path in files:
            self._parse(path, fsh_dir)

    @classmethod
    def from_ig(cls, ig_root: Path) -> FshTank:
        config = (ig_root / "sushi-config.yaml").read_text(encoding="utf-8")
        match = re.search(r"^canonical:\s*(\S+)", config, re.MULTILINE)
        if match is None:
            raise FshError(f"{ig_root}/sushi-config.yaml : pas de « canonical: »")
        return cls(ig_root / "input" / "fsh", match.group(1))

    # ------------------------------------------------------------ parsing

    def _parse(self, path: Path, root: Path) -> None:
        name = str(path.relative_to(root))
        current: FshEntity | None = None
        contains_path: str | None = None
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = _strip_comment(raw)
            if not line.strip():
                continue
            header = _HEADER.match(line)
            if header:
                kind, rest = header.groups()
                contains_path = None
                if kind == "Alias":
                    current = None
                    continue
                current = FshEntity(kind, rest, name, number)
                self.entities[rest] = current
                continue
            if current is None:
                raise FshError(f"{name}:{number} : ligne hors de toute définition : {line.strip()}")
            keyword = _KEYWORD.match(line)
            if keyword and not line.startswith("*"):
                current.keywords[keyword.group(1)] = keyword.group(2)
                continue
            stripped = line.strip()
            if stripped.startswith("*"):
                contains_path = self._rule(current, stripped[1:].strip(), name, number)
            elif contains_path is not None:
                self._contains(current, contains_path, stripped)
            elif current.kind in ("Instance", "Profile", "Extension"):
                raise FshError(f"{name}:{number} : construction FSH non prise en charge : {stripped}")

    def _rule(self, entity: FshEntity, text: str, file: str, number: int) -> str | None:
        """Record one ``*`` rule; return the path of a ``contains`` whose items follow on next lines."""
        if entity.kind not in ("Instance", "Profile", "Extension"):
            return None
        if entity.kind == "Instance":
            assignment = re.match(r"^(\S+)\s*=\s*(.+)$", text)
            if assignment is None:
                raise FshError(f"{file}:{number} : règle d'instance sans « = » : {text}")
            path, value = assignment.groups()
            try:
                parsed = self._value(value.strip(), file, number)
            except FshError as exc:  # raised when (and only if) this instance is exported
                parsed = Unsupported(str(exc))
            entity.rules.append(FshRule(path, parsed, file, number))
            return None
        # Profile / Extension rules: keep what the converter needs, ignore the rest (bindings, MS, ^short…).
        caret = re.match(r"^(\S*)\s*\^(\S+)\s*=\s*(.+)$", text)
        if caret:
            target, key, value = caret.groups()
            if not target:
                with contextlib.suppress(FshError):  # a caret value the converter has no use for
                    entity.caret[key] = self._value(value.strip(), file, number)
            return None
        contains = re.match(r"^(\S+)\s+contains\s*(.*)$", text)
        if contains:
            path, rest = contains.groups()
            for item in re.split(r"\s+and\s+", rest.strip()) if rest.strip() else []:
                self._contains(entity, path, item)
            return path
        card = _CARD.match(text)
        if card and not re.search(r"\s=\s", text):
            path, low, _high, _flags = card.groups()
            if low:
                entity.minimums[path] = int(low)
            return None
        assigned = re.match(r"^(\S+)\s*=\s*(.+?)(\s+\(exactly\))?$", text)
        if assigned:
            path, value, _exactly = assigned.groups()
            entity.rules.append(FshRule(path, self._value(value, file, number), file, number))
        return None

    def _contains(self, entity: FshEntity, path: str, item: str) -> None:
        match = _CONTAINS_ITEM.match(item.strip().removesuffix("and").strip())
        if match is None:
            return
        what, named, low, _high = match.groups()
        slice_name = named or what
        entity.minimums[f"{path}[{slice_name}]"] = int(low)
        if path == "extension" or path.endswith(".extension"):
            entity.extension_slices[slice_name] = what

    def _value(self, token: str, file: str, number: int) -> Any:
        token = token.strip()
        if token.startswith('"'):
            match = re.fullmatch(r'("(?:[^"\\]|\\.)*")', token)
            if match is None:
                raise FshError(f"{file}:{number} : chaîne mal formée : {token}")
            return _string(match.group(1))
        if token in self.aliases:
            return self.aliases[token]
        if token in ("true", "false"):
            return token == "true"
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if re.fullmatch(r"-?\d+\.\d+", token):
            return float(token)
        reference = re.fullmatch(r"Reference\s*\(\s*([^)\s]+)\s*\)", token)
        if reference:
            return InstanceRef(reference.group(1))
        canonical = re.fullmatch(r"Canonical\s*\(\s*([^)\s]+)\s*\)", token)
        if canonical:
            return CanonicalOf(canonical.group(1))
        code = re.fullmatch(r'(\S*)#(\S+)(?:\s+"((?:[^"\\]|\\.)*)")?', token)
        if code:
            system, value, display = code.groups()
            system = self.aliases.get(system, system) if system else None
            return Code(system, value, display)
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9\-_.]*", token):
            return InstanceName(token)
        raise FshError(f"{file}:{number} : valeur FSH non prise en charge : {token}")

    # ------------------------------------------------------------ profiles

    def chain(self, name: str) -> list[FshEntity]:
        """The IG profiles from ``name`` up to the first parent outside the IG."""
        out: list[FshEntity] = []
        while name in self.entities and self.entities[name].kind in ("Profile", "Extension"):
            out.append(self.entities[name])
            name = out[-1].keywords.get("Parent", "")
        return out

    def _outside_parent(self, name: str) -> str:
        chain = self.chain(name)
        return chain[-1].keywords.get("Parent", name) if chain else name

    def resource_type(self, instance_of: str) -> str:
        parent = self._outside_parent(instance_of)
        if parent in base.R4_RESOURCE_TYPES:
            return parent
        stripped = parent.removeprefix("Fr")
        candidates = [rt for rt in base.R4_RESOURCE_TYPES if stripped.startswith(rt)]
        if not candidates:
            raise FshError(f"type de ressource introuvable pour {instance_of} (parent {parent})")
        return max(candidates, key=len)

    def url(self, name: str) -> str | None:
        entity = self.entities.get(name)
        if entity is None or entity.kind not in ("Profile", "Extension"):
            return None
        explicit = entity.caret.get("url")
        if isinstance(explicit, str):
            return explicit
        return f"{self.canonical}/StructureDefinition/{entity.keywords.get('Id', name)}"

    def _extension_url(self, instance_of: str, slice_name: str) -> str | None:
        for entity in self.chain(instance_of):
            if slice_name in entity.extension_slices:
                target = entity.extension_slices[slice_name]
                by_id = next(
                    (e.name for e in self.entities.values() if e.keywords.get("Id") == target), target
                )
                return self.url(by_id) or self.url(target)
        return PARENT_EXTENSION_SLICES.get(self._outside_parent(instance_of), {}).get(slice_name)

    # ------------------------------------------------------------ instances

    def instances(self) -> list[str]:
        return [e.name for e in self.entities.values() if e.kind == "Instance"]

    def export(self, name: str) -> dict[str, Any]:
        return _Exporter(self).export(name)


def _parse_path(path: str) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for part in re.split(r"\.(?![^\[]*\])", path):
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_\-]*)((?:\[[^\]]+\])*)", part)
        if match is None:
            raise FshError(f"chemin FSH non pris en charge : {path}")
        out.append((match.group(1), re.findall(r"\[([^\]]+)\]", match.group(2))))
    return out


def _element_path(path: str) -> str:
    """``identifier[IdentifiantInterne][0].value`` -> ``identifier[IdentifiantInterne].value`` (no indexes)."""
    return re.sub(r"\[(?:\d+|\+|=)\]", "", path)


def _no_slices(path: str) -> str:
    return re.sub(r"\[[^\]]+\]", "", path)


class _Exporter:
    def __init__(self, tank: FshTank) -> None:
        self.tank = tank
        self.stack: list[str] = []

    def export(self, name: str) -> dict[str, Any]:
        entity = self.tank.entities.get(name)
        if entity is None or entity.kind != "Instance":
            raise FshError(f"instance FSH inconnue : {name}")
        if name in self.stack:
            raise FshError(f"instance FSH récursive : {' -> '.join([*self.stack, name])}")
        self.stack.append(name)
        try:
            return self._export(entity)
        finally:
            self.stack.pop()

    def _export(self, entity: FshEntity) -> dict[str, Any]:
        instance_of = entity.keywords.get("InstanceOf", "")
        rt = self.tank.resource_type(instance_of)
        resource: dict[str, Any] = {"resourceType": rt, "id": entity.name}
        profile_url = self.tank.url(instance_of)
        if profile_url:
            resource["meta"] = {"profile": [profile_url]}
        counters: dict[str, int] = {}
        touched: list[str] = [""]
        for rule in entity.rules:
            concrete = self._place(resource, rt, instance_of, rule.path, counters)
            touched.append(concrete)
            self._assign(resource, rt, instance_of, concrete, rule.value, rule)
        self._implied(resource, rt, instance_of, touched)
        self._local_references(resource)
        cleaned: dict[str, Any] = _clean(resource)
        return cleaned

    # paths -------------------------------------------------------------

    def _place(
        self, resource: dict[str, Any], rt: str, instance_of: str, path: str, counters: dict[str, int]
    ) -> str:
        """Resolve soft indexes and slices to a concrete path ``a[2].b[Slice@0]...`` (slices kept as tags)."""
        concrete: list[str] = []
        for name, brackets in _parse_path(path):
            slice_name = next((b for b in brackets if not re.fullmatch(r"\d+|\+|=", b)), None)
            index_token = next((b for b in brackets if re.fullmatch(r"\d+|\+|=", b)), None)
            key = ".".join(concrete) + f".{name}" + (f"[{slice_name}]" if slice_name else "")
            if index_token == "+":
                counters[key] = counters.get(key, -1) + 1
            elif index_token == "=":
                counters.setdefault(key, 0)
            elif index_token is not None:
                counters[key] = int(index_token)
            else:  # no index: the first item, [0]
                counters.setdefault(key, 0)
            index = counters[key] if index_token is not None else 0
            concrete.append(f"{name}[{slice_name}@{index}]" if slice_name else f"{name}[{index}]")
        return ".".join(concrete)

    def _walk(
        self, resource: dict[str, Any], rt: str, instance_of: str, concrete: str, create: bool
    ) -> tuple[Any, str, str, base.ElementType] | None:
        """The parent node, JSON key and element type of the last step of ``concrete``."""
        node: Any = resource
        fhir_type = rt
        steps = concrete.split(".")
        for position, step in enumerate(steps):
            match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_\-]*)\[(?:([^@\]]+)@)?(\d+)\]", step)
            assert match is not None
            name, slice_name, index_text = match.group(1), match.group(2), int(match.group(3))
            info = base.element_type(fhir_type, name)
            if info is None:
                raise FshError(f"élément inconnu en R4 : {fhir_type}.{name} (chemin {concrete})")
            last = position == len(steps) - 1
            if last:
                return node, name, step, info
            child = self._child(node, name, info, slice_name, index_text, instance_of, create)
            if child is None:
                return None
            node = child
            fhir_type = (
                child.get("resourceType", info.fhir_type) if info.fhir_type == "Resource" else info.fhir_type
            )
        return None

    def _child(
        self,
        node: dict[str, Any],
        name: str,
        info: base.ElementType,
        slice_name: str | None,
        index: int,
        instance_of: str,
        create: bool,
    ) -> dict[str, Any] | None:
        if not info.is_list:
            if name not in node:
                if not create:
                    return None
                node[name] = {}
            child = node[name]
            return child if isinstance(child, dict) else None
        items = node.setdefault(name, []) if create else node.get(name)
        if items is None:
            return None
        position = self._position(items, slice_name, index, create, name, instance_of)
        if position is None:
            return None
        return items[position]  # type: ignore[no-any-return]

    def _position(
        self, items: list[Any], slice_name: str | None, index: int, create: bool, name: str, instance_of: str
    ) -> int | None:
        if slice_name is None:
            while create and len(items) <= index:
                items.append({})
            return index if index < len(items) else None
        positions = [
            i for i, item in enumerate(items) if isinstance(item, dict) and item.get("_slice") == slice_name
        ]
        if index < len(positions):
            return positions[index]
        if not create:
            return None
        for _ in range(index - len(positions) + 1):
            item: dict[str, Any] = {"_slice": slice_name}
            if name in ("extension", "modifierExtension"):
                url = self.tank._extension_url(instance_of, slice_name)
                if url:
                    item["url"] = url
            items.append(item)
        return len(items) - 1

    # values ------------------------------------------------------------

    def _assign(
        self,
        resource: dict[str, Any],
        rt: str,
        instance_of: str,
        concrete: str,
        value: Any,
        rule: FshRule | None,
    ) -> None:
        found = self._walk(resource, rt, instance_of, concrete, create=True)
        assert found is not None
        node, name, step, info = found
        json_value = self._json(value, info, rule)
        match = re.fullmatch(r"[^\[]+\[(?:([^@\]]+)@)?(\d+)\]", step)
        assert match is not None
        slice_name, index = match.group(1), int(match.group(2))
        if info.is_list:
            items = node.setdefault(name, [])
            position = self._position(items, slice_name, index, True, name, instance_of)
            assert position is not None
            if isinstance(json_value, dict) and isinstance(items[position], dict):
                items[position].update(json_value)
            else:
                items[position] = json_value
        elif isinstance(json_value, dict) and isinstance(node.get(name), dict):
            node[name].update(json_value)
        else:
            node[name] = json_value

    def _json(self, value: Any, info: base.ElementType, rule: FshRule | None) -> Any:
        where = f"{rule.file}:{rule.line}" if rule else "valeur impliquée"
        if isinstance(value, Unsupported):
            raise FshError(value.error)
        if isinstance(value, Code):
            if info.fhir_type == "CodeableConcept":
                return {"coding": [value.coding()]}
            if info.fhir_type == "Coding":
                return value.coding()
            if info.is_primitive:
                return value.code
            raise FshError(f"{where} : code assigné à un élément {info.fhir_type}")
        if isinstance(value, InstanceRef):
            target = self.tank.entities.get(value.name)
            if target is None or target.kind != "Instance":
                return {"reference": value.name}
            target_id = next(
                (r.value for r in target.rules if r.path == "id" and isinstance(r.value, str)), target.name
            )
            return {
                "reference": f"{self.tank.resource_type(target.keywords.get('InstanceOf', ''))}/{target_id}"
            }
        if isinstance(value, CanonicalOf):
            by_id = next(
                (e.name for e in self.tank.entities.values() if e.keywords.get("Id") == value.name),
                value.name,
            )
            return self.tank.url(by_id) or value.name
        if isinstance(value, InstanceName):
            if info.fhir_type not in ("Resource",) and info.is_primitive:
                raise FshError(f"{where} : nom d'instance {value.name} assigné à un {info.fhir_type}")
            return copy.deepcopy(self.export(value.name))
        return value

    # implied properties ----------------------------------------------------

    def _assignments(self, instance_of: str) -> list[FshRule]:
        seen: set[str] = set()
        out: list[FshRule] = []
        for entity in self.tank.chain(instance_of):  # the most specific profile wins
            for rule in entity.rules:
                if rule.path not in seen:
                    seen.add(rule.path)
                    out.append(rule)
        return out

    def _minimum(self, instance_of: str, rt: str, element: str) -> int:
        for entity in self.tank.chain(instance_of):
            for candidate in (element, _no_slices(element)):
                if candidate in entity.minimums:
                    return entity.minimums[candidate]
        parent = self.tank._outside_parent(instance_of)
        if _no_slices(element) in PARENT_REQUIRED.get(parent, {}):
            return 1
        return 1 if self._base_required(rt, _no_slices(element)) else 0

    def _base_required(self, rt: str, element: str) -> bool:
        fhir_type = rt
        info = None
        for name in element.split("."):
            info = base.element_type(fhir_type, name)
            if info is None:
                return False
            fhir_type = info.fhir_type
        return bool(info and info.required)

    def _implied(self, resource: dict[str, Any], rt: str, instance_of: str, touched: list[str]) -> None:
        assignments = self._assignments(instance_of)
        done: set[str] = set()
        for concrete in touched:
            steps = concrete.split(".") if concrete else []
            # The element the rule reaches, and each of its parents (the root included).
            for depth in range(len(steps), -1, -1):
                prefix_steps = steps[:depth]
                prefix_element = ".".join(
                    re.sub(r"\[(?:([^@\]]+)@)?\d+\]", lambda m: f"[{m.group(1)}]" if m.group(1) else "", s)
                    for s in prefix_steps
                )
                for rule in assignments:
                    element = _element_path(rule.path)
                    if prefix_element and not element.startswith(prefix_element + "."):
                        continue
                    rest = element[len(prefix_element) + 1 :] if prefix_element else element
                    if not self._assignable(instance_of, rt, prefix_element, rest):
                        continue
                    target = ".".join(
                        [*prefix_steps, *(self._step(part) for part in re.split(r"\.(?![^\[]*\])", rest))]
                    )
                    if target in done:
                        continue
                    done.add(target)
                    if self._walk_value(resource, rt, instance_of, target) is None:
                        self._assign(resource, rt, instance_of, target, rule.value, None)

    def _assignable(self, instance_of: str, rt: str, prefix: str, rest: str) -> bool:
        element = prefix
        for part in re.split(r"\.(?![^\[]*\])", rest):
            element = f"{element}.{part}" if element else part
            if self._minimum(instance_of, rt, element) < 1:
                return False
        return True

    @staticmethod
    def _step(part: str) -> str:
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_\-]*)(?:\[([^\]]+)\])?", part)
        if match is None:
            raise FshError(f"chemin de profil non pris en charge : {part}")
        name, slice_name = match.groups()
        return f"{name}[{slice_name}@0]" if slice_name else f"{name}[0]"

    def _walk_value(self, resource: dict[str, Any], rt: str, instance_of: str, concrete: str) -> Any:
        found = self._walk(resource, rt, instance_of, concrete, create=False)
        if found is None:
            return None
        node, name, step, info = found
        if name not in node:
            return None
        if not info.is_list:
            return node[name]
        match = re.fullmatch(r"[^\[]+\[(?:([^@\]]+)@)?(\d+)\]", step)
        assert match is not None
        position = self._position(node[name], match.group(1), int(match.group(2)), False, name, instance_of)
        return None if position is None else node[name][position]

    # contained -----------------------------------------------------------------

    @staticmethod
    def _local_references(resource: dict[str, Any]) -> None:
        """``Type/id`` -> ``#id`` where the target is contained in this resource (as SUSHI writes it)."""
        contained = resource.get("contained")
        local = {
            f"{c.get('resourceType')}/{c.get('id')}": f"#{c.get('id')}"
            for c in (contained if isinstance(contained, list) else [])
            if isinstance(c, dict)
        }
        if not local:
            return

        def visit(node: Any, top: bool) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("reference"), str) and node["reference"] in local:
                    node["reference"] = local[node["reference"]]
                for key, value in node.items():
                    if not (top and key == "contained"):
                        visit(value, False)
            elif isinstance(node, list):
                for item in node:
                    visit(item, False)

        visit(resource, True)


def _clean(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items() if k != "_slice"}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


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
