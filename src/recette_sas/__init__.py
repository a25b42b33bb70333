"""recette-sas: connected-acceptance suite for editors plugged into ANS's SAS platform."""

from __future__ import annotations

__version__ = "0.1.0"
