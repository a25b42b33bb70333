"""FHIRPath for the profile tables' ``when`` guards and invariants, through ``fhirpathpy``.

Apart from the engine so that the one third-party evaluator, imported lazily on the first
expression, sits behind two functions; each expression is compiled once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


@functools.cache
def compiled(expression: str) -> Callable[..., list[Any]]:
    import fhirpathpy

    function: Callable[..., list[Any]] = fhirpathpy.compile(expression)
    return function


def holds(expression: str, node: Any, value: Any) -> bool:
    """True when the FHIRPath expression evaluates to ``true`` on ``node`` (``%value`` is ``value``).

    An empty result is not true: an invariant that cannot be shown to hold does not hold, and a
    ``when`` guard that is empty does not apply. The rows are written to give a boolean.
    """
    result = compiled(expression)(node, {"value": value})
    return bool(result) and all(item is True for item in result)
