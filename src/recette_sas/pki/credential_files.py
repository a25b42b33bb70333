"""Reading an editor's certificate files: the one loader behind ``cert check`` and ``--sas-config``.

Both paths read the same kind of files (a PEM certificate with its chain and key, plain or encrypted; a
separate PEM or DER key; chain files; a PKCS#12) and used to do it with code of their own: ``cert
check`` opened encrypted PEM keys that the configuration refused. ``load_credentials`` is the one
reader; ``pki/certcheck.py`` and ``config/credentials.py`` only say how their errors name the inputs
(``Labels``) and what they require of the result (the configuration needs a key, ``cert check`` does
not).

Secrets: a password (PKCS#12 or encrypted PEM key) comes only from an environment variable whose
*name* the caller gives, never from a command line or a file, and it is never put in a message. Every
problem is one ``CredentialError`` line naming the file (and, for the configuration, the key that named
it) and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from recette_sas.errors import CertificateFileError
from recette_sas.pki.profile import is_ca

MAX_FILE_BYTES = 1024 * 1024
CLI_PASSWORD_HINT = "give --password-env NAME"


class CredentialError(CertificateFileError):
    """A certificate or key file the suite cannot use: one line naming the file and the problem."""


@dataclass(frozen=True)
class Labels:
    """How errors name the inputs.

    Without ``where`` (the command line), a problem reads ``<path>: <problem>`` and a missing variable
    ``--password-env NAME: …``. With ``where`` (the configuration table that named the files, e.g.
    ``editeur.toml: environments.recette.certificate``), it reads ``<where>.<key>: <path>: <problem>``
    and ``<where>.password_env: …``. ``password_hint`` says how to give a password.
    """

    where: str | None = None
    password_hint: str = CLI_PASSWORD_HINT

    def file(self, role: str, path: Path) -> str:
        return f"{path}" if self.where is None else f"{self.where}.{role}: {path}"

    def password(self, name: str) -> str:
        return f"--password-env {name}" if self.where is None else f"{self.where}.password_env"


@dataclass(frozen=True)
class Credentials:
    """What the file(s) hold: the leaf, the other certificates, and the private key if any."""

    source: str
    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: PrivateKeyTypes | None = field(default=None, repr=False)
    key_source: str | None = None


def read_file(path: Path, label: str) -> bytes:
    """The bytes of a certificate or key file (at most ``MAX_FILE_BYTES``)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CredentialError(f"{label}: file too large for a certificate ({size} bytes)")
        return path.read_bytes()
    except OSError as exc:
        raise CredentialError(f"{label}: cannot read ({exc.strerror or exc})") from None


def password_from_env(name: str | None, environ: Mapping[str, str], labels: Labels = Labels()) -> bytes | None:
    """The password held by the environment variable ``name`` (``None`` when no name is given)."""
    if name is None:
        return None
    if name not in environ:
        raise CredentialError(f"{labels.password(name)}: environment variable {name} is not set")
    return environ[name].encode("utf-8")


def certificates_in(data: bytes, label: str) -> list[x509.Certificate]:
    """Every certificate of a PEM file, or the one of a DER file; ``[]`` if it holds none."""
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            return x509.load_pem_x509_certificates(data)
        except ValueError:
            raise CredentialError(f"{label}: a PEM certificate block is not readable") from None
    try:
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        return []


_KEY_MARKERS = (
    b"-----BEGIN PRIVATE KEY-----",
    b"-----BEGIN RSA PRIVATE KEY-----",
    b"-----BEGIN EC PRIVATE KEY-----",
    b"-----BEGIN ENCRYPTED PRIVATE KEY-----",
)


def _wrong_password(what: str, password_env: str | None) -> str:
    where = f" in {password_env}" if password_env else ""
    return f"{what}: wrong password{where} or corrupt file"


def pem_key_in(
    data: bytes, label: str, password: bytes | None, *, password_env: str | None = None, hint: str = CLI_PASSWORD_HINT
) -> PrivateKeyTypes | None:
    """The first PEM private key block of ``data`` (plain, PKCS#8-encrypted or legacy-encrypted), or None."""
    start = min((data.find(m) for m in _KEY_MARKERS if m in data), default=-1)
    if start < 0:
        return None
    end_marker = data.find(b"-----END", start)
    end = data.find(b"-----", end_marker + 8) + 5 if end_marker >= 0 else len(data)
    block = data[start:end]
    encrypted = b"ENCRYPTED" in block
    if encrypted and password is None:
        raise CredentialError(f"{label}: the private key is encrypted: {hint}")
    try:
        return serialization.load_pem_private_key(block, password=password if encrypted else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        if encrypted:
            raise CredentialError(
                f"{label}: {_wrong_password('cannot decrypt the private key', password_env)}"
            ) from None
        raise CredentialError(f"{label}: the private key block is not readable") from None


def same_key(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    """Whether ``key`` is the private half of ``cert``'s public key."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    try:
        return bool(cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki))
    except (ValueError, TypeError, AttributeError):
        return False


def _pick_leaf(certs: list[x509.Certificate], key: PrivateKeyTypes | None) -> x509.Certificate:
    """The certificate of ``key`` if any, else the first that is not a CA: files list them in any order."""
    if key is not None:
        matching = [c for c in certs if same_key(c, key)]
        if matching:
            return matching[0]
    return next((c for c in certs if not is_ca(c)), certs[0])


def load_credentials(
    cert_path: Path,
    *,
    key_path: Path | None = None,
    chain_paths: Sequence[Path] = (),
    password_env: str | None = None,
    environ: Mapping[str, str] | None = None,
    labels: Labels = Labels(),
    cert_role: str = "cert",
) -> Credentials:
    """Read a PEM (certificates and maybe a key) or PKCS#12 file, plus an optional key and chain files.

    The password (environment variable ``password_env``) opens a PKCS#12 file or an encrypted PEM key;
    the key, when there is one, must match the leaf. ``cert_role`` is the configuration key that named
    ``cert_path`` (``cert`` or ``pkcs12``), for the messages.
    """
    env = os.environ if environ is None else environ
    password = password_from_env(password_env, env, labels)
    cert_label = labels.file(cert_role, cert_path)
    data = read_file(cert_path, cert_label)
    key: PrivateKeyTypes | None = None
    key_source: str | None = None
    certs = certificates_in(data, cert_label)
    if certs:
        if b"PRIVATE KEY-----" in data:
            key = pem_key_in(data, cert_label, password, password_env=password_env, hint=labels.password_hint)
            key_source = str(cert_path)
    elif b"-----BEGIN" in data:
        raise CredentialError(f"{cert_label}: no certificate in this PEM file")
    else:
        try:
            p12_key, p12_cert, extra = pkcs12.load_key_and_certificates(data, password)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            if password is None:
                raise CredentialError(
                    f"{cert_label}: not a PEM or DER certificate, and not a PKCS#12 readable without a password "
                    f"({labels.password_hint})"
                ) from None
            raise CredentialError(
                f"{cert_label}: {_wrong_password('cannot open the PKCS#12 file', password_env)}"
            ) from None
        if p12_cert is None:
            raise CredentialError(f"{cert_label}: the PKCS#12 file holds no certificate")
        certs = [p12_cert, *extra]
        if p12_key is not None:
            key, key_source = p12_key, f"{cert_path} (PKCS#12)"
    key_label = cert_label
    if key_path is not None:
        key_label = labels.file("key", key_path)
        key_data = read_file(key_path, key_label)
        loaded = pem_key_in(key_data, key_label, password, password_env=password_env, hint=labels.password_hint)
        if loaded is None:
            try:
                loaded = serialization.load_der_private_key(key_data, password=password)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                raise CredentialError(f"{key_label}: no readable private key in this file") from None
        key, key_source = loaded, str(key_path)
    for chain_path in chain_paths:
        chain_label = labels.file("chain", chain_path)
        more = certificates_in(read_file(chain_path, chain_label), chain_label)
        if not more:
            raise CredentialError(f"{chain_label}: no certificate in this file")
        certs.extend(more)
    leaf = _pick_leaf(certs, key)
    if key is not None and not same_key(leaf, key):
        raise CredentialError(
            f"{key_label}: the private key does not match the certificate {leaf.subject.rfc4514_string()} "
            f"in {cert_path}"
        )
    chain = tuple(c for c in certs if c is not leaf)
    return Credentials(source=str(cert_path), leaf=leaf, chain=chain, key=key, key_source=key_source)
