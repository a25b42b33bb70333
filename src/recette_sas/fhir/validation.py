"""The FHIR validation engine's entry points: base R4 structure, then the SAS profile tables, then the Bundle rules.

One engine reads every profile table (``recette_sas.fhir.profiles``): the table reader is
``recette_sas.fhir.engine``, the named checks it calls for what FHIRPath cannot express (instants
compared across offsets, a window the caller gives, references resolved through a Bundle's
``fullUrl``) are ``recette_sas.fhir.bundle_rules``, FHIRPath itself is ``recette_sas.fhir.fhirpath``.
No rule lives as an if-statement outside a table. This module keeps the entry points, and the names
other modules import from it:

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

import re
from datetime import UTC, datetime
from typing import Any

from recette_sas.fhir import base, engine
from recette_sas.fhir.bundle_rules import CHECKS, bundle_self_link_matches
from recette_sas.fhir.context import BundleIndex, Context, Issue
from recette_sas.fhir.fhirpath import compiled as _compiled
from recette_sas.fhir.findings import Finding
from recette_sas.fhir.profiles import PROFILES, USE_CASES
from recette_sas.fhir.rules_catalogue import BASE_SOURCE

__all__ = [
    "CHECKS",
    "BundleIndex",
    "Issue",
    "_compiled",
    "bundle_self_link_matches",
    "validate_bundle",
    "validate_resource",
]


def validate_resource(
    resource: dict[str, Any],
    profile: str,
    *,
    now: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> list[Finding]:
    """One resource against one SAS profile (canonical URL); ``[]`` when it conforms."""
    table = engine.profile_table(profile)
    rt = resource.get("resourceType") if isinstance(resource, dict) else None
    prefix = rt if isinstance(rt, str) and rt in base.R4_RESOURCE_TYPES else table.resource_type
    findings = engine.base_findings(resource, table, prefix, None, table.resource_type)
    if any(f.rule_id == "FHIR-BASE-RESOURCETYPE" for f in findings) or not isinstance(resource, dict):
        return findings
    ctx = Context(table, prefix, None, window, engine.aware(now))
    findings.extend(engine.profile_findings(resource, ctx))
    return sorted(engine.dedupe(findings), key=engine.order)


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
        window = (engine.aware(window[0]) or window[0], engine.aware(window[1]) or window[1])
    moment = engine.aware(now) if now is not None else datetime.now(UTC)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        return engine.base_findings(bundle, table, "Bundle", None, "Bundle")

    entries = bundle.get("entry")
    skeleton = dict(bundle)
    if isinstance(entries, list):
        skeleton["entry"] = [
            {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e for e in entries
        ]
    findings = [
        _with_entry_url(f, entries) for f in engine.base_findings(skeleton, table, "Bundle", None, "Bundle")
    ]
    index = BundleIndex(bundle)
    ctx = Context(table, "Bundle", None, window, moment, index)
    findings.extend(engine.profile_findings(bundle, ctx))

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
        entry_base = engine.base_findings(resource, entry_table, prefix, full_url, None)
        findings.extend(entry_base)
        if (
            entry_url is None
            or not isinstance(resource, dict)
            or any(
                f.rule_id == "FHIR-BASE-RESOURCETYPE" and f.path == f"{prefix}.resourceType"
                for f in entry_base
            )
        ):
            continue
        findings.extend(
            engine.profile_findings(resource, Context(entry_table, prefix, full_url, window, moment, index))
        )
    return sorted(engine.dedupe(findings), key=engine.order)


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
