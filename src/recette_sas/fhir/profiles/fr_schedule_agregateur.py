"""FrScheduleAgregateur: the agenda a Slot belongs to (one per place of consultation).

Sources: ``input/fsh/profiles/FrScheduleAgregateur.fsh`` (FSH) and the PS slot search page. The
profile itself only constrains how ``actor`` is aggregated (referenced, bundled); its line 7, which
would have restricted the actor types, is commented out. That the actors are a Practitioner and a
PractitionerRole present in the Bundle is a Bundle-level rule (``bundle_agregateur``).
``Schedule.actor`` 1..* is base R4 (checked by the base structure).
"""

from __future__ import annotations

from recette_sas.fhir.profiles.model import Profile, Rule

URL = "http://sas.fr/fhir/StructureDefinition/FrScheduleAgregateur"
FSH = "input/fsh/profiles/FrScheduleAgregateur.fsh"
PAGE = "specifications_techniques-ps-recherche_creneaux.md"

PROFILE = Profile(
    url=URL,
    name="FrScheduleAgregateur",
    resource_type="Schedule",
    fsh=FSH,
    rules=(
        Rule(
            "FHIR-SCHEDULE-META-PROFILE",
            "bloquant",
            "Le Schedule déclare le profil FrScheduleAgregateur dans meta.profile",
            f"{PAGE}:249-255 ; ANS test kit (sélectionne les Schedule par meta.profile)",
            invariant=f"'{URL}' in meta.profile",
            at="meta.profile",
            message=f"meta.profile doit contenir {URL} : le kit ANS ne retrouve les agendas que par ce profil.",
        ),
        Rule(
            "FHIR-SCHEDULE-ACTOR-TYPE",
            "recommande",
            "Schedule.actor référence un Practitioner ou un PractitionerRole",
            f"{PAGE}:149 « En particulier, les ressources Practitioner et PractitionerRole ... sont attendues » ; "
            f"{FSH}:7 (restriction de type commentée)",
            path="actor",
            targets=("Practitioner", "PractitionerRole"),
        ),
    ),
)
