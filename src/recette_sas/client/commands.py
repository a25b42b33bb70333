"""A configured client trigger's command line: split without a shell, its placeholders and program checked.

Light on purpose (``shlex``, ``re``, ``shutil``): ``--sas-client-command`` and ``[environments.*.client]
command`` are checked when pytest starts; ``recette_sas.client.drivers`` substitutes and runs them.
"""

from __future__ import annotations

import re
import shlex
import shutil

from recette_sas.environments import UsageError

PLACEHOLDERS = (
    "base_url",
    "host",
    "port",
    "address",
    "address_url",
    "ca_file",
    "cert_file",
    "key_file",
    "chain_file",
    "fullchain_file",
    "p12_file",
)
_PLACEHOLDER = re.compile(r"\{([a-z_0-9]+)\}")


def parse_command(template: str, *, where: str = "--sas-client-command") -> tuple[str, ...]:
    """Split ``template`` (no shell) and check its placeholders and program; a bad one is a ``UsageError``."""
    try:
        argv = tuple(shlex.split(template))
    except ValueError as exc:
        raise UsageError(f"{where}: cannot split the command ({exc})") from None
    if not argv:
        raise UsageError(f"{where}: empty command")
    for arg in argv:
        for name in _PLACEHOLDER.findall(arg):
            if name not in PLACEHOLDERS:
                raise UsageError(
                    f"{where}: unknown placeholder {{{name}}} (known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
                )
    program = argv[0]
    if shutil.which(program) is None:
        raise UsageError(f"{where}: program {program!r} not found or not executable")
    return argv


def placeholders_in(argv: tuple[str, ...]) -> frozenset[str]:
    return frozenset(name for arg in argv for name in _PLACEHOLDER.findall(arg) if name in PLACEHOLDERS)
