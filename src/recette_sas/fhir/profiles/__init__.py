"""The SAS profiles as data: one table per profile, read by ``recette_sas.fhir.validation``.

``PROFILES`` maps each canonical URL (and the alternative URLs the IG uses for the same profile) to
its table; ``USE_CASES`` maps a use case to the profile each resource type of its Bundle is checked
against.
"""

from __future__ import annotations

from recette_sas.fhir.profiles import (
    bundle_agregateur,
    fr_appointment_sas,
    fr_location_agregateur,
    fr_practitioner_agregateur,
    fr_practitioner_regul,
    fr_practitioner_role_exercice_agregateur,
    fr_schedule_agregateur,
    fr_slot_agregateur,
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
}
"""use case -> (Bundle profile, resourceType of an entry -> profile)."""

__all__ = ["ALL", "PROFILES", "USE_CASES", "Binding", "Profile", "Rule", "Slice"]
