"""Steps of the regulator accounts flow, judged functionally: SAS creates, updates, deactivates accounts.

The When step runs one whole sequence of SAS's requests (``server.regulator_flows.sequence``) through
``TargetSession`` (so the positive control runs first and a target down is dialled once) and returns the
frozen record; Then steps only judge it through ``server.regulator_rules``: the last request is the one
the scenario claims something about, the earlier ones only prepare it.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from pytest_bdd import given, parsers, then, when

from fixtures.options import Settings
from recette_sas.server.rules import require_control, require_usable
from recette_sas.verdict import Attempt, Outcome

from .evidence import attach_attempt, attach_verdict
from .serveur_steps import Presentation

if TYPE_CHECKING:  # loaded when a step runs, not when pytest collects the features
    from recette_sas.server.regulator_flows import Step
    from recette_sas.server.targets import Target, TargetSession


UNUSABLE = frozenset({Outcome.UNREACHABLE, Outcome.NO_ANSWER, Outcome.PROBE_FAULT})

ACTIONS = {
    "elle crée un compte régulateur identifié par son identifiant national": "creation-nationale",
    "elle crée un compte régulateur identifié par son identifiant technique SAS": "creation-sas",
    "elle crée un compte puis change son adresse électronique par son identifiant national": "maj-email",
    "elle crée un compte puis change ses noms par son identifiant technique SAS": "maj-noms",
    "elle met à jour un compte que l'éditeur ne connaît pas encore": "maj-inconnu",
    "elle envoie deux fois la même mise à jour d'un compte inconnu": "maj-repetee",
    "elle crée un compte puis le désactive": "desactivation",
    "elle crée un compte, le désactive puis le réactive": "reactivation",
    "elle désactive un compte puis attribue son identifiant national à un nouveau compte": "reattribution",
    "elle crée deux fois le même compte": "doublon",
    "elle crée un compte puis le relit": "relecture-creation",
    "elle change l'adresse électronique d'un compte puis le relit": "relecture-email",
    "elle désactive un compte puis le relit": "relecture-desactivation",
}


@dataclass(frozen=True)
class RegulatorRun:
    """What SAS sent in one sequence and what the editor answered, step by step."""

    steps: tuple[tuple[Step, Attempt], ...]
    control: Attempt

    @property
    def last(self) -> tuple[Step, Attempt]:
        return self.steps[-1]

    @property
    def setup(self) -> list[tuple[str, Attempt]]:
        return [(step.name, result) for step, result in self.steps[:-1]]


def _run(
    session: TargetSession, cible: Target, flow: str, ans_env: str, presentation: Presentation, name: str
) -> RegulatorRun:
    """Each step after the control; a step that got no usable answer ends the sequence at once (the next
    ones build on it, and each could stall as long): the scenario is then "no verdict", for that reason."""
    from recette_sas.server.regulator_flows import sequence

    done: list[tuple[Step, Attempt]] = []
    for step in sequence(name, base_path=cible.base_path):
        result = session.attempt(cible, flow, ans_env, step.request, identity=presentation.identity)
        attach_attempt(result, name=step.name)
        done.append((step, result))
        if result.outcome in UNUSABLE:
            require_control(session.control(cible, flow, ans_env))
            require_usable(result)
    return RegulatorRun(steps=tuple(done), control=session.control(cible, flow, ans_env))


READ_BACK_OPTION = "--sas-reference-read-back"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The embedded reference exposes reads, but an editor need not: its read-back scenarios run only on
    request (the project's tests), as an editor's run only with ``read_back = true``."""
    parser.getgroup("recette-sas").addoption(READ_BACK_OPTION, action="store_true", help=argparse.SUPPRESS)


def _reads_exposed(cible: Target, settings: Settings, config: pytest.Config) -> bool:
    if settings.config is None:
        return cible.kind == "reference" and bool(config.getoption(READ_BACK_OPTION))
    editor_env = settings.config.environments.get(cible.editor_env)
    return editor_env is not None and editor_env.read_back


@given("l'éditeur permet de relire les comptes régulateurs")
def _(cible: Target, settings: Settings, pytestconfig: pytest.Config) -> None:
    if not _reads_exposed(cible, settings, pytestconfig):
        pytest.skip(
            f"{cible.label}: la configuration ne dit pas `read_back = true` pour cet environnement ; "
            "l'IG n'oblige pas l'éditeur à exposer GET [base]/Practitioner?identifier=, rien à relire"
        )


@when(
    parsers.re("(?P<action>" + "|".join(map(re.escape, ACTIONS)) + ")"), target_fixture="sequence_regulateur"
)
def _(
    target_session: TargetSession,
    cible: Target,
    flow: str,
    ans_env: str,
    presentation: Presentation,
    action: str,
) -> RegulatorRun:
    return _run(target_session, cible, flow, ans_env, presentation, ACTIONS[action])


@when(parsers.parse("elle crée un compte avec « {corps} »"), target_fixture="sequence_regulateur")
def _(
    target_session: TargetSession,
    cible: Target,
    flow: str,
    ans_env: str,
    presentation: Presentation,
    corps: str,
) -> RegulatorRun:
    return _run(target_session, cible, flow, ans_env, presentation, f"invalide:{corps}")


def _verdict(text: str) -> None:
    attach_verdict(text)


@then("le compte est créé avec sa localisation")
def _(sequence_regulateur: RegulatorRun) -> None:
    from recette_sas.server import regulator_rules as rules

    run = sequence_regulateur
    setup = rules.require_setup(run.setup, control=run.control)
    _verdict(f"{rules.require_created(run.last[1], control=run.control, what=run.last[0].name)}; {setup}")


@then("la mise à jour est acceptée avec sa localisation")
def _(sequence_regulateur: RegulatorRun) -> None:
    from recette_sas.server import regulator_rules as rules

    run = sequence_regulateur
    setup = rules.require_setup(run.setup, control=run.control)
    _verdict(f"{rules.require_updated(run.last[1], control=run.control, what=run.last[0].name)}; {setup}")


@then("la seconde mise à jour retrouve le compte créé par la première")
def _(sequence_regulateur: RegulatorRun) -> None:
    from recette_sas.server import regulator_rules as rules

    (_, first), (_, second) = sequence_regulateur.steps
    _verdict(rules.require_same_account(first, second, control=sequence_regulateur.control))


@then("la seconde création est refusée")
def _(sequence_regulateur: RegulatorRun) -> None:
    from recette_sas.server import regulator_rules as rules

    run = sequence_regulateur
    setup = rules.require_setup(run.setup, control=run.control)
    _verdict(
        rules.require_error_with_outcome(run.last[1], control=run.control, what="the second creation")
        + f"; {setup}"
    )


@then("la seconde création est refusée comme une erreur de la requête")
def _(sequence_regulateur: RegulatorRun) -> None:
    from recette_sas.server import regulator_rules as rules

    run = sequence_regulateur
    setup = rules.require_setup(run.setup, control=run.control)
    _verdict(
        rules.require_client_error(run.last[1], control=run.control, what="the second creation")
        + f"; {setup}"
    )


@then("la création est refusée avec une OperationOutcome")
def _(sequence_regulateur: RegulatorRun) -> None:
    from recette_sas.server import regulator_rules as rules

    run = sequence_regulateur
    _verdict(rules.require_error_with_outcome(run.last[1], control=run.control, what=run.last[0].name))


@then("la création est refusée par 400 ou 422 avec une OperationOutcome")
def _(sequence_regulateur: RegulatorRun) -> None:
    from recette_sas.server import regulator_rules as rules

    run = sequence_regulateur
    _verdict(
        rules.require_client_error(
            run.last[1], control=run.control, what=run.last[0].name, statuses=(400, 422)
        )
    )


@then("le compte relu est celui que SAS a envoyé en dernier")
def _(sequence_regulateur: RegulatorRun) -> None:
    from recette_sas.server import regulator_rules as rules

    run = sequence_regulateur
    setup = rules.require_setup(run.setup, control=run.control)
    sent = run.steps[-2][0].account
    assert sent is not None
    verdict = rules.require_read_back(
        run.last[1], control=run.control, expected=sent.resource(), token=sent.token
    )
    _verdict(f"{verdict}; {setup}")
