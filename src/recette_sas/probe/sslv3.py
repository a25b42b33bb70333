"""The SSL 3.0 probe: tlslite-ng, a maintained pure-Python TLS stack that can still offer SSL 3.0.

The system OpenSSL (and the one bundled with ``cryptography``) was built without SSL 3.0, so the stdlib
probe cannot send an SSL 3.0 ClientHello at all; without this module ``REC-SSL3`` could only be skipped.
The proof-of-offer rule is the stdlib probe's: the bytes written to the socket are recorded and the
ClientHello is parsed by the same ``_wire`` code, so the verdict trusts what went on the wire, not what
tlslite was asked to do. The server certificate is verified (``cryptography``'s verifier, against the
endpoint's CA file) before a completed handshake counts for anything, as the stdlib probe does.

tlslite's exceptions are translated to the ``ssl`` exceptions ``verdict.classify`` already knows (an alert
received, a close, a version the probe will not accept), so one classifier judges both probes; anything
not translated stays a probe fault, never a refusal.
"""

from __future__ import annotations

import socket
import ssl
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recette_sas.identity import Identity
from recette_sas.probe._evidence import EXCERPT_CHARS, MAX_BODY, summaries
from recette_sas.probe._wire import ALERT_NAMES, Wire, client_hello_versions
from recette_sas.probe.endpoint import Endpoint, HttpRequest, ProbeSetupError, TlsVersion, system_trust
from recette_sas.verdict import Attempt, Phase, alert_of, classify, describe

SSL3_WIRE = (3, 0)
_RECORD_HEADER = 5
_MAX_RECORDED = 256 * 1024
_SSL3_ALERTS = frozenset({0, 10, 20, 21, 22, 30, 40, 41, 42, 43, 44, 45, 46, 47})


class ServerNotVerified(ssl.SSLCertVerificationError):
    """The server's certificate did not verify: the probe refused the server, nothing is known of the client."""

    def __init__(self, message: str) -> None:
        super().__init__(1, message)
        self.verify_code = 1
        self.verify_message = message


@dataclass
class _Recorder:
    """What went over the socket in each direction, up to a bound (plaintext records until the keys)."""

    written: bytearray = field(default_factory=bytearray)
    read: bytearray = field(default_factory=bytearray)

    def feed(self, direction: str, data: bytes) -> None:
        buf = self.written if direction == "write" else self.read
        if len(buf) < _MAX_RECORDED:
            buf += data[: _MAX_RECORDED - len(buf)]


class _RecordingSocket:
    """The socket tlslite writes to and reads from, recording both directions."""

    def __init__(self, sock: socket.socket, recorder: _Recorder) -> None:
        self._sock = sock
        self._recorder = recorder

    def send(self, data: bytes) -> int:
        sent = self._sock.send(data)
        self._recorder.feed("write", bytes(data[:sent]))
        return sent

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data)
        self._recorder.feed("write", bytes(data))

    def recv(self, size: int) -> bytes:
        data = self._sock.recv(size)
        self._recorder.feed("read", data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _replay(recorder: _Recorder, wire: Wire) -> None:
    """Feed the recorded records to the ``Wire`` parser, as OpenSSL's message callback would, until
    the first ChangeCipherSpec of each direction (what follows is encrypted)."""
    for direction, data in (("write", recorder.written), ("read", recorder.read)):
        pos = 0
        while pos + _RECORD_HEADER <= len(data):
            content_type = data[pos]
            length = int.from_bytes(data[pos + 3 : pos + 5], "big")
            body = bytes(data[pos + _RECORD_HEADER : pos + _RECORD_HEADER + length])
            if direction == "read":
                wire(None, direction, None, 0x100, None, bytes(data[pos : pos + _RECORD_HEADER]))
            if content_type == 20:  # change_cipher_spec
                break
            if content_type == 22:
                _handshake_messages(wire, direction, body)
            elif content_type == 21:
                wire(None, direction, None, 21, None, body)
            pos += _RECORD_HEADER + length


def _handshake_messages(wire: Wire, direction: str, body: bytes) -> None:
    pos = 0
    while pos + 4 <= len(body):
        length = int.from_bytes(body[pos + 1 : pos + 4], "big")
        wire(None, direction, None, 22, None, body[pos : pos + 4 + length])
        pos += 4 + length


def _openssl_alert_reason(description: int) -> str:
    name = ALERT_NAMES.get(description, str(description)).upper()
    prefix = "SSLV3_ALERT_" if description in _SSL3_ALERTS else "TLSV1_ALERT_"
    return prefix + name


def _ssl_error(cls: type[ssl.SSLError], reason: str, message: str) -> ssl.SSLError:
    err = cls(1, f"[SSL: {reason}] {message}")
    err.reason = reason
    err.library = "SSL"
    return err


def _tlslite() -> Any:
    """tlslite's API. Its package imports ``asyncore`` (deprecated) for an integration the probe never
    uses: the warning is silenced for that import only, so warnings stay errors everywhere else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import tlslite.api

    return tlslite.api


def translate(exc: BaseException) -> BaseException:
    """tlslite's exception as the ``ssl`` exception ``classify`` reads (chained to the original)."""
    _tlslite()
    from tlslite.errors import TLSAbruptCloseError, TLSLocalAlert, TLSRemoteAlert

    translated: BaseException | None = None
    if isinstance(exc, TLSRemoteAlert):
        reason = _openssl_alert_reason(exc.description)
        translated = _ssl_error(ssl.SSLError, reason, f"alert received from the server ({exc})")
    elif isinstance(exc, TLSAbruptCloseError):
        translated = ssl.SSLEOFError(8, f"EOF: the server closed the connection ({exc})")
    elif isinstance(exc, TLSLocalAlert) and exc.description == 70:
        translated = _ssl_error(
            ssl.SSLError, "WRONG_SSL_VERSION", f"the server chose another version ({exc})"
        )
    if translated is None:
        return exc
    translated.__cause__ = exc
    return translated


def _verify_server(endpoint: Endpoint, ders: list[bytes]) -> None:
    from cryptography import x509
    from cryptography.x509 import verification

    if endpoint.ca_file is not None:
        roots = x509.load_pem_x509_certificates(Path(endpoint.ca_file).read_bytes())
    else:
        cafile, _capath = system_trust()
        if cafile is None:
            raise ProbeSetupError("the SSL 3.0 probe needs a CA file (no system CA bundle file)")
        roots = x509.load_pem_x509_certificates(Path(cafile).read_bytes())
    certs = [x509.load_der_x509_certificate(d) for d in ders]
    if not certs:
        raise ServerNotVerified("the server sent no certificate")
    try:
        import ipaddress

        subject: x509.DNSName | x509.IPAddress = x509.IPAddress(ipaddress.ip_address(endpoint.server_name))
    except ValueError:
        subject = x509.DNSName(endpoint.server_name)
    # The EE policy of a TLS client, not the CA/Browser Forum's: a private server certificate with a
    # critical subjectAltName (trustme's, many editors') is valid for OpenSSL and must be here too.
    ee_policy = verification.ExtensionPolicy.permit_all().require_present(
        x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None
    )
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store(roots))
        .extension_policies(ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy)
        .build_server_verifier(subject)
    )
    try:
        verifier.verify(certs[0], certs[1:])
    except verification.VerificationError as exc:
        raise ServerNotVerified(f"server certificate not verified: {exc}") from exc


@dataclass
class _Run:
    phase: Phase = "setup"
    error: BaseException | None = None
    negotiated: str | None = None
    cipher: str | None = None
    peer_ders: list[bytes] = field(default_factory=list)
    status: int | None = None
    content_type: str | None = None
    location: str | None = None
    body: bytes = b""


def _credentials(identity: Identity | None) -> tuple[Any, Any]:
    if identity is None:
        return None, None
    api = _tlslite()
    chain = api.X509CertChain()
    chain.parsePemList(Path(identity.certfile).read_text())
    key = api.parsePEMKey(Path(identity.keyfile).read_text(), private=True)
    return chain, key


def _settings() -> Any:
    settings = _tlslite().HandshakeSettings()
    settings.minVersion = SSL3_WIRE
    settings.maxVersion = SSL3_WIRE
    return settings


def _read_answer(conn: Any, deadline: float, run: _Run) -> None:
    import http.client
    import io

    data = bytearray()
    while len(data) < MAX_BODY + 16 * 1024:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete HTTP answer before the read timeout")
        conn.sock.settimeout(remaining)
        chunk = conn.read(max=16 * 1024)
        if not chunk:
            break
        data += chunk

    class _Bytes:
        def makefile(self, mode: str) -> io.BufferedReader:
            return io.BufferedReader(io.BytesIO(bytes(data)))

    response = http.client.HTTPResponse(_Bytes())  # type: ignore[arg-type]
    response.begin()
    run.status = response.status
    run.content_type = response.getheader("Content-Type")
    run.location = response.getheader("Location")
    try:
        run.body = response.read(MAX_BODY)
    except http.client.IncompleteRead as exc:
        run.body = exc.partial


def _converse(
    endpoint: Endpoint, identity: Identity | None, payload: bytes, recorder: _Recorder, run: _Run
) -> None:
    chain, key = _credentials(identity)
    settings = _settings()
    run.phase = "connect"
    try:
        raw = socket.create_connection((endpoint.host, endpoint.port), timeout=endpoint.connect_timeout)
    except Exception as exc:
        run.error = exc
        return
    try:
        raw.settimeout(endpoint.read_timeout)
        run.phase = "handshake"
        conn = _tlslite().TLSConnection(_RecordingSocket(raw, recorder))
        conn.handshakeClientCert(chain, key, settings=settings, serverName=endpoint.server_name)
        version = conn.version
        run.negotiated = {(3, 0): "SSLv3", (3, 1): "TLSv1", (3, 2): "TLSv1.1", (3, 3): "TLSv1.2"}.get(version)
        run.cipher = conn.getCipherName()
        server_chain = conn.session.serverCertChain
        run.peer_ders = [bytes(c.writeBytes()) for c in server_chain.x509List] if server_chain else []
        _verify_server(endpoint, run.peer_ders)
        run.phase = "request"
        conn.write(payload)
        run.phase = "response"
        _read_answer(conn, time.monotonic() + endpoint.read_timeout, run)
        run.phase = "done"
    except Exception as exc:
        run.error = translate(exc)
    finally:
        raw.close()


def attempt_sslv3(endpoint: Endpoint, request: HttpRequest, *, identity: Identity | None = None) -> Attempt:
    """One attempt offering SSL 3.0 only; never raises for what the network or the server does."""
    started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    start = time.perf_counter()
    recorder = _Recorder()
    run = _Run()
    try:
        payload = request.encode(endpoint.authority)
        _converse(endpoint, identity, payload, recorder, run)
    except Exception as exc:  # setup: unreadable key, unsupported key type for tlslite
        run.error = exc
    wire = Wire()
    _replay(recorder, wire)
    legacy, offered = client_hello_versions(wire.client_hello) if wire.client_hello else (None, ())
    outcome, reason = classify(
        phase=run.phase,
        error=run.error,
        http_status=run.status,
        client_hello_sent=wire.client_hello is not None,
        server_sent_tls=wire.server_spoke,
        pinned_version=TlsVersion.SSLv3.value,
        offered_on_wire=offered,
        negotiated_version=run.negotiated,
    )
    return Attempt(
        target=endpoint.name,
        method=request.method,
        url=f"https://{endpoint.authority}{request.path}",
        tls_offered=(TlsVersion.SSLv3.value,),
        client_hello_version=legacy,
        tls_negotiated=run.negotiated,
        cipher=run.cipher,
        certificate_sent=identity.summary() if identity is not None else None,
        alert=alert_of(run.error),
        error=describe(run.error) if run.error is not None else None,
        phase=run.phase,
        http_status=run.status,
        content_type=run.content_type,
        location=run.location,
        body_excerpt=run.body[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")[:EXCERPT_CHARS],
        server_chain=summaries(run.peer_ders),
        started_at=started_at,
        duration_ms=round((time.perf_counter() - start) * 1000, 1),
        outcome=outcome,
        reason=reason,
        versions_offered_on_wire=offered,
        alerts_received=tuple(wire.alerts_received),
        alerts_sent=tuple(wire.alerts_sent),
        tls_messages=(*wire.messages, f"probe tlslite-ng, {len(recorder.written)} bytes written"),
    )
