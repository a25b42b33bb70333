"""Revocation mechanics, one implementation for both roles: CRL status, OCSP requests and answers, fetching.

The reference server (server role, ``server/policy.py``) and the client-role rules (``client/rules.py``)
each asked "is this certificate revoked?" with code of their own, and the copies had drifted: the
client's OCSP check took any answer signed by the issuer's key about the right serial, without looking
at thisUpdate/nextUpdate, at who the responder claimed to be, or at the issuer the answer was about.
Here is the one judgement both call; what a caller *does* with it stays with the caller (the reference
server refuses on anything but a proven "good", hard fail; the client rules report "no verdict" when
nothing could be proven, and only fetch loopback URLs unless told otherwise).

An answer proves something only if it passes every check below; otherwise ``RevocationProblem`` says,
in one line, why it proves nothing:

- CRL: issued (name) and signed (key) by the certificate's issuer, thisUpdate not in the future,
  nextUpdate not past. Compared without slack, as OpenSSL does for the reference server's own CRL check
  in the TLS layer, so that both sides judge a CRL alike.
- OCSP: status successful; signed by the issuer itself or by a delegated responder whose certificate the
  issuer signed and which carries id-kp-OCSPSigning (RFC 6960 §4.2.2.2), within its validity; a single
  response for this serial *and* this issuer (name and key hashes of the request); thisUpdate not later
  than now + ``CLOCK_SKEW``, nextUpdate not earlier than now - ``CLOCK_SKEW`` (the slack the reference
  server always allowed responders); the nonce, when one was sent and the responder echoed one, equal.

Every request carries a nonce: a replayed "good" answer for a certificate revoked since is then caught
by any responder that echoes nonces (the suite's own does).
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from recette_sas.errors import RecetteSasError
from recette_sas.identity import signature_valid, signed_by

CLOCK_SKEW: Final = timedelta(minutes=5)
FETCH_TIMEOUT: Final = 3.0
MAX_CRL_BYTES: Final = 10 * 1024 * 1024
MAX_OCSP_BYTES: Final = 64 * 1024
NONCE_BYTES: Final = 16

State = Literal["good", "revoked", "unknown"]
Fetch = Callable[..., bytes]
"""``fetch(url, *, body=None, content_type="", accept="", timeout=..., max_bytes=...)``: see ``fetch``."""


class RevocationProblem(RecetteSasError):
    """The CRL or OCSP answer proves nothing about the certificate; the message says why (one line)."""


@dataclass(frozen=True)
class Status:
    """What a valid CRL or OCSP answer says. ``unknown``: a valid OCSP answer from a responder that
    does not know the certificate (which vouches for nothing)."""

    state: State
    revoked_at: datetime | None = None


# -- fetching -------------------------------------------------------------------------------------------


def fetch(
    url: str,
    *,
    body: bytes | None = None,
    content_type: str = "",
    accept: str = "",
    timeout: float = FETCH_TIMEOUT,
    max_bytes: int = MAX_CRL_BYTES,
) -> bytes:
    """GET (or POST ``body``) an http:// URL, bounded in time and size; ``ValueError`` unless HTTP 200.

    http only: CRLs and OCSP are plain HTTP by design (the answers are signed), and an https fetch
    would need a trust decision of its own.
    """
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"unsupported URL {url!r} (http only)")
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Content-Type": content_type} if body is not None and content_type else {}
        if accept:
            headers["Accept"] = accept
        connection.request("POST" if body is not None else "GET", path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read(max_bytes + 1)
    finally:
        connection.close()
    if answer.status != 200:
        raise ValueError(f"HTTP {answer.status}")
    if len(data) > max_bytes:
        raise ValueError("answer too large")
    return data


# -- CRL ------------------------------------------------------------------------------------------------


def crl_urls(cert: x509.Certificate) -> list[str]:
    """The http(s) URLs of ``cert``'s CRL distribution points, in order."""
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [
        name.value
        for point in points
        for name in (point.full_name or [])
        if isinstance(name, x509.UniformResourceIdentifier) and name.value.startswith("http")
    ]


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL in PEM or DER (publishers serve either); ``ValueError`` if it is neither."""
    if data.lstrip().startswith(b"-----"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def crl_status(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    crl: x509.CertificateRevocationList,
    *,
    now: datetime | None = None,
) -> Status:
    """Whether ``crl`` lists ``cert``; ``RevocationProblem`` if ``crl`` cannot tell (see the module)."""
    now = now or datetime.now(UTC)
    if crl.issuer != issuer.subject:
        raise RevocationProblem("not issued by the issuing CA (issuer name differs)")
    if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
        raise RevocationProblem("not signed by the issuing CA")
    if crl.last_update_utc > now:
        raise RevocationProblem(f"not yet valid (thisUpdate {crl.last_update_utc.isoformat()})")
    next_update = crl.next_update_utc
    if next_update is not None and next_update < now:
        raise RevocationProblem(f"stale (nextUpdate {next_update.isoformat()})")
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    if entry is not None:
        return Status("revoked", entry.revocation_date_utc)
    return Status("good")


# -- OCSP -----------------------------------------------------------------------------------------------


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def ocsp_request(
    cert: x509.Certificate, issuer: x509.Certificate, *, nonce: bytes | None
) -> ocsp.OCSPRequest:
    """The OCSP request for ``cert`` (SHA-1 CertID, what every responder understands), with ``nonce``."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build()


def post_ocsp(
    url: str, request: ocsp.OCSPRequest, *, fetch: Fetch = fetch, timeout: float = FETCH_TIMEOUT
) -> bytes:
    """POST ``request`` to the responder at ``url``: the DER answer, or ``OSError``/``ValueError``."""
    return fetch(
        url.rstrip("/"),
        body=request.public_bytes(serialization.Encoding.DER),
        content_type="application/ocsp-request",
        accept="application/ocsp-response",
        timeout=timeout,
        max_bytes=MAX_OCSP_BYTES,
    )


def ocsp_status(
    der: bytes,
    *,
    request: ocsp.OCSPRequest,
    issuer: x509.Certificate,
    nonce: bytes | None = None,
    now: datetime | None = None,
) -> Status:
    """What the OCSP answer ``der`` to ``request`` proves; ``RevocationProblem`` if nothing (see the module)."""
    now = now or datetime.now(UTC)
    try:
        response = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        raise RevocationProblem(f"unparseable response: {exc}") from None
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise RevocationProblem(f"responder answered {response.response_status.name}")
    signer, whose = _signer(response, issuer, now)
    if not signature_valid(
        signer.public_key(),
        response.signature,
        response.tbs_response_bytes,
        response.signature_hash_algorithm,
    ):
        raise RevocationProblem(f"response signature does not verify with {whose}")
    if nonce is not None:
        try:
            echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            echoed = None
        if echoed is not None and echoed != nonce:
            raise RevocationProblem("response nonce does not match the request")
    for single in response.responses:
        if (
            single.serial_number == request.serial_number
            and single.issuer_key_hash == request.issuer_key_hash
            and single.issuer_name_hash == request.issuer_name_hash
        ):
            break
    else:
        raise RevocationProblem("response does not cover the certificate (serial or issuer differs)")
    if single.this_update_utc > now + CLOCK_SKEW:
        raise RevocationProblem("response thisUpdate is in the future")
    if single.next_update_utc is not None and single.next_update_utc < now - CLOCK_SKEW:
        raise RevocationProblem("response is stale (nextUpdate passed)")
    status = single.certificate_status
    if status is ocsp.OCSPCertStatus.GOOD:
        return Status("good")
    if status is ocsp.OCSPCertStatus.REVOKED:
        return Status("revoked", single.revocation_time_utc)
    return Status("unknown")


def query_ocsp(
    url: str,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    *,
    fetch: Fetch = fetch,
    timeout: float = FETCH_TIMEOUT,
) -> Status:
    """Ask the responder at ``url`` about ``cert`` (with a fresh nonce) and judge its answer.

    ``OSError``/``ValueError``/``http.client.HTTPException``: no answer; ``RevocationProblem``: an
    answer that proves nothing.
    """
    nonce = new_nonce()
    request = ocsp_request(cert, issuer, nonce=nonce)
    der = post_ocsp(url, request, fetch=fetch, timeout=timeout)
    return ocsp_status(der, request=request, issuer=issuer, nonce=nonce)


def _key_hash(cert: x509.Certificate) -> bytes:
    """SHA-1 of the subjectPublicKey BIT STRING: the ResponderID byKey (RFC 6960 §4.2.1)."""
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def _responder_is(response: ocsp.OCSPResponse, cert: x509.Certificate) -> bool:
    if response.responder_key_hash is not None:
        return response.responder_key_hash == _key_hash(cert)
    return response.responder_name == cert.subject


def _signer(
    response: ocsp.OCSPResponse, issuer: x509.Certificate, now: datetime
) -> tuple[x509.Certificate, str]:
    """The certificate whose key must have signed ``response``, and how to name it in a problem."""
    if _responder_is(response, issuer):
        return issuer, "the issuing CA key"
    delegated = next((c for c in response.certificates if _responder_is(response, c)), None)
    if delegated is None:
        raise RevocationProblem(
            "response not signed by the issuing CA, and no delegated responder certificate in it "
            "(responder id differs)"
        )
    if not signed_by(delegated, issuer):
        raise RevocationProblem("delegated responder certificate not issued by the issuing CA")
    try:
        eku = delegated.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        eku = None
    if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
        raise RevocationProblem("delegated responder certificate lacks id-kp-OCSPSigning")
    if not delegated.not_valid_before_utc - CLOCK_SKEW <= now <= delegated.not_valid_after_utc + CLOCK_SKEW:
        raise RevocationProblem("delegated responder certificate is outside its validity period")
    return delegated, "the delegated responder's key"
