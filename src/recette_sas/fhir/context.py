"""What a profile row sees while the engine runs: the context of the resource and the Bundle's index.

Shared by the table reader (``recette_sas.fhir.engine``) and the named checks
(``recette_sas.fhir.bundle_rules``): kept apart so that neither imports the other for its types.
``BundleIndex`` resolves FHIR references through the entries' ``fullUrl``; ``Issue`` is what a named
check reports; ``Context`` is the profile, path prefix, window and instant a row is evaluated with.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recette_sas.fhir.profiles import Profile

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
class Entry:
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
        self.entries: list[Entry] = []
        raw = bundle.get("entry")
        for i, entry in enumerate(raw if isinstance(raw, list) else []):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                url = entry.get("fullUrl")
                self.entries.append(Entry(i, url if isinstance(url, str) else None, entry["resource"]))
        self.by_url = {e.full_url: e for e in self.entries if e.full_url}
        self.by_type_id = {(e.type, e.resource.get("id")): e for e in self.entries if e.type}
        self.by_index = {e.index: e for e in self.entries}

    def of_type(self, rt: str) -> list[Entry]:
        return [e for e in self.entries if e.type == rt]

    def resolve(self, reference: object, source: Entry) -> Entry | None:
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
class Context:
    profile: Profile
    prefix: str
    full_url: str | None
    window: tuple[datetime, datetime] | None
    now: datetime | None
    bundle: BundleIndex | None = None


def reference_target(reference: str) -> str | None:
    if reference.startswith("#"):
        return "#"
    match = re.search(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^/]+)?$", reference)
    return match.group(1) if match else None


def search_mode(bundle: Mapping[str, Any], entry: Entry) -> str | None:
    """The entry's ``search.mode`` (``match``, ``include``, ``outcome``), or None when it has none."""
    raw = bundle["entry"][entry.index]
    search = raw.get("search") if isinstance(raw, dict) else None
    mode = search.get("mode") if isinstance(search, dict) else None
    return mode if isinstance(mode, str) else None


def search_mode_issues(
    bundle: Mapping[str, Any], ctx: Context, allowed: Mapping[str, tuple[str, ...]], otherwise: tuple[str, ...]
) -> Iterator[Issue]:
    """One issue per entry whose ``search.mode`` is not among those ``allowed`` for its resource type
    (``otherwise`` for the types not named)."""
    for entry in ctx.bundle.entries if ctx.bundle else []:
        modes = allowed.get(entry.type or "", otherwise)
        mode = search_mode(bundle, entry)
        if mode not in modes:
            shown = "absent" if mode is None else f"« {mode} »"
            yield Issue(
                f"Bundle.entry[{entry.index}].search.mode",
                f"search.mode {shown} : « {' » ou « '.join(modes)} » attendu pour une ressource {entry.type}.",
                entry.full_url,
                absolute=True,
            )
