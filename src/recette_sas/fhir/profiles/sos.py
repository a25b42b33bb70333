"""The SOS Médecins use case's profiles: BundleAgregateurSOS, FrSlotAgregateurSOS, FrScheduleAgregateurSOS,
FrLocationAgregateurSOS, FrOrganizationAgregateurSOS (one table each).

Sources: ``input/fsh/profiles/SOS/*.fsh`` (FSH) and the SOS slot search page
``input/pagecontent/specifications_techniques-sos-recherche_creneaux.md`` (SOS page). SAS searches
``GET [base]/Schedule`` with ``_revinclude=Slot:schedule``: the Schedules are what the search matches, the
Slots come back with them.

Decisions on the IG's ambiguities:

- ``search.mode`` and ``total``: the IG's full example marks the Schedules ``match`` and the Slots ``include``
  with ``total: 4`` = its number of Slots (3 Schedules); its simplified answer writes "Slot1 (match)". FHIR
  says ``total`` counts the matches (Schedules). Both readings are accepted, advisory only: Schedule
  ``match``, Slot ``include`` or ``match``, Location and Organization ``include``; ``total`` equal to the
  number of Slots or of Schedules (the reference server follows the IG's example);
- empty answer: the Bundle's four slices are 1..* while the page says ``total: 0`` is the answer when nothing
  matches (:74-75): required of a Bundle that has entries only (``entries_present``);
- slot types: the value set TypeCreneauSASSOS has PUBLIC and SNP, the page lists PUBLIC, PRO and SNP
  (:246-250): a code outside the three is bloquant, PRO is recommande (the required binding);
- Location ``identifier.type``: the FSH fixes ``INTRN``, the page allows ``IDNST`` for a PFG with a national
  identifier (:267-276): either code of ``fr-location-identifier-type`` is accepted;
- Organization: the IG's example carries the SIRET value alone, no system nor type: present and wrong is
  bloquant, absent recommande (rows shared with the CPTS Organization);
- meta.profile: asked by the page for ANS's validator (:289-294): recommande.
"""

from __future__ import annotations

from typing import Any

from recette_sas.fhir.profiles import bundle_agregateur, fr_location_agregateur, fr_slot_agregateur
from recette_sas.fhir.profiles.cpts import (
    APPOINTMENT_REQUIRED,
    BUNDLE_SHARED,
    LINK_MAX,
    SD,
    SLOT_SHARED,
    _meta,
    organization_rows,
    reused,
)
from recette_sas.fhir.profiles.model import Binding, Profile, Rule
from recette_sas.fhir.valuesets import TRE_R314, TYPE_CONSULTATION_SAS, TYPE_CRENEAU_SAS_SOS

BUNDLE_URL = f"{SD}sas-sos-bundle-aggregator"
SLOT_URL = f"{SD}sas-sos-slot-aggregator"
SCHEDULE_URL = f"{SD}sas-sos-schedule-aggregator"
LOCATION_URL = f"{SD}sas-sos-location-aggregator"
ORGANIZATION_URL = f"{SD}sas-sos-organization-aggregator"
PAGE = "specifications_techniques-sos-recherche_creneaux.md"
FSH = "input/fsh/profiles/SOS/"
LOCATION_TYPES = "http://interopsante.org/fhir/CodeSystem/fr-location-identifier-type"

BUNDLE = Profile(
    url=BUNDLE_URL,
    name="BundleAgregateurSOS",
    resource_type="Bundle",
    fsh=f"{FSH}BundleAgregateurSOS.fsh",
    slices=bundle_agregateur.PROFILE.slices,
    rules=(
        _meta("FHIR-BUNDLE-SOS-META-PROFILE", "BundleAgregateurSOS", (BUNDLE_URL,), f"{PAGE}:289-290, 296-306"),
        *reused(bundle_agregateur.PROFILE.rules, BUNDLE_SHARED),
        LINK_MAX,
        Rule(
            "FHIR-BUNDLE-SOS-ENTRIES",
            "bloquant",
            "Une réponse non vide porte des Slot, Schedule, Location et Organization",
            f"{FSH}BundleAgregateurSOS.fsh:11-15 (slices 1..*) ; {PAGE}:74-75 (total: 0 sans résultat)",
            check="sos_entries_present",
        ),
        Rule(
            "FHIR-BUNDLE-SOS-TOTAL-COUNT",
            "recommande",
            "Bundle.total égale le nombre de Slot (exemple de l'IG) ou de Schedule (FHIR)",
            f"{PAGE}:167-184 (total: 4 pour 4 Slot) ; FHIR R4 search (total des correspondances)",
            check="sos_total_counts",
        ),
        Rule(
            "FHIR-BUNDLE-SOS-SEARCH-MODE",
            "recommande",
            "search.mode : match pour les Schedule, include ou match pour les Slot, include pour le reste",
            f"{PAGE}:167-184 et exemple Bundle SOS (Schedule match, Slot include) ; FHIR R4 search (_revinclude)",
            check="sos_search_modes",
        ),
        Rule(
            "FHIR-BUNDLE-SOS-SCHEDULE-SLOTS",
            "bloquant",
            "Chaque Schedule trouvé arrive avec ses créneaux (_revinclude=Slot:schedule)",
            f"{PAGE}:148 (« il est nécessaire de transmettre les ressources Slot associées au Schedule ») ; "
            f"{PAGE}:151 (_has:Slot:schedule)",
            check="sos_schedule_slots",
        ),
        Rule(
            "FHIR-BUNDLE-SOS-SLOT-SCHEDULE",
            "bloquant",
            "Chaque Slot.schedule désigne un Schedule du Bundle",
            f"{PAGE}:148 ; {FSH}FrSlotAgregateurSOS.fsh:10",
            check="sos_slot_schedule_included",
        ),
        Rule(
            "FHIR-BUNDLE-SOS-SCHEDULE-LOCATION",
            "bloquant",
            "Chaque Schedule.actor désigne une Location incluse (_include=Schedule:actor:Location)",
            f"{PAGE}:149 (« La présence de cette ressource est nécessaire ») ; {FSH}FrScheduleAgregateurSOS.fsh:6",
            check="sos_schedule_location_included",
        ),
        Rule(
            "FHIR-BUNDLE-SOS-LOCATION-ORGANIZATION",
            "bloquant",
            "Chaque Location.managingOrganization désigne une Organization incluse",
            f"{PAGE}:150 (_include:iterate=Location:organization) ; {FSH}FrLocationAgregateurSOS.fsh:15-17",
            check="sos_location_organization_included",
        ),
    ),
)

SLOT_FSH = f"{FSH}FrSlotAgregateurSOS.fsh"
SLOT = Profile(
    url=SLOT_URL,
    name="FrSlotAgregateurSOS",
    resource_type="Slot",
    fsh=SLOT_FSH,
    rules=(
        _meta("FHIR-SLOT-SOS-META-PROFILE", "FrSlotAgregateurSOS", (SLOT_URL,), f"{PAGE}:289, 291"),
        Rule(
            "FHIR-SLOT-SOS-STATUS",
            "bloquant",
            "Slot.status vaut free (créneau SOS Médecins)",
            f"{SLOT_FSH}:11 (status = #free) ; {PAGE}:244-245",
            path="status",
            fixed="free",
            message="Slot.status doit valoir « free » : SAS ne récupère que des créneaux disponibles.",
        ),
        Rule(
            "FHIR-SLOT-SOS-SCHEDULE-TYPE",
            "bloquant",
            "Slot.schedule référence un Schedule (créneau SOS Médecins)",
            f"{SLOT_FSH}:10 (schedule only Reference(FrScheduleAgregateurSOS))",
            path="schedule",
            targets=("Schedule",),
        ),
        Rule(
            "FHIR-SLOT-SOS-SECURITY",
            "bloquant",
            "meta.security : PUBLIC, PRO ou SNP (TRE-R314)",
            f"{PAGE}:246-250 (3 types de créneaux) ; {SLOT_FSH}:6-7",
            path="meta.security",
            invariant=f"system = '{TRE_R314}' and (code = 'PUBLIC' or code = 'PRO' or code = 'SNP')",
            message="Type de créneau hors de PUBLIC, PRO, SNP (TRE-R314).",
        ),
        Rule(
            "FHIR-SLOT-SOS-SECURITY-VS",
            "recommande",
            "meta.security : codes de TypeCreneauSASSOS (PUBLIC, SNP)",
            f"{SLOT_FSH}:6 (binding required sas-sos-valueset-typecreneau, sans PRO que la page liste)",
            path="meta.security",
            binding=Binding(TYPE_CRENEAU_SAS_SOS.url, "required"),
        ),
        Rule(
            "FHIR-SLOT-SOS-SERVICETYPE",
            "bloquant",
            "serviceType.coding : AMB, HH ou VR (TypeConsultationSAS)",
            f"{SLOT_FSH}:8 (serviceType.coding from sas-valueset-typeconsultation, required) ; {PAGE}:251-255",
            path="serviceType.coding",
            binding=Binding(TYPE_CONSULTATION_SAS.url, "required"),
        ),
        APPOINTMENT_REQUIRED,
        *reused(fr_slot_agregateur.PROFILE.rules, SLOT_SHARED),
    ),
)

SCHEDULE_FSH = f"{FSH}FrScheduleAgregateurSOS.fsh"
SCHEDULE = Profile(
    url=SCHEDULE_URL,
    name="FrScheduleAgregateurSOS",
    resource_type="Schedule",
    fsh=SCHEDULE_FSH,
    rules=(
        _meta("FHIR-SCHEDULE-SOS-META-PROFILE", "FrScheduleAgregateurSOS", (SCHEDULE_URL,), f"{PAGE}:289, 292"),
        Rule(
            "FHIR-SCHEDULE-SOS-ACTOR",
            "bloquant",
            "Schedule.actor référence un lieu de consultation (Location)",
            f"{SCHEDULE_FSH}:6-8 (actor only Reference(FrLocation), actor.reference 1..)",
            path="actor",
            targets=("Location",),
        ),
        Rule(
            "FHIR-SCHEDULE-SOS-ACTOR",
            "bloquant",
            "Schedule.actor référence un lieu de consultation (Location)",
            f"{SCHEDULE_FSH}:6-8 (actor only Reference(FrLocation), actor.reference 1..)",
            path="actor.reference",
            min=1,
        ),
    ),
)

LOCATION_FSH = f"{FSH}FrLocationAgregateurSOS.fsh"


def _managing(path: str, **columns: Any) -> Rule:
    return Rule(
        "FHIR-LOC-SOS-MANAGING-ORGANIZATION",
        "bloquant",
        "Location.managingOrganization référence l'association SOS Médecins (Organization)",
        f"{LOCATION_FSH}:15-17 (managingOrganization 1.., only Reference(FrOrganizationAgregateurSOS), reference 1..)",
        path=path,
        **columns,
    )


LOCATION = Profile(
    url=LOCATION_URL,
    name="FrLocationAgregateurSOS",
    resource_type="Location",
    fsh=LOCATION_FSH,
    rules=(
        _meta("FHIR-LOC-SOS-META-PROFILE", "FrLocationAgregateurSOS", (LOCATION_URL,), f"{PAGE}:289, 293"),
        Rule(
            "FHIR-LOC-SOS-IDENTIFIER",
            "bloquant",
            "identifier.system et identifier.value sont renseignés",
            f"{LOCATION_FSH}:7-8 (identifier.system 1..1, identifier.value 1..1)",
            path="identifier.system",
            min=1,
        ),
        Rule(
            "FHIR-LOC-SOS-IDENTIFIER",
            "bloquant",
            "identifier.system et identifier.value sont renseignés",
            f"{LOCATION_FSH}:7-8 (identifier.system 1..1, identifier.value 1..1)",
            path="identifier.value",
            min=1,
        ),
        Rule(
            "FHIR-LOC-SOS-IDENTIFIER-TYPE",
            "bloquant",
            "identifier.type : INTRN ou IDNST (fr-location-identifier-type)",
            f"{LOCATION_FSH}:6 (INTRN) ; {PAGE}:267-276 (IDNST si le PFG en a un)",
            path="identifier.type",
            invariant=f"coding.where(system = '{LOCATION_TYPES}' and (code = 'INTRN' or code = 'IDNST')).exists()",
            message="identifier.type du lieu de consultation : INTRN ou IDNST (fr-location-identifier-type) attendu.",
        ),
        Rule(
            "FHIR-LOC-SOS-NAME",
            "bloquant",
            "La Location porte un nom",
            f"{LOCATION_FSH}:9 (name 1..)",
            path="name",
            min=1,
        ),
        *reused(
            fr_location_agregateur.PROFILE.rules,
            {
                "FHIR-LOC-ADDRESS", "FHIR-LOC-ADDRESS-LINE", "FHIR-LOC-ADDRESS-CITY", "FHIR-LOC-ADDRESS-POSTALCODE",
                "FHIR-LOC-POSTALCODE-FORMAT",
            },
        ),
        _managing("managingOrganization", min=1),
        _managing("managingOrganization", targets=("Organization",)),
        _managing("managingOrganization.reference", min=1),
    ),
)

ORG_FSH = f"{FSH}FrOrganizationAgregateurSOS.fsh"
ORGANIZATION = Profile(
    url=ORGANIZATION_URL,
    name="FrOrganizationAgregateurSOS",
    resource_type="Organization",
    fsh=ORG_FSH,
    rules=(
        _meta("FHIR-ORG-SOS-META-PROFILE", "FrOrganizationAgregateurSOS", (ORGANIZATION_URL,), f"{PAGE}:289, 294"),
        *organization_rows(),
        Rule(
            "FHIR-ORG-SOS-SIRET",
            "bloquant",
            "Le SIRET de l'association est 3 suivi de 14 chiffres",
            f"{ORG_FSH}:10, 13-16 (SIRET-invariant ^3[0-9]{{14}}$) ; {PAGE}:262-264",
            path="identifier",
            invariant="value.matches('^3[0-9]{14}$')",
            message="SIRET de l'association invalide : « 3 » suivi de 14 chiffres attendu (ex. 334173748400020).",
        ),
    ),
)

ALL = (BUNDLE, SLOT, SCHEDULE, LOCATION, ORGANIZATION)
