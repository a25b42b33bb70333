"""The named checks of the CPTS and SOS Bundle tables: the references between their entries.

CPTS (``GET [base]/Slot`` with ``_include=Slot:service-type-reference`` and
``_include:iterate=HealthcareService:organization``): a CPTS Slot's ``serviceType`` carries the R5 extension
whose ``valueReference`` is an included HealthcareService, whose ``providedBy`` is an included Organization.
SOS (``GET [base]/Schedule`` with ``_revinclude=Slot:schedule``, ``_include=Schedule:actor:Location``,
``_include:iterate=Location:organization``): each Slot's Schedule, each Schedule's Location, each Location's
Organization are in the Bundle, and each Schedule comes with its Slots. Apart from
``recette_sas.fhir.bundle_rules`` (the PS-indiv checks, which merges these into ``CHECKS``) to keep both short.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from recette_sas.fhir.context import BundleIndex, Context, Entry, Issue, search_mode_issues

R5_SERVICE_TYPE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"


def _issue(entry: Entry, rel: str, message: str) -> Issue:
    return Issue(f"{entry.prefix}.{rel}" if rel else entry.prefix, message, entry.full_url, absolute=True)


def _ref(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("reference"), str):
        return str(node["reference"])
    return None


def service_references(slot: Entry) -> list[tuple[str, Any]]:
    """(relative path, Reference) of each R5 serviceType extension of a Slot."""
    out: list[tuple[str, Any]] = []
    types = slot.resource.get("serviceType")
    for i, st in enumerate(types if isinstance(types, list) else []):
        extensions = st.get("extension") if isinstance(st, dict) else None
        for j, ext in enumerate(extensions if isinstance(extensions, list) else []):
            if isinstance(ext, dict) and ext.get("url") == R5_SERVICE_TYPE:
                out.append((f"serviceType[{i}].extension[{j}].valueReference", ext.get("valueReference")))
    return out


def links(entry: Entry) -> list[Any]:
    """The References an entry of a slot-search Bundle leads on to (what an ``_include`` follows)."""
    resource = entry.resource
    if entry.type == "Slot":
        return [resource.get("schedule"), *(ref for _, ref in service_references(entry))]
    if entry.type == "Schedule":
        actors = resource.get("actor")
        return list(actors) if isinstance(actors, list) else []
    if entry.type == "PractitionerRole":
        return [resource.get("practitioner")]
    if entry.type == "HealthcareService":
        return [resource.get("providedBy")]
    if entry.type == "Location":
        return [resource.get("managingOrganization")]
    return []


def _present(required: tuple[str, ...]) -> Callable[[dict[str, Any], Context], Iterator[Issue]]:
    def check(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
        index = ctx.bundle
        if index is None or not index.entries:
            return  # total: 0, no entry: the valid empty answer (the pages), whatever the slices say
        missing = [rt for rt in required if not index.of_type(rt)]
        if missing:
            yield Issue(
                "entry",
                f"Réponse non vide sans {', '.join(missing)} : le profil du Bundle exige au moins une entrée "
                f"de chacun de {', '.join(required)}.",
            )

    return check


def _resolved(
    index: BundleIndex, source: Entry, rel: str, ref: Any, wanted: str, what: str
) -> Iterator[Issue]:
    reference = _ref(ref)
    target = index.resolve(reference, source)
    if target is None or target.type != wanted:
        shown = "sans référence" if reference is None else f"« {reference} »"
        yield _issue(source, rel, f"{what} {shown} ne désigne aucune ressource {wanted} du Bundle.")


def _slot_service_included(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    index = ctx.bundle
    for slot in index.of_type("Slot") if index else []:
        assert index is not None
        for rel, ref in service_references(slot):
            yield from _resolved(
                index, slot, rel, ref, "HealthcareService", "Le serviceType CPTS (_include=Slot:service-type-reference)"
            )


def _service_organization_included(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    index = ctx.bundle
    for service in index.of_type("HealthcareService") if index else []:
        assert index is not None
        if service.resource.get("providedBy") is None:
            continue  # FHIR-HS-CPTS-PROVIDEDBY reports it
        yield from _resolved(
            index,
            service,
            "providedBy",
            service.resource.get("providedBy"),
            "Organization",
            "HealthcareService.providedBy (_include:iterate=HealthcareService:organization)",
        )


def _sos_slot_schedule_included(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    index = ctx.bundle
    for slot in index.of_type("Slot") if index else []:
        assert index is not None
        yield from _resolved(index, slot, "schedule", slot.resource.get("schedule"), "Schedule", "Slot.schedule")


def _sos_schedule_location_included(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    index = ctx.bundle
    for schedule in index.of_type("Schedule") if index else []:
        assert index is not None
        actors = schedule.resource.get("actor")
        for j, actor in enumerate(actors if isinstance(actors, list) else []):
            yield from _resolved(
                index, schedule, f"actor[{j}]", actor, "Location", "Schedule.actor (_include=Schedule:actor:Location)"
            )


def _sos_location_organization_included(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    index = ctx.bundle
    for location in index.of_type("Location") if index else []:
        assert index is not None
        ref = location.resource.get("managingOrganization")
        if _ref(ref) is None:
            continue  # FHIR-LOC-SOS-MANAGING-ORGANIZATION reports it
        yield from _resolved(
            index,
            location,
            "managingOrganization",
            ref,
            "Organization",
            "Location.managingOrganization (_include:iterate=Location:organization)",
        )


def _sos_schedule_slots(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    index = ctx.bundle
    if index is None:
        return
    reached = set()
    for slot in index.of_type("Slot"):
        target = index.resolve(_ref(slot.resource.get("schedule")), slot)
        if target is not None:
            reached.add(target.index)
    for schedule in index.of_type("Schedule"):
        if schedule.index not in reached:
            yield _issue(
                schedule,
                "",
                "Schedule sans aucun Slot dans le Bundle : _revinclude=Slot:schedule ramène les créneaux de "
                "chaque agenda trouvé (_has:Slot:schedule).",
            )



def _sos_search_modes(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    allowed = {"Schedule": ("match",), "Slot": ("include", "match"), "OperationOutcome": ("outcome",)}
    return search_mode_issues(bundle, ctx, allowed, ("include",))


def _sos_total_counts(bundle: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    total = bundle.get("total")
    if ctx.bundle is None or not isinstance(total, int) or isinstance(total, bool):
        return
    slots, schedules = len(ctx.bundle.of_type("Slot")), len(ctx.bundle.of_type("Schedule"))
    if total not in (slots, schedules):
        yield Issue("total", f"total vaut {total} : ni le nombre de Slot ({slots}) ni celui de Schedule ({schedules}).")


USE_CASE_CHECKS: dict[str, Callable[[dict[str, Any], Context], Iterable[Issue]]] = {
    "cpts_entries_present": _present(("Slot", "Schedule", "Practitioner", "PractitionerRole")),
    "sos_entries_present": _present(("Slot", "Schedule", "Location", "Organization")),
    "slot_service_included": _slot_service_included,
    "service_organization_included": _service_organization_included,
    "sos_slot_schedule_included": _sos_slot_schedule_included,
    "sos_schedule_location_included": _sos_schedule_location_included,
    "sos_location_organization_included": _sos_location_organization_included,
    "sos_schedule_slots": _sos_schedule_slots,
    "sos_search_modes": _sos_search_modes,
    "sos_total_counts": _sos_total_counts,
}
