"""The presented certificate is the configured one (CLI-CERT-CONFIGURE): the spec says the editor presents
*its own* IGC Santé certificate, so a client that presents any other valid certificate (another
editor's, an old one left in a keystore, a test one) is non-conformant, however valid that one is.

Kept apart from ``rules.py`` so each module stays small; same contract: ``AssertionError`` is a
non-conformance, ``VerdictUnavailable`` no verdict.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from recette_sas.client.rules import ExchangeLike, _leaves, _line


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def require_configured_certificate(
    exchange: ExchangeLike, flow: str, expected: x509.Certificate, where: str
) -> str:
    """Each request of ``flow`` presented exactly ``expected`` (same SHA-256 fingerprint)."""
    want = _fingerprint(expected)
    wrong = [
        f"{_line(p)}: {leaf.subject.rfc4514_string()} (SHA-256 {_fingerprint(leaf)[:16]}…)"
        for p, leaf in _leaves(exchange, flow)
        if _fingerprint(leaf) != want
    ]
    if wrong:
        raise AssertionError(
            f"the client presented another certificate than the configured one, {where} "
            f"({expected.subject.rfc4514_string()}, SHA-256 {want[:16]}…): " + "; ".join(wrong)
        )
    return f"the configured certificate ({where}, SHA-256 {want[:16]}…) on each request"


__all__ = ["require_configured_certificate"]
