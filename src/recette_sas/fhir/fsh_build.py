"""The FSH instance builder: one parsed instance to FHIR JSON, with SUSHI's semantics.

Apart from the reader (``recette_sas.fhir.fsh_parser``) because this is where R4 comes in: paths
with ``[n]``, soft indexes ``[+]``/``[=]`` (one counter per array path and per slice), named slices
(their own index space; an extension slice gets its ``url``), codes written as code, Coding or
CodeableConcept according to the element's R4 type (``recette_sas.fhir.base``), references
(``Type/id``, ``#id`` when the instance is contained), inlined instances, and what SUSHI adds:
``resourceType``, ``id``, ``meta.profile`` and the values the profile chain assigns on the elements
the instance's rules reach, when every step down to them is required (SUSHI's "implied
properties"). The minimum cardinalities come from the IG's FSH, from R4, and for the fr-core
parents from what the IG's pages say of them (``PARENT_REQUIRED``, with the source of each).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from recette_sas.fhir import base
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


class Exporter:
    """One export: the instance tree being built (``stack`` catches an instance that includes itself)."""

    def __init__(self, tank: FshDefinitions) -> None:
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
                url = self._extension_url(instance_of, slice_name)
                if url:
                    item["url"] = url
            items.append(item)
        return len(items) - 1

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
        parent = self.tank.outside_parent(instance_of)
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

    def _extension_url(self, instance_of: str, slice_name: str) -> str | None:
        for entity in self.tank.chain(instance_of):
            if slice_name in entity.extension_slices:
                target = entity.extension_slices[slice_name]
                by_id = next(
                    (e.name for e in self.tank.entities.values() if e.keywords.get("Id") == target), target
                )
                return self.tank.url(by_id) or self.tank.url(target)
        return PARENT_EXTENSION_SLICES.get(self.tank.outside_parent(instance_of), {}).get(slice_name)

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
