"""FrLocationAgregateur (PS indiv): the place of consultation, contained in the PractitionerRole.

Sources: ``input/fsh/profiles/FrLocationAgregateur.fsh`` (FSH), the FAQ page and ANS's test kit.
``meta.profile`` on a contained Location is asked by the search page for ANS's validator, but the kit
finds the Location through its PractitionerRole: recommande.
"""

from __future__ import annotations

from recette_sas.fhir.profiles.model import Profile, Rule

URL = "http://sas.fr/fhir/StructureDefinition/FrLocationAgregateur"
FSH = "input/fsh/profiles/FrLocationAgregateur.fsh"
PAGE = "specifications_techniques-ps-recherche_creneaux.md"
KIT = "ANS test kit"


def _identifier_field(name: str) -> Rule:
    return Rule(
        "FHIR-LOC-IDENTIFIER-FIELDS",
        "bloquant",
        "Un identifiant de Location porte system, type et value",
        "faq.md:15-17 « Les éléments identifier.system, identifier.type et identifier.value sont obligatoires »",
        path=f"identifier.{name}",
        min=1,
        message=f"Location.identifier sans {name} : la FAQ de l'IG rend system, type et value obligatoires.",
    )


PROFILE = Profile(
    url=URL,
    name="FrLocationAgregateur",
    resource_type="Location",
    fsh=FSH,
    rules=(
        Rule(
            "FHIR-LOC-META-PROFILE",
            "recommande",
            "La Location déclare le profil FrLocationAgregateur dans meta.profile",
            f"{PAGE}:249-255",
            invariant=f"'{URL}' in meta.profile",
            at="meta.profile",
            message=f"meta.profile devrait contenir {URL} (demandé pour le validateur ANS).",
        ),
        Rule(
            "FHIR-LOC-ADDRESS",
            "bloquant",
            "La Location porte une adresse",
            f"{FSH}:7 (address 1..) ; {KIT} (ValidateLocation)",
            path="address",
            min=1,
            message="Location.address absente : l'adresse du lieu de consultation est obligatoire.",
        ),
        Rule(
            "FHIR-LOC-ADDRESS-LINE",
            "bloquant",
            "address.line : exactement une ligne (voie)",
            f"{FSH}:8 (address.line 1..1) ; {KIT} (ValidateLocation)",
            path="address.line",
            min=1,
            max=1,
            message="address.line doit porter exactement une ligne (la voie).",
        ),
        Rule(
            "FHIR-LOC-ADDRESS-CITY",
            "bloquant",
            "address.city est présente",
            f"{FSH}:11 (address.city 1..) ; {KIT} (ValidateLocation)",
            path="address.city",
            min=1,
        ),
        Rule(
            "FHIR-LOC-ADDRESS-POSTALCODE",
            "bloquant",
            "address.postalCode est présent",
            f"{FSH}:14 (address.postalCode 1..) ; {KIT} (ValidateLocation)",
            path="address.postalCode",
            min=1,
        ),
        Rule(
            "FHIR-LOC-POSTALCODE-FORMAT",
            "bloquant",
            "Le code postal a exactement 5 chiffres",
            f"{KIT} (ValidateLocation : « le code postal doit avoir exactement 5 chiffres »)",
            path="address.postalCode",
            invariant="matches('^[0-9]{5}$')",
            message="Code postal invalide : exactement 5 chiffres attendus (ex. 47000).",
        ),
        _identifier_field("system"),
        _identifier_field("type"),
        _identifier_field("value"),
    ),
)
