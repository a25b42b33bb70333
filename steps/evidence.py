"""Attach evidence to the Allure report: attempt records (public data only) and verdict texts."""

from __future__ import annotations

import json

import allure

from fixtures.levels import record_certificate
from recette_sas.verdict import Attempt


def attach_attempt(attempt: Attempt, *, name: str) -> None:
    for cert in attempt.server_chain[:1]:
        record_certificate(cert, role="serveur de l'éditeur")
    allure.attach(
        json.dumps(attempt.to_dict(), indent=2, ensure_ascii=False, default=str),
        name=name,
        attachment_type=allure.attachment_type.JSON,
    )


def attach_text(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)
