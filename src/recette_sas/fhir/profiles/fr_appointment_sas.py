"""FrAppointmentSAS: the appointment an editor sends SAS (INT_R03, POST then conditional PUT).

Sources: ``input/fsh/profiles/FrAppointmentSAS.fsh`` (FSH), the appointments page
``specifications_techniques-tous-gestion_rdv.md`` (RDV page) and ANS's test kit (flux V3 tests). The
parent FrAppointment (hl7.fhir.fr.core) declares the ``appointmentOperator`` extension slice; its URL
is the one the RDV page gives (line 181).

Decisions (``NOTES.md``):

- item 2, ``meta.profile``: the page asks for ``http://sas.fr/.../FrAppointmentSAS``, its snippet shows
  ``http://interopsante.org/.../FrAppointmentSAS``: either one passes, the second gets a recommande
  note;
- item 7, participant status: the value set allows ``needs-action``, the page says "systématiquement
  accepted": a code outside the value set is bloquant, ``needs-action`` recommande; ANS's kit then
  requires ``status = pending`` (bloquant);
- appointment status: the page lists booked, fulfilled, noshow, cancelled; ANS's kit also takes
  pending (with a needs-action participant): those five pass, any other is bloquant;
- the effector's identifier: RPPS (``8`` + 11 digits, what the kit checks) or ADELI (``0`` prefix,
  which the page allows): ADELI gets a recommande note, anything else is bloquant;
- item 8, offsets: an offset that is neither UTC nor Paris's at that date (the IG's September
  example carries ``+01:00``) is recommande: it is a valid instant, maybe not the intended one;
- the kit reads ``extension[0]`` as the operator: an operator extension not first is recommande
  (FHIR gives the order no meaning, the IG says nothing).
"""

from __future__ import annotations

from typing import Any

from recette_sas.fhir.profiles.model import Binding, Profile, Rule, Slice
from recette_sas.fhir.valuesets import FR_V2_0203, PARTICIPANT_STATUS_SAS

URL = "http://sas.fr/fhir/StructureDefinition/FrAppointmentSAS"
ALT_URL = "http://interopsante.org/fhir/StructureDefinition/FrAppointmentSAS"
OPERATOR_URL = "http://interopsante.org/fhir/StructureDefinition/FrAppointmentOperator"
FSH = "input/fsh/profiles/FrAppointmentSAS.fsh"
PAGE = "specifications_techniques-tous-gestion_rdv.md"
KIT = "ANS test kit"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
SAS_SYSTEM = "urn:oid:1.2.250.1.213.3.6"
OPERATOR = "extension:appointmentOperator.valueReference.identifier"
ACTOR = "participant.actor.identifier"
STATUSES = ("booked", "fulfilled", "noshow", "cancelled", "pending")
UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

_OPERATOR_TITLE = "L'identifiant du régulateur (appointmentOperator) est complet : type, system, value"
_OPERATOR_SOURCE = f"{FSH}:14-20 ; {PAGE}:182-191"
_ACTOR_TITLE = "Le PS effecteur est identifié : type IDNPS, system urn:oid:1.2.250.1.71.4.2.1, value"
_ACTOR_SOURCE = f"{FSH}:28-33 ; {PAGE}:198-202"


def _operator(path: str, *, min: int | None = None, max: int | None = None, pattern: Any = None) -> Rule:
    return Rule(
        "FHIR-APPT-OPERATOR-IDENTIFIER",
        "bloquant",
        _OPERATOR_TITLE,
        _OPERATOR_SOURCE,
        path=path,
        min=min,
        max=max,
        pattern=pattern,
    )


def _actor(path: str, *, min: int | None = None, max: int | None = None, pattern: Any = None) -> Rule:
    return Rule(
        "FHIR-APPT-PARTICIPANT-IDENTIFIER",
        "bloquant",
        _ACTOR_TITLE,
        _ACTOR_SOURCE,
        path=path,
        min=min,
        max=max,
        pattern=pattern,
    )


PROFILE = Profile(
    url=URL,
    name="FrAppointmentSAS",
    resource_type="Appointment",
    fsh=FSH,
    alt_urls=(ALT_URL,),
    slices={"extension:appointmentOperator": Slice("extension", "url", OPERATOR_URL)},
    rules=(
        Rule(
            "FHIR-APPT-META-PROFILE",
            "bloquant",
            "L'Appointment déclare le profil FrAppointmentSAS dans meta.profile",
            f"{PAGE}:206-209 « il est nécessaire de renseigner ... le meta.profile »",
            invariant=f"('{URL}' in meta.profile) or ('{ALT_URL}' in meta.profile)",
            at="meta.profile",
            message=f"meta.profile doit contenir {URL}.",
        ),
        Rule(
            "FHIR-APPT-META-PROFILE-URL",
            "recommande",
            "meta.profile emploie l'URL que demande la page (sas.fr) plutôt que celle de son extrait (interopsante.org)",
            f"{PAGE}:209 et 218 (NOTES.md point 2)",
            invariant=f"('{URL}' in meta.profile) or ('{ALT_URL}' in meta.profile).not()",
            at="meta.profile",
            message=f"meta.profile porte {ALT_URL} (extrait de la page) : la page demande {URL}.",
        ),
        Rule(
            "FHIR-APPT-OPERATOR",
            "bloquant",
            "L'extension appointmentOperator (régulateur ayant pris le RDV) est présente",
            f"{FSH}:10 (extension[appointmentOperator] 1..) ; {PAGE}:180-181 (URL fixe) ; {KIT} (V3ValidateURL)",
            path="extension:appointmentOperator",
            min=1,
            message=f"Extension appointmentOperator absente (url {OPERATOR_URL}) : le régulateur ayant pris le RDV doit être transmis.",
        ),
        Rule(
            "FHIR-APPT-OPERATOR-FIRST",
            "recommande",
            "appointmentOperator est la première extension",
            f"{KIT} (V3ValidateURL lit extension[0].url) ; l'ordre des extensions n'a pas de sens en FHIR",
            when=f"extension.where(url = '{OPERATOR_URL}').exists()",
            invariant=f"extension.first().url = '{OPERATOR_URL}'",
            at="extension[0]",
            message="L'extension appointmentOperator n'est pas la première : le kit ANS ne lit que extension[0].",
        ),
        Rule(
            "FHIR-APPT-OPERATOR-REFERENCE",
            "bloquant",
            "appointmentOperator porte une valueReference",
            f"{FSH}:11-13 (value[x] 1.., only Reference)",
            path="extension:appointmentOperator.valueReference",
            min=1,
        ),
        _operator(OPERATOR, min=1),
        _operator(f"{OPERATOR}.type", min=1),
        _operator(f"{OPERATOR}.type.coding", min=1, max=1),
        _operator(f"{OPERATOR}.type.coding.system", pattern=FR_V2_0203),
        _operator(f"{OPERATOR}.type.coding.code", min=1),
        _operator(f"{OPERATOR}.system", min=1),
        _operator(f"{OPERATOR}.value", min=1),
        Rule(
            "FHIR-APPT-OPERATOR-KIND",
            "bloquant",
            "Régulateur : IDNPS avec urn:oid:1.2.250.1.71.4.2.1, ou INTRN avec urn:oid:1.2.250.1.213.3.6",
            f"{PAGE}:183-191 (deux combinaisons possibles) ; {KIT} (V3ValidateCode)",
            path=OPERATOR,
            invariant=(
                "type.coding.code.empty() or system.empty() or "
                f"(type.coding.code = 'IDNPS' and system = '{RPPS_SYSTEM}') or "
                f"(type.coding.code = 'INTRN' and system = '{SAS_SYSTEM}')"
            ),
            message=f"Identifiant du régulateur incohérent : IDNPS avec {RPPS_SYSTEM}, ou INTRN avec {SAS_SYSTEM}.",
        ),
        Rule(
            "FHIR-APPT-OPERATOR-UUID",
            "recommande",
            "Un identifiant technique SAS de régulateur est un UUID",
            f"{PAGE}:188-189 « Identifiant technique SAS avec un format de type UUID »",
            path=f"{OPERATOR}.value",
            when=f"extension.where(url = '{OPERATOR_URL}').valueReference.identifier.system = '{SAS_SYSTEM}'",
            invariant=f"matches('{UUID}')",
        ),
        Rule(
            "FHIR-APPT-IDENTIFIER",
            "bloquant",
            "Le RDV porte un identifiant technique unique (system et value)",
            f"{FSH}:22-24 (identifier 1..1, system 1.., value 1..) ; {PAGE}:176-179",
            path="identifier",
            min=1,
            max=1,
        ),
        Rule(
            "FHIR-APPT-IDENTIFIER",
            "bloquant",
            "Le RDV porte un identifiant technique unique (system et value)",
            f"{FSH}:22-24 (identifier 1..1, system 1.., value 1..) ; {PAGE}:176-179",
            path="identifier.system",
            min=1,
        ),
        Rule(
            "FHIR-APPT-IDENTIFIER",
            "bloquant",
            "Le RDV porte un identifiant technique unique (system et value)",
            f"{FSH}:22-24 (identifier 1..1, system 1.., value 1..) ; {PAGE}:176-179",
            path="identifier.value",
            min=1,
        ),
        Rule(
            "FHIR-APPT-PERIOD",
            "bloquant",
            "Le RDV porte start et end",
            f"{FSH}:25-26 (start 1.., end 1..)",
            path="start",
            min=1,
        ),
        Rule(
            "FHIR-APPT-PERIOD",
            "bloquant",
            "Le RDV porte start et end",
            f"{FSH}:25-26 (start 1.., end 1..)",
            path="end",
            min=1,
        ),
        Rule(
            "FHIR-APPT-START-END",
            "bloquant",
            "Appointment.start est strictement antérieur à Appointment.end",
            "FHIR R4 Appointment (start : « When appointment is to take place », end : « When appointment is to conclude »)",
            check="start_before_end",
        ),
        Rule(
            "FHIR-APPT-CREATED",
            "recommande",
            "created (date de prise du RDV) est transmis",
            f"{FSH}:27 (created MS) ; specifications_fonctionnelles.md:289",
            path="created",
            min=1,
        ),
        Rule(
            "FHIR-APPT-STATUS",
            "bloquant",
            "status : booked, fulfilled, noshow, cancelled (ou pending)",
            f"{PAGE}:192-197 ; {KIT} (V3ValidateStatus : pending, booked, fulfilled, cancelled, noshow)",
            path="status",
            invariant=" or ".join(f"%value = '{s}'" for s in STATUSES),
            message="Statut de RDV non exploité par SAS : booked, fulfilled, noshow ou cancelled (pending en attente).",
        ),
        Rule(
            "FHIR-APPT-PARTICIPANT-PS",
            "bloquant",
            "Un participant identifie le PS effecteur de soins",
            f"{PAGE}:198-202 ; {KIT} (V3ValidateRPPS lit participant[0].actor.identifier)",
            invariant="participant.actor.identifier.exists()",
            at="participant",
            message="Aucun participant n'identifie le PS effecteur (participant.actor.identifier).",
        ),
        _actor(f"{ACTOR}.type", min=1),
        _actor(f"{ACTOR}.type.coding", min=1, max=1),
        _actor(f"{ACTOR}.type.coding", pattern={"system": FR_V2_0203, "code": "IDNPS"}),
        _actor(f"{ACTOR}.system", min=1, pattern=RPPS_SYSTEM),
        _actor(f"{ACTOR}.value", min=1),
        Rule(
            "FHIR-APPT-PARTICIPANT-RPPS",
            "bloquant",
            "Le PS effecteur est identifié par un RPPS (8 + 11 chiffres) ou un ADELI (0 + 9)",
            f"{PAGE}:200 « RPPS avec préfixe 8 ou ADELI avec préfixe 0 » ; {KIT} (V3ValidateRPPS)",
            path=f"{ACTOR}.value",
            invariant="matches('^8[0-9]{11}$') or matches('^0[0-9A-Z]{9}$')",
            message="Identifiant du PS effecteur mal formé : attendu un RPPS préfixé « 8 » + 11 chiffres.",
        ),
        Rule(
            "FHIR-APPT-PARTICIPANT-ADELI",
            "recommande",
            "PS effecteur en ADELI : admis par l'IG, refusé par le kit ANS",
            f"{PAGE}:200 ; {KIT} (V3ValidateRPPS n'accepte que 8 + 11 chiffres)",
            path=f"{ACTOR}.value",
            invariant="matches('^0[0-9A-Z]{9}$').not()",
            message="PS effecteur identifié par un ADELI : l'IG l'admet, le kit ANS n'accepte qu'un RPPS.",
        ),
        Rule(
            "FHIR-APPT-PARTICIPANT-STATUS",
            "bloquant",
            "participant.status : accepted ou needs-action",
            f"{FSH}:34 (binding required ParticipantStatusSAS) ; valuesets/ParticipantStatusSASSOS.fsh:5-6",
            path="participant.status",
            binding=Binding(PARTICIPANT_STATUS_SAS.url, "required"),
        ),
        Rule(
            "FHIR-APPT-PARTICIPANT-ACCEPTED",
            "recommande",
            "participant.status vaut accepted (acceptation tacite du PS)",
            f"{PAGE}:203-204 « ce champ aura systématiquement la valeur accepted » (NOTES.md point 7)",
            path="participant.status",
            invariant="%value = 'accepted' or (%value = 'needs-action').not()",
            message="participant.status « needs-action » : la page dit que SAS ne reçoit que des RDV acceptés.",
        ),
        Rule(
            "FHIR-APPT-PENDING",
            "bloquant",
            "Un participant needs-action impose status = pending",
            f"{KIT} (V3ValidateStatus : « le status du rendez-vous doit être 'pending' »)",
            invariant="participant.where(status = 'needs-action').exists() implies status = 'pending'",
            at="status",
            message="Un participant est « needs-action » : Appointment.status doit alors valoir « pending ».",
        ),
        Rule(
            "FHIR-APPT-DATE-OFFSET",
            "recommande",
            "Le décalage des dates est celui de l'UTC ou de Paris à cette date",
            "NOTES.md point 8 (exemple de septembre en +01:00) ; au-delà de l'IG",
            check="offset_utc_or_paris",
        ),
    ),
)
