"""What an editor certificate gets wrong: the names alone, so options and variant tables can be checked
when pytest starts without loading ``cryptography`` (``recette_sas.pki.editor`` issues the certificates)."""

from __future__ import annotations

import enum


class EditorDefect(enum.StrEnum):
    """What an editor certificate gets wrong (``VALIDE``: nothing)."""

    VALIDE = "valide"
    AUTRE_HIERARCHIE = "autre-hierarchie"
    EXPIRE_BIENTOT = "expire-bientot"
