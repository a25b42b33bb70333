"""The named checks of the profile tables, and ANS's kit check of ``Bundle.link[self]``.

The columns FHIRPath cannot express: instants compared across offsets, a window the caller gives, a
past the caller's instant defines, and the references between a Bundle's entries resolved through
their ``fullUrl`` (``Rule.check`` names one of ``CHECKS``). Apart from the table reader
(``recette_sas.fhir.engine``) because these are rules, not the machinery that reads them.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from recette_sas.fhir import base
from recette_sas.fhir.context import (
    BundleIndex,
    Context,
    Entry,
    Issue,
    reference_target,
    search_mode,
    search_mode_issues,
)
from recette_sas.fhir.findings import Finding
from recette_sas.fhir.profiles import USE_CASES
from recette_sas.fhir.rules_catalogue import RULES, SELF_LINK_SOURCE
from recette_sas.fhir.use_case_checks import USE_CASE_CHECKS, links


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


def _start_before_end(resource: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    start, end = _instant(resource.get("start")), _instant(resource.get("end"))
    if start is not None and end is not None and start >= end:
        yield Issue(
            "start", f"start ({resource['start']}) doit être strictement antérieur à end ({resource['end']})."
        )


def _start_in_window(resource: dict[str, Any], ctx: Context) -> Iterator[Issue]:
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


def _start_not_past(resource: dict[str, Any], ctx: Context) -> Iterator[Issue]:
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


def _offset_utc_or_paris(resource: dict[str, Any], ctx: Context) -> Iterator[Issue]:
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


def _entry_issue(entry: Entry, rel: str, message: str) -> Issue:
    return Issue(f"{entry.prefix}.{rel}" if rel else entry.prefix, message, entry.full_url, absolute=True)


def _matched_slots(index: BundleIndex, bundle: Mapping[str, Any]) -> list[Entry]:
    return [e for e in index.of_type("Slot") if search_mode(bundle, e) in (None, "match")]



def _total_counts_slots(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    total = bundle.get("total")
    if ctx.bundle is None or not isinstance(total, int) or isinstance(total, bool):
        return
    slots = len(_matched_slots(ctx.bundle, bundle))
    if total != slots:
        yield Issue("total", f"total vaut {total} mais le Bundle contient {slots} Slot (mode match).")


def _search_modes(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    return search_mode_issues(bundle, ctx, {"Slot": ("match",), "OperationOutcome": ("outcome",)}, ("include",))


def _reference_of(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("reference"), str):
        return str(node["reference"])
    return None


def _slot_schedule_included(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
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


def _actors(entry: Entry) -> list[tuple[int, Any]]:
    actors = entry.resource.get("actor")
    return list(enumerate(actors)) if isinstance(actors, list) else []


def _schedule_actors_included(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
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


def _schedule_has_practitioner_and_role(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    index = ctx.bundle
    for schedule in index.of_type("Schedule") if index else []:
        assert index is not None
        kinds = set()
        for _, actor in _actors(schedule):
            ref = _reference_of(actor)
            target = index.resolve(ref, schedule)
            kinds.add(target.type if target else reference_target(ref) if ref else None)
        missing = [k for k in ("Practitioner", "PractitionerRole") if k not in kinds]
        if missing:
            yield _entry_issue(
                schedule,
                "actor",
                f"Schedule sans acteur {' ni '.join(missing)} : un agenda relie un PS et son lieu de consultation.",
            )


def _role_practitioner_included(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
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


def _no_unreferenced_entries(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
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
        refs = links(entry)
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


CHECKS: dict[str, Callable[[dict[str, Any], Context], Iterable[Issue]]] = {
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
    **USE_CASE_CHECKS,
}
"""The named checks rows may use (``Rule.check``); a test asserts every name a row uses is here."""


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
