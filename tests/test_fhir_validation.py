"""The FHIR validation engine on the IG's own examples and on hand-mutated copies of them.

The examples are the IG's FSH instances (``../shared/spec/ig-sas/input/fsh/examples``) converted by
``recette_sas.fhir.fsh_examples``: real data, no mock. Each mutation changes one thing and must add
exactly the expected finding (rule id, path, fullUrl) to what the untouched example gives.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from recette_sas.fhir import base
from recette_sas.fhir.findings import Finding
from recette_sas.fhir.profiles import ALL, PROFILES
from recette_sas.fhir.profiles.model import Rule
from recette_sas.fhir.rules_catalogue import PROFILES_OF, RULES, render_markdown, rules_of
from recette_sas.fhir.validation import CHECKS, bundle_self_link_matches, validate_bundle, validate_resource
from recette_sas.fhir.valuesets import VALUE_SETS

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
IG = SHARED / "spec" / "ig-sas"

SLOT = "http://sas.fr/fhir/StructureDefinition/FrSlotAgregateur"
BUNDLE = "http://sas.fr/fhir/StructureDefinition/BundleAgregateur"
PRACT = "http://sas.fr/fhir/StructureDefinition/FrPractitionerAgregateur"
ROLE = "http://sas.fr/fhir/StructureDefinition/FrPractitionerRoleExerciceAgregateur"
LOC = "http://sas.fr/fhir/StructureDefinition/FrLocationAgregateur"
APPT = "http://sas.fr/fhir/StructureDefinition/FrAppointmentSAS"
REGUL = "https://interop.esante.gouv.fr/ig/fhir/sas/StructureDefinition/FrPractitionerRegul"
OPERATOR = "http://interopsante.org/fhir/StructureDefinition/FrAppointmentOperator"

# The example Bundle's self link searches from 2021-11-04T14:19:35.760+00:00 to 2021-11-06T23:59:59.999+00:00.
NOW = datetime.fromisoformat("2021-11-04T14:19:35.760+00:00")
WINDOW = (NOW, datetime.fromisoformat("2021-11-06T23:59:59.999+00:00"))
BASE_URL = "https://exemple.com/ans-sas"

needs_ig = pytest.mark.skipif(
    not IG.is_dir(), reason=f"IG sources absent: {IG} (the shared/ folder beside the repo)"
)


@pytest.fixture(scope="module")
def examples() -> dict[str, dict[str, Any]]:
    if not IG.is_dir():
        pytest.skip(f"IG sources absent: {IG} (the shared/ folder beside the repo)")
    from recette_sas.fhir.fsh_examples import load_examples

    return load_examples(IG)


def _keys(findings: list[Finding]) -> set[tuple[str, str, str | None]]:
    return {f.key() for f in findings}


def _new(before: list[Finding], after: list[Finding]) -> list[Finding]:
    old = _keys(before)
    return [f for f in after if f.key() not in old]


# ------------------------------------------------------------------ the IG's examples


@needs_ig
def test_example_bundle_has_no_blocking_finding(examples: dict[str, dict[str, Any]]) -> None:
    findings = validate_bundle(examples["ExampleBundlePSIndiv"], window=WINDOW, now=NOW)
    assert [f for f in findings if f.blocking] == []
    # What the IG's own example breaks, read in its favour (NOTES.md item 5): advisory only.
    assert _keys(findings) == {
        (
            "FHIR-BUNDLE-SEARCH-MODE",
            "Bundle.entry[2].search.mode",
            f"{BASE_URL}/Practitioner/ExamplePractitioner2",
        ),
        (
            "FHIR-SLOT-BOOKING-URL-WALKIN",
            "Bundle.entry[4].resource.comment",
            f"{BASE_URL}/Slot/ExampleSlotPSIndiv2",
        ),
    }


@needs_ig
def test_every_ig_example_of_a_covered_profile_validates(examples: dict[str, dict[str, Any]]) -> None:
    checked = []
    for name, resource in examples.items():
        url = (resource.get("meta") or {}).get("profile", [None])[0]
        if url not in PROFILES:
            continue  # CPTS, SOS and CapabilityStatement examples: profiles this engine does not cover
        if url == BUNDLE:
            findings = validate_bundle(resource, window=WINDOW, now=NOW)
        else:
            findings = validate_resource(resource, url)
        blocking = [(f.rule_id, f.path, f.message) for f in findings if f.blocking]
        assert blocking == [], name
        checked.append(name)
    assert len(checked) >= 25, checked  # the PS indiv resources, the regulators, the appointments


@needs_ig
def test_advisory_findings_on_examples_are_the_documented_ones(examples: dict[str, dict[str, Any]]) -> None:
    walkin = validate_resource(examples["ExampleSlotPSIndiv5"], SLOT)
    assert _keys(walkin) == {("FHIR-SLOT-BOOKING-URL-WALKIN", "Slot.comment", None)}
    assert walkin[0].severity == "recommande"
    booked = validate_resource(examples["ExampleAppointmentBooked"], APPT)
    # NOTES.md item 8: a September date at +01:00 is neither UTC nor Paris (+02:00).
    assert {f.rule_id for f in booked} == {"FHIR-APPT-DATE-OFFSET"}
    assert {f.path for f in booked} == {"Appointment.start", "Appointment.end", "Appointment.created"}
    role = validate_resource(examples["ExamplePractitionerRoleAgregateur"], ROLE)
    assert _keys(role) == {("FHIR-ROLE-IDNST", "PractitionerRole.organization.identifier", None)}


# ------------------------------------------------------------------ mutations of the example Bundle

Mutation = Callable[[dict[str, Any]], None]


def _entry(bundle: dict[str, Any], i: int) -> dict[str, Any]:
    resource: dict[str, Any] = bundle["entry"][i]["resource"]
    return resource


def _set(i: int, key: str, value: Any) -> Mutation:
    return lambda b: _entry(b, i).__setitem__(key, value)


def _del(i: int, key: str) -> Mutation:
    return lambda b: _entry(b, i).pop(key)


def _practitioner_identifier(key: str, value: str) -> Mutation:
    return lambda b: _entry(b, 2)["identifier"][0].__setitem__(key, value)


def _location(change: Callable[[dict[str, Any]], None]) -> Mutation:
    return lambda b: change(_entry(b, 3)["contained"][0])


def _slot_times(i: int, start: str, end: str) -> Mutation:
    def mutate(b: dict[str, Any]) -> None:
        _entry(b, i)["start"], _entry(b, i)["end"] = start, end

    return mutate


SLOT1 = f"{BASE_URL}/Slot/ExampleSlotPSIndiv1"
SLOT3 = f"{BASE_URL}/Slot/ExampleSlotPSIndiv3"
SLOT4 = f"{BASE_URL}/Slot/ExampleSlotPSIndiv4"
PRACT2 = f"{BASE_URL}/Practitioner/ExamplePractitioner2"
ROLE2 = f"{BASE_URL}/PractitionerRole/ExamplePractitionerRoleAgregateur2"

BUNDLE_MUTATIONS: list[tuple[str, Mutation, tuple[str, str, str | None], str, str]] = [
    (
        "statut busy",
        _set(0, "status", "busy"),
        ("FHIR-SLOT-STATUS", "Bundle.entry[0].resource.status", SLOT1),
        "bloquant",
        SLOT,
    ),
    (
        "total absent",
        lambda b: b.pop("total"),
        ("FHIR-BUNDLE-TOTAL", "Bundle.total", None),
        "bloquant",
        BUNDLE,
    ),
    (
        "Slot.schedule pendant",
        _set(11, "schedule", {"reference": "Schedule/Inconnu"}),
        ("FHIR-BUNDLE-SLOT-SCHEDULE", "Bundle.entry[11].resource.schedule", SLOT4),
        "bloquant",
        BUNDLE,
    ),
    (
        "créneau après la fenêtre",
        _slot_times(11, "2021-11-07T10:00:00.000+00:00", "2021-11-07T10:30:00.000+00:00"),
        ("FHIR-SLOT-WINDOW", "Bundle.entry[11].resource.start", SLOT4),
        "bloquant",
        SLOT,
    ),
    (
        "RPPS mal formé",
        _practitioner_identifier("value", "81010005007"),
        ("FHIR-PRACT-RPPS-FORMAT", "Bundle.entry[2].resource.identifier[0].value", PRACT2),
        "bloquant",
        PRACT,
    ),
    (
        "mauvaise autorité RPPS",
        _practitioner_identifier("system", "urn:oid:1.2.250.1.71.4.2.2"),
        ("FHIR-PRACT-IDNPS-SYSTEM", "Bundle.entry[2].resource.identifier[0].system", PRACT2),
        "bloquant",
        PRACT,
    ),
    (
        "ADELI au lieu d'un RPPS",
        _practitioner_identifier("value", "0751234567"),
        ("FHIR-PRACT-ADELI", "Bundle.entry[2].resource.identifier[0].value", PRACT2),
        "recommande",
        PRACT,
    ),
    (
        "sans URL de RDV",
        _del(0, "comment"),
        ("FHIR-SLOT-BOOKING-URL", "Bundle.entry[0].resource.comment", SLOT1),
        "bloquant",
        SLOT,
    ),
    (
        "URL de RDV blanche",
        _set(0, "comment", "   "),
        ("FHIR-SLOT-BOOKING-URL", "Bundle.entry[0].resource.comment", SLOT1),
        "bloquant",
        SLOT,
    ),
    (
        "start = end",
        _slot_times(7, "2021-11-04T14:40:00.000+00:00", "2021-11-04T14:40:00.000+00:00"),
        ("FHIR-SLOT-START-END", "Bundle.entry[7].resource.start", SLOT3),
        "bloquant",
        SLOT,
    ),
    (
        "start après end, décalages différents",
        _slot_times(7, "2021-11-04T16:40:00.000+02:00", "2021-11-04T14:30:00.000+00:00"),
        ("FHIR-SLOT-START-END", "Bundle.entry[7].resource.start", SLOT3),
        "bloquant",
        SLOT,
    ),
    (
        "dates sans millisecondes",
        _slot_times(7, "2021-11-04T14:20:00+00:00", "2021-11-04T14:40:00.000+00:00"),
        ("FHIR-SLOT-DATE-FORMAT", "Bundle.entry[7].resource.start", SLOT3),
        "bloquant",
        SLOT,
    ),
    (
        "Location sans adresse",
        _location(lambda loc: loc.pop("address")),
        ("FHIR-LOC-ADDRESS", "Bundle.entry[3].resource.contained[0].address", ROLE2),
        "bloquant",
        LOC,
    ),
    (
        "Location sans ligne d'adresse",
        _location(lambda loc: loc["address"].pop("line")),
        ("FHIR-LOC-ADDRESS-LINE", "Bundle.entry[3].resource.contained[0].address.line", ROLE2),
        "bloquant",
        LOC,
    ),
    (
        "code postal à 4 chiffres",
        _location(lambda loc: loc["address"].__setitem__("postalCode", "4700")),
        ("FHIR-LOC-POSTALCODE-FORMAT", "Bundle.entry[3].resource.contained[0].address.postalCode", ROLE2),
        "bloquant",
        LOC,
    ),
    (
        "Location référencée hors contained",
        lambda b: _entry(b, 3)["location"][0].__setitem__("reference", "Location/ExampleLocation3"),
        ("FHIR-ROLE-LOCATION-CONTAINED", "Bundle.entry[3].resource.location[0]", ROLE2),
        "bloquant",
        ROLE,
    ),
    (
        "IDNST de mauvais type",
        lambda b: _entry(b, 3)["organization"]["identifier"]["type"]["coding"][0].__setitem__(
            "code", "IDNPS"
        ),
        ("FHIR-ROLE-IDNST-TYPE", "Bundle.entry[3].resource.organization.identifier.type", ROLE2),
        "bloquant",
        ROLE,
    ),
    (
        "type de créneau inconnu",
        lambda b: _entry(b, 0)["meta"]["security"][0].__setitem__("code", "PRIVATE"),
        ("FHIR-SLOT-SECURITY", "Bundle.entry[0].resource.meta.security[0]", SLOT1),
        "bloquant",
        SLOT,
    ),
    (
        "type de consultation EMER",
        lambda b: _entry(b, 0)["serviceType"][0]["coding"][0].__setitem__("code", "EMER"),
        ("FHIR-SLOT-SERVICETYPE", "Bundle.entry[0].resource.serviceType[0]", SLOT1),
        "bloquant",
        SLOT,
    ),
    (
        "Bundle collection",
        lambda b: b.__setitem__("type", "collection"),
        ("FHIR-BUNDLE-TYPE", "Bundle.type", None),
        "bloquant",
        BUNDLE,
    ),
    (
        "Slot sans meta.profile",
        lambda b: _entry(b, 0)["meta"].pop("profile"),
        ("FHIR-SLOT-META-PROFILE", "Bundle.entry[0].resource.meta.profile", SLOT1),
        "bloquant",
        SLOT,
    ),
    (
        "total en chaîne",
        lambda b: b.__setitem__("total", "4"),
        ("FHIR-BASE-STRUCTURE", "Bundle.total", None),
        "bloquant",
        BUNDLE,
    ),
    (
        "booléen en chaîne (structure R4)",
        _set(0, "overbooked", "oui"),
        ("FHIR-BASE-STRUCTURE", "Bundle.entry[0].resource.overbooked", SLOT1),
        "bloquant",
        SLOT,
    ),
    (
        "élément inconnu (structure R4)",
        _set(0, "commentaire", "https://exemple.com/rdv"),
        ("FHIR-BASE-STRUCTURE", "Bundle.entry[0].resource.commentaire", SLOT1),
        "bloquant",
        SLOT,
    ),
    (
        "tableau vide (structure R4, FAQ point 10)",
        _set(0, "specialty", []),
        ("FHIR-BASE-STRUCTURE", "Bundle.entry[0].resource.specialty", SLOT1),
        "bloquant",
        SLOT,
    ),
    (
        "valeur d'extension R4B",
        _set(
            0,
            "extension",
            [{"url": "https://exemple.com/x", "valueRatioRange": {"denominator": {"value": 1}}}],
        ),
        ("FHIR-BASE-STRUCTURE", "Bundle.entry[0].resource.extension[0].valueRatioRange", SLOT1),
        "bloquant",
        SLOT,
    ),
]


@needs_ig
@pytest.mark.parametrize(
    ("label", "mutate", "expected", "level", "profile"),
    BUNDLE_MUTATIONS,
    ids=[m[0] for m in BUNDLE_MUTATIONS],
)
def test_bundle_mutation_gives_exactly_the_expected_finding(
    examples: dict[str, dict[str, Any]],
    label: str,
    mutate: Mutation,
    expected: tuple[str, str, str | None],
    level: str,
    profile: str,
) -> None:
    original = examples["ExampleBundlePSIndiv"]
    before = validate_bundle(original, window=WINDOW, now=NOW)
    mutated = copy.deepcopy(original)
    mutate(mutated)
    after = validate_bundle(mutated, window=WINDOW, now=NOW)
    new = _new(before, after)
    assert [f.key() for f in new] == [expected], [(f.rule_id, f.path, f.message) for f in new]
    assert new[0].severity == level
    assert new[0].profile == profile
    assert new[0].message and new[0].source
    assert _keys(before) <= _keys(after)


@needs_ig
def test_slot_in_the_past(examples: dict[str, dict[str, Any]]) -> None:
    """A wider window than the search's, so only the past is wrong."""
    window = (datetime.fromisoformat("2021-11-01T00:00:00.000+00:00"), WINDOW[1])
    original = examples["ExampleBundlePSIndiv"]
    mutated = copy.deepcopy(original)
    _slot_times(7, "2021-11-04T10:00:00.000+00:00", "2021-11-04T10:20:00.000+00:00")(mutated)
    new = _new(
        validate_bundle(original, window=window, now=NOW), validate_bundle(mutated, window=window, now=NOW)
    )
    assert [f.key() for f in new] == [("FHIR-SLOT-PAST", "Bundle.entry[7].resource.start", SLOT3)]


@needs_ig
def test_the_past_is_now_by_default(examples: dict[str, dict[str, Any]]) -> None:
    """Without ``now`` the search happens now: the IG's 2021 slots are all in the past."""
    findings = validate_bundle(examples["ExampleBundlePSIndiv"])
    assert sorted(f.path for f in findings if f.rule_id == "FHIR-SLOT-PAST") == [
        f"Bundle.entry[{i}].resource.start" for i in (0, 11, 4, 7)
    ]


@needs_ig
def test_wrong_bundle_resource_type_is_one_finding(examples: dict[str, dict[str, Any]]) -> None:
    mutated = dict(examples["ExampleBundlePSIndiv"], resourceType="Bundel")
    findings = validate_bundle(mutated, window=WINDOW, now=NOW)
    assert [f.key() for f in findings] == [("FHIR-BASE-RESOURCETYPE", "Bundle.resourceType", None)]
    assert findings[0].blocking
    assert validate_bundle([], now=NOW)[0].rule_id == "FHIR-BASE-RESOURCETYPE"  # type: ignore[arg-type]


@needs_ig
def test_unknown_contained_resource_type_is_a_finding_not_a_traceback(
    examples: dict[str, dict[str, Any]],
) -> None:
    mutated = copy.deepcopy(examples["ExampleBundlePSIndiv"])
    _entry(mutated, 3)["contained"][0]["resourceType"] = "Lieu"
    keys = _keys(validate_bundle(mutated, window=WINDOW, now=NOW))
    assert ("FHIR-BASE-RESOURCETYPE", "Bundle.entry[3].resource.contained[0].resourceType", ROLE2) in keys
    assert ("FHIR-ROLE-LOCATION-CONTAINED", "Bundle.entry[3].resource.location[0]", ROLE2) in keys


@needs_ig
@pytest.mark.parametrize(
    "garbage",
    [None, 3, "texte", [], {}, [None], {"reference": 3}, [{"url": None}], {"coding": "AMB"}],
    ids=repr,
)
@pytest.mark.parametrize(
    "element", ["meta", "serviceType", "schedule", "comment", "extension", "start", "appointmentType"]
)
def test_garbage_anywhere_gives_blocking_findings_never_an_exception(
    examples: dict[str, dict[str, Any]], element: str, garbage: Any
) -> None:
    mutated = copy.deepcopy(examples["ExampleBundlePSIndiv"])
    _entry(mutated, 0)[element] = garbage
    findings = validate_bundle(mutated, window=WINDOW, now=NOW)
    assert all(f.rule_id in RULES for f in findings)
    if (element, garbage) == (
        "comment",
        "texte",
    ):  # a valid string: only "not a URL" (the kit checks non-blank)
        assert [f.rule_id for f in findings if f.full_url == SLOT1] == ["FHIR-SLOT-BOOKING-URL-FORMAT"]
        return
    assert any(f.blocking for f in findings), (element, garbage)


@needs_ig
def test_valueMeta_is_valid_r4(examples: dict[str, dict[str, Any]]) -> None:
    slot = copy.deepcopy(examples["ExampleSlotPSIndiv1"])
    slot["extension"] = [{"url": "https://exemple.com/x", "valueMeta": {"versionId": "1"}}]
    assert [f for f in validate_resource(slot, SLOT) if f.blocking] == []


# ------------------------------------------------------------------ appointments and regulators

RESOURCE_MUTATIONS: list[tuple[str, str, Mutation, tuple[str, str, str | None], str]] = [
    (
        "sans extension appointmentOperator",
        "ExampleAppointmentBooked",
        lambda a: a.pop("extension"),
        ("FHIR-APPT-OPERATOR", f"Appointment.extension.where(url = '{OPERATOR}')", None),
        "bloquant",
    ),
    (
        "statut proposed",
        "ExampleAppointmentBooked",
        lambda a: a.__setitem__("status", "proposed"),
        ("FHIR-APPT-STATUS", "Appointment.status", None),
        "bloquant",
    ),
    (
        "participant declined",
        "ExampleAppointmentBooked",
        lambda a: a["participant"][0].__setitem__("status", "declined"),
        ("FHIR-APPT-PARTICIPANT-STATUS", "Appointment.participant[0].status", None),
        "bloquant",
    ),
    (
        "PS effecteur sans RPPS valide",
        "ExampleAppointmentCancelled",
        lambda a: a["participant"][0]["actor"]["identifier"].__setitem__("value", "12345"),
        ("FHIR-APPT-PARTICIPANT-RPPS", "Appointment.participant[0].actor.identifier.value", None),
        "bloquant",
    ),
    (
        "régulateur INTRN avec l'autorité RPPS",
        "ExampleAppointmentBooked",
        lambda a: a["extension"][0]["valueReference"]["identifier"]["type"]["coding"][0].__setitem__(
            "code", "INTRN"
        ),
        ("FHIR-APPT-OPERATOR-KIND", "Appointment.extension[0].valueReference.identifier", None),
        "bloquant",
    ),
    (
        "meta.profile de l'extrait de la page",
        "ExampleAppointmentBooked",
        lambda a: a["meta"].__setitem__(
            "profile", ["http://interopsante.org/fhir/StructureDefinition/FrAppointmentSAS"]
        ),
        ("FHIR-APPT-META-PROFILE-URL", "Appointment.meta.profile", None),
        "recommande",
    ),
    (
        "sans end",
        "ExampleAppointmentBooked",
        lambda a: a.pop("end"),
        ("FHIR-APPT-PERIOD", "Appointment.end", None),
        "bloquant",
    ),
    (
        "mauvais resourceType",
        "ExampleAppointmentBooked",
        lambda a: a.__setitem__("resourceType", "Appointement"),
        ("FHIR-BASE-RESOURCETYPE", "Appointment.resourceType", None),
        "bloquant",
    ),
    (
        "régulateur sans identifiant",
        "ExamplePractitionerRegul1",
        lambda p: p.pop("identifier"),
        ("FHIR-REGUL-IDENTIFIER", "Practitioner.identifier", None),
        "bloquant",
    ),
    (
        "meta.source qui n'est pas SAS",
        "ExamplePractitionerRegul2",
        lambda p: p["meta"].__setitem__("source", "urn:oid:1.2.250.1.71.4.2.1"),
        ("FHIR-REGUL-META-SOURCE", "Practitioner.meta.source", None),
        "bloquant",
    ),
    (
        "deux identifiants nationaux",
        "ExamplePractitionerRegul2",
        lambda p: p["identifier"].append(dict(p["identifier"][0], value="810002673900")),
        (
            "FHIR-REGUL-IDNPS-MAX",
            "Practitioner.identifier.where(system = 'urn:oid:1.2.250.1.71.4.2.1')",
            None,
        ),
        "bloquant",
    ),
    (
        "ID technique typé IDNPS",
        "ExamplePractitionerRegul4",
        lambda p: p["identifier"][0]["type"]["coding"][0].__setitem__("code", "IDNPS"),
        ("FHIR-REGUL-INTRN-TYPE", "Practitioner.identifier[0].type", None),
        "bloquant",
    ),
    (
        "active absent",
        "ExamplePractitionerRegul3",
        lambda p: p.pop("active"),
        ("FHIR-REGUL-ACTIVE", "Practitioner.active", None),
        "bloquant",
    ),
]


@needs_ig
@pytest.mark.parametrize(
    ("label", "example", "mutate", "expected", "level"),
    RESOURCE_MUTATIONS,
    ids=[m[0] for m in RESOURCE_MUTATIONS],
)
def test_resource_mutation_gives_exactly_the_expected_finding(
    examples: dict[str, dict[str, Any]],
    label: str,
    example: str,
    mutate: Mutation,
    expected: tuple[str, str, str | None],
    level: str,
) -> None:
    original = examples[example]
    profile = original["meta"]["profile"][0]
    before = validate_resource(original, profile)
    mutated = copy.deepcopy(original)
    mutate(mutated)
    new = _new(before, validate_resource(mutated, profile))
    assert [f.key() for f in new] == [expected], [(f.rule_id, f.path, f.message) for f in new]
    assert new[0].severity == level


@needs_ig
def test_needs_action_participant_requires_pending(examples: dict[str, dict[str, Any]]) -> None:
    mutated = copy.deepcopy(examples["ExampleAppointmentBooked"])
    mutated["participant"][0]["status"] = "needs-action"
    new = _new(
        validate_resource(examples["ExampleAppointmentBooked"], APPT), validate_resource(mutated, APPT)
    )
    assert {(f.rule_id, f.severity) for f in new} == {
        ("FHIR-APPT-PENDING", "bloquant"),  # ANS's kit
        ("FHIR-APPT-PARTICIPANT-ACCEPTED", "recommande"),  # the page says "systématiquement accepted"
    }
    mutated["status"] = "pending"
    assert [f.rule_id for f in validate_resource(mutated, APPT) if f.blocking] == []


def test_unknown_profile_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="profil inconnu"):
        validate_resource({"resourceType": "Slot"}, "http://example.org/StructureDefinition/Nope")
    with pytest.raises(ValueError, match="cas d'usage"):
        validate_bundle({"resourceType": "Bundle", "type": "searchset"}, use_case="hospitalier")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="fuseau"):
        validate_bundle({"resourceType": "Bundle", "type": "searchset"}, now=datetime(2021, 11, 4))


# ------------------------------------------------------------------ self link (ANS's kit)


@needs_ig
def test_self_link_helper(examples: dict[str, dict[str, Any]]) -> None:
    bundle = examples["ExampleBundlePSIndiv"]
    url = bundle["link"][0]["url"]
    query = url.split("?", 1)[1]
    assert bundle_self_link_matches(bundle, url) is None
    assert bundle_self_link_matches(bundle, "?" + query) is None
    reordered = "&".join(reversed(query.split("&")))
    exact = bundle_self_link_matches(bundle, reordered)
    assert exact is not None and (exact.rule_id, exact.severity) == (
        "FHIR-BUNDLE-SELF-LINK-EXACT",
        "recommande",
    )
    decoded = query.replace("%7C", "|")
    exact = bundle_self_link_matches(bundle, decoded)
    assert exact is not None and exact.rule_id == "FHIR-BUNDLE-SELF-LINK-EXACT"
    other = bundle_self_link_matches(bundle, query.replace("le2021-11-06", "le2021-11-07"))
    assert other is not None and (other.rule_id, other.severity, other.path) == (
        "FHIR-BUNDLE-SELF-LINK-QUERY",
        "bloquant",
        "Bundle.link[0].url",
    )
    missing = bundle_self_link_matches({**bundle, "link": []}, query)
    assert missing is not None and (missing.rule_id, missing.severity) == (
        "FHIR-BUNDLE-SELF-LINK",
        "bloquant",
    )


# ------------------------------------------------------------------ the tables and the catalogue


def _all_rules() -> list[tuple[str, Rule]]:
    return [(p.name, r) for p in ALL for r in p.rules]


def test_rule_tables_are_consistent() -> None:
    for name, rule in _all_rules():
        assert rule.rule_id.startswith("FHIR-"), rule
        assert rule.source.strip() and rule.title.strip(), rule.rule_id
        if rule.check:
            assert rule.check in CHECKS, (name, rule.rule_id)
        if rule.binding:
            assert rule.binding.valueset in VALUE_SETS, (name, rule.rule_id)
        profile = next(p for p in ALL if p.name == name)
        for segment in rule.path.split(".") if rule.path else []:
            if ":" in segment:
                assert segment in profile.slices, (name, rule.rule_id, segment)
        columns = [
            rule.min is not None or rule.max is not None,
            rule.fixed is not None,
            rule.pattern is not None,
            rule.binding is not None,
            bool(rule.targets),
            rule.invariant is not None,
            rule.check is not None,
        ]
        assert any(columns), rule.rule_id


def test_every_fhirpath_expression_compiles() -> None:
    from recette_sas.fhir.validation import _compiled

    for _, rule in _all_rules():
        for expression in (rule.invariant, rule.when):
            if expression:
                _compiled(expression)


def test_levels_follow_the_brief() -> None:
    assert RULES["FHIR-SLOT-STATUS"][0] == "bloquant"
    assert RULES["FHIR-SLOT-BOOKING-URL"][0] == "bloquant"
    assert RULES["FHIR-SLOT-BOOKING-URL-WALKIN"][0] == "recommande"
    assert RULES["FHIR-SLOT-APPOINTMENTTYPE-SYSTEM"][0] == "recommande"  # preferred binding
    assert all(level in ("bloquant", "recommande") for level, _, _ in RULES.values())
    for profile in ALL:
        assert rules_of(profile), profile.name


def test_catalogue_document_matches() -> None:
    document = ROOT / "docs" / "fhir-rules.md"
    assert document.read_text(encoding="utf-8") == render_markdown(), (
        "docs/fhir-rules.md is stale: python -m recette_sas.fhir.rules_catalogue > docs/fhir-rules.md"
    )
    for rule_id in RULES:
        assert f"`{rule_id}`" in render_markdown()
    assert PROFILES_OF["FHIR-SLOT-STATUS"] == ["FrSlotAgregateur"]


def test_base_structure_without_the_ig() -> None:
    """The base check alone, on hand-written resources (no IG needed)."""
    assert (
        base.check_structure(
            {
                "resourceType": "Slot",
                "schedule": {"reference": "Schedule/1"},
                "status": "free",
                "start": "2021-11-05T09:00:00.000+00:00",
                "end": "2021-11-05T09:30:00.000+00:00",
            }
        )
        == []
    )
    issues = base.check_structure(
        {
            "resourceType": "Slot",
            "status": "libre",
            "start": "2021-11-05",
            "end": "2021-11-05T09:30:00.000+00:00",
            "schedule": {"reference": "Schedule/1"},
        }
    )
    assert {(i.path, i.kind) for i in issues} == {("status", "code"), ("start", "structure")}
    assert "décalage" in next(i.message for i in issues if i.path == "start")
    unchecked = base.check_structure({"resourceType": "MedicinalProduct"})
    assert [i.kind for i in unchecked] == ["unchecked"]
    assert (
        base.check_structure({"resourceType": "SubscriptionStatus"})[0].kind == "resourcetype"
    )  # R4B, not R4
    assert base.check_structure("texte")[0].kind == "resourcetype"
    assert json.dumps([i.message for i in issues], ensure_ascii=False)


# ------------------------------------------------------------------ more shapes of a valid answer


def test_the_faq_empty_bundle_is_valid() -> None:
    """faq.md:330-348 (principales erreurs, point 9): no slot is an empty searchset with total 0."""
    empty = {
        "resourceType": "Bundle",
        "id": "8cbb33dc-779e-45e9-a5f6-ea66101288c5",
        "meta": {"profile": [BUNDLE]},
        "type": "searchset",
        "total": 0,
        "link": [
            {
                "relation": "self",
                "url": "https://exemple.com/ans-sas/Slot/?_include=Slot:schedule&_include:iterate=Schedule:actor"
                "&status=free&start=ge2021-11-04T14:19:35.760+00:00&start=le2021-11-06T23:59:59.999+00:00"
                "&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1%7C810002673899,"
                "urn:oid:1.2.250.1.71.4.2.1%7C810100050075&_count=1000",
            }
        ],
    }
    assert validate_bundle(empty, window=WINDOW, now=NOW) == []
    assert _keys(validate_bundle({**empty, "total": 1}, now=NOW)) == {
        ("FHIR-BUNDLE-TOTAL-COUNT", "Bundle.total", None)
    }


@needs_ig
def test_urn_uuid_full_urls_resolve(examples: dict[str, dict[str, Any]]) -> None:
    """References may go through urn:uuid fullUrls instead of RESTful ones (FHIR R4 Bundle resolution)."""
    import uuid

    bundle = copy.deepcopy(examples["ExampleBundlePSIndiv"])
    urns = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        urns[f"{resource['resourceType']}/{resource['id']}"] = entry["fullUrl"] = f"urn:uuid:{uuid.uuid4()}"

    def rewrite(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("reference") in urns:
                node["reference"] = urns[node["reference"]]
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for item in node:
                rewrite(item)

    rewrite(bundle)
    findings = validate_bundle(bundle, window=WINDOW, now=NOW)
    assert {(f.rule_id, f.path) for f in findings} == {
        ("FHIR-BUNDLE-SEARCH-MODE", "Bundle.entry[2].search.mode"),
        ("FHIR-SLOT-BOOKING-URL-WALKIN", "Bundle.entry[4].resource.comment"),
    }
    # A reference to another server's Schedule does not resolve to this Bundle's.
    bundle["entry"][0]["resource"]["schedule"]["reference"] = (
        "https://ailleurs.example/fhir/Schedule/ExampleSchedule1"
    )
    assert ("FHIR-BUNDLE-SLOT-SCHEDULE", "Bundle.entry[0].resource.schedule") in {
        (f.rule_id, f.path) for f in validate_bundle(bundle, window=WINDOW, now=NOW)
    }
