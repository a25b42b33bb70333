"""Attach evidence to the Allure report: attempt records (public data only) and verdict texts.

The same evidence is often judged by many scenarios: a target's positive control is attached to every
negative scenario on it, SAS's standard slot search (a 70 KB Bundle) to the 22 functional scenarios of
an environment. It is written once per run and every later scenario's report points at that file
(``attach_shared``): each scenario still shows it, and a run writes 2 MB less per environment. Where the
report plugin lacks what this needs, each scenario gets its own copy, as ``allure.attach`` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import allure

from fixtures.levels import record_certificate
from recette_sas.verdict import Attempt

_T = TypeVar("_T")
_ENCODED: dict[int, tuple[object, str]] = {}
_SHARED: dict[tuple[int, str], tuple[object, str]] = {}
_LIFECYCLE: list[Any] = []


def once(cache: dict[int, tuple[object, _T]], owner: object, compute: Callable[[], _T]) -> _T:
    """``compute()`` for ``owner`` the first time it is asked, its result after (keyed by identity; the owner
    is kept, so an id reused by a later object is never mistaken for it)."""
    cached = cache.get(id(owner))
    if cached is None or cached[0] is not owner:
        cached = (owner, compute())
        cache[id(owner)] = cached
    return cached[1]


def _encoded(attempt: Attempt) -> str:
    """The JSON record, encoded once per attempt (a positive control is attached to every negative)."""

    def encode() -> str:
        for cert in attempt.server_chain[:1]:
            record_certificate(cert, role="serveur de l'éditeur")
        return json.dumps(attempt.to_dict(), indent=2, ensure_ascii=False, default=str)

    return once(_ENCODED, attempt, encode)


def _lifecycle() -> Any:
    """The Allure lifecycle of this session (None without ``--alluredir``); a new session forgets the files
    the previous one wrote (in-process pytester runs)."""
    import allure_commons

    found = next((p.lifecycle for p in allure_commons.plugin_manager.get_plugins() if hasattr(p, "lifecycle")), None)
    if not _LIFECYCLE or _LIFECYCLE[0] is not found:
        _SHARED.clear()
        _LIFECYCLE[:] = [found]
    return found


def attach_shared(owner: object, body: str, *, name: str, attachment_type: Any) -> None:
    """Attach ``body`` to the running scenario under ``name``; when ``owner`` (an attempt, an answer) was
    attached before in this run, point at the file written then instead of writing it again."""
    lifecycle = _lifecycle()
    if lifecycle is None or not hasattr(lifecycle, "_attach"):
        allure.attach(body, name=name, attachment_type=attachment_type)
        return
    from allure_commons.utils import uuid4

    key = (id(owner), str(attachment_type.extension))
    cached = _SHARED.get(key)
    if cached is not None and cached[0] is owner:
        lifecycle._attach(cached[1], name=name, attachment_type=attachment_type)  # the reference, no file
        return
    uid = uuid4()
    lifecycle.attach_data(uid, body, name=name, attachment_type=attachment_type)
    _SHARED[key] = (owner, uid)


def attach_attempt(attempt: Attempt, *, name: str) -> None:
    attach_shared(attempt, _encoded(attempt), name=name, attachment_type=allure.attachment_type.JSON)


def attach_text(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


VERDICT_PARAMETER_MAX = 300


def attach_verdict(text: str) -> None:
    """The verdict a Then step reached: a one-line verdict is a parameter of the scenario, shown at the top of
    its report and written in its result file; a longer one (findings listed line by line) an attachment."""
    if "\n" not in text and len(text) <= VERDICT_PARAMETER_MAX:
        allure.dynamic.parameter("verdict", text, excluded=True)
    else:
        attach_text("verdict", text)
