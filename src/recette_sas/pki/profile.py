"""The AUTH_CLI leaf profile, in one place: how the suite issues a leaf, and how any leaf is judged.

IGC Santé issues ORG AUTH_CLI certificates with clientAuth, digitalSignature, CA:FALSE, RSA-2048 and
SHA-256. Three parts of the suite need that profile and used to state it each in their own words: the
look-alike PKI when it issues (``issue_leaf``), the reference server when it refuses a client
certificate (``server/policy.py``, the first blocking finding becomes its refusal reason), and ``cert
check`` with the client-role rules when they judge the editor's certificate (``pki/certcheck.py``,
``client/rules.py``, every finding is shown). ``profile_findings`` is the one judgement they share, so a
certificate the static check calls conformant cannot be refused by the reference server for its profile,
and the other way round.

Where each rule comes from (the union of the two former copies):

- extensions must parse; not a CA (basicConstraints); extendedKeyUsage present and with clientAuth;
  keyUsage present and with digitalSignature; RSA of at least 2048 bits; a signature hash other than
  SHA-1 or MD5: both the reference server and ``cert check`` checked these;
- the hint that an emailProtection-only leaf is a SIGN certificate, the warning on nonRepudiation (the
  mark of a signing certificate), and "the key must be RSA": ``cert check`` only. The reference server
  used to accept EC keys of 256 bits or more; IGC Santé issues no EC AUTH_CLI certificate, so an EC
  leaf is now refused there too, rather than called conformant by one side and not the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

Level = Literal["ok", "info", "warning", "error"]
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class Finding:
    """One judgement on a certificate: ``error`` blocks, ``warning`` and ``info`` inform, ``ok`` confirms."""

    level: Level
    check: str
    message: str

    def line(self) -> str:
        return f"{self.level.upper():<7} {self.check}: {self.message}"


# -- judging -------------------------------------------------------------------------------------------


def extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    """The value of ``cert``'s extension of ``kind``, or None (extensions must already parse)."""
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def is_ca(cert: x509.Certificate) -> bool:
    try:
        constraints = extension(cert, x509.BasicConstraints)
    except ValueError:
        return False
    return isinstance(constraints, x509.BasicConstraints) and constraints.ca


_EKU_NAMES: Mapping[x509.ObjectIdentifier, str] = {
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
}


def _eku_names(eku: x509.ExtendedKeyUsage) -> str:
    return ", ".join(_EKU_NAMES.get(oid, oid.dotted_string) for oid in eku) or "empty"


def profile_findings(cert: x509.Certificate) -> list[Finding]:
    """``cert`` against the AUTH_CLI profile, every rule in the order a reader checks them."""
    try:
        cert.extensions  # noqa: B018 - parse once, report a broken encoding as one finding
    except ValueError as exc:
        return [Finding("error", "profile", f"extensions cannot be parsed: {exc}")]
    findings: list[Finding] = []
    if is_ca(cert):
        findings.append(
            Finding("error", "profile", "basicConstraints CA:TRUE: a CA certificate, not an AUTH_CLI leaf")
        )
    else:
        findings.append(Finding("ok", "profile", "not a CA (basicConstraints CA:FALSE)"))
    eku = extension(cert, x509.ExtendedKeyUsage)
    if not isinstance(eku, x509.ExtendedKeyUsage):
        findings.append(Finding("error", "profile", "no extendedKeyUsage: clientAuth expected (AUTH_CLI)"))
    elif ExtendedKeyUsageOID.CLIENT_AUTH not in eku:
        hint = (
            ": a signing (SIGN) certificate, not an authentication one"
            if ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
            else ""
        )
        message = f"extendedKeyUsage is {_eku_names(eku)}, clientAuth expected (AUTH_CLI){hint}"
        findings.append(Finding("error", "profile", message))
    else:
        findings.append(Finding("ok", "profile", "extendedKeyUsage includes clientAuth"))
    usage = extension(cert, x509.KeyUsage)
    if not isinstance(usage, x509.KeyUsage):
        findings.append(Finding("error", "profile", "no keyUsage: digitalSignature expected"))
    elif not usage.digital_signature:
        findings.append(Finding("error", "profile", "keyUsage lacks digitalSignature"))
    else:
        findings.append(Finding("ok", "profile", "keyUsage includes digitalSignature"))
        if usage.content_commitment:
            findings.append(
                Finding(
                    "warning",
                    "profile",
                    "keyUsage includes nonRepudiation, the mark of a signing certificate (AUTH_CLI has none)",
                )
            )
    findings.append(_key_finding(cert))
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
    if algorithm is None or isinstance(algorithm, hashes.SHA1 | hashes.MD5):
        shown = algorithm.name if algorithm is not None else cert.signature_algorithm_oid.dotted_string
        findings.append(Finding("error", "profile", f"signed with {shown}: SHA-256 or better expected"))
    return findings


def _key_finding(cert: x509.Certificate) -> Finding:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        kind = type(key).__name__.lstrip("_")
        return Finding("error", "key", f"{kind}: IGC Santé AUTH_CLI keys are RSA >= {MIN_RSA_BITS}")
    if key.key_size < MIN_RSA_BITS:
        return Finding("error", "key", f"RSA-{key.key_size}: at least RSA-{MIN_RSA_BITS} expected")
    return Finding("ok", "key", f"RSA-{key.key_size}")


def first_blocking(findings: Iterable[Finding]) -> Finding | None:
    """The first ``error``: what a server that refuses on the profile names as its reason."""
    return next((f for f in findings if f.level == "error"), None)


# -- issuing -------------------------------------------------------------------------------------------


def issue_leaf(
    *,
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    issuer_name: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    pointer: str,
    base_url: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
    eku: tuple[x509.ObjectIdentifier, ...] = (ExtendedKeyUsageOID.CLIENT_AUTH,),
    digital_signature: bool = True,
    key_encipherment: bool = False,
    ca: bool = False,
    san: tuple[str, ...] = (),
    hash_name: str = "sha256",
    extra_extensions: tuple[x509.Extension[x509.ExtensionType], ...] = (),
) -> x509.Certificate:
    """An IGC ORG-like leaf: the profile of every leaf the suite issues, SAS's and the editor's alike.

    Its CRL distribution point and OCSP/caIssuers AIA point at ``base_url`` for the CA named ``pointer``
    (the suite's own publisher), as the IGC's point at igc-sante.esante.gouv.fr and ocsp.esante.gouv.fr.
    """
    base = base_url.rstrip("/")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=digital_signature,
                content_commitment=False,
                key_encipherment=key_encipherment,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(f"{base}/crl/{pointer}.crl")],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{base}/ocsp")
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{base}/ca/{pointer}.cer"),
                    ),
                ]
            ),
            critical=False,
        )
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False
        )
    for ext in extra_extensions:
        builder = builder.add_extension(ext.value, critical=ext.critical)
    cert = builder.sign(issuer_key, hashes.SHA256())
    return _resign_sha1(cert, issuer_key) if hash_name == "sha1" else cert


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _resign_sha1(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """Re-sign ``cert`` with sha1WithRSAEncryption, which cryptography's builder no longer produces.

    Both algorithm OIDs have the same DER length, so the TBS keeps its shape; only the signature
    algorithm and the signature change (the one defect the catalogue wants).
    """
    tbs = cert.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA) != 1:
        raise ValueError("unexpected TBS layout for SHA-1 re-signing")
    tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    algorithm = _der(0x30, _SHA1_RSA + b"\x05\x00")
    der = _der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)
