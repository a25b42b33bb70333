"""A client identity: the certificate chain a TLS client sends, and where its private key lives.

The key file is only ever handed to OpenSSL; nothing in this module reads it back, and
``summary()`` (what reports attach) carries public data only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID


def certificate_summary(cert: x509.Certificate) -> dict[str, Any]:
    """Public facts about a certificate, fit for a report."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_desc = f"RSA-{key.key_size}"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_desc = f"EC-{key.curve.name}"
    else:
        key_desc = type(key).__name__
    algo = cert.signature_hash_algorithm
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "key": key_desc,
        "signature_hash": algo.name if algo is not None else None,
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }


def ocsp_url(cert: x509.Certificate) -> str | None:
    """The first OCSP responder URL of the certificate's AIA extension."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for description in aia:
        if description.access_method == AuthorityInformationAccessOID.OCSP and isinstance(
            description.access_location, x509.UniformResourceIdentifier
        ):
            return description.access_location.value
    return None


def signature_valid(
    key: object, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None
) -> bool:
    """Whether ``signature`` over ``data`` verifies with an RSA (PKCS#1 v1.5) or EC public ``key``
    (how OCSP responses are checked against their issuing CA)."""
    if algorithm is None:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer``'s name and key issued ``cert`` (a name alone can be forged, a signature cannot)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def find_issuer(cert: x509.Certificate, candidates: Iterable[x509.Certificate]) -> x509.Certificate | None:
    """The first of ``candidates`` whose name and key issued ``cert``."""
    return next((c for c in candidates if signed_by(cert, c)), None)


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class Identity:
    """What a TLS client presents: a leaf, the certificates sent after it, and its key file.

    ``certfile`` holds the leaf followed by ``chain`` in PEM (exactly what goes on the wire);
    ``keyfile`` is the PEM private key (mode 0600).
    """

    label: str
    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    certfile: Path
    keyfile: Path = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """Public description for reports: the leaf, and the subjects of what follows it."""
        data = certificate_summary(self.leaf)
        data["label"] = self.label
        data["chain_sent"] = [c.subject.rfc4514_string() for c in self.chain]
        return data

    def public_pem(self) -> bytes:
        """The certificates sent, in PEM: public material only."""
        return b"".join(certificate_pem(c) for c in (self.leaf, *self.chain))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.leaf.public_bytes(serialization.Encoding.DER)).hexdigest()
