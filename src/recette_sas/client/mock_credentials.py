"""The certificates the mock SAS platform presents: the normal one, and one hostile one per mode.

Everything but the mode's one defect is right (issuer, name, validity), so that a client refusing the
mock refuses it for that defect. cryptography is imported only when a self-signed certificate is made and
trustme only for annotations: naming a ``ServerCredentials`` at collection time costs nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recette_sas.client.presentation import WRONG_HOST_NAME, MockMode
from recette_sas.environments import UsageError

if TYPE_CHECKING:
    import trustme


@dataclass(frozen=True)
class ServerCredentials:
    """The certificate chain (PEM, leaf first) and private key (PEM) the mock presents."""

    chain_pem: bytes
    key_pem: bytes = field(repr=False)

    @classmethod
    def from_trustme(cls, leaf: trustme.LeafCert) -> ServerCredentials:
        return cls(b"".join(b.bytes() for b in leaf.cert_chain_pems), leaf.private_key_pem.bytes())


def _kept(
    folder: Path, mode: MockMode, host_name: str, address: str | None, server_ca: trustme.CA
) -> ServerCredentials:
    from recette_sas.pki.keys import write_private

    tag = hashlib.sha256(f"{mode.value}|{host_name}|{address}|".encode() + server_ca.cert_pem.bytes())
    chain = folder / f"mock-{mode.value}-{tag.hexdigest()[:16]}.pem"
    key = chain.with_suffix(".key.pem")
    if chain.is_file() and key.is_file():
        return ServerCredentials(chain.read_bytes(), key.read_bytes())
    made = server_credentials(mode, host_name, server_ca=server_ca, address=address)
    folder.mkdir(parents=True, exist_ok=True)
    write_private(key, made.key_pem)
    chain.write_bytes(made.chain_pem)
    return made


def _self_signed(host_name: str, address: str | None = None) -> ServerCredentials:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(host_name)]
                + ([x509.IPAddress(ipaddress.ip_address(address))] if address else [])
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ServerCredentials(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def server_credentials(
    mode: MockMode,
    host_name: str,
    *,
    server_ca: trustme.CA,
    other_hierarchy: ServerCredentials | None = None,
    address: str | None = None,
    keep_in: Path | None = None,
) -> ServerCredentials:
    """The certificate the mock presents in ``mode``; everything but the mode's defect is right.

    ``server_ca`` is the CA the client is told to trust; ``other_hierarchy`` (needed for
    ``OTHER_HIERARCHY`` only) is a certificate for ``host_name`` issued by the other IGC hierarchy.
    ``address`` (the loopback address the mock listens on) is named by the certificate too, except in
    the wrong-name mode, so that a client pointed at ``{address_url}`` checks the name as it would the
    SAS host name. ``keep_in``: a folder where the certificate is kept and reused across runs (wait
    mode: the operator's client sees the same certificate each time), re-issued when its CA changes.
    """
    if keep_in is not None and mode is not MockMode.OTHER_HIERARCHY:
        return _kept(keep_in, mode, host_name, address, server_ca)
    names = (host_name, address) if address else (host_name,)
    now = dt.datetime.now(dt.UTC)
    if mode in (MockMode.NORMAL, MockMode.LEGACY_TLS):
        return ServerCredentials.from_trustme(server_ca.issue_cert(*names))
    if mode is MockMode.EXPIRED:
        leaf = server_ca.issue_cert(
            *names, not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=30)
        )
        return ServerCredentials.from_trustme(leaf)
    if mode is MockMode.WRONG_HOST:
        return ServerCredentials.from_trustme(server_ca.issue_cert(WRONG_HOST_NAME))
    if mode is MockMode.UNTRUSTED:
        return _self_signed(host_name, address)
    if other_hierarchy is None:
        raise UsageError(
            "mock SAS: the other-hierarchy mode needs a certificate issued by the other hierarchy"
        )
    return other_hierarchy


def add_address(credentials: ServerCredentials, address: str, *, issuer_key: Any) -> ServerCredentials:
    """``credentials`` with ``address`` added to the leaf's names, re-signed by ``issuer_key`` (the other
    hierarchy's certificate, so that a client pointed at ``{address_url}`` refuses it for its issuer alone)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    leaf, *rest = x509.load_pem_x509_certificates(credentials.chain_pem)
    builder = (
        x509.CertificateBuilder()
        .subject_name(leaf.subject)
        .issuer_name(leaf.issuer)
        .public_key(leaf.public_key())
        .serial_number(leaf.serial_number)
        .not_valid_before(leaf.not_valid_before_utc)
        .not_valid_after(leaf.not_valid_after_utc)
    )
    for ext in leaf.extensions:
        value = ext.value
        if isinstance(value, x509.SubjectAlternativeName):
            value = x509.SubjectAlternativeName([*value, x509.IPAddress(ipaddress.ip_address(address))])
        builder = builder.add_extension(value, ext.critical)
    cert = builder.sign(issuer_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    return ServerCredentials(
        cert.public_bytes(pem) + b"".join(c.public_bytes(pem) for c in rest), credentials.key_pem
    )
