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

import contextlib
import enum
import hashlib
import http.client
import io
import ipaddress
import select
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from OpenSSL import SSL

from recette_sas.identity import Identity, certificate_summary
from recette_sas.verdict import Attempt, Phase, alert_of, classify, describe, version_words

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class TlsVersion(enum.StrEnum):
    SSLv3 = "SSLv3"
    TLSv1 = "TLSv1"
    TLSv1_1 = "TLSv1.1"
    TLSv1_2 = "TLSv1.2"
    TLSv1_3 = "TLSv1.3"


LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"
"""OpenSSL 3 refuses to offer anything below TLS 1.2 at the default security level (the handshake
then fails locally with NO_CIPHERS_AVAILABLE, sending nothing): legacy probes need level 0."""

MAX_BODY = 64 * 1024
EXCERPT_CHARS = 500
MODERN_OFFER = (TlsVersion.TLSv1_2.value, TlsVersion.TLSv1_3.value)

_STDLIB_VERSIONS = {
    TlsVersion.SSLv3: ssl.TLSVersion.SSLv3,
    TlsVersion.TLSv1: ssl.TLSVersion.TLSv1,
    TlsVersion.TLSv1_1: ssl.TLSVersion.TLSv1_1,
    TlsVersion.TLSv1_2: ssl.TLSVersion.TLSv1_2,
    TlsVersion.TLSv1_3: ssl.TLSVersion.TLSv1_3,
}
_PYOPENSSL_VERSIONS = {
    TlsVersion.TLSv1: SSL.TLS1_VERSION,
    TlsVersion.TLSv1_1: SSL.TLS1_1_VERSION,
    TlsVersion.TLSv1_2: SSL.TLS1_2_VERSION,
    TlsVersion.TLSv1_3: SSL.TLS1_3_VERSION,
}
_LEGACY_VERSIONS = frozenset({TlsVersion.SSLv3, TlsVersion.TLSv1, TlsVersion.TLSv1_1})

_WIRE_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}

ALERT_NAMES = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed",
    22: "record_overflow",
    30: "decompression_failure",
    40: "handshake_failure",
    41: "no_certificate",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    60: "export_restriction",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    111: "certificate_unobtainable",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}

_HANDSHAKE_TYPES = {
    0: "hello_request",
    1: "client_hello",
    2: "server_hello",
    4: "new_session_ticket",
    5: "end_of_early_data",
    8: "encrypted_extensions",
    11: "certificate",
    12: "server_key_exchange",
    13: "certificate_request",
    14: "server_hello_done",
    15: "certificate_verify",
    16: "client_key_exchange",
    20: "finished",
    22: "certificate_status",
    24: "key_update",
}

_RT_ALERT, _RT_HANDSHAKE, _RT_HEADER = 21, 22, 0x100
_HS_CLIENT_HELLO, _HS_SERVER_HELLO, _HS_CERTIFICATE, _HS_CERTIFICATE_REQUEST = 1, 2, 11, 13
_EXT_SUPPORTED_VERSIONS = 43
_MAX_MESSAGES = 64
_MAX_CERTIFICATES = 10


class ProbeSetupError(Exception):
    """The probe cannot be configured as asked: the attempt is a PROBE_FAULT, never a refusal."""


@dataclass(frozen=True)
class Endpoint:
    """Where to connect, and which server the probe expects to find there."""

    host: str
    port: int
    server_name: str
    ca_file: Path | None = None
    label: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 10.0

    @property
    def name(self) -> str:
        return self.label or f"{self.server_name}:{self.port}"

    @property
    def authority(self) -> str:
        """``server_name[:port]`` as the Host header and the URL carry it."""
        host = f"[{self.server_name}]" if ":" in self.server_name else self.server_name
        return host if self.port == 443 else f"{host}:{self.port}"


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP/1.1 request. ``path`` includes the query string; the probe adds Host,
    ``Connection: close`` and, with a body, ``Content-Length``."""

    method: str = "GET"
    path: str = "/metadata"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    def encode(self, authority: str) -> bytes:
        """The bytes sent. Raises ``ValueError`` on anything that could split the request."""
        if not self.method.isascii() or not self.method.isalpha():
            raise ValueError(f"HTTP method {self.method!r} is not a token")
        if not self.path.startswith("/") or any(c.isspace() for c in self.path):
            raise ValueError(f"HTTP path {self.path!r} must start with '/' and contain no whitespace")
        managed = {"host", "connection", "content-length", "transfer-encoding"}
        lines = [f"{self.method} {self.path} HTTP/1.1"]
        given = {name.lower() for name, _ in self.headers}
        lines.append(f"Host: {dict((n.lower(), v) for n, v in self.headers).get('host', authority)}")
        if "user-agent" not in given:
            lines.append("User-Agent: recette-sas")
        for name, value in self.headers:
            if any(c in name + value for c in "\r\n\0") or not name or ":" in name:
                raise ValueError(f"HTTP header {name!r} is not a single well-formed line")
            if name.lower() not in managed:
                lines.append(f"{name}: {value}")
        lines.append("Connection: close")
        if self.body is not None:
            lines.append(f"Content-Length: {len(self.body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + (self.body or b"")


@dataclass(frozen=True)
class CertificateRequestInfo:
    """What a server asks of TLS clients, read with one handshake that presents no certificate.

    ``requested`` comes from the client's state machine having read a CertificateRequest
    (``evidence`` says so), or, failing that, from a ``certificate_required`` alert.
    ``ca_names`` is the list the server sent in it (often empty: a stdlib server sends none).
    """

    target: str
    requested: bool
    ca_names: tuple[str, ...]
    tls_negotiated: str | None
    handshake_completed: bool
    alert: str | None
    error: str | None
    evidence: str


def wire_version_name(value: int) -> str:
    return _WIRE_VERSIONS.get(value, f"0x{value:04x}")


class _Wire:
    """Handshake evidence filled in by OpenSSL's message callback while the attempt runs.

    The callback must never raise: CPython would re-raise it from the handshake, far from here.
    """

    def __init__(self) -> None:
        self.client_hello: bytes | None = None
        self.server_version: str | None = None
        self.server_certificate: bytes | None = None
        self.server_spoke = False
        self.alerts_received: list[str] = []
        self.alerts_sent: list[str] = []
        self.messages: list[str] = []

    def __call__(
        self, conn: object, direction: str, version: object, content_type: int, msg_type: object, data: bytes
    ) -> None:
        try:
            self._record(direction, int(content_type), bytes(data))
        except Exception:
            self._log(f"{direction} unparsable record")

    def _log(self, line: str) -> None:
        if len(self.messages) < _MAX_MESSAGES:
            self.messages.append(line)

    def _record(self, direction: str, content_type: int, data: bytes) -> None:
        if content_type == _RT_HEADER:
            self.server_spoke = self.server_spoke or direction == "read"
        elif content_type == _RT_ALERT and len(data) >= 2:
            name = ALERT_NAMES.get(data[1], str(data[1]))
            (self.alerts_received if direction == "read" else self.alerts_sent).append(name)
            self._log(f"{direction} alert {'fatal' if data[0] == 2 else 'warning'} {name}")
        elif content_type == _RT_HANDSHAKE and data:
            kind = data[0]
            self._log(f"{direction} {_HANDSHAKE_TYPES.get(kind, str(kind))}")
            if direction == "write" and kind == _HS_CLIENT_HELLO and self.client_hello is None:
                self.client_hello = data
            elif direction == "read" and kind == _HS_SERVER_HELLO:
                self.server_version = _server_hello_version(data)
            elif direction == "read" and kind == _HS_CERTIFICATE and self.server_certificate is None:
                self.server_certificate = data


def _extensions(msg: bytes, pos: int) -> Iterator[tuple[int, bytes]]:
    if pos + 2 > len(msg):
        return
    end = min(pos + 2 + int.from_bytes(msg[pos : pos + 2], "big"), len(msg))
    pos += 2
    while pos + 4 <= end:
        ext_type = int.from_bytes(msg[pos : pos + 2], "big")
        length = int.from_bytes(msg[pos + 2 : pos + 4], "big")
        yield ext_type, msg[pos + 4 : pos + 4 + length]
        pos += 4 + length


def client_hello_versions(msg: bytes) -> tuple[str | None, tuple[str, ...]]:
    """``(legacy_version, versions offered)`` of a ClientHello handshake message.

    The offer is the supported_versions extension when present (TLS 1.3 clients write
    legacy_version 0x0303 whatever they offer), else the legacy_version alone. An unreadable
    message offers nothing, which the verdict treats as a probe fault.
    """
    if len(msg) < 6:
        return None, ()
    legacy = wire_version_name(int.from_bytes(msg[4:6], "big"))
    try:
        pos = 38
        pos += 1 + msg[pos]
        pos += 2 + int.from_bytes(msg[pos : pos + 2], "big")
        pos += 1 + msg[pos]
    except IndexError:
        return legacy, ()
    for ext_type, body in _extensions(msg, pos):
        if ext_type == _EXT_SUPPORTED_VERSIONS and body:
            listed = body[1 : 1 + body[0]]
            return legacy, tuple(
                wire_version_name(int.from_bytes(listed[i : i + 2], "big"))
                for i in range(0, len(listed) - 1, 2)
            )
    return legacy, (legacy,)


def _server_hello_version(msg: bytes) -> str | None:
    if len(msg) < 6:
        return None
    version = wire_version_name(int.from_bytes(msg[4:6], "big"))
    try:
        pos = 38
        pos += 1 + msg[pos]
        pos += 3
    except IndexError:
        return version
    for ext_type, body in _extensions(msg, pos):
        if ext_type == _EXT_SUPPORTED_VERSIONS and len(body) == 2:
            return wire_version_name(int.from_bytes(body, "big"))
    return version


def _certificate_list(msg: bytes, *, tls13: bool) -> list[bytes]:
    """DER certificates of a Certificate handshake message, leaf first (TLS 1.3 adds a
    request context and per-certificate extensions)."""
    pos = 4
    if tls13:
        pos += 1 + msg[pos]
    end = min(pos + 3 + int.from_bytes(msg[pos : pos + 3], "big"), len(msg))
    pos += 3
    certs: list[bytes] = []
    while pos + 3 <= end and len(certs) < _MAX_CERTIFICATES:
        length = int.from_bytes(msg[pos : pos + 3], "big")
        certs.append(msg[pos + 3 : pos + 3 + length])
        pos += 3 + length
        if tls13:
            pos += 2 + int.from_bytes(msg[pos : pos + 2], "big")
    return certs


def _summaries(ders: list[bytes]) -> tuple[dict[str, Any], ...]:
    out: list[dict[str, Any]] = []
    for der in ders:
        try:
            out.append(certificate_summary(x509.load_der_x509_certificate(der)))
        except Exception:  # evidence only: an exotic certificate must not cost the verdict
            out.append({"error": "unparsable certificate", "sha256": hashlib.sha256(der).hexdigest()})
    return tuple(out)


def _pin_versions(set_versions: Callable[[], None]) -> None:
    """TLS 1.0/1.1 are deprecated in ``ssl`` and setting them warns; the probe means it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        set_versions()


def _system_trust() -> tuple[str | None, str | None]:
    """OpenSSL's compiled-in CA file and directory, deliberately not SSL_CERT_FILE/SSL_CERT_DIR."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if paths.openssl_cafile and Path(paths.openssl_cafile).is_file() else None
    capath = paths.openssl_capath if paths.openssl_capath and Path(paths.openssl_capath).is_dir() else None
    if cafile is None and capath is None:
        raise ProbeSetupError("no system CA store found; give the endpoint a ca_file")
    return cafile, capath


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
        cafile, capath = _system_trust()
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
    elif tls_version in _LEGACY_VERSIONS:
        ctx.set_ciphers(LEGACY_CIPHERS)
    if identity is not None:
        if ciphers is None and tls_version not in _LEGACY_VERSIONS and _is_weak(identity):
            # The probe must be able to SEND a deliberately weak certificate (RSA-1024, SHA-1):
            # OpenSSL's default security level would refuse to load it, a probe fault, not a test.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.load_cert_chain(certfile=str(identity.certfile), keyfile=str(identity.keyfile))
    return ctx


def _is_weak(identity: Identity) -> bool:
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
    """
    started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    start = time.perf_counter()
    wire = _Wire()
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
            ders = _certificate_list(wire.server_certificate, tls13=wire.server_version == "TLSv1.3")
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
    )


_T = TypeVar("_T")
_STATE_READ_CERTIFICATE_REQUEST = b"SSLv3/TLS read server certificate request"


class _HandshakeTrace:
    """pyOpenSSL info callback: whether a CertificateRequest was read, and the fatal alert received."""

    def __init__(self) -> None:
        self.requested = False
        self.alert: str | None = None

    def __call__(self, conn: SSL.Connection, where: int, ret: int) -> None:
        try:
            if where & SSL.SSL_CB_LOOP and conn.get_state_string() == _STATE_READ_CERTIFICATE_REQUEST:
                self.requested = True
            if (
                where & SSL.SSL_CB_READ_ALERT == SSL.SSL_CB_READ_ALERT
                and ret >> 8 == 2
                and self.alert is None
            ):
                self.alert = ALERT_NAMES.get(ret & 0xFF, str(ret & 0xFF))
        except Exception:
            return


def _pump(operation: Callable[[], _T], sock: socket.socket, deadline: float) -> _T:
    """Run a non-blocking pyOpenSSL operation to completion or until the deadline."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no TLS progress before the timeout")
        try:
            return operation()
        except SSL.WantReadError:
            select.select([sock], [], [], remaining)
        except SSL.WantWriteError:
            select.select([], [sock], [], remaining)


def _name_matches(cert: x509.Certificate, server_name: str) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        return ipaddress.ip_address(server_name) in san.get_values_for_type(x509.IPAddress)
    except ValueError:
        pass
    wanted = server_name.lower().rstrip(".")
    for dns in san.get_values_for_type(x509.DNSName):
        dns = dns.lower().rstrip(".")
        if dns == wanted or (dns.startswith("*.") and wanted.partition(".")[2] == dns[2:] and "." in dns[2:]):
            return True
    return False


def read_certificate_request(
    endpoint: Endpoint, *, tls_version: TlsVersion | None = None, timeout: float = 5.0
) -> CertificateRequestInfo:
    """Shake hands presenting no certificate and report whether, and from which CAs, the server
    asked for one.

    pyOpenSSL because the stdlib cannot read the CA names of a CertificateRequest. Whether a
    certificate was requested is read from the client state machine ("read server certificate
    request"), which works for TLS 1.2 and 1.3 alike and does not depend on the CA list (a stdlib
    server sends it empty). The server chain is verified against ``endpoint.ca_file`` and the leaf
    matched against ``server_name``. Under TLS 1.3 the server judges the missing certificate after
    the client's Finished, so the probe waits up to one second for that alert.
    """
    trace = _HandshakeTrace()
    target = endpoint.name

    def info(
        *,
        completed: bool = False,
        version: str | None = None,
        error: str | None = None,
        ca_names: tuple[str, ...] = (),
    ) -> CertificateRequestInfo:
        requested = trace.requested or trace.alert == "certificate_required"
        if trace.requested:
            evidence = "the server sent a CertificateRequest"
        elif requested:
            evidence = "no CertificateRequest seen, but the server alerted certificate_required"
        else:
            evidence = "no CertificateRequest seen" + ("" if completed else " before the handshake stopped")
        return CertificateRequestInfo(
            target=target,
            requested=requested,
            ca_names=ca_names,
            tls_negotiated=version,
            handshake_completed=completed,
            alert=trace.alert,
            error=error,
            evidence=evidence,
        )

    try:
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        if tls_version is None:
            ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        elif tls_version in _PYOPENSSL_VERSIONS:
            ctx.set_min_proto_version(_PYOPENSSL_VERSIONS[tls_version])
            ctx.set_max_proto_version(_PYOPENSSL_VERSIONS[tls_version])
            if tls_version in _LEGACY_VERSIONS:
                ctx.set_cipher_list(LEGACY_CIPHERS.encode())
        else:
            raise ProbeSetupError(
                f"{version_words(tls_version.value)} cannot be offered by this OpenSSL build"
            )
        if endpoint.ca_file is not None:
            ctx.load_verify_locations(str(endpoint.ca_file))
        else:
            ctx.load_verify_locations(*_system_trust())
        ctx.set_verify(SSL.VERIFY_PEER)
        ctx.set_info_callback(trace)
    except Exception as exc:
        return info(error=f"the probe could not be set up: {describe(exc)}")

    try:
        sock = socket.create_connection(
            (endpoint.host, endpoint.port), timeout=min(timeout, endpoint.connect_timeout)
        )
    except OSError as exc:
        return info(error=f"no TCP connection: {describe(exc)}")
    with contextlib.closing(sock):
        sock.setblocking(False)
        conn = SSL.Connection(ctx, sock)
        if not _is_ip(endpoint.server_name):
            conn.set_tlsext_host_name(endpoint.server_name.encode("idna"))
        conn.set_connect_state()
        deadline = time.monotonic() + timeout
        completed = False
        error: str | None = None
        try:
            _pump(conn.do_handshake, sock, deadline)
            completed = True
            leaf = conn.get_peer_certificate(as_cryptography=True)
            if leaf is None or not _name_matches(leaf, endpoint.server_name):
                error = f"the server certificate does not match {endpoint.server_name!r}"
            elif conn.get_protocol_version_name() == "TLSv1.3" and trace.requested:
                with contextlib.suppress(TimeoutError):
                    _pump(lambda: conn.recv(1), sock, min(deadline, time.monotonic() + 1.0))
        except (SSL.Error, OSError) as exc:
            error = describe(exc)
        version = conn.get_protocol_version_name()
        ca_names = tuple(name.rfc4514_string() for name in conn.get_client_ca_list(as_cryptography=True))
    return info(
        completed=completed,
        version=version if version in _WIRE_VERSIONS.values() else None,
        error=error,
        ca_names=ca_names,
    )


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
