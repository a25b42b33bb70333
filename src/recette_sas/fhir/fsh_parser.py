"""The FSH reader: an IG's ``input/fsh`` files as aliases, profiles, extensions and instances.

Apart from the builder (``recette_sas.fhir.fsh_build``) because reading FSH text and writing FHIR
JSON are two concerns: this module knows the syntax, the builder knows R4 and SUSHI's semantics. It
reads ``Alias:`` (``input/fsh/aliases.fsh``), ``Instance:``, ``InstanceOf:``, ``Usage:``,
``Title:``, ``Description:``, and ``Profile:``/``Extension:`` headers (``Parent:``, ``Id:``,
``^url``, minimum cardinalities, ``contains`` slices, assigned values); rule values are strings,
numbers, booleans, codes ``system#code "display"`` and ``#code``, ``Reference(Instance)``,
``Canonical(Name)`` and bare instance names. A line it does not understand raises ``FshError``
naming the file and line; an unreadable value in an instance raises only when that instance is
exported.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from recette_sas.fhir import base


class FshError(ValueError):
    """A line the converter does not understand, or a reference it cannot resolve."""


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


class FshDefinitions:
    """The FSH definitions of an IG's ``input/fsh`` folder: aliases, profiles, extensions, instances."""

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
    def from_ig(cls, ig_root: Path) -> Self:
        config = (ig_root / "sushi-config.yaml").read_text(encoding="utf-8")
        match = re.search(r"^canonical:\s*(\S+)", config, re.MULTILINE)
        if match is None:
            raise FshError(f"{ig_root}/sushi-config.yaml : pas de « canonical: »")
        return cls(ig_root / "input" / "fsh", match.group(1))

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

    def chain(self, name: str) -> list[FshEntity]:
        """The IG profiles from ``name`` up to the first parent outside the IG."""
        out: list[FshEntity] = []
        while name in self.entities and self.entities[name].kind in ("Profile", "Extension"):
            out.append(self.entities[name])
            name = out[-1].keywords.get("Parent", "")
        return out

    def outside_parent(self, name: str) -> str:
        chain = self.chain(name)
        return chain[-1].keywords.get("Parent", name) if chain else name

    def resource_type(self, instance_of: str) -> str:
        parent = self.outside_parent(instance_of)
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

    def instances(self) -> list[str]:
        return [e.name for e in self.entities.values() if e.kind == "Instance"]
