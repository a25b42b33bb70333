"""One real attempt: a TCP connection, a TLS handshake, one HTTP/1.1 request and its answer.

A plain ``ssl`` socket and ``http.client`` rather than an HTTP client library, because the verdict
needs three things such libraries hide: the root ``ssl.SSLError`` wherever it arrives (under TLS 1.3
a refused client certificate surfaces only when the answer is read), proof of what the ClientHello
really offered (OpenSSL's message callback), and no influence from the developer's environment
(``SSL_CERT_FILE``, proxies, ``SSLKEYLOGFILE``): the context is built explicitly, every time.

Every socket operation has a timeout and the answer is read against one deadline, so an attempt
lasts at most about ``connect_timeout + 2 × read_timeout``.
"""

from __future__ import annotations

import io
import socket
import ssl
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from recette_sas.identity import Identity
from recette_sas.probe._evidence import EXCERPT_CHARS, MAX_BODY
from recette_sas.probe._evidence import summaries as _summaries
from recette_sas.probe._wire import Wire, certificate_list, client_hello_versions
from recette_sas.probe.endpoint import (
    LEGACY_CIPHERS,
    LEGACY_VERSIONS,
    Endpoint,
    HttpRequest,
    ProbeSetupError,
    TlsVersion,
    system_trust,
)
from recette_sas.verdict import Attempt, Phase, alert_of, classify, describe

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MODERN_OFFER = (TlsVersion.TLSv1_2.value, TlsVersion.TLSv1_3.value)

_STDLIB_VERSIONS = {
    TlsVersion.SSLv3: ssl.TLSVersion.SSLv3,
    TlsVersion.TLSv1: ssl.TLSVersion.TLSv1,
    TlsVersion.TLSv1_1: ssl.TLSVersion.TLSv1_1,
    TlsVersion.TLSv1_2: ssl.TLSVersion.TLSv1_2,
    TlsVersion.TLSv1_3: ssl.TLSVersion.TLSv1_3,
}


def _pin_versions(set_versions: Callable[[], None]) -> None:
    """TLS 1.0/1.1 are deprecated in ``ssl`` and setting them warns; the probe means it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        set_versions()


def client_context(
    endpoint: Endpoint,
    *,
    identity: Identity | None = None,
    tls_version: TlsVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """The probe's TLS client context: server verification always on, nothing from the environment.

    ``tls_version`` pins minimum = maximum; None is a modern client (TLS 1.2 and 1.3).
    ``ciphers`` overrides the cipher string (legacy pins default to ``LEGACY_CIPHERS``).
    """
    if tls_version is TlsVersion.SSLv3 and not ssl.HAS_SSLv3:
        raise ProbeSetupError("SSL 3.0 cannot be offered by this OpenSSL build")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    if endpoint.ca_file is not None:
        ctx.load_verify_locations(cafile=str(endpoint.ca_file))
    else:
        cafile, capath = system_trust()
        ctx.load_verify_locations(cafile=cafile, capath=capath)
    if tls_version is None:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    else:
        pinned = _STDLIB_VERSIONS[tls_version]

        def set_versions() -> None:
            ctx.minimum_version = pinned
            ctx.maximum_version = pinned

        _pin_versions(set_versions)
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    elif tls_version in LEGACY_VERSIONS:
        ctx.set_ciphers(LEGACY_CIPHERS)
    if identity is not None:
        if ciphers is None and tls_version not in LEGACY_VERSIONS and _is_weak(identity):
            # The probe must be able to SEND a deliberately weak certificate (RSA-1024, SHA-1):
            # OpenSSL's default security level would refuse to load it, a probe fault, not a test.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.load_cert_chain(certfile=str(identity.certfile), keyfile=str(identity.keyfile))
    return ctx


def _is_weak(identity: Identity) -> bool:
    from cryptography.hazmat.primitives.asymmetric import rsa

    for cert in (identity.leaf, *identity.chain):
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
            return True
        algo = cert.signature_hash_algorithm
        if algo is not None and algo.name in ("sha1", "md5"):
            return True
    return False


class _DeadlineReader(io.RawIOBase):
    """Reads the TLS socket until one fixed deadline, so a server trickling bytes (or streaming
    ``100 Continue`` lines) cannot hold the probe longer than ``read_timeout``."""

    def __init__(self, sock: ssl.SSLSocket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete HTTP answer before the read timeout")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` needs of a socket: ``makefile("rb")``."""

    def __init__(self, sock: ssl.SSLSocket, deadline: float) -> None:
        self._reader = _DeadlineReader(sock, deadline)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self._reader)


@dataclass
class _Run:
    """Mutable facts gathered while one attempt runs; frozen into an ``Attempt`` at the end."""

    phase: Phase = "setup"
    error: BaseException | None = None
    body_error: BaseException | None = None
    negotiated: str | None = None
    cipher: str | None = None
    peer_der: bytes | None = None
    status: int | None = None
    content_type: str | None = None
    location: str | None = None
    body: bytes = b""


def _read_response(sock: ssl.SSLSocket, method: str, deadline: float, run: _Run) -> None:
    import http.client

    response = http.client.HTTPResponse(cast(socket.socket, _DeadlineSocket(sock, deadline)), method=method)
    try:
        response.begin()
        run.status = response.status
        run.content_type = response.getheader("Content-Type")
        run.location = response.getheader("Location")
        body = bytearray()
        try:
            while len(body) < MAX_BODY:
                chunk = response.read1(MAX_BODY - len(body))
                if not chunk:
                    break
                body += chunk
        except (OSError, http.client.HTTPException) as exc:
            run.body_error = exc
        run.body = bytes(body)
    finally:
        response.close()


def _converse(endpoint: Endpoint, ctx: ssl.SSLContext, payload: bytes, method: str, run: _Run) -> None:
    run.phase = "connect"
    try:
        raw = socket.create_connection((endpoint.host, endpoint.port), timeout=endpoint.connect_timeout)
    except Exception as exc:
        run.error = exc
        return
    tls: ssl.SSLSocket | None = None
    try:
        raw.settimeout(endpoint.read_timeout)
        run.phase = "handshake"
        tls = ctx.wrap_socket(raw, server_hostname=endpoint.server_name, do_handshake_on_connect=False)
        tls.do_handshake()
        run.negotiated = tls.version()
        cipher = tls.cipher()
        run.cipher = cipher[0] if cipher else None
        run.peer_der = tls.getpeercert(binary_form=True)

        run.phase = "request"
        send_error: OSError | None = None
        try:
            tls.sendall(payload)
        except TimeoutError:
            raise
        except OSError as exc:
            # The server may have refused us already; its alert is waiting to be read.
            send_error = exc

        run.phase = "response"
        try:
            _read_response(tls, method, time.monotonic() + endpoint.read_timeout, run)
        except TimeoutError:
            if send_error is None:
                raise
            run.phase, run.error = "request", send_error
            return
        run.phase = "done" if run.body_error is None else "response"
    except Exception as exc:
        run.error = exc
    finally:
        (tls if tls is not None else raw).close()


def attempt(
    endpoint: Endpoint,
    request: HttpRequest,
    *,
    identity: Identity | None = None,
    tls_version: TlsVersion | None = None,
    ciphers: str | None = None,
) -> Attempt:
    """Connect, shake hands presenting ``identity``, send ``request``, read the answer, classify.

    Never raises for anything the network or OpenSSL does: every failure becomes an ``Attempt``
    with exactly one outcome. The request is always sent and the answer always read, because
    under TLS 1.3 the server judges the client certificate after the client's handshake is over.
    SSL 3.0, which this OpenSSL cannot offer, goes to the tlslite-ng probe (``probe.sslv3``).
    """
    if tls_version is TlsVersion.SSLv3 and not ssl.HAS_SSLv3:
        from recette_sas.probe.sslv3 import attempt_sslv3

        return attempt_sslv3(endpoint, request, identity=identity)
    started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    start = time.perf_counter()
    wire = Wire()
    run = _Run()
    try:
        payload = request.encode(endpoint.authority)
        ctx = client_context(endpoint, identity=identity, tls_version=tls_version, ciphers=ciphers)
        ctx._msg_callback = wire  # type: ignore[attr-defined]
    except Exception as exc:
        run.error = exc
    else:
        _converse(endpoint, ctx, payload, request.method, run)

    legacy, offered = client_hello_versions(wire.client_hello) if wire.client_hello else (None, ())
    outcome, reason = classify(
        phase=run.phase,
        error=run.error,
        http_status=run.status,
        client_hello_sent=wire.client_hello is not None,
        server_sent_tls=wire.server_spoke,
        pinned_version=tls_version.value if tls_version is not None else None,
        offered_on_wire=offered,
        negotiated_version=run.negotiated,
    )
    if wire.server_certificate is not None:
        try:
            ders = certificate_list(wire.server_certificate, tls13=wire.server_version == "TLSv1.3")
        except IndexError:
            ders = []
    else:
        ders = []
    if not ders and run.peer_der:
        ders = [run.peer_der]
    failure = run.error or run.body_error
    return Attempt(
        target=endpoint.name,
        method=request.method,
        url=f"https://{endpoint.authority}{request.path}",
        tls_offered=(tls_version.value,) if tls_version is not None else MODERN_OFFER,
        client_hello_version=legacy,
        tls_negotiated=run.negotiated,
        cipher=run.cipher,
        certificate_sent=identity.summary() if identity is not None else None,
        alert=alert_of(run.error),
        error=describe(failure) if failure is not None else None,
        phase=run.phase,
        http_status=run.status,
        content_type=run.content_type,
        location=run.location,
        body_excerpt=run.body[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")[:EXCERPT_CHARS],
        server_chain=_summaries(ders),
        started_at=started_at,
        duration_ms=round((time.perf_counter() - start) * 1000, 1),
        outcome=outcome,
        reason=reason,
        versions_offered_on_wire=offered,
        alerts_received=tuple(wire.alerts_received),
        alerts_sent=tuple(wire.alerts_sent),
        tls_messages=tuple(wire.messages),
        body=run.body,
    )
