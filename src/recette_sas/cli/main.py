"""The ``recette-sas`` command: PKI build and export, the reference server, static checks.

Every expected failure is one line on stderr and exit status 2; no traceback, nothing half-written.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import types
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from recette_sas import __version__
from recette_sas.environments import (
    Hierarchy,
    Mapping,
    UsageError,
    accepted_subjects,
    editor_environments,
    trusted_hierarchy,
)
from recette_sas.paths import default_cache_dir


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


def _cmd_pki_build(args: argparse.Namespace) -> int:
    from recette_sas.pki.store import Pki

    pki = Pki.load_or_build(Path(args.cache), responder_url=args.responder_url)
    print(f"PKI look-alike: {pki.root} (réponses OCSP/CRL attendues sur {pki.responder_url})")
    for name, fp in pki.fingerprints().items():
        print(f"  {name:<16} SHA-256 {fp}")
    return 0


def _cmd_pki_export(args: argparse.Namespace) -> int:
    from recette_sas.pki.store import Pki
    from recette_sas.terminators.export import export_with_snippets

    pki = Pki.load_or_build(Path(args.cache), responder_url=args.responder_url.rstrip("/"))
    names = tuple(args.server_name or ["localhost"])
    manifest = export_with_snippets(pki, Path(args.dir), server_names=names, mapping=Mapping.parse(args.mapping))
    print(
        f"exporté dans {args.dir} (OCSP/CRL : {manifest['responder_url']}, CRL valides jusqu'au "
        f"{manifest['crl_next_update']})"
    )
    return 0


class _StaticCa:
    """What ReferenceServer needs of a CA to publish its certificate: the PEM, not the key."""

    def __init__(self, pem: bytes) -> None:
        self.cert_pem = types.SimpleNamespace(bytes=lambda: pem)


def _cmd_serve_reference(args: argparse.Namespace) -> int:
    """Run the reference editor server configured only from an export directory."""
    import trustme
    from cryptography import x509

    from recette_sas.pki.export import ExportLayout
    from recette_sas.server.policy import Policy
    from recette_sas.server.reference import ReferenceServer

    layout = ExportLayout(Path(args.pki_dir))
    mapping = Mapping.parse(args.mapping)
    if args.env not in editor_environments(mapping):
        raise UsageError(f"--env: editor environment {args.env!r} does not exist in mapping {mapping.value}")
    h = trusted_hierarchy(args.env, mapping)
    try:
        cas = tuple(x509.load_pem_x509_certificates(layout.bundle(h).read_bytes()))
        crls = tuple(
            x509.load_pem_x509_crl(p.read_bytes()) for p in sorted((layout.root / "crl").glob("*.crl.pem"))
        )
        chain = layout.server_fullchain.read_bytes()
        key = layout.server_key.read_bytes()
        ca_pem = layout.server_ca.read_bytes()
    except (OSError, ValueError) as exc:
        raise UsageError(f"--pki-dir: {layout.root} is not a usable recette-sas export ({exc})") from None
    pems = [b"-----BEGIN CERTIFICATE-----" + part for part in chain.split(b"-----BEGIN CERTIFICATE-----")[1:]]
    leaf = trustme.LeafCert(key, pems[0], pems[1:])
    hierarchy_crls = tuple(c for c in crls if any(c.issuer == ca.subject for ca in cas))
    policy = Policy(
        allowed_subjects=accepted_subjects(args.env, mapping), trusted_cas=cas, crls=hierarchy_crls
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with ReferenceServer(
        policy,
        host=args.host,
        port=args.port,
        server_cert=leaf,
        server_ca=_StaticCa(ca_pem),  # type: ignore[arg-type]
        server_name=args.server_name,
    ) as server:
        line = f"{server.base_url} {server.port}"
        if args.ready_file:
            tmp = Path(args.ready_file + ".tmp")
            tmp.write_text(line + "\n")
            tmp.replace(args.ready_file)
        print(f"serveur de référence ({args.env}, {h.value}) : {line}", flush=True)
        stop.wait(args.max_seconds if args.max_seconds > 0 else None)
    return 0


def _cmd_serve_upstream(args: argparse.Namespace) -> int:
    """The reference FHIR application over plain HTTP, for a terminator to proxy to (terminators/README.md)."""
    from recette_sas.terminators.upstream import Upstream

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Upstream(host=args.host, port=args.port) as upstream:
        print(
            f"application de référence en HTTP sur {upstream.address} (identité attendue du terminateur dans "
            "X-SSL-Client-S-DN)",
            flush=True,
        )
        stop.wait(args.max_seconds if args.max_seconds > 0 else None)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="recette-sas", description="SAS connected acceptance: look-alike PKI and tools.")
    parser.add_argument("--version", action="version", version=f"recette-sas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    pki = sub.add_parser("pki", help="look-alike IGC Santé PKI")
    pki_sub = pki.add_subparsers(dest="pki_command", required=True, parser_class=_Parser)
    build = pki_sub.add_parser("build", help="build (or reuse) the cached PKI and print its fingerprints")
    build.add_argument("--cache", default=str(default_cache_dir()))
    build.add_argument("--responder-url", default="http://127.0.0.1:47600")
    build.set_defaults(func=_cmd_pki_build)
    export = pki_sub.add_parser("export", help="export CA bundles, CRLs, a server certificate and snippets")
    export.add_argument("dir")
    export.add_argument("--cache", default=str(default_cache_dir()))
    export.add_argument(
        "--responder-url",
        default="http://127.0.0.1:47600",
        help="address of the suite's OCSP/CRL publisher as the staging server will reach it",
    )
    export.add_argument("--server-name", action="append", help="host name(s) of the staging terminator")
    export.add_argument("--mapping", default="un-pour-un")
    export.set_defaults(func=_cmd_pki_export)

    serve = sub.add_parser("serve-reference", help="run the reference editor server from an export directory")
    serve.add_argument("--pki-dir", required=True)
    serve.add_argument("--env", required=True, choices=["recette", "preproduction", "production"])
    serve.add_argument("--mapping", default="un-pour-un")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--server-name", default="localhost")
    serve.add_argument("--ready-file", default=None, help="write '<base_url> <port>' here once listening")
    serve.add_argument("--max-seconds", type=float, default=0, help="stop after this long (0: until SIGTERM)")
    serve.set_defaults(func=_cmd_serve_reference)

    upstream = sub.add_parser(
        "serve-upstream", help="run the reference FHIR application over plain HTTP, behind a TLS terminator"
    )
    upstream.add_argument("--host", default="127.0.0.1")
    upstream.add_argument("--port", type=int, default=8080)
    upstream.add_argument(
        "--max-seconds", type=float, default=0, help="stop after this long (0: until SIGTERM)"
    )
    upstream.set_defaults(func=_cmd_serve_upstream)

    sub.add_parser(
        "cert", help="static check of the editor's certificate file (see `recette-sas cert --help`)"
    )
    sub.add_parser("igc", help="download, verify and cache the real IGC Santé CAs (`recette-sas igc --help`)")
    return parser


# command -> (module, function, its one verb): ``recette-sas igc fetch …``, ``recette-sas cert check …``
DELEGATED = {"cert": ("pki.certcheck", "main_cert_check", "check"), "igc": ("cli.igc", "main_igc_fetch", "fetch")}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:  # these parse their own options (``recette-sas igc --help``)
        import importlib

        module, func, verb = DELEGATED[argv[0]]
        rest = argv[2:] if argv[1:2] == [verb] else argv[1:]
        return int(getattr(importlib.import_module(f"recette_sas.{module}"), func)(rest))
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"recette-sas: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path the user gave: say which and why, in one line
        where = exc.filename or "file system"
        print(f"recette-sas: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


__all__ = ["Hierarchy", "main"]


if __name__ == "__main__":
    raise SystemExit(main())
