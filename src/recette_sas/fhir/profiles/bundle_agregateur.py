"""BundleAgregateur (PS indiv): the searchset an editor answers ``GET [base]/Slot?...`` with.

Sources: ``input/fsh/profiles/PS Indiv/BundleAgregateur.fsh`` (FSH), the PS slot search page
``input/pagecontent/specifications_techniques-ps-recherche_creneaux.md`` (PS page), FHIR R4 Bundle,
and ANS's test kit (the Inferno kit that runs ANS's acceptance; its rules are labelled as such).

Decisions on the IG's ambiguities (``NOTES.md``):

- item 5, ``total``: the profile does not require it, the PS page does ("Le service indique le total
  trouvé dans une balise total", and ``total: 0`` when empty): bloquant, sourced to the page;
  ``total`` differing from the number of matched Slots is what the kit only warns about: recommande;
- item 5, ``search.mode``: the IG's own example leaves it out on one Practitioner entry; FHIR
  search says ``match`` for Slots and ``include`` for the rest: recommande;
- the kit selects every resource by ``meta.profile`` (its FHIRPath ``entry.where(resource.meta.profile
  = ...)``), so an entry without its profile URL makes the kit fail: bloquant on entries
  (their own tables); on the Bundle itself the page asks for it but nothing fails: recommande.
"""

from __future__ import annotations

from recette_sas.fhir.profiles.model import Profile, Rule, Slice

URL = "http://sas.fr/fhir/StructureDefinition/BundleAgregateur"
FSH = "input/fsh/profiles/PS Indiv/BundleAgregateur.fsh"
PAGE = "specifications_techniques-ps-recherche_creneaux.md"
KIT = "ANS test kit"

PROFILE = Profile(
    url=URL,
    name="BundleAgregateur",
    resource_type="Bundle",
    fsh=FSH,
    slices={"link:self": Slice("link", "relation", "self")},
    rules=(
        Rule(
            "FHIR-BUNDLE-META-PROFILE",
            "recommande",
            "Le Bundle déclare le profil BundleAgregateur dans meta.profile",
            f"{PAGE}:249-250 « il est nécessaire de renseigner ... le meta.profile »",
            invariant=f"'{URL}' in meta.profile",
            at="meta.profile",
            message=f"meta.profile devrait contenir {URL} (demandé par la page de recherche pour le validateur ANS).",
        ),
        Rule(
            "FHIR-BUNDLE-TYPE",
            "bloquant",
            "Bundle.type vaut searchset",
            f"{FSH}:8 (type = #searchset) ; {PAGE}:69-70",
            path="type",
            fixed="searchset",
            message="Bundle.type doit valoir « searchset » (réponse à une recherche).",
        ),
        Rule(
            "FHIR-BUNDLE-TOTAL",
            "bloquant",
            "Bundle.total est présent (0 si aucun créneau)",
            f"{PAGE}:74-75 « Le service indique le total trouvé dans une balise total » (NOTES.md point 5)",
            path="total",
            min=1,
            message="Bundle.total est absent : la page de recherche l'exige, total: 0 s'il n'y a aucun créneau.",
        ),
        Rule(
            "FHIR-BUNDLE-TOTAL-COUNT",
            "recommande",
            "Bundle.total égale le nombre de Slot en mode match",
            f"{KIT} (avertissement « le valeur de total doit être égale au nombre de ressources slot »)",
            check="total_counts_slots",
        ),
        Rule(
            "FHIR-BUNDLE-BDL7",
            "bloquant",
            "fullUrl unique dans le Bundle (invariant R4 bdl-7)",
            "FHIR R4 Bundle, invariant bdl-7",
            invariant=(
                "(type = 'history') or entry.where(fullUrl.exists())"
                ".select(fullUrl&resource.meta.versionId).isDistinct()"
            ),
            at="entry",
            message="Deux entrées portent le même fullUrl (invariant FHIR R4 bdl-7).",
        ),
        Rule(
            "FHIR-BUNDLE-SELF-LINK",
            "bloquant",
            "Le Bundle porte un lien self (l'URL de la recherche)",
            f"{KIT} (« Le champ link.URL n'est pas présent ou est vide ») ; FHIR R4 search, lien self",
            path="link:self",
            min=1,
            message="Bundle.link de relation « self » absent : le kit ANS compare son URL à la requête.",
        ),
        Rule(
            "FHIR-BUNDLE-SELF-LINK",
            "bloquant",
            "Le Bundle porte un lien self (l'URL de la recherche)",
            f"{KIT} (« Le champ link.URL n'est pas présent ou est vide ») ; FHIR R4 search, lien self",
            path="link:self.url",
            min=1,
            message="Le lien self n'a pas d'URL.",
        ),
        Rule(
            "FHIR-BUNDLE-FULLURL",
            "recommande",
            "Chaque entrée porte un fullUrl",
            "FHIR R4 Bundle.entry.fullUrl (résolution des références dans un Bundle)",
            path="entry.fullUrl",
            min=1,
            message="Entrée sans fullUrl : les références vers cette ressource ne se résolvent que par type/id.",
        ),
        Rule(
            "FHIR-BUNDLE-SEARCH-MODE",
            "recommande",
            "search.mode vaut match pour les Slot et include pour les ressources incluses",
            "FHIR R4 search (_include) ; exemple de l'IG (NOTES.md point 5)",
            check="search_modes",
        ),
        Rule(
            "FHIR-BUNDLE-SLOT-SCHEDULE",
            "bloquant",
            "Chaque Slot.schedule désigne un Schedule inclus dans le Bundle",
            f"{PAGE}:148 (_include=Slot:schedule, « La présence de cette ressource est nécessaire ») ; "
            "FrSlotAgregateur.fsh:20-22 (aggregation referenced, bundled)",
            check="slot_schedule_included",
        ),
        Rule(
            "FHIR-BUNDLE-SCHEDULE-ACTOR",
            "bloquant",
            "Chaque Schedule.actor désigne un Practitioner ou un PractitionerRole inclus",
            f"{PAGE}:149 (_include:iterate=Schedule:actor) ; FrScheduleAgregateur.fsh:8-9 (aggregation bundled)",
            check="schedule_actors_included",
        ),
        Rule(
            "FHIR-BUNDLE-SCHEDULE-ACTORS",
            "bloquant",
            "Chaque Schedule a pour acteurs un Practitioner et un PractitionerRole",
            f"{PAGE}:149 « les ressources Practitioner et PractitionerRole ... sont attendues » ; "
            f"faq.md:28 (1 Schedule pour 1 PractitionerRole) ; {KIT} (ValidateRef)",
            check="schedule_has_practitioner_and_role",
        ),
        Rule(
            "FHIR-BUNDLE-ROLE-PRACTITIONER",
            "bloquant",
            "PractitionerRole.practitioner désigne un Practitioner inclus",
            f"FrPractitionerRoleExerciceAgregateur.fsh:8-10 (aggregation referenced, bundled) ; {KIT} (ValidateRef)",
            check="role_practitioner_included",
        ),
        Rule(
            "FHIR-BUNDLE-UNREFERENCED",
            "recommande",
            "Aucune entrée n'est orpheline (toute ressource incluse est atteinte depuis un Slot)",
            "Hygiène (au-delà de l'IG) : _include ne ramène que ce que les Slot référencent",
            check="no_unreferenced_entries",
        ),
    ),
)
