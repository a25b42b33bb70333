"""What the reference server checks, and how it decides: its ``Policy`` and the application-layer checks.

The TLS layer (``server/tls.py``) enforces what OpenSSL can: protocol floor, a client certificate
chained to ``trusted_cas``, CRLs. What it cannot, the application decides here, after the handshake:
the certificate profile, OCSP with hard fail, and the SAS subject on CN *and* OU, identity taken from
the TLS layer only. A ``Policy`` toggle breaks exactly one of those, so the suite's own tests can prove
every negative scenario fails against the matching broken editor.

The judgements themselves are shared with the rest of the suite: the AUTH_CLI profile is
``pki/profile.py``'s (also behind ``cert check``), an OCSP answer is judged by ``pki/revocation.py``
(also behind the client-role rules). What stays here is the server's policy: refuse on the first
blocking finding, refuse unless OCSP proves "good".
"""

from __future__ import annotations

import base64
import http.client
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

from recette_sas.environments import SasSubject, UsageError
from recette_sas.identity import find_issuer, ocsp_url
from recette_sas.pki import revocation
from recette_sas.pki.profile import first_blocking, profile_findings

TLS_VERSIONS: Final[Mapping[str, int]] = {
    "TLSv1": SSL.TLS1_VERSION,
    "TLSv1.1": SSL.TLS1_1_VERSION,
    "TLSv1.2": SSL.TLS1_2_VERSION,
    "TLSv1.3": SSL.TLS1_3_VERSION,
}
SUBJECT_MATCHES: Final = (
    "exact",
    "ignore_cn",
    "ignore_ou",
    "cn_substring",
    "cn_casefold",
    "ignore_subject",
    "ou_substring",
    "ou_strip",
    "ou_any",
)
IDENTITY_HEADERS: Final = (
    "x-ssl-client-s-dn",
    "x-ssl-client-cn",
    "x-client-cert",
    "x-forwarded-client-cert",
    "ssl_client_s_dn_cn",
)
"""Headers a misconfigured editor app trusts to say who the client is (lower case)."""

OCSP_TIMEOUT: Final = 3.0
ISSUER_NOT_FOUND: Final = frozenset({2, 18, 19, 20, 21})
"""X509 errors that mean no path to a trusted root: ``ignore_ca_errors`` never lets them through."""


def verify_error_ignored(policy: Policy, errnum: int, depth: int) -> bool:
    """Whether a broken policy's verify callback lets X509 error ``errnum`` at ``depth`` through."""
    if errnum in policy.ignored_verify_errors:
        return True
    return policy.ignore_ca_errors and depth >= 1 and errnum not in ISSUER_NOT_FOUND


@dataclass(frozen=True)
class Policy:
    """What the reference server checks; every default is the right behaviour for an editor.

    ``allowed_subjects`` comes from ``environments.accepted_subjects(editor_env, mapping)`` and
    ``trusted_cas`` holds the root and intermediate of the one hierarchy that editor environment
    trusts. With ``check_crl`` and no CRL for some CA of the chain, everyone is refused (as nginx
    and HAProxy do): that is a usable "positive control fails" target, not a bug.
    """

    allowed_subjects: tuple[SasSubject, ...]
    trusted_cas: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    check_crl: bool = True
    check_ocsp: bool = True
    min_tls: str = "TLSv1.2"
    verify_client: bool = True
    require_client_cert: bool = True
    subject_match: str = "exact"
    check_other_attributes: bool = True  # C, ST, O and the RDN order are SAS's too (not only CN and OU)
    check_profile: bool = True
    trust_identity_headers: bool = False
    # broken on purpose, each a way identity headers reach a naive app (see ``identity_of``):
    trust_headers_without_certificate: bool = False  # no certificate: the headers say who the client is
    trust_underscore_headers: bool = False  # the app reads X_SSL_Client_CN as X-SSL-Client-CN (CGI)
    first_header_occurrence: bool = False  # with identity headers, a repeated one is read at its first
    client_ca_names: tuple[x509.Name, ...] | None = None
    # broken on purpose: the TLS verify callback lets these X509 errors through
    ignored_verify_errors: tuple[int, ...] = ()  # at any depth
    ignore_ca_errors: bool = False  # any error on a CA certificate it could link to the root
    stall_without_certificate: bool = False  # broken on purpose: holds a call without certificate open
    close_after_handshake: bool = False  # broken on purpose: closes every connection without an answer
    fhir_defect: str | None = None  # broken on purpose: one mistake of the FHIR app (fhir.slots.FHIR_DEFECTS)
    regulator_defect: str | None = None  # broken on purpose: one of fhir.regulators.DEFECTS

    def __post_init__(self) -> None:
        # Accept lists from callers, keep the dataclass hashable and immutable.
        for name in ("allowed_subjects", "trusted_cas", "crls", "client_ca_names", "ignored_verify_errors"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if self.min_tls not in TLS_VERSIONS:
            raise UsageError(
                f"Policy.min_tls: unknown TLS version {self.min_tls!r} "
                f"(expected one of: {', '.join(TLS_VERSIONS)})"
            )
        if self.subject_match not in SUBJECT_MATCHES:
            raise UsageError(
                f"Policy.subject_match: unknown mode {self.subject_match!r} "
                f"(expected one of: {', '.join(SUBJECT_MATCHES)})"
            )
        if not self.trusted_cas:
            raise UsageError("Policy.trusted_cas: at least one CA certificate is needed")

    @property
    def advertised_ca_names(self) -> tuple[x509.Name, ...]:
        """The CA names sent in the CertificateRequest."""
        if self.client_ca_names is not None:
            return self.client_ca_names
        return tuple(ca.subject for ca in self.trusted_cas)


@dataclass(frozen=True)
class PeerIdentity:
    """Who the server believes the client is, and where that belief comes from.

    ``source`` is ``"tls"`` for the certificate subject, or the header name when a broken
    ``trust_identity_headers`` policy let a request header speak for the client.
    """

    subject: str
    cns: tuple[str, ...]
    ous: tuple[str, ...]
    source: str = "tls"
    # (type, value) of every attribute, in order, when the whole DN is known (a certificate), else None
    attributes: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def from_name(cls, name: x509.Name, *, source: str = "tls") -> PeerIdentity:
        return cls(
            subject=name.rfc4514_string(),
            cns=tuple(str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)),
            ous=tuple(str(a.value) for a in name.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)),
            source=source,
            attributes=tuple((a.oid.dotted_string, str(a.value)) for a in name),
        )


_CN_OU: Final = (NameOID.COMMON_NAME.dotted_string, NameOID.ORGANIZATIONAL_UNIT_NAME.dotted_string)


def _shape(attributes: Iterable[tuple[str, str]]) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """What the DN says besides its CN and OU values: the order of attribute types (a repeated type
    counted once, so a second CN or OU is left to the CN and OU checks) and every other attribute."""
    order: list[str] = []
    for kind, _value in attributes:
        if not order or order[-1] != kind:
            order.append(kind)
    return tuple(order), tuple((k, v) for k, v in attributes if k not in _CN_OU)


def other_attributes_match(identity: PeerIdentity, subject: SasSubject) -> bool:
    """C, ST, O and the RDN order of ``identity`` are ``subject``'s (true when the DN is unknown: an
    identity read from a header names CN or OU only)."""
    if identity.attributes is None:
        return True
    expected = tuple((a.oid.dotted_string, str(a.value)) for a in subject.to_name())
    return _shape(identity.attributes) == _shape(expected)


def subject_allowed(
    identity: PeerIdentity,
    allowed: Iterable[SasSubject],
    mode: str = "exact",
    *,
    other_attributes: bool = False,
) -> bool:
    """Whether ``identity`` passes the subject check in ``mode``.

    ``exact`` is the right check: one CN and one OU, equal letter for letter (no case folding, no
    trimming) to the CN *and* OU of the same allowed subject. The other modes are the classic
    mistakes, each loosening exactly one thing. ``other_attributes`` also requires C, ST, O and the RDN
    order to be the allowed subject's (whatever ``mode`` does with CN and OU).
    """
    one_cn = identity.cns[0] if len(identity.cns) == 1 else None
    one_ou = identity.ous[0] if len(identity.ous) == 1 else None
    for subject in allowed:
        if mode == "exact":
            ok = one_cn == subject.cn and one_ou == subject.ou
        elif mode == "ignore_cn":
            ok = one_ou == subject.ou
        elif mode == "ignore_ou":
            ok = one_cn == subject.cn
        elif mode == "cn_substring":
            ok = one_cn is not None and subject.cn in one_cn and one_ou == subject.ou
        elif mode == "ignore_subject":
            ok = True  # broken on purpose: trusts any subject the CA chain vouches for
        elif mode == "cn_casefold":
            ok = one_cn is not None and one_cn.casefold() == subject.cn.casefold() and one_ou == subject.ou
        elif mode == "ou_substring":
            ok = one_cn == subject.cn and one_ou is not None and subject.ou in one_ou
        elif mode == "ou_strip":
            ok = one_cn == subject.cn and one_ou is not None and one_ou.strip() == subject.ou
        elif mode == "ou_any":
            ok = one_cn == subject.cn and subject.ou in identity.ous
        else:
            raise UsageError(f"subject_match: unknown mode {mode!r}")
        if ok and other_attributes and mode != "ignore_subject":
            ok = other_attributes_match(identity, subject)
        if ok:
            return True
    return False


def profile_problem(cert: x509.Certificate) -> str | None:
    """Why ``cert`` is not an AUTH_CLI-like client certificate, or ``None`` if it is.

    OpenSSL's own checks depend on the security level (lowered for TLS 1.0) and accept a leaf
    without EKU, so the application states the profile itself: the first blocking finding of the
    one AUTH_CLI judgement (``pki/profile.py``) that ``cert check`` shows in full.
    """
    blocking = first_blocking(profile_findings(cert))
    return None if blocking is None else f"client certificate: {blocking.message}"


class OcspChecker:
    """Application-level OCSP with hard fail, and a per-instance cache of good answers.

    Hard fail because a soft-failing check is no check: blocking the responder would be enough to
    get a revoked certificate through. Only good answers are cached (for the server's lifetime):
    the suite revokes certificates by issuing new ones, never by changing a known serial's status.
    How an answer is judged is ``pki/revocation.py``'s, shared with the client-role rules.
    """

    def __init__(self, *, timeout: float = OCSP_TIMEOUT) -> None:
        self._timeout = timeout
        self._good: set[tuple[bytes, int]] = set()
        self._lock = threading.Lock()

    def problem(self, cert: x509.Certificate, issuer: x509.Certificate | None) -> str | None:
        if issuer is None:
            return "OCSP: the issuing CA of the client certificate is unknown"
        url = ocsp_url(cert)
        if url is None:
            return "OCSP: the client certificate names no OCSP responder"
        key = (issuer.fingerprint(hashes.SHA256()), cert.serial_number)
        with self._lock:
            if key in self._good:
                return None
        try:
            status = revocation.query_ocsp(url, cert, issuer, timeout=self._timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return f"OCSP: no valid answer from {url}: {exc or type(exc).__name__}"
        except revocation.RevocationProblem as exc:
            return f"OCSP: {exc}"
        if status.state != "good":
            return f"OCSP: client certificate status is {status.state}"
        with self._lock:
            self._good.add(key)
        return None


def identity_from_header(name: str, value: str) -> PeerIdentity | None:
    """What a (broken) app believes when it reads identity header ``name``; ``None`` if unusable."""
    name = name.lower()
    value = value.strip()
    if not value:
        return None
    if name in ("x-ssl-client-cn", "ssl_client_s_dn_cn"):
        return PeerIdentity(subject=f"CN={value}", cns=(value,), ous=(), source=name)
    if name in ("x-client-cert", "x-forwarded-client-cert"):
        cert = _certificate_from_header(value)
        if cert is not None:
            return PeerIdentity.from_name(cert.subject, source=name)
        match = re.search(r'Subject="((?:[^"\\]|\\.)*)"', value)
        if match is None:
            return None
        value = match.group(1)
    cns, ous = _dn_fields(value)
    if not cns and not ous:
        return None
    return PeerIdentity(subject=value, cns=tuple(cns), ous=tuple(ous), source=name)


def _certificate_from_header(value: str) -> x509.Certificate | None:
    match = re.search(r'Cert="([^"]*)"', value)
    text = unquote(match.group(1) if match else value).strip()
    try:
        if "-----BEGIN CERTIFICATE-----" in text:
            return x509.load_pem_x509_certificate(text.encode("ascii", "replace"))
        return x509.load_der_x509_certificate(base64.b64decode(text.strip(":"), validate=True))
    except ValueError:
        return None


def _dn_fields(text: str) -> tuple[list[str], list[str]]:
    """CN and OU values of a DN string, RFC 4514 (``CN=a,OU=b``) or OpenSSL (``/OU=b/CN=a``) style."""
    text = text.strip()
    slash_style = text.startswith("/")
    parts = re.split(r"(?<!\\)/", text[1:]) if slash_style else re.split(r"(?<!\\)[,+]", text)
    cns: list[str] = []
    ous: list[str] = []
    for part in parts:
        key, sep, raw = part.partition("=")
        if not sep:
            continue
        key = key.strip().upper()
        value = re.sub(r"\\(.)", r"\1", raw.strip())
        if key in ("CN", "2.5.4.3"):
            cns.append(value)
        elif key in ("OU", "2.5.4.11"):
            ous.append(value)
    return cns, ous


def claimed_identity(policy: Policy, headers: Mapping[str, str]) -> PeerIdentity | None:
    """Who the identity headers say the client is, for a policy that (wrongly) reads them; else None.

    ``headers`` are lower-cased, a repeated header's values joined by ", " (as the server reads them).
    ``trust_underscore_headers`` models an app behind a terminator that deleted the dashed names: it
    reads only the underscore spellings, under their dashed name (CGI/WSGI make both the same key).
    """
    if policy.trust_underscore_headers:
        headers = {k.replace("_", "-"): v for k, v in headers.items() if "_" in k}
    elif not (policy.trust_identity_headers or policy.trust_headers_without_certificate):
        return None
    for name in IDENTITY_HEADERS:
        value = headers.get(name)
        if value and policy.first_header_occurrence:
            value = value.split(", ", 1)[0]
        claimed = identity_from_header(name, value) if value else None
        if claimed is not None:
            return claimed
    return None


def refusal_without_certificate(
    policy: Policy, headers: Mapping[str, str]
) -> tuple[PeerIdentity | None, str | None]:
    """(who the headers claim, why the app refuses) for a call that came with no certificate: always
    refused, unless a broken ``trust_headers_without_certificate`` lets the headers speak."""
    claimed = claimed_identity(policy, headers) if policy.trust_headers_without_certificate else None
    if claimed is None:
        return None, "no client certificate"
    if not subject_allowed(claimed, policy.allowed_subjects, policy.subject_match):
        return claimed, "client subject is not allowed"
    return claimed, None


def identity_of(policy: Policy, peer: x509.Certificate, headers: Mapping[str, str]) -> PeerIdentity:
    """Who the client is: the certificate subject, unless a broken policy trusts identity headers."""
    tls = PeerIdentity.from_name(peer.subject)
    if not (policy.trust_identity_headers or policy.trust_underscore_headers):
        return tls
    claimed = claimed_identity(policy, headers)
    if claimed is not None:
        return PeerIdentity(
            subject=claimed.subject,
            cns=claimed.cns or tls.cns,
            ous=claimed.ous or tls.ous,
            source=claimed.source,
        )
    return tls


def application_refusal(
    policy: Policy,
    ocsp: OcspChecker,
    peer: x509.Certificate,
    identity: PeerIdentity,
    verified_chain: Callable[[], Sequence[x509.Certificate]],
) -> str | None:
    """Why the application refuses ``peer`` (checks in the order that reports the most precise
    reason), or None. ``verified_chain`` (leaf first) is only asked for when OCSP needs the issuer."""
    if not policy.verify_client:
        return None
    if policy.check_profile and (problem := profile_problem(peer)) is not None:
        return problem
    if policy.check_ocsp:
        verified = verified_chain()
        issuer = verified[1] if len(verified) > 1 else find_issuer(peer, policy.trusted_cas)
        if (problem := ocsp.problem(peer, issuer)) is not None:
            return problem
    if not subject_allowed(
        identity,
        policy.allowed_subjects,
        policy.subject_match,
        other_attributes=policy.check_other_attributes,
    ):
        # The expected subject is not told to the client: the log has what was presented.
        return "client certificate subject is not allowed"
    return None
