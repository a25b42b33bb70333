"""What every ``recette-sas`` command shares: the parser class, its error, and a few option values.

Deliberately light (no cryptography, no OpenSSL, no trustme): the whole parser tree is built from
here and the command modules' ``add_arguments`` for every invocation, ``recette-sas --help`` included.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

# The ANS environments an option may name: recette_sas.environments.ENVIRONMENT_KEYS, spelt out here so
# that building the parser does not import cryptography (tests/test_cli.py keeps the two equal).
ENVIRONMENT_CHOICES: tuple[str, ...] = ("recette", "preproduction", "production")
# recette_sas.pki.igc.CA_DIR_OPTION, for the same reason.
CA_DIR_OPTION = "--igc-ca-dir"
DEFAULT_MAPPING = "un-pour-un"


class ArgumentError(Exception):
    """A command line argparse refused, with the prog of the (sub)command that refused it."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog
        self.message = message


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are raised, for ``main`` to print in one line and exit 4.

    ``add_subparsers`` makes its children of the same class, so the whole tree refuses the same way.
    """

    def error(self, message: str) -> NoReturn:
        raise ArgumentError(self.prog, message)
