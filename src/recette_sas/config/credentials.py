"""Loading an editor's own certificate (PEM or PKCS#12) into an ``Identity`` OpenSSL can present.

The password of a PKCS#12 file or of an encrypted PEM key is read from the environment variable whose
name the configuration gives (``password_env``), never from a command line or a file. The private key
is written once, mode 0600, into a private temporary directory that the caller owns and removes; it is
never printed, logged or attached. That directory carries a marker naming this run (pid and start
time): Ctrl-C and SIGTERM unwind into its removal, and a directory a SIGKILL left behind is removed by
the next run once the marker proves its run is gone (``recette_sas._proc``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from recette_sas.config.loader import CertificateFiles, EditorConfig
from recette_sas.identity import Identity, certificate_pem
from recette_sas.pki.credential_files import CredentialError, Labels, load_credentials
from recette_sas.pki.keys import key_pem, write_private

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PASSWORD_HINT = "name the variable that holds its password in password_env"


@dataclass(frozen=True)
class Credential:
    """A certificate, what is sent after it, and its private key (kept in memory, never repr'd)."""

    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: PrivateKey = field(repr=False)
    source: str = ""


def load_credential(files: CertificateFiles, *, where: str) -> Credential:
    """Load and check a certificate and its key; every problem is one line naming ``where`` and the key.

    The files are read by the same loader as ``cert check`` (``pki/credential_files.py``): a PEM
    certificate with a plain or encrypted key (password from ``password_env``), or a PKCS#12. What the
    configuration adds: a run must be able to present the certificate, so a key is required, RSA or EC.
    """
    labels = Labels(where=where, password_hint=PASSWORD_HINT)
    if files.pkcs12 is not None:
        cert_path, role = files.pkcs12, "pkcs12"
    else:
        assert files.cert is not None and files.key is not None
        cert_path, role = files.cert, "cert"
    loaded = load_credentials(
        cert_path,
        key_path=files.key,
        chain_paths=() if files.chain is None else (files.chain,),
        password_env=files.password_env,
        labels=labels,
        cert_role=role,
    )
    if loaded.key is None:
        raise CredentialError(f"{labels.file(role, cert_path)}: holds no private key for its certificate")
    if not isinstance(loaded.key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CredentialError(f"{where}: unsupported private key type {type(loaded.key).__name__}")
    return Credential(leaf=loaded.leaf, chain=loaded.chain, key=loaded.key, source=loaded.source)


def _check_validity(credential: Credential, *, where: str, now: dt.datetime) -> None:
    leaf = credential.leaf
    if leaf.not_valid_after_utc <= now:
        raise CredentialError(
            f"{where}: the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC "
            "(every scenario presenting it would be refused for that, not for what it checks)"
        )
    if leaf.not_valid_before_utc > now:
        raise CredentialError(
            f"{where}: the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )


def validate_credentials(config: EditorConfig) -> None:
    """Open every certificate the file names (password, key match, inside its validity period, in any
    trust mode), so a mistake stops the run at once."""
    now = dt.datetime.now(dt.UTC)
    for env in config.environments.values():
        where = f"{config.path}: environments.{env.key}"
        if env.certificate is not None:
            cred = load_credential(env.certificate, where=f"{where}.certificate")
            _check_validity(cred, where=f"{where}.certificate", now=now)
        for name, files in env.extra_certificates.items():
            cred = load_credential(files, where=f"{where}.extra_certificates.{name}")
            _check_validity(cred, where=f"{where}.extra_certificates.{name}", now=now)


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
