"""Base FHIR R4 structure: is the JSON a well-formed R4 resource at all, before any SAS profile?

Library choice: ``fhir.resources`` 8.x (pydantic 2 models generated from the FHIR specification),
its ``R4B`` sub-package, imported lazily inside the functions below.

Evaluated against the alternatives (measured on this machine, a 100-slot Bundle):

- ``fhir.resources`` 6.4.0 is the last release whose default package is R4 4.0.1; it needs pydantic 1
  (< 2), which the whole environment would then be pinned to, and it stops at the first error of a
  resource (a missing ``status`` hides a bad ``start``). 6.5.0 already defaults to R4B; 7.x and 8.x
  default to R5 with ``R4B`` (4.3.0) and ``STU3`` sub-packages, and no R4 any more.
- HL7's R4 JSON schema (``fhir.schema.json``) with ``jsonschema``: no maintained PyPI package ships it
  (``fhir-jsonschema`` 0.0.1 is an empty placeholder) and nothing may be downloaded at run time. It
  would also be slow on a Bundle (every ``entry.resource`` is a ``oneOf`` over ~145 resource types)
  and its errors for a ``oneOf`` are unreadable in a French finding.
- ``fhir.resources`` 8.x ``R4B``: pydantic 2 (maintained, reports every error of a resource with its
  location, ~10 ms for a 100-slot Bundle, ~100 ms to import), 38 MB installed with pydantic-core.
  R4B differs from R4 in resources SAS does not use (medication definitions, evidence, subscriptions);
  for the seven SAS resource types and their data types, the field sets were compared with 6.4.0's
  R4 models: identical except three ``Extension.value[x]`` choices. This module covers that delta:
  ``valueMeta`` (R4 only) is accepted, ``valueCodeableReference`` and ``valueRatioRange`` (R4B only)
  are refused, the resource types R4B dropped are reported as not checked and those R4B added as not
  R4. That is the choice.

What the models do not check and this module adds: JSON types the pydantic lax mode would coerce
(``"total": "4"``, ``"active": "true"``), ``null``, empty arrays and empty objects (forbidden by FHIR
JSON, and by the IG's FAQ point 10), codes outside the R4 required value sets the models carry as
``enum_values`` (``Slot.status``, ``Appointment.status``…), and resource types unknown to R4 (which make
the models raise a ``KeyError`` instead of an error). Invariants (``bdl-7``, ``app-3``…) are not
checked by the models; the profile tables carry the ones SAS needs as FHIRPath rows.

Every problem comes back as a ``StructureIssue`` (a path and a French message), never as an
exception: an editor's malformed answer is a finding, not a traceback.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

IssueKind = Literal["resourcetype", "structure", "code", "unchecked"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


R4_RESOURCE_TYPES = _words(
    """
    Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse AuditEvent
    Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement CarePlan CareTeam
    CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse ClinicalImpression CodeSystem
    Communication CommunicationRequest CompartmentDefinition Composition ConceptMap Condition Consent
    Contract Coverage CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device
    DeviceDefinition DeviceMetric DeviceRequest DeviceUseStatement DiagnosticReport DocumentManifest
    DocumentReference EffectEvidenceSynthesis Encounter Endpoint EnrollmentRequest EnrollmentResponse
    EpisodeOfCare EventDefinition Evidence EvidenceVariable ExampleScenario ExplanationOfBenefit
    FamilyMemberHistory Flag Goal GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy
    Immunization ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan
    Invoice Library Linkage List Location Measure MeasureReport Media Medication MedicationAdministration
    MedicationDispense MedicationKnowledge MedicationRequest MedicationStatement MedicinalProduct
    MedicinalProductAuthorization MedicinalProductContraindication MedicinalProductIndication
    MedicinalProductIngredient MedicinalProductInteraction MedicinalProductManufactured
    MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect
    MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder Observation
    ObservationDefinition OperationDefinition OperationOutcome Organization OrganizationAffiliation
    Parameters Patient PaymentNotice PaymentReconciliation Person PlanDefinition Practitioner
    PractitionerRole Procedure Provenance Questionnaire QuestionnaireResponse RelatedPerson RequestGroup
    ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment
    RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen SpecimenDefinition
    StructureDefinition StructureMap Subscription Substance SubstanceNucleicAcid SubstancePolymer
    SubstanceProtein SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification
    SupplyDelivery SupplyRequest Task TerminologyCapabilities TestReport TestScript ValueSet
    VerificationResult VisionPrescription
    """
)
"""The 145 resource types of FHIR R4 4.0.1 (the module list of fhir.resources 6.4.0, the R4 release)."""

R4_WITHOUT_R4B_MODEL = _words(
    """
    EffectEvidenceSynthesis MedicinalProduct MedicinalProductAuthorization MedicinalProductContraindication
    MedicinalProductIndication MedicinalProductIngredient MedicinalProductInteraction
    MedicinalProductManufactured MedicinalProductPackaged MedicinalProductPharmaceutical
    MedicinalProductUndesirableEffect RiskEvidenceSynthesis SubstanceNucleicAcid SubstancePolymer
    SubstanceProtein SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification
    """
)
"""R4 resource types R4B dropped: their structure cannot be checked with the R4B models."""

R4B_ONLY_EXTENSION_VALUES = frozenset({"valueCodeableReference", "valueRatioRange"})
R4_ONLY_EXTENSION_VALUES = frozenset({"valueMeta"})

_INTEGERS = frozenset({"integer", "unsignedInt", "positiveInt", "integer64"})
_PRIMITIVE_NAMES = {
    "Id": "id",
    "Uri": "uri",
    "Url": "url",
    "Code": "code",
    "Instant": "instant",
    "UnsignedInt": "unsignedInt",
    "PositiveInt": "positiveInt",
    "Integer": "integer",
    "Integer64": "integer64",
    "String": "string",
    "DateTime": "dateTime",
    "Date": "date",
    "Time": "time",
    "Decimal": "decimal",
    "Markdown": "markdown",
    "Canonical": "canonical",
    "Oid": "oid",
    "Uuid": "uuid",
    "UuidVersion": "uuid",
    "Base64Binary": "base64Binary",
    "Xhtml": "xhtml",
}


@dataclass(frozen=True)
class StructureIssue:
    path: str
    """Relative to the resource, FHIRPath-like with indexes (``contained[0].address.line``); ``""`` = the resource."""
    kind: IssueKind
    message: str


@dataclass(frozen=True)
class ElementType:
    """What the R4 (R4B) model says of one element: its FHIR type, whether it repeats, its codes."""

    fhir_type: str
    is_list: bool
    enum_values: tuple[str, ...] = ()
    required: bool = False
    """Minimum cardinality 1 in R4."""

    @property
    def is_primitive(self) -> bool:
        return self.fhir_type[:1].islower()


def join(prefix: str, parts: tuple[str | int, ...] | list[str | int]) -> str:
    """``join("Slot", ("meta", "security", 0, "code"))`` -> ``Slot.meta.security[0].code``."""
    out = prefix
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else part
    return out


@functools.cache
def _model_class(fhir_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(fhir_type)


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _element_type(annotation: Any) -> tuple[str, bool] | None:
    annotation = _unwrap_optional(annotation)
    is_list = typing.get_origin(annotation) is list
    if is_list:
        annotation = _unwrap_optional(typing.get_args(annotation)[0])
    if annotation is bool:
        return "boolean", is_list
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in getattr(annotation, "__metadata__", ()):
            name = type(meta).__name__
            if name in _PRIMITIVE_NAMES:
                return _PRIMITIVE_NAMES[name], is_list
        return "string", is_list
    name = getattr(annotation, "__name__", "")
    if name.endswith("Type") and name != "Type":
        return name[: -len("Type")], is_list
    return None


@functools.cache
def fields(fhir_type: str) -> dict[str, ElementType]:
    """JSON name -> element type, for a complex type or resource (``"Slot"``, ``"Identifier"``)."""
    try:
        cls = _model_class(fhir_type)
    except (KeyError, LookupError, AttributeError):
        return {}
    out: dict[str, ElementType] = {}
    for name, info in cls.model_fields.items():
        alias = info.alias or name
        if alias == "fhir_comments" or alias.startswith("_") or alias == "resource_type":
            continue
        described = _element_type(info.annotation)
        if described is None:
            continue
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        enum = extra.get("enum_values") or ()
        required = bool(extra.get("element_required")) or _unwrap_optional(info.annotation) is info.annotation
        out[alias] = ElementType(described[0], described[1], tuple(str(v) for v in enum), required)
    return out


def element_type(fhir_type: str, name: str) -> ElementType | None:
    return fields(fhir_type).get(name)


class _Walker:
    """Checks what the models let through, and lists what must be taken out before validating."""

    def __init__(self) -> None:
        self.issues: list[StructureIssue] = []
        self.removals: list[tuple[str | int, ...]] = []

    def issue(self, parts: tuple[str | int, ...], kind: IssueKind, message: str) -> None:
        self.issues.append(StructureIssue(join("", parts), kind, message))

    def resource(self, node: dict[str, Any], parts: tuple[str | int, ...]) -> None:
        self.complex(node, str(node["resourceType"]), parts)

    def complex(self, node: dict[str, Any], fhir_type: str, parts: tuple[str | int, ...]) -> None:
        known = fields(fhir_type)
        for key, value in node.items():
            if key == "resourceType" or key.startswith("_") or key == "fhir_comments":
                continue
            here = (*parts, key)
            if fhir_type == "Extension" and key in R4B_ONLY_EXTENSION_VALUES:
                self.issue(
                    here, "structure", f"« {key} » n'existe pas en FHIR R4 (type de valeur d'extension R4B)."
                )
                self.removals.append(here)
                continue
            if fhir_type == "Extension" and key in R4_ONLY_EXTENSION_VALUES:
                self.removals.append(here)  # valid R4, unknown to the R4B model: not checked further
                continue
            info = known.get(key)
            if info is None:
                continue  # unknown element: the model reports it (extra_forbidden)
            if value is None:
                self.issue(here, "structure", "Valeur null interdite en JSON FHIR : omettre l'élément vide.")
                continue
            if info.is_list:
                if not isinstance(value, list):
                    continue  # the model reports it
                if not value:
                    self.issue(
                        here, "structure", "Tableau vide interdit en JSON FHIR : omettre l'élément vide."
                    )
                    continue
                for i, item in enumerate(value):
                    self.value(item, info, (*here, i))
            else:
                self.value(value, info, here)

    def value(self, value: Any, info: ElementType, parts: tuple[str | int, ...]) -> None:
        if value is None:
            self.issue(parts, "structure", "Valeur null interdite en JSON FHIR : omettre l'élément vide.")
            return
        if info.fhir_type == "Resource":
            self.inline_resource(value, parts)
            return
        if info.is_primitive:
            self.primitive(value, info, parts)
            return
        if isinstance(value, dict):
            if not value:
                self.issue(parts, "structure", "Objet vide interdit en JSON FHIR : omettre l'élément vide.")
                return
            self.complex(value, info.fhir_type, parts)

    def inline_resource(self, value: Any, parts: tuple[str | int, ...]) -> None:
        if not isinstance(value, dict):
            return  # the model reports it
        rt = value.get("resourceType")
        if not isinstance(rt, str) or rt not in R4_RESOURCE_TYPES:
            self.issue((*parts, "resourceType"), "resourcetype", _resource_type_message(rt))
            self.removals.append(parts)
        elif rt in R4_WITHOUT_R4B_MODEL:
            self.issue(
                parts,
                "unchecked",
                f"Structure de la ressource R4 {rt} non vérifiée (absente des modèles R4B).",
            )
            self.removals.append(parts)
        else:
            self.resource(value, parts)

    def primitive(self, value: Any, info: ElementType, parts: tuple[str | int, ...]) -> None:
        t = info.fhir_type
        if t == "boolean":
            ok = isinstance(value, bool)
            expected = "un booléen JSON (true ou false) est attendu"
        elif t in _INTEGERS:
            ok = isinstance(value, int) and not isinstance(value, bool)
            expected = "un nombre entier JSON est attendu"
        elif t == "decimal":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            expected = "un nombre JSON est attendu"
        else:
            ok = isinstance(value, str)
            expected = "une chaîne JSON est attendue"
        if not ok:
            self.issue(
                parts,
                "structure",
                f"Type JSON incorrect pour un {t} FHIR : {expected}, reçu {json.dumps(value)[:40]}.",
            )
            return
        if info.enum_values and isinstance(value, str) and value not in info.enum_values:
            codes = ", ".join(info.enum_values)
            self.issue(
                parts, "code", f"Code « {value} » hors du jeu de valeurs R4 (binding required) : {codes}."
            )


def _resource_type_message(rt: object) -> str:
    if rt is None:
        return "resourceType absent : impossible de savoir de quelle ressource FHIR il s'agit."
    return f"resourceType « {rt} » inconnu en FHIR R4."


_MESSAGES = {
    "missing": "Élément obligatoire absent (cardinalité minimale 1 en FHIR R4).",
    "model_field_validation.missing": "Élément obligatoire absent (cardinalité minimale 1 en FHIR R4).",
    "extra_forbidden": "Élément inconnu en FHIR R4 pour cette ressource ou ce type (nom mal orthographié ?).",
    "string_type": "Une chaîne de caractères JSON est attendue.",
    "list_type": "Un tableau JSON est attendu (élément répétable).",
    "dict_type": "Un objet JSON est attendu.",
    "model_type": "Un objet JSON est attendu.",
    "model_attributes_type": "Un objet JSON est attendu.",
    "json_invalid": "Un objet JSON est attendu.",
    "model_validation_format": "Un objet JSON est attendu pour cet élément.",
    "bool_type": "Un booléen JSON (true ou false) est attendu.",
    "bool_parsing": "Un booléen JSON (true ou false) est attendu.",
    "int_type": "Un nombre entier JSON est attendu.",
    "int_parsing": "Un nombre entier JSON est attendu.",
    "int_from_float": "Un nombre entier JSON est attendu.",
    "decimal_parsing": "Un nombre JSON est attendu.",
    "decimal_type": "Un nombre JSON est attendu.",
    "greater_than_equal": "Valeur trop petite pour ce type FHIR.",
    "less_than_equal": "Valeur trop grande pour ce type FHIR.",
    "string_too_short": "Chaîne vide interdite en JSON FHIR.",
}
_VALUE_ERRORS = {
    "Instant": "Instant FHIR invalide : date, heure (secondes comprises) et décalage horaire obligatoires "
    "(ex. 2021-11-05T09:00:00.000+01:00).",
    "DateTime": "dateTime FHIR invalide (AAAA, AAAA-MM, AAAA-MM-JJ ou date et heure avec décalage).",
    "Date": "date FHIR invalide (AAAA, AAAA-MM ou AAAA-MM-JJ).",
    "Time": "time FHIR invalide (hh:mm:ss).",
}


def _french(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    message = str(error.get("msg", ""))
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern", "")
        if pattern == "[ \r\n\t\\S]+":
            return "Chaîne vide ou blanche interdite en JSON FHIR : omettre l'élément vide."
        return f"Valeur non conforme au format du type FHIR R4 (motif {pattern})."
    if kind == "value_error" or kind.startswith(("datetime", "date", "time")):
        for prefix, text in _VALUE_ERRORS.items():
            if prefix + " value" in message or kind.startswith(prefix.lower()):
                return text
    return f"Structure FHIR R4 invalide ({kind}) : {message}"


def _loc_parts(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(item)
        elif isinstance(item, str) and item.replace("_", "").isalnum() and item not in ("root", "__root__"):
            parts.append(item[:-5] if item.endswith("__ext") else item)
    return tuple(parts)


def _without(resource: dict[str, Any], removals: list[tuple[str | int, ...]]) -> dict[str, Any]:
    if not removals:
        return resource
    clone: dict[str, Any] = json.loads(json.dumps(resource))
    # Deepest first, and for one list the highest index first, so earlier removals keep later paths valid.
    for parts in sorted(
        removals, key=lambda p: (len(p), p[-1] if isinstance(p[-1], int) else -1), reverse=True
    ):
        node: Any = clone
        for part in parts[:-1]:
            node = node[part]
        del node[parts[-1]]
    return clone


def check_structure(resource: Any, expected_type: str | None = None) -> list[StructureIssue]:
    """Base R4 structure of one resource (its contained resources included); [] when it is well formed."""
    if not isinstance(resource, dict):
        return [StructureIssue("", "resourcetype", "Une ressource FHIR (objet JSON) est attendue.")]
    rt = resource.get("resourceType")
    if not isinstance(rt, str) or rt not in R4_RESOURCE_TYPES:
        return [StructureIssue("resourceType", "resourcetype", _resource_type_message(rt))]
    if expected_type is not None and rt != expected_type:
        return [
            StructureIssue(
                "resourceType",
                "resourcetype",
                f"resourceType « {rt} » : une ressource {expected_type} est attendue.",
            )
        ]
    if rt in R4_WITHOUT_R4B_MODEL:
        return [
            StructureIssue(
                "", "unchecked", f"Structure de la ressource R4 {rt} non vérifiée (absente des modèles R4B)."
            )
        ]
    walker = _Walker()
    walker.resource(resource, ())
    issues = walker.issues
    try:
        _model_class(rt).model_validate(_without(resource, walker.removals))
    except Exception as exc:  # an editor's JSON must never surface as a traceback
        errors = getattr(exc, "errors", None)
        if callable(errors):
            seen = {i.path for i in issues}
            for error in errors():
                path = join("", _loc_parts(tuple(error.get("loc", ()))))
                if error.get("type") == "fhir-validation-wrong-resource-type":
                    continue
                if path in seen:
                    continue  # the walker already said what is wrong with this element
                issues.append(StructureIssue(path, "structure", _french(error)))
        else:
            issues.append(
                StructureIssue(
                    "",
                    "structure",
                    f"Structure FHIR R4 invalide : le validateur a échoué ({type(exc).__name__}).",
                )
            )
    return issues
