"""The SAS profiles as data: one table per profile, read by ``recette_sas.fhir.validation``.

``PROFILES`` maps each canonical URL (and the alternative URLs the IG uses for the same profile) to
its table; ``USE_CASES`` maps a use case to the profile each resource type of its Bundle is checked
against (``ps-indiv``, ``cpts``: CPTS slots with their HealthcareService and Organization, ``sos``: SOS
Médecins associations' Schedules, Locations, Organizations and Slots).
"""

from __future__ import annotations

from recette_sas.fhir.profiles import (
    bundle_agregateur,
    cpts,
    fr_appointment_sas,
    fr_location_agregateur,
    fr_practitioner_agregateur,
    fr_practitioner_regul,
    fr_practitioner_role_exercice_agregateur,
    fr_schedule_agregateur,
    fr_slot_agregateur,
    sos,
)
from recette_sas.fhir.profiles.model import Binding, Profile, Rule, Slice

ALL: tuple[Profile, ...] = (
    bundle_agregateur.PROFILE,
    fr_slot_agregateur.PROFILE,
    fr_schedule_agregateur.PROFILE,
    fr_practitioner_agregateur.PROFILE,
    fr_practitioner_role_exercice_agregateur.PROFILE,
    fr_location_agregateur.PROFILE,
    fr_practitioner_regul.PROFILE,
    fr_appointment_sas.PROFILE,
    *cpts.ALL,
    *sos.ALL,
)

PROFILES: dict[str, Profile] = {url: p for p in ALL for url in (p.url, *p.alt_urls)}

USE_CASES: dict[str, tuple[str, dict[str, str]]] = {
    "ps-indiv": (
        bundle_agregateur.URL,
        {
            "Slot": fr_slot_agregateur.URL,
            "Schedule": fr_schedule_agregateur.URL,
            "Practitioner": fr_practitioner_agregateur.URL,
            "PractitionerRole": fr_practitioner_role_exercice_agregateur.URL,
        },
    ),
    "cpts": (
        cpts.BUNDLE_URL,
        {
            "Slot": cpts.SLOT_URL,
            "Schedule": fr_schedule_agregateur.URL,
            "Practitioner": fr_practitioner_agregateur.URL,
            "PractitionerRole": fr_practitioner_role_exercice_agregateur.URL,
            "HealthcareService": cpts.SERVICE_URL,
            "Organization": cpts.ORGANIZATION_URL,
        },
    ),
    "sos": (
        sos.BUNDLE_URL,
        {
            "Slot": sos.SLOT_URL,
            "Schedule": sos.SCHEDULE_URL,
            "Location": sos.LOCATION_URL,
            "Organization": sos.ORGANIZATION_URL,
        },
    ),
}
"""use case -> (Bundle profile, resourceType of an entry -> profile)."""

__all__ = ["ALL", "PROFILES", "USE_CASES", "Binding", "Profile", "Rule", "Slice"]
