"""The CPTS use case's profiles: BundleAgregateurCPTS, FrSlotAgregateurCPTS, FrHealthcareServiceAgregateurCPTS,
FrOrganizationAgregateurCPTS (one table each), and the Organization rows the SOS tables share.

Sources: ``input/fsh/profiles/CPTS/*.fsh`` (FSH) and the CPTS slot search page
``input/pagecontent/specifications_techniques-cpts-recherche_creneaux.md`` (CPTS page). The CPTS Bundle reuses
FrScheduleAgregateur, FrPractitionerAgregateur and FrPractitionerRoleExerciceAgregateur (FSH:23-30, the page's
canonical URLs :240-243): their tables are the PS-indiv ones.

Decisions on the IG's ambiguities (kept beside ``NOTES.md``'s items):

- empty answer: the Bundle profile makes the Slot, Schedule, Practitioner and PractitionerRole slices 1..*
  while the page says ``total: 0`` is the answer when nothing matches (:74-75). The slices are required of a
  Bundle that has entries (``entries_present``): an empty searchset is never failed on them;
- meta.profile: the page asks for it for ANS's validator (:237-245); nothing known of ANS's kit selects CPTS
  resources by it: recommande. The page lists ``sas-sos-organization-aggregator`` for the CPTS Organization
  (a copy slip): both canonical URLs are accepted;
- Organization ``identifier.type``: the FSH fixes ``fr-v2-0203#IDNST``, the page says
  ``fr-location-identifier-type``: the code IDNST is bloquant, either system is accepted. The IG's examples
  leave ``identifier.system`` and ``identifier.type`` out (only the fixed value constrains them when present):
  present and wrong is bloquant, absent is recommande;
- the page writes the TRE-R66 system ``…/TRE_R66-CategorieEtablissement/TRE_R66-CategorieEtablissement``; the
  value set and the examples use ``…/FHIR/TRE-R66-CategorieEtablissement``: the value set is checked.
"""

from __future__ import annotations

from recette_sas.fhir.profiles import bundle_agregateur, fr_slot_agregateur
from recette_sas.fhir.profiles.model import Binding, Profile, Rule, Slice
from recette_sas.fhir.valuesets import (
    APPOINTMENT_REASON_SAS,
    CATEGORIE_ETABLISSEMENT_SAS,
    TRE_R66,
    TYPE_CONSULTATION_SAS,
    TYPE_CRENEAU_SAS_CPTS,
    V3_ACT_CODE,
)

SD = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/"
BUNDLE_URL = f"{SD}sas-cpts-bundle-aggregator"
SLOT_URL = f"{SD}sas-cpts-slot-aggregator"
SERVICE_URL = f"{SD}sas-cpts-healthcareservice-aggregator"
ORGANIZATION_URL = f"{SD}sas-cpts-organization-aggregator"
SOS_ORGANIZATION_URL = f"{SD}sas-sos-organization-aggregator"
PAGE = "specifications_techniques-cpts-recherche_creneaux.md"
FSH = "input/fsh/profiles/CPTS/"
R5_SERVICE_TYPE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Slot.serviceType"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
IDNST_TYPES = ("http://interopsante.org/fhir/CodeSystem/fr-v2-0203", "http://interopsante.org/fhir/CodeSystem/fr-location-identifier-type")


def _meta(rule_id: str, name: str, urls: tuple[str, ...], source: str) -> Rule:
    test = " or ".join(f"'{u}' in meta.profile" for u in urls)
    return Rule(
        rule_id,
        "recommande",
        f"La ressource déclare le profil {name} dans meta.profile",
        source,
        invariant=test,
        at="meta.profile",
        message=f"meta.profile devrait contenir {urls[0]} (demandé par la page de recherche pour le validateur ANS).",
    )


def reused(rows: tuple[Rule, ...], ids: set[str]) -> tuple[Rule, ...]:
    """The rows of another table whose rule ids are ``ids`` (the same rule, word for word)."""
    return tuple(r for r in rows if r.rule_id in ids)


BUNDLE_SHARED = {
    "FHIR-BUNDLE-TYPE", "FHIR-BUNDLE-TOTAL", "FHIR-BUNDLE-BDL7", "FHIR-BUNDLE-SELF-LINK", "FHIR-BUNDLE-FULLURL",
    "FHIR-BUNDLE-UNREFERENCED",
}  # fmt: skip
"""Rows every slot-search Bundle shares, whatever the use case."""
LINK_MAX = Rule(
    "FHIR-BUNDLE-LINK-MAX",
    "bloquant",
    "Le Bundle porte un seul lien (link 1..1)",
    "CPTS/BundleAgregateurCPTS.fsh:7 ; SOS/BundleAgregateurSOS.fsh:7 (link 1..1)",
    path="link",
    max=1,
)

BUNDLE = Profile(
    url=BUNDLE_URL,
    name="BundleAgregateurCPTS",
    resource_type="Bundle",
    fsh=f"{FSH}BundleAgregateurCPTS.fsh",
    slices=bundle_agregateur.PROFILE.slices,
    rules=(
        _meta("FHIR-BUNDLE-CPTS-META-PROFILE", "BundleAgregateurCPTS", (BUNDLE_URL,), f"{PAGE}:237-238, 250-262"),
        *reused(
            bundle_agregateur.PROFILE.rules,
            BUNDLE_SHARED
            | {
                "FHIR-BUNDLE-TOTAL-COUNT", "FHIR-BUNDLE-SEARCH-MODE", "FHIR-BUNDLE-SLOT-SCHEDULE",
                "FHIR-BUNDLE-SCHEDULE-ACTOR", "FHIR-BUNDLE-SCHEDULE-ACTORS", "FHIR-BUNDLE-ROLE-PRACTITIONER",
            },
        ),
        LINK_MAX,
        Rule(
            "FHIR-BUNDLE-CPTS-ENTRIES",
            "bloquant",
            "Une réponse non vide porte des Slot, Schedule, Practitioner et PractitionerRole",
            f"{FSH}BundleAgregateurCPTS.fsh:12-16 (slices 1..*) ; {PAGE}:74-75 (total: 0 sans résultat)",
            check="cpts_entries_present",
        ),
        Rule(
            "FHIR-BUNDLE-CPTS-SERVICE-INCLUDED",
            "bloquant",
            "Chaque créneau CPTS désigne un HealthcareService inclus dans le Bundle",
            f"{PAGE}:150 (_include=Slot:service-type-reference, « La présence de cette ressource est nécessaire ») ; "
            f"{FSH}FrSlotAgregateurCPTS.fsh:22-23",
            check="slot_service_included",
        ),
        Rule(
            "FHIR-BUNDLE-CPTS-ORGANIZATION-INCLUDED",
            "bloquant",
            "Chaque HealthcareService désigne une Organization incluse dans le Bundle",
            f"{PAGE}:151 (_include:iterate=HealthcareService:organization) ; "
            f"{FSH}FrHealthcareServiceAgregateurCPTS.fsh:7-8",
            check="service_organization_included",
        ),
    ),
)

SLOT_SHARED = {
    "FHIR-SLOT-SECURITY-PRESENT", "FHIR-SLOT-APPOINTMENTTYPE", "FHIR-SLOT-APPOINTMENTTYPE-PRESENT",
    "FHIR-SLOT-START-END", "FHIR-SLOT-DATE-FORMAT", "FHIR-SLOT-DATE-OFFSET-Z", "FHIR-SLOT-WINDOW",
    "FHIR-SLOT-PAST", "FHIR-SLOT-BOOKING-URL", "FHIR-SLOT-BOOKING-URL-WALKIN", "FHIR-SLOT-BOOKING-URL-FORMAT",
}  # fmt: skip
"""The kit's and the pages' Slot rules, the same for the three use cases (the PS-indiv rows)."""
APPOINTMENT_REQUIRED = Rule(
    "FHIR-SLOT-APPOINTMENTTYPE-REQUIRED",
    "bloquant",
    "appointmentType.coding vient du jeu de valeurs AppointmentReasonSAS (binding required)",
    "CPTS/FrSlotAgregateurCPTS.fsh:25 ; SOS/FrSlotAgregateurSOS.fsh:9 (binding required)",
    path="appointmentType.coding",
    binding=Binding(APPOINTMENT_REASON_SAS.url, "required"),
)
CPTS_SLOT = "meta.security.where(code = 'CPTS').exists()"
SLOT_FSH = f"{FSH}FrSlotAgregateurCPTS.fsh"

SLOT = Profile(
    url=SLOT_URL,
    name="FrSlotAgregateurCPTS",
    resource_type="Slot",
    fsh=SLOT_FSH,
    slices={
        "serviceType:TypeConsultation": Slice("serviceType", "coding.system", V3_ACT_CODE),
        "serviceType:referencecpts": Slice("serviceType", "coding.system", TRE_R66),
        "extension:r5": Slice("extension", "url", R5_SERVICE_TYPE),
    },
    rules=(
        _meta("FHIR-SLOT-CPTS-META-PROFILE", "FrSlotAgregateurCPTS", (SLOT_URL,), f"{PAGE}:237-239"),
        Rule(
            "FHIR-SLOT-CPTS-STATUS",
            "bloquant",
            "Slot.status vaut free (créneau CPTS)",
            f"{SLOT_FSH}:27 (status = #free) ; {PAGE}:200-201",
            path="status",
            fixed="free",
            message="Slot.status doit valoir « free » : SAS ne récupère que des créneaux disponibles.",
        ),
        Rule(
            "FHIR-SLOT-CPTS-SCHEDULE-TYPE",
            "bloquant",
            "Slot.schedule référence un Schedule (créneau CPTS)",
            f"{SLOT_FSH}:26 (schedule only Reference(FrScheduleAgregateur))",
            path="schedule",
            targets=("Schedule",),
        ),
        Rule(
            "FHIR-SLOT-CPTS-SECURITY",
            "bloquant",
            "meta.security : codes de TypeCreneauSASCPTS (PUBLIC, PRO, SNP, CPTS)",
            f"{SLOT_FSH}:6 (binding required sas-cpts-valueset-typecreneau) ; {PAGE}:204-209",
            path="meta.security",
            binding=Binding(TYPE_CRENEAU_SAS_CPTS.url, "required"),
        ),
        Rule(
            "FHIR-SLOT-CPTS-SERVICETYPE",
            "bloquant",
            "serviceType codé en v3-ActCode : AMB, HH ou VR (créneau CPTS)",
            f"{SLOT_FSH}:17-18 (slice TypeConsultation, binding required) ; {PAGE}:210-214",
            path="serviceType:TypeConsultation",
            binding=Binding(TYPE_CONSULTATION_SAS.url, "required"),
        ),
        Rule(
            "FHIR-SLOT-CPTS-REFERENCE",
            "bloquant",
            "Un créneau CPTS porte le type de soins 604 (TRE-R66) dans serviceType",
            f"{PAGE}:215-218 (« Lorsque le créneau transmis est de type CPTS ... serviceType.coding.code : 604 ») ; "
            f"{SLOT_FSH}:21",
            path="serviceType:referencecpts",
            when=CPTS_SLOT,
            min=1,
            message="Créneau de type CPTS sans serviceType 604 (TRE-R66) : SAS ne le rattache à aucune CPTS.",
        ),
        Rule(
            "FHIR-SLOT-CPTS-REFERENCE",
            "bloquant",
            "Un créneau CPTS porte le type de soins 604 (TRE-R66) dans serviceType",
            f"{PAGE}:215-218 (« Lorsque le créneau transmis est de type CPTS ... serviceType.coding.code : 604 ») ; "
            f"{SLOT_FSH}:21",
            path="serviceType:referencecpts",
            binding=Binding(CATEGORIE_ETABLISSEMENT_SAS.url, "required"),
        ),
        Rule(
            "FHIR-SLOT-CPTS-REFERENCE-EXTENSION",
            "bloquant",
            "Le serviceType CPTS porte l'extension R5 qui référence le HealthcareService",
            f"{SLOT_FSH}:13, 22-23 (extension sas-servicetype-r5 1..1, valueReference HealthcareService) ; "
            f"{PAGE}:219-222",
            path="serviceType:referencecpts.extension:r5",
            min=1,
            max=1,
            message=f"serviceType 604 sans l'extension {R5_SERVICE_TYPE} : le créneau ne désigne aucun HealthcareService.",
        ),
        Rule(
            "FHIR-SLOT-CPTS-REFERENCE-EXTENSION",
            "bloquant",
            "Le serviceType CPTS porte l'extension R5 qui référence le HealthcareService",
            f"{SLOT_FSH}:13, 22-23 (extension sas-servicetype-r5 1..1, valueReference HealthcareService) ; "
            f"{PAGE}:219-222",
            path="serviceType:referencecpts.extension:r5.valueReference",
            targets=("HealthcareService",),
        ),
        APPOINTMENT_REQUIRED,
        *reused(fr_slot_agregateur.PROFILE.rules, SLOT_SHARED | {"FHIR-SLOT-SPECIALTY"}),
    ),
)

SERVICE_FSH = f"{FSH}FrHealthcareServiceAgregateurCPTS.fsh"
SERVICE = Profile(
    url=SERVICE_URL,
    name="FrHealthcareServiceAgregateurCPTS",
    resource_type="HealthcareService",
    fsh=SERVICE_FSH,
    rules=(
        _meta("FHIR-HS-CPTS-META-PROFILE", "FrHealthcareServiceAgregateurCPTS", (SERVICE_URL,), f"{PAGE}:237, 244"),
        Rule("FHIR-HS-CPTS-ID", "bloquant", "Le HealthcareService porte un id", f"{SERVICE_FSH}:6 (id 1..1)", path="id", min=1),
        Rule(
            "FHIR-HS-CPTS-PROVIDEDBY",
            "bloquant",
            "HealthcareService.providedBy référence la CPTS (Organization)",
            f"{SERVICE_FSH}:7-8 (providedBy 1..1, only Reference(FrOrganizationAgregateurCPTS))",
            path="providedBy",
            min=1,
            message="HealthcareService.providedBy absent : la CPTS qui porte le service est obligatoire.",
        ),
        Rule(
            "FHIR-HS-CPTS-PROVIDEDBY",
            "bloquant",
            "HealthcareService.providedBy référence la CPTS (Organization)",
            f"{SERVICE_FSH}:7-8 (providedBy 1..1, only Reference(FrOrganizationAgregateurCPTS))",
            path="providedBy",
            targets=("Organization",),
        ),
    ),
)


def organization_rows() -> tuple[Rule, ...]:
    """Rows the CPTS and SOS Organization tables share (identifier 1..1, IDNST system and type)."""
    source = "CPTS/FrOrganizationAgregateurCPTS.fsh:6-8 ; SOS/FrOrganizationAgregateurSOS.fsh:7-9"
    pages = f"{PAGE}:229-233 ; specifications_techniques-sos-recherche_creneaux.md:262-266"
    types = " or ".join(f"system = '{s}'" for s in IDNST_TYPES)
    return (
        Rule("FHIR-ORG-IDENTIFIER", "bloquant", "L'Organization porte exactement un identifiant", source, path="identifier", min=1, max=1),
        Rule(
            "FHIR-ORG-IDNST-SYSTEM",
            "bloquant",
            f"identifier.system vaut {IDNST_SYSTEM} (identifiant national de structure)",
            source,
            path="identifier.system",
            fixed=IDNST_SYSTEM,
        ),
        Rule(
            "FHIR-ORG-IDNST-SYSTEM-PRESENT",
            "recommande",
            "identifier.system est renseigné",
            f"{pages} (« Les champs attendus doivent être valorisés ») ; exemples de l'IG sans system",
            path="identifier.system",
            min=1,
        ),
        Rule(
            "FHIR-ORG-IDNST-TYPE",
            "bloquant",
            "identifier.type porte le code IDNST",
            f"{source} (fr-v2-0203#IDNST) ; {pages} (fr-location-identifier-type) : les deux systèmes acceptés",
            path="identifier.type",
            invariant=f"coding.where(code = 'IDNST' and ({types})).exists()",
            message="identifier.type doit porter le code IDNST (identifiant national de structure).",
        ),
        Rule(
            "FHIR-ORG-IDNST-TYPE-PRESENT",
            "recommande",
            "identifier.type est renseigné",
            f"{pages} (« Les champs attendus doivent être valorisés ») ; exemples de l'IG sans type",
            path="identifier.type",
            min=1,
        ),
    )


ORG_FSH = f"{FSH}FrOrganizationAgregateurCPTS.fsh"
ORGANIZATION = Profile(
    url=ORGANIZATION_URL,
    name="FrOrganizationAgregateurCPTS",
    resource_type="Organization",
    fsh=ORG_FSH,
    rules=(
        _meta(
            "FHIR-ORG-CPTS-META-PROFILE",
            "FrOrganizationAgregateurCPTS",
            (ORGANIZATION_URL, SOS_ORGANIZATION_URL),
            f"{PAGE}:237, 245 (la page liste sas-sos-organization-aggregator : les deux URL sont acceptées)",
        ),
        *organization_rows(),
        Rule(
            "FHIR-ORG-CPTS-FINESS",
            "bloquant",
            "Le FINESS de la CPTS est 1 suivi de 9 chiffres",
            f"{ORG_FSH}:9, 13-16 (FINESS-invariant ^1[0-9]{{9}}$) ; {PAGE}:229-231",
            path="identifier",
            invariant="value.matches('^1[0-9]{9}$')",
            message="FINESS de la CPTS invalide : « 1 » suivi de 9 chiffres attendu (ex. 1950047225).",
        ),
    ),
)

ALL = (BUNDLE, SLOT, SERVICE, ORGANIZATION)
