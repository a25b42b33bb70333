"""Loading an editor's own certificate (PEM or PKCS#12) into an ``Identity`` OpenSSL can present.

The password of a PKCS#12 file is read from the environment variable whose name the configuration
gives, never from a command line or a file. The private key is written once, mode 0600, into a private
temporary directory that the caller owns and removes; it is never printed, logged or attached.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from recette_sas.config.loader import CertificateFiles
from recette_sas.environments import UsageError
from recette_sas.identity import Identity, certificate_pem
from recette_sas.pki.keys import key_pem, write_private

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Credential:
    """A certificate, what is sent after it, and its private key (kept in memory, never repr'd)."""

    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: PrivateKey = field(repr=False)
    source: str = ""


def _read(path: Path, where: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{where}: cannot read {path} ({exc.strerror or exc})") from None


def _load_pem_certs(data: bytes, path: Path, where: str) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        try:
            certs = [x509.load_der_x509_certificate(data)]
        except ValueError:
            raise UsageError(f"{where}: {path} holds no PEM or DER certificate") from None
    return certs


def load_credential(files: CertificateFiles, *, where: str) -> Credential:
    """Load and check a certificate and its key; every problem is one line naming ``where``."""
    if files.pkcs12 is not None:
        var = files.password_env or ""
        password = os.environ.get(var)
        if password is None:
            raise UsageError(f"{where}.password_env: environment variable {var} is not set")
        data = _read(files.pkcs12, f"{where}.pkcs12")
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode())
        except ValueError:
            raise UsageError(
                f"{where}.pkcs12: cannot open {files.pkcs12.name} (wrong password in {var}, or not a PKCS#12 file)"
            ) from None
        if cert is None or key is None:
            raise UsageError(f"{where}.pkcs12: {files.pkcs12.name} holds no certificate with its private key")
        chain = tuple(extra or ())
        source = str(files.pkcs12)
    else:
        assert files.cert is not None and files.key is not None
        certs = _load_pem_certs(_read(files.cert, f"{where}.cert"), files.cert, f"{where}.cert")
        cert, chain = certs[0], tuple(certs[1:])
        if files.chain is not None:
            chain += tuple(
                _load_pem_certs(_read(files.chain, f"{where}.chain"), files.chain, f"{where}.chain")
            )
        try:
            key = serialization.load_pem_private_key(_read(files.key, f"{where}.key"), password=None)
        except (ValueError, TypeError):
            raise UsageError(
                f"{where}.key: {files.key.name} is not an unencrypted PEM private key (use PKCS#12 for a protected key)"
            ) from None
        source = str(files.cert)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise UsageError(f"{where}: unsupported private key type {type(key).__name__}")
    if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
        raise UsageError(
            f"{where}: the private key does not match the certificate {cert.subject.rfc4514_string()}"
        )
    return Credential(leaf=cert, chain=chain, key=key, source=source)


def write_identity(
    credential: Credential, *, label: str, directory: Path, send_chain: bool = True
) -> Identity:
    """Files OpenSSL can load: ``directory`` must be private to this run (see ``private_directory``)."""
    directory.mkdir(parents=True, exist_ok=True)
    certfile = directory / f"{label}.pem"
    chain = credential.chain if send_chain else ()
    certfile.write_bytes(b"".join(certificate_pem(c) for c in (credential.leaf, *chain)))
    keyfile = directory / f"{label}.key"
    write_private(keyfile, key_pem(credential.key))
    return Identity(label=label, leaf=credential.leaf, chain=chain, certfile=certfile, keyfile=keyfile)


def private_directory() -> tempfile.TemporaryDirectory[str]:
    """A mode-0700 temporary directory, removed when the context ends."""
    return tempfile.TemporaryDirectory(prefix="recette-sas-secrets-")
