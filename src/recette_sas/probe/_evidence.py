"""What both probes (``attempt``: OpenSSL; ``sslv3``: tlslite-ng) keep of an answer, and how they summarise
the server's chain: one place, so the two kinds of attempt record read the same."""

from __future__ import annotations

import hashlib
from typing import Any

from recette_sas.identity import certificate_summary

MAX_BODY = 8 * 1024 * 1024  # a whole 100-slot Bundle, so the FHIR checks judge what was sent
EXCERPT_CHARS = 500


def summaries(ders: list[bytes]) -> tuple[dict[str, Any], ...]:
    """Public summaries of the certificates the server sent, leaf first."""
    from cryptography import x509

    out: list[dict[str, Any]] = []
    for der in ders:
        try:
            out.append(certificate_summary(x509.load_der_x509_certificate(der)))
        except Exception:  # evidence only: an exotic certificate must not cost the verdict
            out.append({"error": "unparsable certificate", "sha256": hashlib.sha256(der).hexdigest()})
    return tuple(out)
