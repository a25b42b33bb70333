"""FrPractitionerRegul: a regulator account SAS creates or updates at the editor (INT_R02).

Sources: ``input/fsh/profiles/FrPractitionerRegul.fsh`` (FSH), the regulators page
``specifications_techniques-tous-gestion_regulateur.md`` and the FAQ. The profile sets no ``^url``:
its canonical is the IG's (NOTES.md item 2).

Decisions: the national identifier's value has no format rule (the IG's own example is
``3456780581/11242343``, an establishment-staff IDNPS, not an RPPS); an identifier outside the two
slices is allowed by the open slicing: recommande; ``name.family``/``name.given`` are 1..1 inside a
name, but the FSH does not require a name: its absence is recommande.
"""

from __future__ import annotations

from recette_sas.fhir.profiles.model import Profile, Rule, Slice
from recette_sas.fhir.valuesets import FR_V2_0203, IG

URL = f"{IG}/StructureDefinition/FrPractitionerRegul"
FSH = "input/fsh/profiles/FrPractitionerRegul.fsh"
PAGE = "specifications_techniques-tous-gestion_regulateur.md"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
SAS_SYSTEM = "urn:oid:1.2.250.1.213.3.6"
UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _fields(name: str) -> Rule:
    return Rule(
        "FHIR-REGUL-IDENTIFIER-FIELDS",
        "bloquant",
        "Chaque identifiant du régulateur porte system, type et value",
        f"faq.md:15-17 (FrPractitioner : system, type, value obligatoires) ; {PAGE}:176-181",
        path=f"identifier.{name}",
        min=1,
        message=f"Identifiant du régulateur sans {name} : system et type disent s'il s'agit de l'ID national ou de l'ID technique SAS.",
    )


PROFILE = Profile(
    url=URL,
    name="FrPractitionerRegul",
    resource_type="Practitioner",
    fsh=FSH,
    slices={
        "identifier:IdentifiantNatPS": Slice("identifier", "system", RPPS_SYSTEM),
        "identifier:IdentifiantInterne": Slice("identifier", "system", SAS_SYSTEM),
    },
    rules=(
        Rule(
            "FHIR-REGUL-META-SOURCE",
            "bloquant",
            "meta.source vaut urn:oid:1.2.250.1.213.3.6 (la plateforme SAS)",
            f"{FSH}:7 ; {PAGE}:184-185 « le champ meta.source sera toujours valorisé à : urn:oid:1.2.250.1.213.3.6 »",
            path="meta.source",
            min=1,
            pattern=SAS_SYSTEM,
            message=f"meta.source doit valoir {SAS_SYSTEM} : la requête vient toujours de la plateforme SAS.",
        ),
        Rule(
            "FHIR-REGUL-IDENTIFIER",
            "bloquant",
            "Le régulateur porte au moins un identifiant (national ou technique SAS)",
            f"{FSH}:9 (identifier 1..) ; {PAGE}:176-177",
            path="identifier",
            min=1,
            message="Practitioner.identifier absent : le compte régulateur s'identifie par son ID national ou son ID technique SAS.",
        ),
        _fields("system"),
        _fields("type"),
        _fields("value"),
        Rule(
            "FHIR-REGUL-IDENTIFIER-KIND",
            "recommande",
            "Un identifiant est soit national (RPPS), soit technique SAS",
            f"{FSH}:10-15 (slicing ouvert sur system) ; {PAGE}:178-181",
            path="identifier.system",
            invariant=f"%value = '{RPPS_SYSTEM}' or %value = '{SAS_SYSTEM}'",
            message=f"Autorité d'identifiant inattendue : {RPPS_SYSTEM} (ID national) ou {SAS_SYSTEM} (ID technique SAS).",
        ),
        Rule(
            "FHIR-REGUL-IDNPS-MAX",
            "bloquant",
            "Au plus un identifiant national",
            f"{FSH}:14 (IdentifiantNatPS 0..1)",
            path="identifier:IdentifiantNatPS",
            max=1,
        ),
        Rule(
            "FHIR-REGUL-IDNPS-TYPE",
            "bloquant",
            "L'identifiant national a le type fr-v2-0203#IDNPS",
            f"{FSH}:17 ; {PAGE}:180-181",
            path="identifier:IdentifiantNatPS.type",
            pattern={"coding": [{"system": FR_V2_0203, "code": "IDNPS"}]},
            message="Identifiant national (system RPPS) : type attendu IDNPS (http://interopsante.org/fhir/CodeSystem/fr-v2-0203).",
        ),
        Rule(
            "FHIR-REGUL-IDNPS-VALUE",
            "bloquant",
            "L'identifiant national porte une seule valeur",
            f"{FSH}:19 (value 1..1)",
            path="identifier:IdentifiantNatPS.value",
            min=1,
            max=1,
        ),
        Rule(
            "FHIR-REGUL-INTRN-MAX",
            "bloquant",
            "Au plus un identifiant technique SAS",
            f"{FSH}:15 (IdentifiantInterne 0..1)",
            path="identifier:IdentifiantInterne",
            max=1,
        ),
        Rule(
            "FHIR-REGUL-INTRN-TYPE",
            "bloquant",
            "L'identifiant technique SAS a le type fr-v2-0203#INTRN",
            f"{FSH}:21 ; {PAGE}:180-181",
            path="identifier:IdentifiantInterne.type",
            pattern={"coding": [{"system": FR_V2_0203, "code": "INTRN"}]},
            message="Identifiant technique SAS : type attendu INTRN (http://interopsante.org/fhir/CodeSystem/fr-v2-0203).",
        ),
        Rule(
            "FHIR-REGUL-INTRN-VALUE",
            "bloquant",
            "L'identifiant technique SAS porte une seule valeur",
            f"{FSH}:23 (value 1..1)",
            path="identifier:IdentifiantInterne.value",
            min=1,
            max=1,
        ),
        Rule(
            "FHIR-REGUL-INTRN-UUID",
            "recommande",
            "L'identifiant technique SAS est un UUID",
            "faq.md (Gestion des RDV : « Un identifiant technique SAS prendra la forme d'un UUID »)",
            path="identifier:IdentifiantInterne.value",
            invariant=f"matches('{UUID}')",
        ),
        Rule(
            "FHIR-REGUL-ACTIVE",
            "bloquant",
            "active dit si le compte est habilité",
            f"{FSH}:25 (active 1..1) ; {PAGE}:182-183",
            path="active",
            min=1,
            message="Practitioner.active absent : il dit si le compte régulateur est habilité (true) ou non (false).",
        ),
        Rule(
            "FHIR-REGUL-NAME",
            "recommande",
            "Le régulateur a un nom",
            "specifications_fonctionnelles.md:136 (nom, prénom, mail du compte) ; le profil n'impose pas name",
            path="name",
            min=1,
        ),
        Rule(
            "FHIR-REGUL-NAME-FAMILY",
            "bloquant",
            "name.family : exactement un nom",
            f"{FSH}:26 (name.family 1..1)",
            path="name.family",
            min=1,
            max=1,
        ),
        Rule(
            "FHIR-REGUL-NAME-GIVEN",
            "bloquant",
            "name.given : exactement un prénom",
            f"{FSH}:27 (name.given 1..1)",
            path="name.given",
            min=1,
            max=1,
        ),
        Rule(
            "FHIR-REGUL-TELECOM",
            "recommande",
            "Le mail du régulateur est transmis",
            "specifications_fonctionnelles.md:136 ; le profil n'impose pas telecom",
            path="telecom",
            min=1,
        ),
        Rule(
            "FHIR-REGUL-TELECOM-EMAIL",
            "bloquant",
            "telecom.system vaut email",
            f"{FSH}:28 (telecom.system = #email)",
            path="telecom.system",
            pattern="email",
        ),
        Rule(
            "FHIR-REGUL-TELECOM-VALUE",
            "bloquant",
            "telecom.value : exactement une adresse",
            f"{FSH}:29 (telecom.value 1..1)",
            path="telecom.value",
            min=1,
            max=1,
        ),
    ),
)
