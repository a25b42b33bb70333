"""The table reader: one engine for every profile table of ``recette_sas.fhir.profiles``.

For each row it selects the elements at the row's path (slices included), checks the columns the
row fills (cardinality per parent, fixed, pattern, binding, reference targets, FHIRPath invariant,
or a named check from ``recette_sas.fhir.bundle_rules``), and turns each failure into a
``Finding``; the base R4 structure (``recette_sas.fhir.base``) is turned into findings here too.
Apart from ``recette_sas.fhir.validation`` so that the entry points stay short and this module
holds only what reads a table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from recette_sas.fhir import base
from recette_sas.fhir.bundle_rules import CHECKS
from recette_sas.fhir.context import Context, Parts, reference_target
from recette_sas.fhir.fhirpath import holds
from recette_sas.fhir.findings import Finding
from recette_sas.fhir.profiles import PROFILES, Profile, Rule, Slice
from recette_sas.fhir.rules_catalogue import BASE_SOURCE, RULES
from recette_sas.fhir.valuesets import VALUE_SETS


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
    target = reference_target(reference)
    if target not in targets:
        return f"Référence « {reference} » : cible attendue {' ou '.join(targets)}."
    return None


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"« {value} »"
    return text if len(text) <= 80 else text[:77] + "…"


def _run_rule(rule: Rule, resource: dict[str, Any], ctx: Context) -> list[Finding]:
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

    if rule.when is not None and not holds(rule.when, resource, resource):
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
    if rule.invariant is not None and not holds(rule.invariant, value, value):
        shown = f" Reçu : {_show(value)}." if not isinstance(value, dict | list) else ""
        return f"{rule.message or 'Contrainte non respectée : ' + rule.title + '.'}{shown}"
    return None


_BASE_RULES = {
    "resourcetype": "FHIR-BASE-RESOURCETYPE",
    "structure": "FHIR-BASE-STRUCTURE",
    "code": "FHIR-BASE-CODE",
    "unchecked": "FHIR-BASE-UNCHECKED",
}


def base_findings(
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


def _engine_failure(rule: Rule, ctx: Context, exc: Exception) -> Finding:
    return Finding(
        profile=ctx.profile.url,
        path=ctx.prefix,
        full_url=ctx.full_url,
        severity="bloquant",
        rule_id="FHIR-ENGINE",
        message=f"Règle {rule.rule_id} non évaluable sur cette ressource ({type(exc).__name__}) : elle ne peut pas être tenue pour respectée.",
        source=RULES["FHIR-ENGINE"][2],
    )


def profile_findings(resource: dict[str, Any], ctx: Context) -> list[Finding]:
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
            sub = Context(
                PROFILES[ctx.profile.contained[rt]],
                f"{ctx.prefix}.contained[{j}]",
                ctx.full_url,
                ctx.window,
                ctx.now,
            )
            out.extend(profile_findings(item, sub))
    return out


def dedupe(findings: list[Finding]) -> list[Finding]:
    """Drop an R4 code finding where a profile rule already reports the same element."""
    profiled = {f.path for f in findings if not f.rule_id.startswith("FHIR-BASE-")}
    return [f for f in findings if not (f.rule_id == "FHIR-BASE-CODE" and f.path in profiled)]


def profile_table(url: str) -> Profile:
    try:
        return PROFILES[url]
    except KeyError:
        raise ValueError(
            f"profil inconnu du moteur : {url} (connus : {', '.join(sorted(PROFILES))})"
        ) from None


def aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("now et window doivent porter un fuseau horaire (datetime « aware »)")
    return moment


def order(f: Finding) -> tuple[str, str, str]:
    return (f.path, f.rule_id, f.message)
