"""Attach evidence to the Allure report: attempt records (public data only) and verdict texts."""

from __future__ import annotations

import json

import allure

from fixtures.levels import record_certificate
from recette_sas.verdict import Attempt

_ENCODED: dict[int, tuple[Attempt, str]] = {}


def _encoded(attempt: Attempt) -> str:
    """The JSON record, encoded once per attempt (a positive control is attached to every negative)."""
    cached = _ENCODED.get(id(attempt))
    if cached is None or cached[0] is not attempt:
        for cert in attempt.server_chain[:1]:
            record_certificate(cert, role="serveur de l'éditeur")
        cached = (attempt, json.dumps(attempt.to_dict(), indent=2, ensure_ascii=False, default=str))
        _ENCODED[id(attempt)] = cached
    return cached[1]


def attach_attempt(attempt: Attempt, *, name: str) -> None:
    allure.attach(_encoded(attempt), name=name, attachment_type=allure.attachment_type.JSON)


def attach_text(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)
