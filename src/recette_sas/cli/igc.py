"""``recette-sas igc fetch``: fill (or check) the cache of the real IGC Santé CA certificates, once.

A command of its own, delegated to by ``recette_sas.cli.main`` with the rest of the command line,
because it must parse ``--igc-ca-dir`` and friends itself and report every failure the way
:mod:`recette_sas.pki.igc` words it: one line on stderr and exit status 2. The pinning, the cache and
the downloads are that module's; this one only turns a command line into ``IgcChains.load``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from recette_sas.environments import UsageError
from recette_sas.paths import default_cache_dir
from recette_sas.pki.igc import CA_DIR_OPTION, OFFICIAL_BASE, IgcChains


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def main_igc_fetch(argv: list[str]) -> int:
    """``recette-sas igc fetch``: fill (or check) the cache once; 0, or one line on stderr and 2."""
    parser = _Parser(
        prog="recette-sas igc fetch",
        description="Download, check against the pins and cache the four IGC Santé CA certificates.",
    )
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
    parser.add_argument("--base-url", default=OFFICIAL_BASE, metavar="URL", help=f"default {OFFICIAL_BASE}")
    try:
        args = parser.parse_args(argv)
        chains = IgcChains.load(
            cache_dir=args.cache or default_cache_dir(),
            ca_dir=args.ca_dir,
            base_url=args.base_url,
            offline=args.offline,
        )
    except UsageError as exc:
        print(f"recette-sas igc fetch: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    for c in chains.certificates:
        print(f"{c.ca.name:<16} {c.ca.hierarchy.value:<10} {c.sha256}  {c.source:<8} {c.path}")
    return 0
