"""``recette-sas igc fetch``: fill (or check) the cache of the real IGC Santé CA certificates, once.

The pinning, the cache and the downloads are :mod:`recette_sas.pki.igc`'s; this module only adds the
options to the ``recette-sas`` parser tree and turns them into ``IgcChains.load``. Every failure is a
``UsageError`` worded by that module, which ``cli/main.py`` prints in one line and exits with
``ExitCode.USAGE`` (4); success prints one line per CA certificate and exits 0.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from recette_sas.cli._parser import CA_DIR_OPTION
from recette_sas.errors import ExitCode

HELP = "download the real IGC Santé CA certificates once, verify their pinned SHA-256, cache them"
GROUP_HELP = "the real IGC Santé CA certificates"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Download, check against the pins and cache the four IGC Santé CA certificates."
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help="cache folder (default: $RECETTE_SAS_CACHE or ~/.cache/recette-sas)",
    )
    parser.add_argument(
        CA_DIR_OPTION,
        dest="ca_dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="use these files, no download",
    )
    parser.add_argument("--offline", action="store_true", help="never download: the cache must be complete")
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="where the certificates are published (default: the official IGC Santé site)",
    )


def run(args: argparse.Namespace) -> int:
    from recette_sas.paths import default_cache_dir
    from recette_sas.pki.igc import OFFICIAL_BASE, IgcChains

    chains = IgcChains.load(
        cache_dir=args.cache or default_cache_dir(),
        ca_dir=args.ca_dir,
        base_url=OFFICIAL_BASE if args.base_url is None else args.base_url,
        offline=args.offline,
    )
    for c in chains.certificates:
        print(f"{c.ca.name:<16} {c.ca.hierarchy.value:<10} {c.sha256}  {c.source:<8} {c.path}")
    return ExitCode.CONFORME
