"""FrSlotAgregateur: one free slot of a practitioner, as the aggregator returns it.

Sources: ``input/fsh/profiles/FrSlotAgregateur.fsh`` (FSH), the PS slot search page (PS page), the
FAQ page (``faq.md``) and ANS's test kit. The parent FrSlot (hl7.fhir.fr.core) is not available:
what it adds is taken from what the IG pages say (the TRE-R38 specialties).

Decisions (``NOTES.md``):

- item 5 / item 10, booking URL: the kit requires a non-blank ``comment`` on every Slot; the IG's
  own walk-in example (``appointmentType`` WALKIN, "Créneau sans prise de RDV possible") has none.
  A slot that cannot be booked needs no booking URL by the IG's own reading, so the rule is split:
  bloquant for every Slot that is not WALKIN, recommande for WALKIN slots (the kit would still
  flag them, the message says so);
- item 10, dates: milliseconds and an offset on ``start``/``end`` is a kit rule (R4 ``instant``
  already requires the offset); a ``Z`` instead of ``+00:00`` is accepted with a recommande note,
  since the kit's examples always write the numeric offset;
- ``serviceType``: the FSH binds the TypeConsultation slice to ActEncounterCode (required); the PS
  page says the platform handles AMB, HH and VR only and ANS's kit fails any other code: the SAS
  subset is bloquant;
- ``appointmentType``: preferred binding in the FSH, but the kit fails any code other than ROUTINE
  or WALKIN: the code is bloquant, the system (v2-0276) recommande;
- ``specialty``: the FSH makes the parent's TRE-R38 binding required, the PS page says SAS also
  takes other codings and free text: recommande (the IG contradicts itself; read in the editor's
  favour);
- ``meta.security`` / coded ``serviceType``: the FAQ asks for "l'ensemble des types" of the slot;
  the profile's cardinality is 0..*: absence is recommande, a code outside the value set bloquant.
"""

from __future__ import annotations

from recette_sas.fhir.profiles.model import Binding, Profile, Rule, Slice
from recette_sas.fhir.valuesets import (
    APPOINTMENT_REASON_SAS,
    TRE_R38,
    TYPE_CONSULTATION_SAS,
    TYPE_CRENEAU_SAS,
    V3_ACT_CODE,
)

URL = "http://sas.fr/fhir/StructureDefinition/FrSlotAgregateur"
FSH = "input/fsh/profiles/FrSlotAgregateur.fsh"
PAGE = "specifications_techniques-ps-recherche_creneaux.md"
KIT = "ANS test kit"
WALKIN = "appointmentType.coding.where(code = 'WALKIN').exists()"
BLANK = "'^[ \\t\\r\\n]*$'"
"""FHIRPath string literal of a regex matching an empty or blank string."""
INSTANT_MS_OFFSET = (
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}([+-][0-9]{2}:[0-9]{2}|Z)$"
)
DATE_FORMAT_TITLE = "start et end portent les millisecondes et un décalage horaire"
DATE_FORMAT_SOURCE = f"{KIT} (format des dates des créneaux) ; NOTES.md point 10"
DATE_Z_TITLE = "start et end écrivent le décalage en chiffres (+00:00 plutôt que Z)"
DATE_Z_SOURCE = f"{KIT} (requêtes du kit en +00:00) ; exemples de l'IG (+00:00, +02:00)"

PROFILE = Profile(
    url=URL,
    name="FrSlotAgregateur",
    resource_type="Slot",
    fsh=FSH,
    slices={"serviceType:TypeConsultation": Slice("serviceType", "coding.system", V3_ACT_CODE)},
    rules=(
        Rule(
            "FHIR-SLOT-META-PROFILE",
            "bloquant",
            "Le Slot déclare le profil FrSlotAgregateur dans meta.profile",
            f"{PAGE}:249-255 ; {KIT} (sélectionne les Slot par meta.profile)",
            invariant=f"'{URL}' in meta.profile",
            at="meta.profile",
            message=f"meta.profile doit contenir {URL} : le kit ANS ne retrouve les créneaux que par ce profil.",
        ),
        Rule(
            "FHIR-SLOT-STATUS",
            "bloquant",
            "Slot.status vaut exactement free",
            f"{FSH}:23 (status = #free (exactly)) ; {PAGE}:227 ; {KIT}",
            path="status",
            fixed="free",
            message="Slot.status doit valoir « free » : SAS ne récupère que des créneaux disponibles.",
        ),
        Rule(
            "FHIR-SLOT-SCHEDULE-TYPE",
            "bloquant",
            "Slot.schedule référence un Schedule",
            f"{FSH}:20 (schedule only Reference(FrScheduleAgregateur))",
            path="schedule",
            targets=("Schedule",),
        ),
        Rule(
            "FHIR-SLOT-SECURITY",
            "bloquant",
            "meta.security : codes du jeu de valeurs des types de créneau (PUBLIC, PRO, SNP, CPTS)",
            f"{FSH}:7 (binding required JDV_J165-TypeCreneau-SAS) ; {PAGE}:231-234",
            path="meta.security",
            binding=Binding(TYPE_CRENEAU_SAS.url, "required"),
        ),
        Rule(
            "FHIR-SLOT-SECURITY-PRESENT",
            "recommande",
            "Le type du créneau est transmis dans meta.security",
            "faq.md:193-224 (principales erreurs, point 4 : « L'ensemble des types associés aux créneaux doivent "
            "être transmis ») ; cardinalité 0..* dans le profil",
            path="meta.security",
            min=1,
            message="Aucun type de créneau (PUBLIC, PRO, SNP) dans meta.security : SAS ne sait pas à qui le montrer.",
        ),
        Rule(
            "FHIR-SLOT-SERVICETYPE",
            "bloquant",
            "serviceType codé en v3-ActCode : AMB, HH ou VR",
            f"{FSH}:13-14 (slice TypeConsultation, binding required) ; {PAGE}:236-239 ; "
            f"valuesets/TypeConsultationSAS.fsh:5-7 ; {KIT} (types de consultation)",
            path="serviceType:TypeConsultation",
            binding=Binding(TYPE_CONSULTATION_SAS.url, "required"),
        ),
        Rule(
            "FHIR-SLOT-SERVICETYPE-PRESENT",
            "recommande",
            "Le type de consultation est transmis sous forme codée dans serviceType",
            "faq.md:228-263 (principales erreurs, point 5) ; cardinalité 0..* dans le profil",
            path="serviceType:TypeConsultation",
            min=1,
            message="Aucun type de consultation codé (AMB, HH, VR) dans serviceType.",
        ),
        Rule(
            "FHIR-SLOT-APPOINTMENTTYPE",
            "bloquant",
            "appointmentType : code ROUTINE ou WALKIN",
            f"{KIT} (ValidateAppointmentType) ; {PAGE}:242-245",
            path="appointmentType.coding",
            invariant="code = 'ROUTINE' or code = 'WALKIN'",
            message="appointmentType doit porter le code ROUTINE (avec RDV) ou WALKIN (sans RDV).",
        ),
        Rule(
            "FHIR-SLOT-APPOINTMENTTYPE-SYSTEM",
            "recommande",
            "appointmentType est codé dans v2-0276 (AppointmentReasonSAS)",
            f"{FSH}:18 (binding preferred) ; {PAGE}:242-245 ; valuesets/AppointmentReasonSAS.fsh:5-6",
            path="appointmentType",
            binding=Binding(APPOINTMENT_REASON_SAS.url, "preferred"),
        ),
        Rule(
            "FHIR-SLOT-APPOINTMENTTYPE-PRESENT",
            "recommande",
            "appointmentType dit si le créneau se prend avec ou sans RDV",
            f"{PAGE}:242-245 « L'utilisation de la nomenclature standard AppointmentReasonCodes ... est attendue »",
            path="appointmentType",
            min=1,
            message="appointmentType absent : SAS ne sait pas si le créneau se prend avec ou sans RDV.",
        ),
        Rule(
            "FHIR-SLOT-SPECIALTY",
            "recommande",
            "specialty codée dans TRE-R38 (spécialités ordinales)",
            f"{FSH}:15 (binding required hérité de FrSlot) ; {PAGE}:229 (SAS accepte d'autres codes ou du texte)",
            path="specialty.coding",
            invariant=f"system = '{TRE_R38}'",
            message="Spécialité codée hors TRE-R38 : SAS la traite, mais le profil lie specialty à TRE-R38.",
        ),
        Rule(
            "FHIR-SLOT-START-END",
            "bloquant",
            "Slot.start est strictement antérieur à Slot.end",
            f"{KIT} (ValidateDates « start < end ») ; NOTES.md point 10",
            check="start_before_end",
        ),
        Rule(
            "FHIR-SLOT-DATE-FORMAT",
            "bloquant",
            DATE_FORMAT_TITLE,
            DATE_FORMAT_SOURCE,
            path="start",
            invariant=f"matches('{INSTANT_MS_OFFSET}')",
            message="Slot.start doit s'écrire avec millisecondes et décalage (ex. 2021-11-05T09:00:00.000+01:00).",
        ),
        Rule(
            "FHIR-SLOT-DATE-FORMAT",
            "bloquant",
            DATE_FORMAT_TITLE,
            DATE_FORMAT_SOURCE,
            path="end",
            invariant=f"matches('{INSTANT_MS_OFFSET}')",
            message="Slot.end doit s'écrire avec millisecondes et décalage (ex. 2021-11-05T09:00:00.000+01:00).",
        ),
        Rule(
            "FHIR-SLOT-DATE-OFFSET-Z",
            "recommande",
            DATE_Z_TITLE,
            DATE_Z_SOURCE,
            path="start",
            invariant="matches('Z$').not()",
            message="Slot.start en « Z » : préférer le décalage numérique (+00:00) qu'emploient le kit ANS et l'IG.",
        ),
        Rule(
            "FHIR-SLOT-DATE-OFFSET-Z",
            "recommande",
            DATE_Z_TITLE,
            DATE_Z_SOURCE,
            path="end",
            invariant="matches('Z$').not()",
            message="Slot.end en « Z » : préférer le décalage numérique (+00:00) qu'emploient le kit ANS et l'IG.",
        ),
        Rule(
            "FHIR-SLOT-WINDOW",
            "bloquant",
            "Slot.start est dans la fenêtre demandée (start=ge… et start=le…)",
            f"{PAGE}:113-127 (critères start ge / le) ; {KIT} (borne de fin de recherche)",
            check="start_in_window",
        ),
        Rule(
            "FHIR-SLOT-PAST",
            "bloquant",
            "Aucun créneau ne commence dans le passé",
            f"{KIT} (« Il ne doit pas y avoir de créneaux avec une date de début antérieure à la date courante ») ; "
            "NOTES.md point 10",
            check="start_not_past",
        ),
        Rule(
            "FHIR-SLOT-BOOKING-URL",
            "bloquant",
            "Un créneau avec RDV porte l'URL de prise de RDV dans comment",
            f"{FSH}:30-31 (comment = URL de prise de RDV) ; {PAGE}:240-241 ; faq.md:19-21 ; {KIT} (SlotHasUrl)",
            path="comment",
            when=f"{WALKIN}.not()",
            min=1,
            invariant=f"matches({BLANK}).not()",
            message="Slot.comment doit porter l'URL de prise de RDV (vers l'agenda du PS) ; elle est absente ou vide.",
        ),
        Rule(
            "FHIR-SLOT-BOOKING-URL-WALKIN",
            "recommande",
            "Un créneau sans RDV (WALKIN) porte aussi une URL dans comment",
            f"{KIT} (SlotHasUrl, sur tous les créneaux) ; exemple WALKIN de l'IG sans URL (NOTES.md point 5)",
            path="comment",
            when=WALKIN,
            min=1,
            invariant=f"matches({BLANK}).not()",
            message=(
                "Créneau WALKIN sans URL dans comment : l'IG ne l'exige pas (son exemple n'en a pas), "
                "mais le kit ANS le signale sur tout créneau."
            ),
        ),
        Rule(
            "FHIR-SLOT-BOOKING-URL-FORMAT",
            "recommande",
            "Slot.comment est une URL absolue http(s)",
            f"{FSH}:30-31 (« URL permettant d'accéder à la prise de RDV ») ; faq.md:19-21",
            path="comment",
            invariant=f"matches({BLANK}) or matches('^https?://[^ ]+$')",
            message="Slot.comment ne ressemble pas à une URL http(s) absolue.",
        ),
    ),
)
