"""FrPractitionerRoleExerciceAgregateur: the practitioner's place of consultation (one per Schedule).

Sources: ``input/fsh/profiles/FrPractitionerRoleExerciceAgregateur.fsh`` (FSH), the FAQ page and
ANS's test kit. The Location sits in ``contained`` and is checked against FrLocationAgregateur.

Decisions: ``organization.identifier`` (the structure's national id, IDNST) has assigned type and
system in the FSH but no minimum; ANS's kit checks it in an optional group. Present with the wrong
type or system: bloquant (the FSH assigns them); absent, incomplete or of an unknown shape
(FINESS ``1``+9, SIRET ``3``+14, RPPS rang ``4``+14, ADELI rang ``0``…): recommande. The IG's first
PractitionerRole example gives the value only.
"""

from __future__ import annotations

from recette_sas.fhir.profiles import fr_location_agregateur
from recette_sas.fhir.profiles.model import Profile, Rule, Slice
from recette_sas.fhir.valuesets import FR_V2_0203

URL = "http://sas.fr/fhir/StructureDefinition/FrPractitionerRoleExerciceAgregateur"
FSH = "input/fsh/profiles/FrPractitionerRoleExerciceAgregateur.fsh"
PAGE = "specifications_techniques-ps-recherche_creneaux.md"
KIT = "ANS test kit"
IDNST_SYSTEM = "urn:oid:1.2.250.1.71.4.2.2"
IDNST_FORMAT = "^(1[0-9]{9}|3[0-9]{14}|4[0-9]{14}|0[0-9A-Z]{9,14})$"
PHONE_FORMAT = "^[+](33|262|590|594|596)[0-9]{9}$"

PROFILE = Profile(
    url=URL,
    name="FrPractitionerRoleExerciceAgregateur",
    resource_type="PractitionerRole",
    fsh=FSH,
    contained={"Location": fr_location_agregateur.URL},
    slices={"telecom:phone": Slice("telecom", "system", "phone")},
    rules=(
        Rule(
            "FHIR-ROLE-META-PROFILE",
            "bloquant",
            "Le PractitionerRole déclare le profil FrPractitionerRoleExerciceAgregateur dans meta.profile",
            f"{PAGE}:249-255 ; {KIT} (sélectionne les PractitionerRole par meta.profile)",
            invariant=f"'{URL}' in meta.profile",
            at="meta.profile",
            message=f"meta.profile doit contenir {URL} : le kit ANS ne retrouve le lieu que par ce profil.",
        ),
        Rule(
            "FHIR-ROLE-CONTAINED",
            "bloquant",
            "Le lieu de consultation (Location) est contenu dans le PractitionerRole",
            f"{FSH}:7 (contained 1..) ; faq.md:23-25 ; {PAGE}:149",
            path="contained",
            min=1,
            message="PractitionerRole.contained est vide : la Location du lieu de consultation doit y être contenue.",
        ),
        Rule(
            "FHIR-ROLE-LOCATION",
            "bloquant",
            "PractitionerRole.location : exactement une référence",
            f"{FSH}:15 (location 1..1)",
            path="location",
            min=1,
            max=1,
        ),
        Rule(
            "FHIR-ROLE-LOCATION-CONTAINED",
            "bloquant",
            "PractitionerRole.location est une référence locale (#id) à la Location contenue",
            f"{FSH}:16-17 (only Reference(FrLocationAgregateur), aggregation contained) ; faq.md:25 ; {KIT} (ValidateRef)",
            path="location",
            targets=("#Location",),
        ),
        Rule(
            "FHIR-ROLE-PRACTITIONER",
            "bloquant",
            "PractitionerRole.practitioner référence le Practitioner",
            f"{FSH}:8-10 (only Reference(FrPractitionerAgregateur)) ; {KIT} (ValidateRef)",
            path="practitioner",
            min=1,
            targets=("Practitioner",),
            message="PractitionerRole.practitioner absent : le lieu doit être rattaché au PS.",
        ),
        Rule(
            "FHIR-ROLE-IDNST-TYPE",
            "bloquant",
            "organization.identifier.type vaut fr-v2-0203#IDNST",
            f"{FSH}:13 ; faq.md:11-13",
            path="organization.identifier.type",
            pattern={"coding": [{"system": FR_V2_0203, "code": "IDNST"}]},
        ),
        Rule(
            "FHIR-ROLE-IDNST-SYSTEM",
            "bloquant",
            "organization.identifier.system vaut urn:oid:1.2.250.1.71.4.2.2",
            f"{FSH}:14 ; faq.md:5-9",
            path="organization.identifier.system",
            pattern=IDNST_SYSTEM,
        ),
        Rule(
            "FHIR-ROLE-IDNST",
            "recommande",
            "L'identifiant national de la structure (IDNST) est transmis complet",
            f"{FSH}:11-14 (« Identifiant national de la structure ») ; {KIT} (groupe optionnel ValidateIDNST)",
            path="organization.identifier",
            min=1,
            invariant="type.exists() and system.exists() and value.exists()",
            message="organization.identifier devrait porter type (IDNST), system (urn:oid:1.2.250.1.71.4.2.2) et value.",
        ),
        Rule(
            "FHIR-ROLE-IDNST-FORMAT",
            "recommande",
            "IDNST préfixé : FINESS (1), SIRET (3), RPPS rang (4) ou ADELI rang (0)",
            f"faq.md:57-69 (préfixes, ordre FINESS > SIRET > RPPS rang) ; {KIT} (groupe optionnel ValidateIDNST)",
            path="organization.identifier.value",
            invariant=f"matches('{IDNST_FORMAT}')",
            message="IDNST mal formé : attendu 1 + FINESS (9 chiffres), 3 + SIRET (14) ou 4 + RPPS rang (14).",
        ),
        Rule(
            "FHIR-ROLE-PHONE-FORMAT",
            "recommande",
            "Téléphone au format international +33XXXXXXXXX",
            f"faq.md:149-166 (principales erreurs, point 2) ; {KIT} (test optionnel ValidatePhone)",
            path="telecom:phone.value",
            invariant=f"matches('{PHONE_FORMAT}')",
            message="Numéro de téléphone hors format +33XXXXXXXXX (ou +262, +590, +594, +596).",
        ),
    ),
)
