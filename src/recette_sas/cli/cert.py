"""``recette-sas cert check``: the static check of the editor's certificate file, as a command.

The checks are :mod:`recette_sas.pki.certcheck`'s; this module only adds the options to the
``recette-sas`` parser tree and prints the findings. Exit codes are ``recette_sas.errors.ExitCode``:
0 conformant (warnings allowed), 1 not conformant, 4 unusable input (a bad option, a file that cannot
be read, a wrong password, a key that does not match), said in one line on stderr by ``cli/main.py``.

A password comes only from the environment variable whose *name* ``--password-env`` gives, never from
the command line, and is never printed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from recette_sas.cli._parser import CA_DIR_OPTION, ENVIRONMENT_CHOICES
from recette_sas.errors import ExitCode

HELP = "static check of the editor's certificate file (PEM or PKCS#12), without network"
GROUP_HELP = "the editor's certificate file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Check an editor's IGC Santé AUTH_CLI certificate file for an ANS environment (no network)."
    )
    parser.add_argument(
        "certificate", type=Path, help="PEM (certificate, optional key and chain) or PKCS#12 file"
    )
    parser.add_argument(
        "--env", required=True, choices=ENVIRONMENT_CHOICES, help="ANS environment the certificate is for"
    )
    parser.add_argument(
        "--key",
        type=Path,
        default=None,
        metavar="FILE",
        help="PEM or DER private key file (if not in the certificate file)",
    )
    parser.add_argument(
        "--chain",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="PEM file of CA certificates sent with the leaf",
    )
    parser.add_argument(
        "--password-env",
        metavar="NAME",
        default=None,
        help="NAME of the environment variable holding the PKCS#12 or key password (never the password itself)",
    )
    parser.add_argument(
        CA_DIR_OPTION,
        dest="igc_ca_dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory of the real IGC Santé CA certificates, to check signatures",
    )


def run(args: argparse.Namespace) -> int:
    from recette_sas.pki.certcheck import check, load_ca_dir
    from recette_sas.pki.credential_files import load_credentials

    credentials = load_credentials(
        args.certificate, key_path=args.key, chain_paths=args.chain, password_env=args.password_env
    )
    igc_cas = load_ca_dir(args.igc_ca_dir) if args.igc_ca_dir is not None else ()
    findings = check(credentials, args.env, igc_cas=igc_cas, igc_source=str(args.igc_ca_dir or ""))
    leaf = credentials.leaf
    print(
        f"{credentials.source}: subject {leaf.subject.rfc4514_string()}; issuer {leaf.issuer.rfc4514_string()}; "
        f"serial {format(leaf.serial_number, 'x')}; environment {args.env}"
    )
    for finding in findings:
        print(finding.line())
    errors = sum(f.level == "error" for f in findings)
    warnings_ = sum(f.level == "warning" for f in findings)
    verdict = "NOT CONFORMANT" if errors else "conformant"
    print(f"{verdict}: {errors} error(s), {warnings_} warning(s)")
    return ExitCode.NON_CONFORME if errors else ExitCode.CONFORME
