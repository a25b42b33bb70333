"""``recette-sas serve-reference`` and ``recette-sas serve-upstream``: the suite's servers, standalone.

``serve-reference`` runs the reference editor server configured only from a ``pki export`` folder (a
target for one's own experiments); ``serve-upstream`` runs the reference FHIR application over plain
HTTP for a TLS terminator to proxy to (terminators/README.md). Both stop on SIGTERM, SIGINT or after
``--max-seconds``, and exit 0; an unusable export or option is a ``UsageError`` that ``cli/main.py``
prints in one line, exit ``ExitCode.USAGE`` (4).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
import types
from pathlib import Path

from recette_sas.cli._parser import DEFAULT_MAPPING, ENVIRONMENT_CHOICES
from recette_sas.errors import ExitCode, OptionError, UsageError

REFERENCE_HELP = "run the reference editor server from an export directory"
UPSTREAM_HELP = "run the reference FHIR application over plain HTTP, behind a TLS terminator"


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def _add_max_seconds(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-seconds", type=float, default=0, help="stop after this long (0: until SIGTERM)"
    )


def add_reference_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Run the reference editor server, configured only from a `pki export` folder."
    parser.add_argument("--pki-dir", required=True, metavar="DIR", help="a `recette-sas pki export` folder")
    parser.add_argument("--env", required=True, choices=ENVIRONMENT_CHOICES, help="editor environment served")
    parser.add_argument(
        "--mapping", default=DEFAULT_MAPPING, help=f"un-pour-un or simplifie (default {DEFAULT_MAPPING})"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--server-name", default="localhost")
    parser.add_argument("--ready-file", default=None, help="write '<base_url> <port>' here once listening")
    _add_max_seconds(parser)


class _StaticCa:
    """What ReferenceServer needs of a CA to publish its certificate: the PEM, not the key."""

    def __init__(self, pem: bytes) -> None:
        self.cert_pem = types.SimpleNamespace(bytes=lambda: pem)


def run_reference(args: argparse.Namespace) -> int:
    """Run the reference editor server configured only from an export directory."""
    import trustme
    from cryptography import x509

    from recette_sas.environments import Mapping, accepted_subjects, editor_environments, trusted_hierarchy
    from recette_sas.pki.export import ExportLayout
    from recette_sas.server.policy import Policy
    from recette_sas.server.reference import ReferenceServer

    layout = ExportLayout(Path(args.pki_dir))
    mapping = Mapping.parse(args.mapping, where="--mapping")
    if args.env not in editor_environments(mapping):
        raise OptionError(f"--env: editor environment {args.env!r} does not exist in mapping {mapping.value}")
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
    stop = _stop_on_signals()
    try:
        server = ReferenceServer(
            policy,
            host=args.host,
            port=args.port,
            server_cert=leaf,
            server_ca=_StaticCa(ca_pem),  # type: ignore[arg-type]
            server_name=args.server_name,
        ).start()
    except OSError as exc:
        raise OptionError(_cannot_listen(args, exc)) from None
    with contextlib.ExitStack() as stack:  # started above: a port in use is one line naming --port
        stack.callback(server.stop)
        line = f"{server.base_url} {server.port}"
        if args.ready_file:
            tmp = Path(args.ready_file + ".tmp")
            tmp.write_text(line + "\n")
            tmp.replace(args.ready_file)
        print(f"serveur de référence ({args.env}, {h.value}) : {line}", flush=True)
        stop.wait(args.max_seconds if args.max_seconds > 0 else None)
    return ExitCode.CONFORME


def _cannot_listen(args: argparse.Namespace, exc: OSError) -> str:
    return f"--host/--port: cannot listen on {args.host}:{args.port} ({exc.strerror or exc})"


def add_upstream_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the reference FHIR application over plain HTTP, for a TLS terminator to proxy to "
        "(the terminator's identity expected in X-SSL-Client-S-DN)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    _add_max_seconds(parser)


def run_upstream(args: argparse.Namespace) -> int:
    """The reference FHIR application over plain HTTP, for a terminator to proxy to (terminators/README.md)."""
    from recette_sas.terminators.upstream import Upstream

    stop = _stop_on_signals()
    try:
        upstream = Upstream(host=args.host, port=args.port).start()
    except OSError as exc:
        raise OptionError(_cannot_listen(args, exc)) from None
    with contextlib.closing(upstream):
        print(
            f"application de référence en HTTP sur {upstream.address} (identité attendue du terminateur dans "
            "X-SSL-Client-S-DN)",
            flush=True,
        )
        stop.wait(args.max_seconds if args.max_seconds > 0 else None)
    return ExitCode.CONFORME
