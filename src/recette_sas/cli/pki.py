"""``recette-sas pki build`` and ``recette-sas pki export``: the look-alike IGC Santé PKI, on disk.

``build`` builds (or reuses) the cached PKI and prints its fingerprints; ``export`` writes the CA
bundles, CRLs, a server certificate and the terminators' snippets for a staging server. Every option
is checked before anything is built or written: a bad one is a ``UsageError`` that ``cli/main.py``
prints in one line, exit ``ExitCode.USAGE`` (4), nothing written.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import urllib.parse
from pathlib import Path

from recette_sas.cli._parser import DEFAULT_MAPPING
from recette_sas.errors import ExitCode, OptionError
from recette_sas.paths import default_cache_dir

GROUP_HELP = "look-alike IGC Santé PKI"
BUILD_HELP = "build (or reuse) the cached look-alike PKI and print its fingerprints"
EXPORT_HELP = "export CA bundles, CRLs, a server certificate and terminator snippets for a staging server"
DEFAULT_RESPONDER_URL = "http://127.0.0.1:47600"
RESPONDER_OPTION = "--responder-url"
_EXPECTED = "expected http://HOST[:PORT][/PATH]"
_DNS_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def responder_url(value: str) -> str:
    """``value`` if it is a URL the staging server can reach the suite's OCSP/CRL publisher at.

    OCSP and CRLs are fetched over plain HTTP, so: scheme ``http``, a host name or IP address, a port in
    1–65535 if one is given, an optional path, and no user information, query or fragment (none of
    which a certificate's AIA or CRL distribution point can carry usefully). Anything else is an
    ``OptionError`` naming the option, the value and the problem.
    """

    def refuse(problem: str) -> OptionError:
        return OptionError(f"{RESPONDER_OPTION}: {value!r}: {problem}")

    if not value or any(c.isspace() or not c.isprintable() for c in value):
        raise refuse(f"not a URL ({_EXPECTED})")
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError as exc:
        raise refuse(f"not a URL: {exc} ({_EXPECTED})") from None
    if not parts.scheme or not parts.netloc:
        raise refuse(f"not a URL ({_EXPECTED})")
    if parts.scheme != "http":
        raise refuse(
            f"scheme {parts.scheme}, not http: OCSP and CRLs are served over plain HTTP ({_EXPECTED})"
        )
    if "@" in parts.netloc:
        raise refuse("user information (user@ or user:password@) is not allowed")
    if "?" in value or "#" in value:
        raise refuse("a query (?…) or fragment (#…) is not allowed")
    host = parts.hostname or ""
    if not host:
        raise refuse(f"no host ({_EXPECTED})")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _DNS_NAME.fullmatch(host) or len(host) > 253:
            raise refuse(f"{host!r} is not a host name or an IP address") from None
    after_host = parts.netloc.rsplit("]", 1)[-1]  # an IPv6 address is bracketed and holds colons
    if ":" in after_host:
        port = after_host.split(":", 1)[1]
        if not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535:
            raise refuse(f"port {port!r} is not a number in 1–65535")
    return value


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache",
        default=str(default_cache_dir()),
        metavar="DIR",
        help="cache folder of the PKI (default: $RECETTE_SAS_CACHE or ~/.cache/recette-sas)",
    )
    parser.add_argument(
        RESPONDER_OPTION,
        default=DEFAULT_RESPONDER_URL,
        metavar="URL",
        help="http:// address of the suite's OCSP/CRL publisher as the staging server will reach it "
        f"(default {DEFAULT_RESPONDER_URL})",
    )


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Build (or reuse) the cached look-alike IGC Santé PKI and print its fingerprints."
    _add_common(parser)


def run_build(args: argparse.Namespace) -> int:
    url = responder_url(args.responder_url)
    from recette_sas.pki.store import Pki

    pki = Pki.load_or_build(Path(args.cache), responder_url=url)
    print(f"PKI look-alike: {pki.root} (réponses OCSP/CRL attendues sur {pki.responder_url})")
    for name, fp in pki.fingerprints().items():
        print(f"  {name:<16} SHA-256 {fp}")
    return ExitCode.CONFORME


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Export the look-alike PKI's CA bundles and CRLs, a server certificate and ready terminator "
        "snippets (nginx, Apache, HAProxy…) for a staging server."
    )
    parser.add_argument(
        "dir", metavar="DIR", help="folder to write: new, empty, or an earlier export (replaced whole)"
    )
    _add_common(parser)
    parser.add_argument(
        "--server-name", action="append", metavar="NAME", help="host name(s) of the staging terminator"
    )
    parser.add_argument(
        "--mapping", default=DEFAULT_MAPPING, help=f"un-pour-un or simplifie (default {DEFAULT_MAPPING})"
    )
    parser.add_argument(
        "--p12-password-env",
        metavar="NAME",
        default=None,
        help="also write client/<env>/client.p12, encrypted with the password in environment variable NAME",
    )


def run_export(args: argparse.Namespace) -> int:
    url = responder_url(args.responder_url).rstrip("/")
    from recette_sas.environments import Mapping
    from recette_sas.pki.store import Pki
    from recette_sas.terminators.export import export_with_snippets

    mapping = Mapping.parse(args.mapping, where="--mapping")
    pki = Pki.load_or_build(Path(args.cache), responder_url=url)
    names = tuple(args.server_name or ["localhost"])
    manifest = export_with_snippets(
        pki, Path(args.dir), server_names=names, mapping=mapping, p12_password_env=args.p12_password_env
    )
    print(
        f"exporté dans {args.dir} (OCSP/CRL : {manifest['responder_url']}, CRL valides jusqu'au "
        f"{manifest['crl_next_update']})"
    )
    return ExitCode.CONFORME
