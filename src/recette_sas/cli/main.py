"""The ``recette-sas`` command: one parser tree, one table of exit codes.

The tree (``COMMANDS``)::

    recette-sas pki build | pki export DIR         cli/pki.py    the look-alike IGC Santé PKI
    recette-sas serve-reference | serve-upstream   cli/serve.py  the suite's servers, standalone
    recette-sas cert check FILE                    cli/cert.py   static check of the editor's certificate
    recette-sas igc fetch                          cli/igc.py    the real IGC Santé CAs, fetched once

Each command's module adds its own options (``add_…arguments(parser)``) and runs it (``run…(args) ->
int``); heavy imports (cryptography, OpenSSL, trustme) happen in the run functions only, so building
the tree, and ``recette-sas --help``, stays fast.

Exit codes are ``recette_sas.errors.ExitCode``, the table ``pytest features`` exits with too: 0
success (``cert check``: conformant), 1 ``cert check`` not conformant, 4 a usage error, 130 Ctrl-C. A
usage error — an option argparse refuses, a ``UsageError`` (a file that cannot be used, a wrong
password, a bad option value), an ``OSError`` on a path the user gave — is exactly one line on stderr,
``<command>: <option or file>: <problem>``, no traceback, nothing half-written. ``--help`` and
``--version`` exit 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from recette_sas import __version__
from recette_sas.cli import cert, igc, pki, serve
from recette_sas.cli._parser import ArgumentError, Parser
from recette_sas.errors import ExitCode, UsageError

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]

# The whole tree: the words of a command -> (its one-line help, the function adding its options, the one
# running it). A first word shared by several commands is a group; its help is in GROUPS.
COMMANDS: dict[tuple[str, ...], tuple[str, AddArguments, Run]] = {
    ("pki", "build"): (pki.BUILD_HELP, pki.add_build_arguments, pki.run_build),
    ("pki", "export"): (pki.EXPORT_HELP, pki.add_export_arguments, pki.run_export),
    ("serve-reference",): (serve.REFERENCE_HELP, serve.add_reference_arguments, serve.run_reference),
    ("serve-upstream",): (serve.UPSTREAM_HELP, serve.add_upstream_arguments, serve.run_upstream),
    ("cert", "check"): (cert.HELP, cert.add_arguments, cert.run),
    ("igc", "fetch"): (igc.HELP, igc.add_arguments, igc.run),
}
GROUPS: dict[str, str] = {"pki": pki.GROUP_HELP, "cert": cert.GROUP_HELP, "igc": igc.GROUP_HELP}
KEYBOARD_INTERRUPT = 128 + 2  # the shell's convention for SIGINT, kept beside ExitCode


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="recette-sas", description="SAS connected acceptance: look-alike PKI and tools.")
    parser.add_argument("--version", action="version", version=f"recette-sas {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction[Parser]] = {}
    for words, (help_, add_arguments, run) in COMMANDS.items():
        where = top
        if len(words) == 2:
            group = words[0]
            if group not in groups:
                group_parser = top.add_parser(group, help=GROUPS[group], description=GROUPS[group])
                groups[group] = group_parser.add_subparsers(
                    dest=f"{group}_command", metavar="COMMAND", required=True
                )
            where = groups[group]
        command = where.add_parser(words[-1], help=help_, description=help_)
        add_arguments(command)
        command.set_defaults(run=run, command_prog=command.prog)
    return parser


def _usage_error(prog: str, message: str) -> int:
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())  # one line, always
    print(f"{prog}: {line}", file=sys.stderr)
    return ExitCode.USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """``recette-sas …``: run one command of the tree and return its ``ExitCode``."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
        if extra:  # name the command they were given to, not just ``recette-sas``
            raise ArgumentError(args.command_prog, f"unrecognized arguments: {' '.join(extra)}")
    except ArgumentError as exc:
        return _usage_error(exc.prog, exc.message)
    except SystemExit as exc:  # --help, --version: argparse printed them
        return exc.code if isinstance(exc.code, int) else ExitCode.CONFORME
    try:
        return int(args.run(args))
    except UsageError as exc:
        return _usage_error(args.command_prog, str(exc))
    except OSError as exc:  # a path the user gave: say which and why
        where = exc.filename if exc.filename is not None else "file system"
        return _usage_error(args.command_prog, f"{where}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        return KEYBOARD_INTERRUPT


__all__ = ["COMMANDS", "GROUPS", "build_parser", "main"]


if __name__ == "__main__":
    raise SystemExit(main())
