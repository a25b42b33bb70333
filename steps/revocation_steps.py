"""Steps of the revocation faults (the publisher fails one way, the target's behaviour is reported) and
of the daily CRL refresh (a sentinel revoked at one run, judged at the next: ``pki/sentinel.py``).

The fault target is its own (``fixtures/revocation.py``); its positive control and a revoked call run
before the fault is switched on, then the valid and the revoked certificates are presented while the
publisher fails, and the publisher counts what it was asked meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import allure
import pytest
from pytest_bdd import given, parsers, then, when

from fixtures.crl_refresh import plant, previous_sentinel
from fixtures.revocation import FaultTargets, record_fault
from recette_sas.server.rules import require_control
from recette_sas.verdict import Attempt, Outcome

from .evidence import attach_attempt, attach_text, attach_verdict

if TYPE_CHECKING:  # loaded when a step runs, not when pytest collects the features
    from recette_sas.identity import Identity
    from recette_sas.pki.faults import PublisherFault
    from recette_sas.pki.publisher import Publisher
    from recette_sas.pki.sentinel import Sentinel
    from recette_sas.pki.store import Pki
    from recette_sas.server.revocation_rules import FaultObservation
    from recette_sas.server.targets import Target, TargetSession


@dataclass(frozen=True)
class FaultSetup:
    fault: PublisherFault
    target: Target
    control: Attempt
    revoked_before: Attempt
    consultations_before: dict[str, dict[str, int]]


@given(
    parsers.parse("la publication des révocations de l'IGC Santé tombe en panne : « {panne} »"),
    target_fixture="panne",
)
def _(
    panne: str,
    cible: Target,
    fault_targets: FaultTargets,
    target_session: TargetSession,
    publisher: Publisher,
    pki: Pki,
    flow: str,
    ans_env: str,
) -> FaultSetup:
    """The target reserved for this fault, shown up and accepting before the fault is switched on."""
    from recette_sas.pki.catalogue import Defect
    from recette_sas.pki.faults import FAULT_DESCRIPTIONS, PublisherFault
    from recette_sas.server.flows import flow_request

    fault = PublisherFault.parse(panne)
    attach_text("panne", f"« {fault.value} » : {FAULT_DESCRIPTIONS[fault]}")
    allure.dynamic.parameter("panne", FAULT_DESCRIPTIONS[fault], excluded=True)
    target = fault_targets.for_fault(ans_env, fault.value)
    control = target_session.control(target, flow, ans_env)
    attach_attempt(control, name="contrôle positif (sans panne)")
    with publisher.counting() as seen:
        before = target_session.attempt(
            target,
            flow,
            ans_env,
            flow_request(flow, base_path=target.base_path, use_case=target.use_case),
            identity=pki.identity(ans_env, Defect.REVOQUE),
        )
    attach_attempt(before, name="certificat révoqué, sans panne")
    return FaultSetup(fault, target, control, before, seen.snapshot())


@when(
    "la plateforme SAS appelle le flux avec son certificat valide puis avec un certificat révoqué",
    target_fixture="observation",
)
def _(
    panne: FaultSetup, target_session: TargetSession, publisher: Publisher, pki: Pki, flow: str, ans_env: str
) -> FaultObservation:
    from recette_sas.pki.catalogue import Defect
    from recette_sas.server.flows import flow_request
    from recette_sas.server.revocation_rules import FaultObservation

    valid_id, revoked_id = pki.identity(ans_env, Defect.VALIDE), pki.identity(ans_env, Defect.REVOQUE)
    request = flow_request(flow, base_path=panne.target.base_path, use_case=panne.target.use_case)
    with publisher.faulty(panne.fault) as seen:
        valid = target_session.attempt(panne.target, flow, ans_env, request, identity=valid_id)
        revoked = target_session.attempt(panne.target, flow, ans_env, request, identity=revoked_id)
    attach_attempt(valid, name="certificat valide, pendant la panne")
    attach_attempt(revoked, name="certificat révoqué, pendant la panne")
    return FaultObservation(
        fault=panne.fault.value,
        control=panne.control,
        revoked_before=panne.revoked_before,
        valid=valid,
        revoked=revoked,
        valid_serial=valid_id.leaf.serial_number,
        revoked_serial=revoked_id.leaf.serial_number,
        consultations=seen.snapshot(),
        consultations_before=panne.consultations_before,
    )


@then("le certificat révoqué reste refusé")
def _(observation: FaultObservation, ans_env: str) -> None:
    from recette_sas.server import revocation_rules

    report = revocation_rules.observe_fault(observation)
    entry = {
        "ans_env": ans_env,
        **report.to_dict(),
        "consulted_without_fault": observation.consultations_before,
    }
    record_fault(entry)
    attach_text("comportement pendant la panne", json.dumps(entry, indent=2, ensure_ascii=False))
    attach_verdict(revocation_rules.require_revoked_kept_out(report))


@dataclass(frozen=True)
class SentinelRun:
    """The daily-refresh scenario of one run: the previous run's sentinel (if any) and this run's."""

    previous: Sentinel | None
    previous_identity: Identity | None
    control: Attempt
    attempt: Attempt | None
    planted: bool


@given("un certificat sentinelle révoqué lors de l'exécution précédente", target_fixture="sentinelle")
def _(pytestconfig: pytest.Config, pki: Pki, ans_env: str) -> tuple[Sentinel | None, Identity | None]:
    from recette_sas.pki.sentinel import load_sentinel_identity

    previous = previous_sentinel(pytestconfig, ans_env)
    identity = load_sentinel_identity(pki, previous) if previous is not None else None
    if previous is not None:
        attach_text("sentinelle", f"série {previous.serial:x}, révoquée le {previous.revoked_at.isoformat()}")
    return previous, identity


@when("la plateforme SAS le présente en appelant le flux", target_fixture="passage_sentinelle")
def _(
    sentinelle: tuple[Sentinel | None, Identity | None],
    pytestconfig: pytest.Config,
    target_session: TargetSession,
    cible: Target,
    pki: Pki,
    flow: str,
    ans_env: str,
) -> SentinelRun:
    """Judge the previous run's sentinel, then plant this run's: presented (accepted), then revoked."""
    from recette_sas.pki.sentinel import issue_sentinel, revoked
    from recette_sas.server.flows import flow_request

    previous, identity = sentinelle
    request = flow_request(flow, base_path=cible.base_path, use_case=cible.use_case)
    control = target_session.control(cible, flow, ans_env)
    attach_attempt(control, name="contrôle positif")
    seen: Attempt | None = None
    if previous is not None and identity is not None:
        seen = target_session.attempt(cible, flow, ans_env, request, identity=identity)
        attach_attempt(seen, name="certificat sentinelle révoqué à l'exécution précédente")
    planted = False
    if control.outcome is Outcome.ACCEPTED:
        fresh, issuer = issue_sentinel(pki, ans_env)
        first = target_session.attempt(cible, flow, ans_env, request, identity=fresh)
        attach_attempt(first, name="nouveau certificat sentinelle, avant sa révocation")
        if first.outcome is Outcome.ACCEPTED:
            plant(pytestconfig, revoked(pki, ans_env, fresh, issuer), ans_env)
            planted = True
    if not planted:
        plant(pytestconfig, None, ans_env)
    return SentinelRun(previous, identity, control, seen, planted)


@then("l'appel est refusé car la révocation a été prise en compte")
def _(passage_sentinelle: SentinelRun) -> None:
    from recette_sas.server import revocation_rules

    run = passage_sentinelle
    require_control(run.control)
    if run.previous is None or run.attempt is None:
        why = (
            "un certificat sentinelle vient d'être révoqué : il sera jugé à la prochaine exécution"
            if run.planted
            else "aucun certificat sentinelle n'a pu être planté (le nouveau n'a pas été accepté)"
        )
        pytest.skip(f"première exécution (pas d'état dans reports/crl-sentinel.json) : {why}")
    attach_verdict(revocation_rules.require_sentinel_refused(
            run.attempt, control=run.control, revoked_at=run.previous.revoked_at.isoformat()
        ),
    )
