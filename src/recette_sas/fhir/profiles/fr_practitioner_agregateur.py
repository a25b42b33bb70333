"""FrPractitionerAgregateur: the practitioner a Slot's Schedule belongs to.

Sources: ``input/fsh/profiles/FrPractitionerAgregateur.fsh`` (FSH), the FAQ page and ANS's test kit.
The parent FrPractitioner (hl7.fhir.fr.core) is not available; the FAQ states what it requires of
an identifier ("Les éléments identifier.system, identifier.type et identifier.value sont
obligatoires", ``faq.md:15-17``).

The FSH assigns ``identifier.type`` and ``identifier.system`` without slicing: every identifier must
be the national one (IDNPS, RPPS/ADELI authority). Its value: the kit accepts only an RPPS
(``8`` + 11 digits); the IG (FAQ prefixes, appointments page) also names ADELI with prefix ``0``.
An ADELI-shaped value is not failed (the IG allows it), it gets a recommande note; any other
value is bloquant.
"""

from __future__ import annotations

from recette_sas.fhir.profiles.model import Profile, Rule
from recette_sas.fhir.valuesets import FR_V2_0203

URL = "http://sas.fr/fhir/StructureDefinition/FrPractitionerAgregateur"
FSH = "input/fsh/profiles/FrPractitionerAgregateur.fsh"
PAGE = "specifications_techniques-ps-recherche_creneaux.md"
KIT = "ANS test kit"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
RPPS = "^8[0-9]{11}$"
ADELI = "^0[0-9A-Z]{9}$"
IDNPS = {"coding": [{"system": FR_V2_0203, "code": "IDNPS"}]}

PROFILE = Profile(
    url=URL,
    name="FrPractitionerAgregateur",
    resource_type="Practitioner",
    fsh=FSH,
    rules=(
        Rule(
            "FHIR-PRACT-META-PROFILE",
            "bloquant",
            "Le Practitioner déclare le profil FrPractitionerAgregateur dans meta.profile",
            f"{PAGE}:249-255 ; {KIT} (sélectionne les Practitioner par meta.profile)",
            invariant=f"'{URL}' in meta.profile",
            at="meta.profile",
            message=f"meta.profile doit contenir {URL} : le kit ANS ne retrouve le PS que par ce profil.",
        ),
        Rule(
            "FHIR-PRACT-IDENTIFIER",
            "bloquant",
            "Le Practitioner porte son identifiant national (identifier 1..*)",
            f"{FSH}:7 (identifier 1..)",
            path="identifier",
            min=1,
            message="Practitioner.identifier est absent : l'identifiant national du PS (RPPS) est obligatoire.",
        ),
        Rule(
            "FHIR-PRACT-IDNPS-TYPE",
            "bloquant",
            "identifier.type vaut fr-v2-0203#IDNPS",
            f"{FSH}:8 (identifier.type = fr-v2-0203#IDNPS) ; faq.md:11-17 (type obligatoire)",
            path="identifier.type",
            min=1,
            pattern=IDNPS,
            message="identifier.type doit être le code IDNPS du système http://interopsante.org/fhir/CodeSystem/fr-v2-0203.",
        ),
        Rule(
            "FHIR-PRACT-IDNPS-TYPE-CODING",
            "bloquant",
            "identifier.type porte un seul coding",
            f"{FSH}:9 (identifier.type.coding ..1)",
            path="identifier.type.coding",
            max=1,
        ),
        Rule(
            "FHIR-PRACT-IDNPS-SYSTEM",
            "bloquant",
            "identifier.system vaut urn:oid:1.2.250.1.71.4.2.1 (RPPS/ADELI)",
            f"{FSH}:10 ; faq.md:5-9, 15-17 ; {KIT} (ValidateRPPS)",
            path="identifier.system",
            min=1,
            pattern=RPPS_SYSTEM,
            message=f"identifier.system doit valoir {RPPS_SYSTEM} (autorité d'affectation des identifiants nationaux de PS).",
        ),
        Rule(
            "FHIR-PRACT-IDNPS-VALUE",
            "bloquant",
            "identifier.value est présent",
            "faq.md:15-17 (identifier.value obligatoire)",
            path="identifier.value",
            min=1,
        ),
        Rule(
            "FHIR-PRACT-RPPS-FORMAT",
            "bloquant",
            "L'identifiant national est un RPPS préfixé (8 + 11 chiffres) ou un ADELI préfixé (0 + 9)",
            f"{KIT} (ValidateRPPS : 8 suivi de 11 chiffres) ; faq.md:46-56 (préfixes 8 et 0)",
            path="identifier.value",
            invariant=f"matches('{RPPS}') or matches('{ADELI}')",
            message="Identifiant national mal formé : attendu un RPPS préfixé « 8 » + 11 chiffres (8XXXXXXXXXXX).",
        ),
        Rule(
            "FHIR-PRACT-ADELI",
            "recommande",
            "Identifiant ADELI : accepté par l'IG, refusé par le kit ANS (RPPS seul)",
            f"faq.md:54 (préfixe 0 pour ADELI) ; {KIT} (ValidateRPPS n'accepte que 8 + 11 chiffres)",
            path="identifier.value",
            invariant=f"matches('{ADELI}').not()",
            message="Identifiant ADELI (préfixe 0) : l'IG l'admet, mais le kit ANS n'accepte qu'un RPPS.",
        ),
        Rule(
            "FHIR-PRACT-NAME",
            "recommande",
            "Le nom et le prénom d'exercice sont transmis",
            f"{FSH}:11-14 (« Nom d'exercice », « Prénom ») ; {KIT} (tests optionnels nom, prénom)",
            path="name.family",
            min=1,
            when="name.exists()",
            message="name.family (nom d'exercice) absent.",
        ),
        Rule(
            "FHIR-PRACT-NAME",
            "recommande",
            "Le nom et le prénom d'exercice sont transmis",
            f"{FSH}:11-14 (« Nom d'exercice », « Prénom ») ; {KIT} (tests optionnels nom, prénom)",
            path="name",
            min=1,
            message="Practitioner.name absent : SAS affiche le nom et le prénom d'exercice.",
        ),
    ),
)
