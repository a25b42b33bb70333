"""Regulator accounts (SAS → editor) and appointments (editor → SAS), judged functionally.

The IG's examples and what the suite sends validate with the FHIR engine; the reference regulator store
and the mock's appointment store answer as the IG asks; and every broken variant (of the reference
server's regulator store, of the reference client) fails exactly the scenarios meant to catch it, keyed
on check keys, while every other scenario passes. The feature runs go through ``pytester`` in a
subprocess, as an editor runs them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from recette_sas.client.appointments import AppointmentStore
from recette_sas.client.presentation import RecordedRequest
from recette_sas.client.reference import APPOINTMENT_SYSTEM, appointment
from recette_sas.fhir.app import FhirApp
from recette_sas.fhir.profiles.fr_appointment_sas import URL as APPT
from recette_sas.fhir.profiles.fr_practitioner_regul import URL as REGUL
from recette_sas.fhir.regulators import DEFECTS, RegulatorStore
from recette_sas.fhir.validation import validate_resource
from recette_sas.server.regulator_flows import INVALID_KINDS, new_account, sequence
from recette_sas.server.variants import VARIANTS

from .test_client_role import Result, run_features
from .test_config import exported_reference as _reference_in_its_own_process  # noqa: F401 (a fixture)
from .test_variants import NOT_TESTABLE_HERE, by_status, run_suite

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
IG = ROOT.parent / "shared" / "spec" / "ig-sas"
BASE = "https://editeur.exemple.fr/fhir"


# -- the IG's examples and what the suite sends ------------------------------------------------------------


@pytest.mark.skipif(not IG.is_dir(), reason=f"IG sources absent: {IG}")
def test_the_igs_regulator_and_appointment_examples_have_no_blocking_finding() -> None:
    from recette_sas.fhir.fsh_examples import load_examples

    examples = load_examples(IG)
    regulators = [n for n in examples if n.startswith("ExamplePractitionerRegul")]
    appointments = ["ExampleAppointmentBooked", "ExampleAppointmentCancelled"]
    assert len(regulators) == 4
    for name in regulators:
        assert [f for f in validate_resource(examples[name], REGUL) if f.blocking] == [], name
    for name in appointments:
        assert [f for f in validate_resource(examples[name], APPT) if f.blocking] == [], name


def test_what_sas_sends_and_what_the_reference_client_sends_have_no_finding_at_all() -> None:
    for kind in ("national", "sas"):
        assert validate_resource(new_account(kind).resource(), REGUL) == [], kind
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    for status in ("booked", "cancelled"):
        assert (
            validate_resource(
                appointment("b6e39355-8a61-4556-b340-36f7b95fec6a", status=status, start=start), APPT
            )
            == []
        )


# -- the reference regulator store -------------------------------------------------------------------------


def _play(name: str, store: RegulatorStore | None = None) -> list[tuple[int, str | None, Any]]:
    app = FhirApp(base_url=BASE, regulators=store or RegulatorStore())
    answers = []
    for step in sequence(name):
        r = app(step.request.method, step.request.path, dict(step.request.headers), step.request.body or b"")
        answers.append((r.status, r.header("Location"), r.json()))
    return answers


def _ids(answers: list[tuple[int, str | None, Any]]) -> list[str | None]:
    return [loc.split("/Practitioner/")[1].split("/")[0] if loc else None for _, loc, _ in answers]


def test_the_reference_store_answers_each_sequence_as_the_ig_asks() -> None:
    statuses = {
        name: [s for s, _, _ in _play(name)]
        for name in (
            "creation-nationale",
            "creation-sas",
            "maj-email",
            "maj-noms",
            "maj-inconnu",
            "maj-repetee",
            "desactivation",
            "reactivation",
            "reattribution",
            "doublon",
        )
    }
    assert statuses == {
        "creation-nationale": [201],
        "creation-sas": [201],
        "maj-email": [201, 200],
        "maj-noms": [201, 200],
        "maj-inconnu": [201],
        "maj-repetee": [201, 200],
        "desactivation": [201, 200],
        "reactivation": [201, 200, 200],
        "reattribution": [201, 200, 201],
        "doublon": [201, 409],
    }
    repeated = _play("maj-repetee")
    assert _ids(repeated)[0] == _ids(repeated)[1] and all(_ids(repeated))
    reattributed = _play("reattribution")
    assert _ids(reattributed)[0] != _ids(reattributed)[2]
    for kind in INVALID_KINDS:
        [(status, location, body)] = _play(f"invalide:{kind}")
        assert status in (400, 422) and location is None, kind
        assert body["resourceType"] == "OperationOutcome", kind
    [(_, _, outcome)] = _play("invalide:sans-identifiant")
    assert outcome["issue"][0]["expression"] == ["Practitioner.identifier"]


def test_the_read_back_returns_what_sas_sent_last_within_the_probes_excerpt() -> None:
    *_, (status, _, bundle) = _play("relecture-desactivation")
    assert status == 200 and bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["active"] is False
    *_, (_, _, emailed) = _play("relecture-email")
    assert emailed["entry"][0]["resource"]["telecom"] == [
        {"system": "email", "value": "s.loridon@exemple.fr"}
    ]
    assert len(json.dumps(emailed, separators=(",", ":"), ensure_ascii=False)) < 500


@pytest.mark.parametrize(
    ("defect", "sequence_name", "expected"),
    [
        ("creation-sans-location", "creation-nationale", [(200, False)]),
        ("maj-sans-creation", "maj-inconnu", [(404, False)]),
        ("doublon-accepte", "doublon", [(201, True), (201, True)]),
        ("erreur-500-si-invalide", "invalide:autre-ressource", [(500, False)]),
        ("desactivation-ignoree", "reattribution", [(201, True), (200, True), (409, False)]),
    ],
)
def test_each_store_defect_breaks_its_behaviour(
    defect: str, sequence_name: str, expected: list[tuple[int, bool]]
) -> None:
    answers = _play(sequence_name, RegulatorStore(defect=defect))
    assert [(s, loc is not None) for s, loc, _ in answers] == expected
    assert f"regul-{defect}" in VARIANTS


def test_every_store_defect_is_a_server_variant() -> None:
    assert {name for name in VARIANTS if name.startswith("regul-")} == {f"regul-{d}" for d in DEFECTS}


# -- the mock's appointment store ------------------------------------------------------------------------------


def _request(method: str, target: str, resource: Any) -> RecordedRequest:
    path, _, query = target.partition("?")
    pairs = tuple(tuple(p.split("=", 1)) for p in query.split("&") if p)
    return RecordedRequest(
        method=method,
        target=target,
        path=path,
        query=pairs,  # type: ignore[arg-type]
        headers=(("content-type", "application/fhir+json"),),
        body=json.dumps(resource).encode(),
    )


def test_the_mock_validates_appointments_and_takes_both_spellings_of_identifier() -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    store = AppointmentStore("https://sas.exemple.fr")
    token = f"{APPOINTMENT_SYSTEM}|rdv-1"
    created = store.answer(
        _request("POST", "/Appointment", appointment("rdv-1", status="booked", start=start))
    )
    assert created[0] == 201 and dict(created[2])["Location"].startswith(
        "https://sas.exemple.fr/Appointment/"
    )
    cancelled = appointment("rdv-1", status="cancelled", start=start)
    assert store.answer(_request("PUT", f"/Appointment?identifier={token}", cancelled))[0] == 200
    assert store.answer(_request("PUT", f"/Appointment?Identifier={token}", cancelled))[0] == 200
    both = f"/Appointment?identifier={token}&Identifier={token}"
    assert store.answer(_request("PUT", both, cancelled))[0] == 400
    unknown = appointment("rdv-2", status="cancelled", start=start)
    assert (
        store.answer(_request("PUT", f"/Appointment?identifier={APPOINTMENT_SYSTEM}|rdv-2", unknown))[0]
        == 404
    )
    status, outcome, _ = store.answer(
        _request("POST", "/Appointment", appointment("rdv-3", status="booked", start=start, operator=False))
    )
    assert status == 422 and outcome["resourceType"] == "OperationOutcome"
    assert [i["diagnostics"].split(":")[0] for i in outcome["issue"]] == ["FHIR-APPT-OPERATOR"]


# -- the server features against the broken regulator stores ------------------------------------------------------

READ_BACK = {f"REC-REGUL-RELECTURE-0{n}" for n in (1, 2, 3)}
INVALID_4XX = {f"REC-REGUL-4XX-02[{k}]" for k in INVALID_KINDS}

SERVER_EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "regul-creation-sans-location": (
        {"SRV-REGUL-CREATION-01", "SRV-REGUL-CREATION-02", "SRV-REGUL-REATTRIBUTION-01"},
        set(),
    ),
    # The existing mTLS update scenario updates an unknown account too: it catches this defect as well.
    "regul-maj-sans-creation": ({"SRV-MTLS-03", "SRV-REGUL-MAJ-CREE-01", "SRV-REGUL-MAJ-CREE-02"}, set()),
    "regul-doublon-accepte": ({"SRV-REGUL-DOUBLON-01"}, {"REC-REGUL-4XX-01"}),
    "regul-erreur-500-si-invalide": (set(), INVALID_4XX),
    "regul-desactivation-ignoree": ({"SRV-REGUL-REATTRIBUTION-01"}, {"REC-REGUL-RELECTURE-03"}),
}


def test_the_reference_passes_every_regulator_scenario_and_skips_read_backs_without_reads(
    pytester: pytest.Pytester, pki_cache_dir: Path
) -> None:
    outcome, summary = run_suite(pytester, pki_cache_dir, "-m", "regulateurs and fhir", "-rs")
    assert outcome.ret == 0
    statuses = by_status(summary)
    assert statuses["skipped"] == READ_BACK
    assert summary["totals"]["passed"] == 19 * 3  # ≥ 10 per ANS environment
    skipped = [line for line in outcome.stdout.lines if line.startswith("SKIPPED")]
    assert skipped and all("read_back = true" in line for line in skipped), skipped


def test_the_reference_passes_the_read_backs_where_reads_are_exposed(
    pytester: pytest.Pytester, pki_cache_dir: Path
) -> None:
    outcome, summary = run_suite(
        pytester, pki_cache_dir, "-m", "regulateurs and fhir and preproduction", "--sas-reference-read-back"
    )
    assert outcome.ret == 0
    assert by_status(summary) == {"passed": by_status(summary)["passed"]}
    assert by_status(summary)["passed"] >= READ_BACK


@pytest.mark.parametrize("variant", sorted(SERVER_EXPECTED))
def test_each_broken_regulator_store_is_caught_by_exactly_its_scenarios(
    pytester: pytest.Pytester, pki_cache_dir: Path, variant: str
) -> None:
    outcome, summary = run_suite(
        pytester,
        pki_cache_dir,
        "-m",
        "serveur and preproduction",
        f"--sas-reference-variant={variant}",
        "--sas-reference-read-back",
    )
    failed, warned = SERVER_EXPECTED[variant]
    statuses = by_status(summary)
    assert statuses.get("failed", set()) == failed
    assert statuses.get("warning", set()) == warned
    assert statuses.get("broken", set()) == set()
    assert statuses.get("skipped", set()) == NOT_TESTABLE_HERE - READ_BACK
    assert outcome.ret == (1 if failed else 0)


# -- the client features against the broken reference clients ----------------------------------------------------

CLIENT_EXPECTED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "reference": (frozenset(), frozenset()),
    "rdv-sans-operateur": (
        frozenset(
            {
                "CLI-RDV-CREATION[creation_rdv]",
                "CLI-RDV-MAJ[maj_rdv]",
                *(
                    f"{r}[{f}]"
                    for r in ("CLI-RDV-PROFIL", "CLI-RDV-OPERATEUR")
                    for f in ("creation_rdv", "maj_rdv")
                ),
            }
        ),
        frozenset(),
    ),
    "rdv-participant-refuse": (
        frozenset(
            {
                "CLI-RDV-CREATION[creation_rdv]",
                "CLI-RDV-MAJ[maj_rdv]",
                *(
                    f"{r}[{f}]"
                    for r in ("CLI-RDV-PROFIL", "CLI-RDV-PARTICIPANT")
                    for f in ("creation_rdv", "maj_rdv")
                ),
            }
        ),
        frozenset(),
    ),
    # needs-action is within the value set, but ANS's kit then wants status = pending (blocking finding).
    "rdv-participant-en-attente": (
        frozenset(
            {
                "CLI-RDV-CREATION[creation_rdv]",
                "CLI-RDV-MAJ[maj_rdv]",
                "CLI-RDV-PROFIL[creation_rdv]",
                "CLI-RDV-PROFIL[maj_rdv]",
            }
        ),
        frozenset({"CLI-RDV-ACCEPTE[creation_rdv]", "CLI-RDV-ACCEPTE[maj_rdv]"}),
    ),
    "rdv-maj-sans-changement": (frozenset({"CLI-RDV-STATUT[maj_rdv]"}), frozenset()),
    # The update designates a new identifier: the mock answers 404, which the update scenario now fails.
    "sans-identifiant": (frozenset({"CLI-MAJ-IDENTIFIANT[maj_rdv]", "CLI-RDV-MAJ[maj_rdv]"}), frozenset()),
    "mauvaise-methode": (frozenset({"CLI-MAJ[maj_rdv]", "CLI-RDV-MAJ[maj_rdv]"}), frozenset()),
    "mauvais-chemin": (
        frozenset(
            {
                "CLI-CREATION[creation_rdv]",
                "CLI-MAJ[maj_rdv]",
                "CLI-RDV-CREATION[creation_rdv]",
                "CLI-RDV-MAJ[maj_rdv]",
            }
        ),
        frozenset(),
    ),
}


def _client_results(pytester: pytest.Pytester, pki_cache_dir: Path, variant: str) -> dict[str, Result]:
    """Every client scenario, functional ones included, against one broken reference client (pre-production)."""
    runs = run_features(
        pytester,
        pki_cache_dir,
        "--sas-env",
        "preproduction",
        "--sas-client-variant",
        variant,
        marker=None,
        exits=(0, 1),
    )
    return runs["preproduction"]


@pytest.mark.parametrize("variant", list(CLIENT_EXPECTED))
def test_each_broken_client_is_caught_by_exactly_its_appointment_scenarios(
    pytester: pytest.Pytester, pki_cache_dir: Path, variant: str
) -> None:
    results = _client_results(pytester, pki_cache_dir, variant)
    failed, warned = CLIENT_EXPECTED[variant]
    by = {
        s: frozenset(k for k, r in results.items() if r.status == s)
        for s in ("failed", "warning", "broken", "skipped")
    }
    assert by["failed"] == failed
    assert by["warning"] == warned
    assert by["broken"] == frozenset()
    assert by["skipped"] == {"CLI-LIVE[-]"}
    functional = {k for k in results if k.startswith("CLI-RDV-")}
    assert len(functional) == 11  # ≥ 8 appointment scenarios per ANS environment


# -- the regulator rules on hand-made attempts -------------------------------------------------------------------


def _attempt(status: int | None, *, location: str | None = None, body: str = "", **changes: Any) -> Any:
    from recette_sas.verdict import Outcome

    from .test_server_rules import ACCEPTED, attempt

    if status is None:
        return attempt(Outcome.UNREACHABLE, **changes)
    return dataclasses.replace(
        ACCEPTED, method="POST", http_status=status, location=location, body_excerpt=body, **changes
    )


def test_regulator_rules_judge_the_answer_itself_and_only_after_the_control() -> None:
    from recette_sas.errors import ControlNotPassed, TargetUnreachable
    from recette_sas.server import regulator_rules as rules

    control = _attempt(200)
    created = _attempt(201, location=f"{BASE}/Practitioner/abc/_history/1")
    assert rules.account_id(created) == "abc"
    assert "201" in rules.require_created(created, control=control)
    with pytest.raises(AssertionError, match="201 Created"):
        rules.require_created(_attempt(200, location=f"{BASE}/Practitioner/abc"), control=control)
    with pytest.raises(AssertionError, match="without a Location"):
        rules.require_created(_attempt(201), control=control)
    with pytest.raises(ControlNotPassed):
        rules.require_created(created, control=_attempt(403))
    with pytest.raises(TargetUnreachable):
        rules.require_created(_attempt(None), control=control)
    outcome = '{"resourceType":"OperationOutcome","issue":[]}'
    assert rules.require_error_with_outcome(_attempt(500, body=outcome), control=control, what="x")
    with pytest.raises(AssertionError, match="5xx says the server failed"):
        rules.require_client_error(_attempt(500, body=outcome), control=control, what="x")
    with pytest.raises(AssertionError, match="without an OperationOutcome"):
        rules.require_error_with_outcome(_attempt(409, body="conflict"), control=control, what="x")
    with pytest.raises(AssertionError, match="was accepted"):
        rules.require_error_with_outcome(_attempt(201), control=control, what="x")
    first = _attempt(201, location=f"{BASE}/Practitioner/a")
    with pytest.raises(AssertionError, match="created another account"):
        rules.require_same_account(first, _attempt(201, location=f"{BASE}/Practitioner/b"), control=control)


def test_a_read_back_too_long_for_the_probe_is_no_verdict_never_a_pass() -> None:
    from recette_sas.errors import ProbeFault
    from recette_sas.server import regulator_rules as rules

    account = new_account()
    control = _attempt(200)
    truncated = _attempt(200, body=json.dumps({"resourceType": "Bundle", "entry": [{"x": "y" * 600}]})[:500])
    with pytest.raises(ProbeFault):
        rules.require_read_back(truncated, control=control, expected=account.resource(), token=account.token)
    other = dataclasses.replace(account, active=False).resource()
    bundle = json.dumps({"resourceType": "Bundle", "entry": [{"resource": other}]})
    with pytest.raises(AssertionError, match="active"):
        rules.require_read_back(
            _attempt(200, body=bundle), control=control, expected=account.resource(), token=account.token
        )


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False)])
def test_read_back_is_a_boolean_key_of_an_environment(tmp_path: Path, value: str, expected: bool) -> None:
    from recette_sas.config.loader import load_config

    config = tmp_path / "editeur.toml"
    config.write_text(
        f'editor = "x"\n[environments.preproduction]\nbase_url = "https://localhost:8443"\nread_back = {value}\n'
    )
    assert load_config(config).environments["preproduction"].read_back is expected


def test_a_read_back_that_is_not_a_boolean_is_a_one_line_error(tmp_path: Path) -> None:
    from recette_sas.config.loader import load_config
    from recette_sas.errors import ConfigError

    config = tmp_path / "editeur.toml"
    config.write_text(
        'editor = "x"\n[environments.preproduction]\nbase_url = "https://localhost:8443"\nread_back = "oui"\n'
    )
    with pytest.raises(ConfigError, match="read_back") as info:
        load_config(config)
    assert "\n" not in str(info.value)


def test_a_configured_editor_that_says_read_back_gets_its_accounts_read_back(
    pytester: pytest.Pytester, pki_cache_dir: Path, request: pytest.FixtureRequest
) -> None:
    """The editor's path: an out-of-process reference configured as a staging target, ``read_back = true``."""
    export_dir, port, responder_port = request.getfixturevalue("_reference_in_its_own_process")
    config = pytester.path / "editeur.toml"
    config.write_text(
        f"""
editor = "Référence hors processus"
mapping = "un-pour-un"
[pki]
responder_url = "http://127.0.0.1:{responder_port}"
responder_bind = "127.0.0.1:{responder_port}"
export_dir = "{export_dir}"
[environments.preproduction]
base_url = "https://localhost:{port}"
server_ca = "{export_dir / "server" / "ca.pem"}"
read_back = true
"""
    )
    outcome, summary = run_suite(
        pytester,
        pki_cache_dir,
        "-m",
        "regulateurs and fhir",
        "--sas-env=preproduction",
        f"--sas-config={config}",
    )
    assert outcome.ret == 0, outcome.stdout.str()[-3000:]
    statuses = by_status(summary)
    assert set(statuses) == {"passed"}
    assert statuses["passed"] >= READ_BACK
    assert summary["totals"]["passed"] == 22
