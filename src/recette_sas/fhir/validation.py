"""The FHIR validation engine: base R4 structure, then the SAS profile tables, then the Bundle rules.

One engine reads every profile table (``recette_sas.fhir.profiles``): for each row it selects the
elements at the row's path (slices included), checks the columns the row fills (cardinality per
parent, fixed, pattern, binding, reference targets, FHIRPath invariant through ``fhirpathpy``, or a
named Python check for dates and cross-references), and turns each failure into a ``Finding``. No
rule lives as an if-statement outside a table: the named checks below are the columns FHIRPath
cannot express (instants compared across offsets, a window the caller gives, references resolved
through a Bundle's ``fullUrl``), and each is named by the rows that use it.

Entry points:

- ``validate_bundle(bundle, use_case="ps-indiv", window=None, now=None)``: the editor's answer to
  the slot search; ``window`` is the requested ``(start ge, start le)`` pair, ``now`` the instant of
  the search (default: the current time; a slot starting before it is in the past);
- ``validate_resource(resource, profile)``: one resource against one profile (canonical URL), for the
  flows without a Bundle (an Appointment, a regulator Practitioner);
- ``bundle_self_link_matches(bundle, request_query)``: ANS's kit check that ``Bundle.link[self]`` is
  the query that produced the Bundle.

The base structure library is chosen and argued in ``recette_sas.fhir.base`` (fhir.resources R4B,
imported lazily); ``fhirpathpy`` is imported lazily too, so importing this module costs little.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recette_sas.fhir import base
from recette_sas.fhir.findings import Finding
from recette_sas.fhir.profiles import PROFILES, USE_CASES, Profile, Rule, Slice
from recette_sas.fhir.rules_catalogue import BASE_SOURCE, RULES, SELF_LINK_SOURCE
from recette_sas.fhir.valuesets import VALUE_SETS

Parts = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    """What a named check reports: a path relative to the row's resource, a message, maybe an entry."""

    path: str
    message: str
    full_url: str | None = None
    absolute: bool = False
    """``path`` is already absolute (``Bundle.entry[2].resource.schedule``)."""


@dataclass
class _Entry:
    index: int
    full_url: str | None
    resource: dict[str, Any]

    @property
    def type(self) -> str | None:
        rt = self.resource.get("resourceType")
        return rt if isinstance(rt, str) else None

    @property
    def prefix(self) -> str:
        return f"Bundle.entry[{self.index}].resource"


class BundleIndex:
    """The entries of a Bundle, and FHIR reference resolution through their ``fullUrl``."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self.entries: list[_Entry] = []
        raw = bundle.get("entry")
        for i, entry in enumerate(raw if isinstance(raw, list) else []):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                url = entry.get("fullUrl")
                self.entries.append(_Entry(i, url if isinstance(url, str) else None, entry["resource"]))
        self.by_url = {e.full_url: e for e in self.entries if e.full_url}
        self.by_type_id = {(e.type, e.resource.get("id")): e for e in self.entries if e.type}
        self.by_index = {e.index: e for e in self.entries}

    def of_type(self, rt: str) -> list[_Entry]:
        return [e for e in self.entries if e.type == rt]

    def resolve(self, reference: object, source: _Entry) -> _Entry | None:
        """The entry a ``Reference.reference`` designates, resolved as FHIR R4 says for Bundles.

        Absolute URLs and ``urn:uuid:`` match a ``fullUrl``; a relative ``Type/id`` is made absolute
        against the base of the referring entry's ``fullUrl``, then, failing that, matched on type and
        id (what ANS's kit does: ``"Practitioner/" + id``).
        """
        if not isinstance(reference, str) or not reference or reference.startswith("#"):
            return None
        ref = re.sub(r"/_history/[^/]+$", "", reference)
        if ref in self.by_url:
            return self.by_url[ref]
        match = re.fullmatch(r"(?:(.*/))?([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})", ref)
        if match is None:
            return None
        base_url, rt, rid = match.groups()
        if base_url is None and source.full_url:
            source_match = re.fullmatch(
                r"(.*/)[A-Za-z]+/[A-Za-z0-9\-.]{1,64}(/_history/[^/]+)?", source.full_url
            )
            if source_match and f"{source_match.group(1)}{rt}/{rid}" in self.by_url:
                return self.by_url[f"{source_match.group(1)}{rt}/{rid}"]
        if base_url is not None:
            return None
        return self.by_type_id.get((rt, rid))


@dataclass
class _Context:
    profile: Profile
    prefix: str
    full_url: str | None
    window: tuple[datetime, datetime] | None
    now: datetime | None
    bundle: BundleIndex | None = None


# ---------------------------------------------------------------- FHIRPath (fhirpathpy, lazily)


@functools.cache
def _compiled(expression: str) -> Callable[..., list[Any]]:
    import fhirpathpy

    compiled: Callable[..., list[Any]] = fhirpathpy.compile(expression)
    return compiled


def _holds(expression: str, node: Any, value: Any) -> bool:
    """True when the FHIRPath expression evaluates to ``true`` on ``node`` (``%value`` is ``value``).

    An empty result is not true: an invariant that cannot be shown to hold does not hold, and a
    ``when`` guard that is empty does not apply. The rows are written to give a boolean.
    """
    result = _compiled(expression)(node, {"value": value})
    return bool(result) and all(item is True for item in result)


# ---------------------------------------------------------------- paths and element selection


def _segments(path: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for segment in path.split(".") if path else []:
        name, _, slice_name = segment.partition(":")
        out.append((name, slice_name or None))
    return out


def _values(node: Any, dotted: str) -> list[Any]:
    current = [node]
    for name in dotted.split("."):
        nxt: list[Any] = []
        for item in current:
            if isinstance(item, dict) and name in item:
                value = item[name]
                nxt.extend(value if isinstance(value, list) else [value])
        current = nxt
    return current


def _in_slice(item: Any, slice_: Slice) -> bool:
    return slice_.value in _values(item, slice_.discriminator)


def _items(profile: Profile, node: Any, name: str, slice_name: str | None) -> list[tuple[int | None, Any]]:
    if not isinstance(node, dict) or node.get(name) is None:
        return []
    value = node[name]
    items: list[tuple[int | None, Any]] = (
        list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    )
    if slice_name is not None:
        slice_ = profile.slices[f"{name}:{slice_name}"]
        items = [(i, v) for i, v in items if _in_slice(v, slice_)]
    return items


def _select(
    profile: Profile, node: Any, segments: list[tuple[str, str | None]], parts: Parts = ()
) -> Iterator[tuple[Parts, Any]]:
    if not segments:
        yield parts, node
        return
    (name, slice_name), rest = segments[0], segments[1:]
    for i, value in _items(profile, node, name, slice_name):
        yield from _select(profile, value, rest, (*parts, name) if i is None else (*parts, name, i))


def _slice_path(profile: Profile, name: str, slice_name: str | None) -> str:
    if slice_name is None:
        return name
    s = profile.slices[f"{name}:{slice_name}"]
    return f"{name}.where({s.discriminator} = '{s.value}')"


# ---------------------------------------------------------------- columns


def _contains(value: Any, pattern: Any) -> bool:
    """FHIR pattern[x]: every part of the pattern is in the value (lists: each item matched by one)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            k in value and _contains(value[k], v) for k, v in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_contains(v, p) for v in value) for p in pattern)
    return bool(value == pattern)


def _in_value_set(value: Any, url: str) -> bool:
    """code, Coding or CodeableConcept (one of its codings) in the value set; text alone is not."""
    vs = VALUE_SETS[url]
    if isinstance(value, str):  # code: its system is the element's own (participant.status...)
        return value in {code for _, code in vs.codes}
    if not isinstance(value, dict):
        return False
    if "coding" in value or "text" in value:  # CodeableConcept
        codings = value.get("coding")
        items: list[Any] = codings if isinstance(codings, list) else []
        return any(isinstance(c, dict) and vs.contains(c.get("system"), c.get("code")) for c in items)
    return vs.contains(value.get("system"), value.get("code"))  # Coding


def _reference_target(reference: str) -> str | None:
    if reference.startswith("#"):
        return "#"
    match = re.search(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^/]+)?$", reference)
    return match.group(1) if match else None


def _check_targets(value: Any, targets: tuple[str, ...], resource: Mapping[str, Any]) -> str | None:
    if not isinstance(value, dict):
        return None
    reference = value.get("reference")
    if not isinstance(reference, str):
        if any(t.startswith("#") for t in targets):
            return "La référence doit désigner la ressource contenue (« reference »: « #id »)."
        return None
    local = [t[1:] for t in targets if t.startswith("#")]
    if local:
        contained = resource.get("contained")
        found = [
            c
            for c in (contained if isinstance(contained, list) else [])
            if isinstance(c, dict) and reference == f"#{c.get('id')}"
        ]
        if not reference.startswith("#"):
            return f"Référence « {reference} » : une référence locale « #id » vers la {local[0]} contenue est attendue."
        if not found:
            return f"Référence « {reference} » : aucune ressource contenue ne porte cet id."
        if found[0].get("resourceType") not in local:
            return f"Référence « {reference} » : la ressource contenue n'est pas une {local[0]}."
        return None
    if reference.startswith("urn:"):
        return None  # only resolvable through a Bundle (the Bundle rules do it)
    target = _reference_target(reference)
    if target not in targets:
        return f"Référence « {reference} » : cible attendue {' ou '.join(targets)}."
    return None


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"« {value} »"
    return text if len(text) <= 80 else text[:77] + "…"


def _run_rule(rule: Rule, resource: dict[str, Any], ctx: _Context) -> list[Finding]:
    profile = ctx.profile
    out: list[Finding] = []

    def finding(parts_or_path: Parts | str, message: str, full_url: str | None) -> None:
        path = parts_or_path if isinstance(parts_or_path, str) else base.join(ctx.prefix, parts_or_path)
        out.append(
            Finding(
                profile=profile.url,
                path=path,
                full_url=full_url,
                severity=rule.level,
                rule_id=rule.rule_id,
                message=message,
                source=rule.source,
            )
        )

    if rule.when is not None and not _holds(rule.when, resource, resource):
        return out
    segments = _segments(rule.path)

    if rule.min is not None or rule.max is not None:
        name, slice_name = segments[-1]
        for parent_parts, parent in _select(profile, resource, segments[:-1]):
            if not isinstance(parent, dict):
                continue
            count = len(_items(profile, parent, name, slice_name))
            where = base.join(base.join(ctx.prefix, parent_parts), [_slice_path(profile, name, slice_name)])
            if rule.min is not None and count < rule.min:
                message = (
                    rule.message
                    or f"Élément absent ; le profil {profile.name} l'exige ({rule.path} {rule.min}..)."
                )
                finding(where, message, ctx.full_url)
            if rule.max is not None and count > rule.max:
                message = f"{count} occurrences ; le profil {profile.name} en autorise au plus {rule.max} ({rule.path})."
                finding(where, message, ctx.full_url)

    element_columns = (
        rule.fixed is not None
        or rule.pattern is not None
        or rule.binding is not None
        or rule.targets
        or rule.invariant is not None
    )
    if element_columns:
        for parts, value in _select(profile, resource, segments):
            try:
                failure = _element_failure(rule, value, resource)
            except Exception:  # a value of an unexpected JSON type: the rule cannot hold
                failure = (
                    f"Valeur {_show(value)} d'un type inattendu : « {rule.title} » ne peut pas être vérifiée."
                )
            if failure is None:
                continue
            if not rule.path:
                finding(f"{ctx.prefix}.{rule.at}" if rule.at else ctx.prefix, failure, ctx.full_url)
            else:
                finding(parts, failure, ctx.full_url)

    if rule.check is not None:
        for issue in CHECKS[rule.check](resource, ctx):
            if issue.absolute:
                finding(issue.path, issue.message, issue.full_url)
            else:
                finding(
                    f"{ctx.prefix}.{issue.path}" if issue.path else ctx.prefix, issue.message, ctx.full_url
                )
    return out


def _element_failure(rule: Rule, value: Any, resource: dict[str, Any]) -> str | None:
    if rule.fixed is not None and value != rule.fixed:
        return rule.message or f"Valeur {_show(value)} : {_show(rule.fixed)} attendu exactement."
    if rule.pattern is not None and not _contains(value, rule.pattern):
        return f"{rule.message or 'Valeur non conforme au profil.'} Reçu : {_show(value)}."
    if rule.binding is not None and not _in_value_set(value, rule.binding.valueset):
        vs = VALUE_SETS[rule.binding.valueset]
        return (
            f"Code hors du jeu de valeurs {vs.name} ({vs.url}, binding {rule.binding.strength}) : "
            f"attendu {vs.code_list()}, reçu {_show(value)}."
        )
    if rule.targets:
        failure = _check_targets(value, rule.targets, resource)
        if failure is not None:
            return failure
    if rule.invariant is not None and not _holds(rule.invariant, value, value):
        shown = f" Reçu : {_show(value)}." if not isinstance(value, dict | list) else ""
        return f"{rule.message or 'Contrainte non respectée : ' + rule.title + '.'}{shown}"
    return None


# ---------------------------------------------------------------- named checks (dates, Bundle references)


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str) or not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value
    ):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _start_before_end(resource: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    start, end = _instant(resource.get("start")), _instant(resource.get("end"))
    if start is not None and end is not None and start >= end:
        yield Issue(
            "start", f"start ({resource['start']}) doit être strictement antérieur à end ({resource['end']})."
        )


def _start_in_window(resource: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    start = _instant(resource.get("start"))
    if ctx.window is None or start is None:
        return
    low, high = ctx.window
    if start < low or start > high:
        yield Issue(
            "start",
            f"Créneau hors de la fenêtre demandée : start {resource['start']} n'est pas entre "
            f"{low.isoformat()} (start=ge) et {high.isoformat()} (start=le).",
        )


def _start_not_past(resource: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    start = _instant(resource.get("start"))
    if ctx.now is not None and start is not None and start < ctx.now:
        yield Issue(
            "start",
            f"Créneau dans le passé : start {resource['start']} est antérieur à {ctx.now.isoformat()}.",
        )


@functools.cache
def _paris() -> Any:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Europe/Paris")
    except Exception:  # no time-zone database on this machine: the (advisory) check is skipped
        return None


def _offset_utc_or_paris(resource: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    paris = _paris()
    for name in ("start", "end", "created"):
        moment = _instant(resource.get(name))
        if moment is None or paris is None:
            continue
        offset = moment.utcoffset()
        expected = moment.astimezone(paris).utcoffset()
        if offset not in (timedelta(0), expected):
            yield Issue(
                name,
                f"{name} {resource[name]} : le décalage n'est ni UTC ni celui de Paris à cette date "
                f"({_offset(expected)}) ; vérifier le fuseau horaire.",
            )


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta(0)).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _entry_issue(entry: _Entry, rel: str, message: str) -> Issue:
    return Issue(f"{entry.prefix}.{rel}" if rel else entry.prefix, message, entry.full_url, absolute=True)


def _matched_slots(index: BundleIndex, bundle: Mapping[str, Any]) -> list[_Entry]:
    return [e for e in index.of_type("Slot") if _search_mode(bundle, e) in (None, "match")]


def _search_mode(bundle: Mapping[str, Any], entry: _Entry) -> str | None:
    raw = bundle["entry"][entry.index]
    search = raw.get("search") if isinstance(raw, dict) else None
    mode = search.get("mode") if isinstance(search, dict) else None
    return mode if isinstance(mode, str) else None


def _total_counts_slots(bundle: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    total = bundle.get("total")
    if ctx.bundle is None or not isinstance(total, int) or isinstance(total, bool):
        return
    slots = len(_matched_slots(ctx.bundle, bundle))
    if total != slots:
        yield Issue("total", f"total vaut {total} mais le Bundle contient {slots} Slot (mode match).")


def _search_modes(bundle: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    for entry in ctx.bundle.entries if ctx.bundle else []:
        expected = (
            "match" if entry.type == "Slot" else "outcome" if entry.type == "OperationOutcome" else "include"
        )
        mode = _search_mode(bundle, entry)
        if mode != expected:
            shown = "absent" if mode is None else f"« {mode} »"
            yield Issue(
                f"Bundle.entry[{entry.index}].search.mode",
                f"search.mode {shown} : « {expected} » attendu pour une ressource {entry.type}.",
                entry.full_url,
                absolute=True,
            )


def _reference_of(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("reference"), str):
        return str(node["reference"])
    return None


def _slot_schedule_included(bundle: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    index = ctx.bundle
    for slot in index.of_type("Slot") if index else []:
        assert index is not None
        ref = _reference_of(slot.resource.get("schedule"))
        target = index.resolve(ref, slot)
        if target is None or target.type != "Schedule":
            what = "sans référence" if ref is None else f"« {ref} »"
            yield _entry_issue(
                slot,
                "schedule",
                f"Slot.schedule {what} ne désigne aucun Schedule du Bundle (_include=Slot:schedule).",
            )


def _actors(entry: _Entry) -> list[tuple[int, Any]]:
    actors = entry.resource.get("actor")
    return list(enumerate(actors)) if isinstance(actors, list) else []


def _schedule_actors_included(bundle: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    index = ctx.bundle
    for schedule in index.of_type("Schedule") if index else []:
        assert index is not None
        for j, actor in _actors(schedule):
            ref = _reference_of(actor)
            target = index.resolve(ref, schedule)
            if target is None or target.type not in ("Practitioner", "PractitionerRole"):
                what = "sans référence" if ref is None else f"« {ref} »"
                yield _entry_issue(
                    schedule,
                    f"actor[{j}]",
                    f"Schedule.actor {what} ne désigne aucun Practitioner ni PractitionerRole du Bundle "
                    "(_include:iterate=Schedule:actor).",
                )


def _schedule_has_practitioner_and_role(bundle: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    index = ctx.bundle
    for schedule in index.of_type("Schedule") if index else []:
        assert index is not None
        kinds = set()
        for _, actor in _actors(schedule):
            ref = _reference_of(actor)
            target = index.resolve(ref, schedule)
            kinds.add(target.type if target else _reference_target(ref) if ref else None)
        missing = [k for k in ("Practitioner", "PractitionerRole") if k not in kinds]
        if missing:
            yield _entry_issue(
                schedule,
                "actor",
                f"Schedule sans acteur {' ni '.join(missing)} : un agenda relie un PS et son lieu de consultation.",
            )


def _role_practitioner_included(bundle: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    index = ctx.bundle
    for role in index.of_type("PractitionerRole") if index else []:
        assert index is not None
        ref = _reference_of(role.resource.get("practitioner"))
        if ref is None:
            continue  # FHIR-ROLE-PRACTITIONER reports the missing reference
        target = index.resolve(ref, role)
        if target is None or target.type != "Practitioner":
            yield _entry_issue(
                role,
                "practitioner",
                f"PractitionerRole.practitioner « {ref} » ne désigne aucun Practitioner du Bundle.",
            )


def _no_unreferenced_entries(bundle: dict[str, Any], ctx: _Context) -> Iterator[Issue]:
    index = ctx.bundle
    if index is None:
        return
    reached: set[int] = set()
    todo = [e for e in index.of_type("Slot")]
    while todo:
        entry = todo.pop()
        if entry.index in reached:
            continue
        reached.add(entry.index)
        refs: list[Any] = []
        if entry.type == "Slot":
            refs = [entry.resource.get("schedule")]
        elif entry.type == "Schedule":
            refs = [a for _, a in _actors(entry)]
        elif entry.type == "PractitionerRole":
            refs = [entry.resource.get("practitioner")]
        for ref in refs:
            target = index.resolve(_reference_of(ref), entry)
            if target is not None:
                todo.append(target)
    for entry in index.entries:
        if (
            entry.index in reached
            or entry.type not in base.R4_RESOURCE_TYPES
            or entry.type == "OperationOutcome"
        ):
            continue
        yield _entry_issue(
            entry, "", f"{entry.type} inclus mais atteint par aucun Slot (ni Schedule, ni PractitionerRole)."
        )


CHECKS: dict[str, Callable[[dict[str, Any], _Context], Iterable[Issue]]] = {
    "start_before_end": _start_before_end,
    "start_in_window": _start_in_window,
    "start_not_past": _start_not_past,
    "offset_utc_or_paris": _offset_utc_or_paris,
    "total_counts_slots": _total_counts_slots,
    "search_modes": _search_modes,
    "slot_schedule_included": _slot_schedule_included,
    "schedule_actors_included": _schedule_actors_included,
    "schedule_has_practitioner_and_role": _schedule_has_practitioner_and_role,
    "role_practitioner_included": _role_practitioner_included,
    "no_unreferenced_entries": _no_unreferenced_entries,
}
"""The named checks rows may use (``Rule.check``); a test asserts every name a row uses is here."""


# ---------------------------------------------------------------- base structure as findings

_BASE_RULES = {
    "resourcetype": "FHIR-BASE-RESOURCETYPE",
    "structure": "FHIR-BASE-STRUCTURE",
    "code": "FHIR-BASE-CODE",
    "unchecked": "FHIR-BASE-UNCHECKED",
}


def _base_findings(
    resource: Any, profile: Profile, prefix: str, full_url: str | None, expected: str | None
) -> list[Finding]:
    out = []
    for issue in base.check_structure(resource, expected):
        path = f"{prefix}.{issue.path}" if issue.path else prefix
        out.append(
            Finding(
                profile=profile.url,
                path=path,
                full_url=full_url,
                severity="recommande" if issue.kind == "unchecked" else "bloquant",
                rule_id=_BASE_RULES[issue.kind],
                message=issue.message,
                source=BASE_SOURCE,
            )
        )
    return out


def _engine_failure(rule: Rule, ctx: _Context, exc: Exception) -> Finding:
    return Finding(
        profile=ctx.profile.url,
        path=ctx.prefix,
        full_url=ctx.full_url,
        severity="bloquant",
        rule_id="FHIR-ENGINE",
        message=f"Règle {rule.rule_id} non évaluable sur cette ressource ({type(exc).__name__}) : elle ne peut pas être tenue pour respectée.",
        source=RULES["FHIR-ENGINE"][2],
    )


def _profile_findings(resource: dict[str, Any], ctx: _Context) -> list[Finding]:
    out: list[Finding] = []
    for rule in ctx.profile.rules:
        try:
            out.extend(_run_rule(rule, resource, ctx))
        except Exception as exc:  # a malformed resource must give a finding, never a traceback
            out.append(_engine_failure(rule, ctx, exc))
    contained = resource.get("contained")
    for j, item in enumerate(contained if isinstance(contained, list) else []):
        rt = item.get("resourceType") if isinstance(item, dict) else None
        if isinstance(rt, str) and rt in ctx.profile.contained:
            sub = _Context(
                PROFILES[ctx.profile.contained[rt]],
                f"{ctx.prefix}.contained[{j}]",
                ctx.full_url,
                ctx.window,
                ctx.now,
            )
            out.extend(_profile_findings(item, sub))
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop an R4 code finding where a profile rule already reports the same element."""
    profiled = {f.path for f in findings if not f.rule_id.startswith("FHIR-BASE-")}
    return [f for f in findings if not (f.rule_id == "FHIR-BASE-CODE" and f.path in profiled)]


def _profile(url: str) -> Profile:
    try:
        return PROFILES[url]
    except KeyError:
        raise ValueError(
            f"profil inconnu du moteur : {url} (connus : {', '.join(sorted(PROFILES))})"
        ) from None


def validate_resource(
    resource: dict[str, Any],
    profile: str,
    *,
    now: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> list[Finding]:
    """One resource against one SAS profile (canonical URL); ``[]`` when it conforms."""
    table = _profile(profile)
    rt = resource.get("resourceType") if isinstance(resource, dict) else None
    prefix = rt if isinstance(rt, str) and rt in base.R4_RESOURCE_TYPES else table.resource_type
    findings = _base_findings(resource, table, prefix, None, table.resource_type)
    if any(f.rule_id == "FHIR-BASE-RESOURCETYPE" for f in findings) or not isinstance(resource, dict):
        return findings
    ctx = _Context(table, prefix, None, window, _aware(now))
    findings.extend(_profile_findings(resource, ctx))
    return sorted(_dedupe(findings), key=_order)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("now et window doivent porter un fuseau horaire (datetime « aware »)")
    return moment


def _order(f: Finding) -> tuple[str, str, str]:
    return (f.path, f.rule_id, f.message)


def validate_bundle(
    bundle: dict[str, Any],
    *,
    use_case: str = "ps-indiv",
    window: tuple[datetime, datetime] | None = None,
    now: datetime | None = None,
) -> list[Finding]:
    """The editor's slot-search Bundle, its entries and the rules between them; ``[]`` when it conforms.

    ``window``: the requested ``(start=ge…, start=le…)``; ``None`` skips the window rule. ``now``: the
    instant of the search (a Slot starting earlier is in the past); ``None`` means the current time.
    """
    if use_case not in USE_CASES:
        raise ValueError(
            f"cas d'usage non pris en charge : {use_case} (pris en charge : {', '.join(USE_CASES)})"
        )
    bundle_url, entry_profiles = USE_CASES[use_case]
    table = PROFILES[bundle_url]
    if window is not None:
        window = (_aware(window[0]) or window[0], _aware(window[1]) or window[1])
    moment = _aware(now) if now is not None else datetime.now(UTC)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return _base_findings(bundle, table, "Bundle", None, "Bundle")

    entries = bundle.get("entry")
    skeleton = dict(bundle)
    if isinstance(entries, list):
        skeleton["entry"] = [
            {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e for e in entries
        ]
    findings = [
        _with_entry_url(f, entries) for f in _base_findings(skeleton, table, "Bundle", None, "Bundle")
    ]
    index = BundleIndex(bundle)
    ctx = _Context(table, "Bundle", None, window, moment, index)
    findings.extend(_profile_findings(bundle, ctx))

    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if not isinstance(entry, dict):
            continue
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        prefix = f"Bundle.entry[{i}].resource"
        resource = entry.get("resource")
        if resource is None:
            if "request" not in entry and "response" not in entry:
                findings.append(
                    Finding(
                        table.url,
                        f"Bundle.entry[{i}]",
                        full_url,
                        "bloquant",
                        "FHIR-BASE-STRUCTURE",
                        "Entrée sans resource (invariant FHIR R4 bdl-5).",
                        BASE_SOURCE,
                    )
                )
            continue
        rt = resource.get("resourceType") if isinstance(resource, dict) else None
        entry_url = entry_profiles.get(rt) if isinstance(rt, str) else None
        entry_table = PROFILES[entry_url] if entry_url else table
        base_findings = _base_findings(resource, entry_table, prefix, full_url, None)
        findings.extend(base_findings)
        if (
            entry_url is None
            or not isinstance(resource, dict)
            or any(
                f.rule_id == "FHIR-BASE-RESOURCETYPE" and f.path == f"{prefix}.resourceType"
                for f in base_findings
            )
        ):
            continue
        findings.extend(
            _profile_findings(resource, _Context(entry_table, prefix, full_url, window, moment, index))
        )
    return sorted(_dedupe(findings), key=_order)


def _with_entry_url(finding: Finding, entries: Any) -> Finding:
    match = re.match(r"Bundle\.entry\[(\d+)\]", finding.path)
    if match and isinstance(entries, list):
        entry = entries[int(match.group(1))]
        url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if isinstance(url, str):
            return Finding(
                finding.profile,
                finding.path,
                url,
                finding.severity,
                finding.rule_id,
                finding.message,
                finding.source,
            )
    return finding


# ---------------------------------------------------------------- self link (ANS's kit)


def _query(url_or_query: str) -> dict[str, list[str]]:
    text = html.unescape(url_or_query.strip())
    query = urlsplit(text).query if "?" in text or "://" in text else text.lstrip("?")
    return {k: sorted(v) for k, v in parse_qs(query, keep_blank_values=True).items()}


def bundle_self_link_matches(bundle: Mapping[str, Any], request_query: str) -> Finding | None:
    """``None`` when ``Bundle.link[self]`` is the request; else the finding ANS's kit would raise.

    As the kit does: both query strings are decoded and parsed into parameter -> sorted values, and
    compared (bloquant if they differ); when they match but the URLs differ textually (encoding,
    order), the kit only warns: recommande. ``request_query`` is the request's URL or query string.
    """
    links = bundle.get("link") if isinstance(bundle, Mapping) else None
    self_links = [
        (i, link)
        for i, link in enumerate(links if isinstance(links, list) else [])
        if isinstance(link, dict) and link.get("relation") == "self"
    ]
    url = self_links[0][1].get("url") if self_links else None
    if not isinstance(url, str) or not url.strip():
        return Finding(
            USE_CASES["ps-indiv"][0],
            "Bundle.link.where(relation = 'self').url",
            None,
            "bloquant",
            "FHIR-BUNDLE-SELF-LINK",
            "Bundle.link de relation « self » absent ou sans URL : le kit ANS compare son URL à la requête.",
            RULES["FHIR-BUNDLE-SELF-LINK"][2],
        )
    path = f"Bundle.link[{self_links[0][0]}].url"
    if _query(url) != _query(request_query):
        return Finding(
            USE_CASES["ps-indiv"][0],
            path,
            None,
            "bloquant",
            "FHIR-BUNDLE-SELF-LINK-QUERY",
            f"Le lien self ({url}) ne reprend pas les paramètres de la requête ({request_query}).",
            SELF_LINK_SOURCE,
        )
    request_tail = html.unescape(request_query.strip())
    link_tail = html.unescape(url.strip())
    same = link_tail == request_tail or link_tail.endswith(
        request_tail if "?" in request_tail else "?" + request_tail.lstrip("?")
    )
    if not same:
        return Finding(
            USE_CASES["ps-indiv"][0],
            path,
            None,
            "recommande",
            "FHIR-BUNDLE-SELF-LINK-EXACT",
            "Le lien self a les mêmes paramètres que la requête mais pas le même texte (ordre ou encodage) : le kit ANS avertit.",
            SELF_LINK_SOURCE,
        )
    return None
