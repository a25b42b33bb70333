"""Revocation faults the suite's publisher can simulate, and what it counts while one is on.

The spec foresees CRLs that cannot be refreshed ("un mécanisme de débrayage pourrait être mis en
place") and CRLs republished every morning: an editor's server must be known to behave sensibly when
the publication point fails. The publisher switches one ``PublisherFault`` on for a window (one
scenario) and counts, during that window, the OCSP requests per certificate serial and the CRL
downloads per CRL, so the report can say whether the server consulted OCSP or fetched a CRL at all
(what gematik's PKI test suite reports).

CRL downloads are counted per CRL, not per certificate: the look-alike leaves share their issuing CA's
distribution point, so a download is attributed to the certificates presented in that window.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

if TYPE_CHECKING:
    from recette_sas.pki.store import Pki


class PublisherFault(enum.StrEnum):
    """One way the publication point fails; values are the scenario's words (its Examples column)."""

    CRL_EXPIRED = "crl-perimee"
    CRL_UNREACHABLE = "crl-injoignable"
    OCSP_DOWN = "ocsp-hors-service"
    OCSP_TRY_LATER = "ocsp-plus-tard"
    OCSP_UNAUTHORIZED = "ocsp-non-autorise"
    OCSP_WRONG_SIGNER = "ocsp-signataire-inconnu"
    OCSP_STALE = "ocsp-perime"

    @classmethod
    def parse(cls, text: str) -> PublisherFault:
        try:
            return cls(text)
        except ValueError:
            raise ValueError(
                f"unknown publisher fault {text!r} (expected one of: {', '.join(cls)})"
            ) from None

    @property
    def touches_crl(self) -> bool:
        return self in (PublisherFault.CRL_EXPIRED, PublisherFault.CRL_UNREACHABLE)


FAULT_DESCRIPTIONS: dict[PublisherFault, str] = {
    PublisherFault.CRL_EXPIRED: "la CRL publiée a dépassé sa date de prochaine mise à jour (nextUpdate)",
    PublisherFault.CRL_UNREACHABLE: "le point de distribution de la CRL ferme la connexion sans répondre",
    PublisherFault.OCSP_DOWN: "le répondeur OCSP ferme la connexion sans répondre",
    PublisherFault.OCSP_TRY_LATER: "le répondeur OCSP répond tryLater",
    PublisherFault.OCSP_UNAUTHORIZED: "le répondeur OCSP répond unauthorized",
    PublisherFault.OCSP_WRONG_SIGNER: "la réponse OCSP est signée par une clé que l'AC n'a pas autorisée",
    PublisherFault.OCSP_STALE: "la réponse OCSP est ancienne (thisUpdate il y a 8 jours, nextUpdate dépassé)",
}

STALE_BY = dt.timedelta(days=8)
"""How old a stale answer is: older than any daily publication cycle, whatever the clock skew."""


@dataclass
class Consultations:
    """What the publisher was asked during one fault window (thread-safe: the server asks concurrently)."""

    ocsp_by_serial: Counter[int] = field(default_factory=Counter)
    crl_downloads: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ocsp(self, serial: int) -> None:
        with self._lock:
            self.ocsp_by_serial[serial] += 1

    def crl(self, name: str) -> None:
        with self._lock:
            self.crl_downloads[name] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """JSON view: serials in hex, as certificate summaries show them."""
        with self._lock:
            return {
                "ocsp_requests": {f"{s:x}": n for s, n in sorted(self.ocsp_by_serial.items())},
                "crl_downloads": dict(sorted(self.crl_downloads.items())),
            }


def expired_crl(pki: Pki, name: str, *, now: dt.datetime | None = None) -> x509.CertificateRevocationList:
    """``name``'s CRL, same entries, re-signed by its CA with a nextUpdate already passed."""
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    current = pki.crl(name)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(current.issuer)
        .last_update(now - STALE_BY)
        .next_update(now - dt.timedelta(days=1))
    )
    for entry in current:
        builder = builder.add_revoked_certificate(entry)
    for extension in current.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    return builder.sign(pki.ca_key(name), hashes.SHA256())


@functools.cache
def unauthorized_signer() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A key no CA delegated OCSP signing to, with a self-signed certificate naming it as responder."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Répondeur OCSP non autorisé")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert
