"""Where the suite keeps what it generates or downloads between runs."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``$RECETTE_SAS_CACHE``, else ``$XDG_CACHE_HOME/recette-sas``, else ``~/.cache/recette-sas``."""
    base = os.environ.get("RECETTE_SAS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "recette-sas"
    )
    return Path(base)
