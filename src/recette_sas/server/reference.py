"""The embedded reference editor server: mutual TLS done right, or broken on purpose.

The suite needs a target it fully controls: with the default ``Policy`` the server does everything
the SAS spec asks of an editor (TLS >= 1.2, a client certificate chained to the one trusted IGC
hierarchy, CRLs for the whole chain, OCSP, the SAS subject checked on CN *and* OU, identity taken
from the TLS layer only). Each ``Policy`` toggle breaks exactly one of those, so the suite's own tests
can prove that every negative scenario fails against the matching broken editor.

Why pyOpenSSL and not ``ssl``: Python 3.11's server side has no verify callback (needed for the
"accepts any certificate" variant), cannot set the CA names of the CertificateRequest (it sends an
empty list), and cannot read the chain the client sent. Note that pyOpenSSL runs on the OpenSSL
bundled with ``cryptography`` (4.0 here), not on the system's (3.0, used by the stdlib probe).

Layers, in the order a connection meets them:

1. TLS (OpenSSL, ``server/tls.py``): protocol floor, certificate requested (and required), chain to
   ``trusted_cas``, CRLs of every CA when ``check_crl``; a failure aborts the handshake with OpenSSL's
   alert.
2. Application (``server/policy.py``), identity from the TLS layer only (unless
   ``trust_identity_headers``): certificate profile, OCSP (hard fail), subject; a failure is a 403
   OperationOutcome after the handshake.
3. The FHIR app (``fhir.FhirApp``), which never sees who the client is.

This module is the server itself: accepting, one worker per connection, the HTTP exchange, the log.

Nothing about the client identity is echoed back to it; what the server saw is kept in ``log``.
"""

from __future__ import annotations

import contextlib
import email.utils
import select
import selectors
import shutil
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import trustme
from cryptography import x509
from OpenSSL import SSL, crypto

from recette_sas._net.tlsio import ClientGone as _ClientGone
from recette_sas._net.tlsio import describe as _describe
from recette_sas._net.tlsio import linger_close
from recette_sas._net.tlsio import recv as _recv
from recette_sas._net.tlsio import retry as _retry
from recette_sas._net.tlsio import send_all as _send_all
from recette_sas.environments import UsageError
from recette_sas.fhir.app import FhirApp, FhirResponse, error_response
from recette_sas.server.policy import OcspChecker, PeerIdentity, Policy, application_refusal, identity_of
from recette_sas.server.tls import VERIFY_ERRORS, make_context, server_identity

CONVERSATION_DEADLINE: Final = 10.0
"""Seconds for handshake + request: SAS gives up after 7 s, a slow client must not hold a worker."""
SEND_DEADLINE: Final = 5.0
LINGER: Final = 1.0
"""Seconds to drain the client after our FIN, so that a close never turns into a RST that could
destroy the alert or the answer before the client reads it."""
MAX_HEADER_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_WORKERS: Final = 32
STALL_SECONDS: Final = 60.0
"""How long the stalling variant holds a call open at most (its client gives up first)."""
ACCEPT_POLL: Final = 0.2
"""How often a saturated accept loop looks at stop(); an idle one is woken at once."""
LOG_SIZE: Final = 512


class _Refused(Exception):
    """An HTTP-level answer decided before the app (bad request, refused identity)."""

    def __init__(self, response: FhirResponse, reason: str, *, decision: str) -> None:
        super().__init__(reason)
        self.response = response
        self.reason = reason
        self.decision = decision


class _Stopping(Exception):
    """stop() woke the accept loop."""


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes


@dataclass
class _ConnectionState:
    verify_errors: list[dict[str, Any]] = field(default_factory=list)


class ReferenceServer:
    """A loopback HTTPS editor server enforcing (or, per ``Policy``, failing to enforce) mTLS.

    Use as a context manager, or ``start()``/``stop()``. One thread accepts; each connection gets a
    worker from a bounded pool, one request, then ``Connection: close``.

    ``server_cert`` is a trustme leaf for the server; when given, ``server_ca`` (the trustme CA that
    issued it) is needed too, since ``ca_file`` must hold the root the probe verifies against.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        server_cert: trustme.LeafCert | None = None,
        server_ca: trustme.CA | None = None,
        server_name: str = "localhost",
    ) -> None:
        if server_cert is not None and server_ca is None:
            raise UsageError("ReferenceServer: server_cert needs server_ca (the CA the probe must trust)")
        self.policy = policy
        self.app = FhirApp()
        self._host = host
        self._port = port
        self._server_name = server_name
        self._server_cert = server_cert
        self._server_ca = server_ca
        self._ocsp = OcspChecker()
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._handshakes = 0
        self._idle = threading.Condition()
        self._active: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(2 * MAX_WORKERS)
        self._tmpdir: Path | None = None
        self._context: SSL.Context | None = None
        self._listener: socket.socket | None = None
        self._wakeup: tuple[socket.socket, socket.socket] | None = None
        self._accept_thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.last_identity: PeerIdentity | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> ReferenceServer:
        if self._listener is not None or self._stopping.is_set():
            raise RuntimeError("ReferenceServer can be started once")
        tmpdir = Path(tempfile.mkdtemp(prefix="recette-sas-reference-"))
        try:
            leaf, ca_pem = server_identity(self._host, self._server_name, self._server_cert, self._server_ca)
            (tmpdir / "server-ca.pem").write_bytes(ca_pem)
            self._context = make_context(self.policy, leaf, self._verify_callback)
            listener = socket.create_server((self._host, self._port))
        except BaseException:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        listener.setblocking(False)
        self._wakeup = socket.socketpair()
        self._tmpdir = tmpdir
        self._listener = listener
        self._port = listener.getsockname()[1]
        self.app.base_url = self.base_url
        self._executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="recette-sas-ref")
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"recette-sas-ref-accept-{self._port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake every worker, wait for them (bounded by the deadlines), clean up."""
        self._stopping.set()
        if self._wakeup is not None:
            with contextlib.suppress(OSError):
                self._wakeup[1].send(b"\0")
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        if self._wakeup is not None:
            for end in self._wakeup:
                end.close()
        with self._idle:
            for sock in self._active:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no connection is being served (so ``log`` holds every finished one)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._active, timeout=timeout)

    # -- public state ----------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def server_name(self) -> str:
        return self._server_name

    @property
    def base_url(self) -> str:
        return f"https://{self._server_name}:{self._port}"

    @property
    def ca_file(self) -> Path:
        """PEM of the CA that signed the server certificate (what the probe must trust)."""
        if self._tmpdir is None:
            raise RuntimeError("ReferenceServer is not running")
        return self._tmpdir / "server-ca.pem"

    @property
    def handshakes(self) -> int:
        """TLS handshakes attempted (connections accepted), whatever their outcome."""
        return self._handshakes

    @property
    def log(self) -> deque[dict[str, Any]]:
        """One dict per finished connection (peer, TLS version, client subject, decision, reason)."""
        return self._log

    # -- TLS -------------------------------------------------------------------------------------

    def _verify_callback(
        self, connection: SSL.Connection, cert: crypto.X509, errnum: int, depth: int, ok: int
    ) -> bool:
        if not ok:
            state = connection.get_app_data()
            if isinstance(state, _ConnectionState):
                state.verify_errors.append(
                    {
                        "depth": depth,
                        "code": errnum,
                        "error": VERIFY_ERRORS.get(errnum, f"X509_V_ERR {errnum}"),
                        "subject": cert.to_cryptography().subject.rfc4514_string(),
                    }
                )
        # The broken "accepts any certificate" server: OpenSSL still checks, nobody listens.
        return bool(ok) or not self.policy.verify_client

    # -- connections -----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener, wakeup = self._listener, self._wakeup
        assert listener is not None and wakeup is not None and self._executor is not None
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wakeup[0], selectors.EVENT_READ)
            while not self._stopping.is_set():
                if not self._slots.acquire(timeout=ACCEPT_POLL):
                    continue  # every worker busy: wait for one, but keep an eye on stop()
                try:
                    selector.select()
                    if self._stopping.is_set():
                        raise _Stopping
                    sock, address = listener.accept()
                except _Stopping:
                    self._slots.release()
                    break
                except OSError:  # e.g. the client reset before accept(), or EMFILE: keep serving
                    self._slots.release()
                    continue
                try:
                    with self._idle:
                        self._active.add(sock)
                        self._handshakes += 1
                    self._executor.submit(self._serve, sock, address)
                except Exception:  # the pool is gone (stop() raced us): drop this one connection
                    with self._idle:
                        self._active.discard(sock)
                    sock.close()
                    self._slots.release()

    def _serve(self, sock: socket.socket, address: Any) -> None:
        entry: dict[str, Any] = {
            "peer": f"{address[0]}:{address[1]}",
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tls_version": None,
            "cipher": None,
            "client_subject": None,
            "client_issuer": None,
            "chain_sent": [],
            "verify_errors": [],
            "identity": None,
            "identity_source": None,
            "request": None,
            "status": None,
            "decision": "aborted",
            "reason": None,
        }
        try:
            if self._stopping.is_set():
                entry["reason"] = "server stopping"
            else:
                self._converse(sock, entry)
        except Exception as exc:  # a worker never dies noisily: the log says what happened
            entry.update(decision="error", reason=f"{type(exc).__name__}: {exc}")
        finally:
            self._log.append(entry)
            _linger_close(sock)
            with self._idle:
                self._active.discard(sock)
                self._idle.notify_all()
            sock.close()
            self._slots.release()

    def _converse(self, sock: socket.socket, entry: dict[str, Any]) -> None:
        assert self._context is not None
        sock.setblocking(False)
        deadline = time.monotonic() + CONVERSATION_DEADLINE
        state = _ConnectionState()
        entry["verify_errors"] = state.verify_errors
        conn = SSL.Connection(self._context, sock)
        conn.set_app_data(state)
        conn.set_accept_state()
        try:
            _retry(conn.do_handshake, sock, deadline)
        except TimeoutError:
            entry.update(reason="no complete handshake before the deadline")
            return
        except (SSL.Error, OSError) as exc:  # OpenSSL has already sent its alert, if any
            if self._stopping.is_set():
                entry.update(reason="server stopping")
            else:
                reason = _describe(exc)
                if state.verify_errors:
                    first = state.verify_errors[0]
                    reason += f": {first['error']} (depth {first['depth']})"
                entry.update(decision="refused_tls", reason=reason)
            return
        entry["tls_version"] = conn.get_protocol_version_name()
        entry["cipher"] = conn.get_cipher_name()
        peer = conn.get_peer_certificate(as_cryptography=True)
        if peer is not None:
            # On the server side OpenSSL's "peer chain" excludes the leaf.
            sent = [peer, *(conn.get_peer_cert_chain(as_cryptography=True) or [])]
            entry["client_subject"] = peer.subject.rfc4514_string()
            entry["client_issuer"] = peer.issuer.rfc4514_string()
            entry["chain_sent"] = [c.subject.rfc4514_string() for c in sent]
        if self.policy.close_after_handshake:
            entry.update(decision="closed", reason="closed after the handshake, no answer (broken on purpose)")
            return
        if peer is None and self.policy.stall_without_certificate:
            entry.update(decision="stalled", reason="held open without an answer (broken on purpose)")
            self._hold(conn, sock, time.monotonic() + STALL_SECONDS)
            return
        try:
            request = _read_request(conn, sock, deadline)
        except _ClientGone as exc:
            entry.update(decision="no_request", reason=str(exc))
            return
        except _Refused as refused:
            response = refused.response
            entry.update(decision=refused.decision, reason=refused.reason)
        else:
            entry["request"] = f"{request.method} {urlsplit(request.target).path}"
            try:
                self._authorize(conn, peer, request, entry)
            except _Refused as refused:
                response = refused.response
                entry.update(decision=refused.decision, reason=refused.reason)
            else:
                response = self.app(request.method, request.target, request.headers, request.body)
                entry["decision"] = "accepted"
        entry["status"] = response.status
        try:
            _send_all(conn, sock, _serialize(response), time.monotonic() + SEND_DEADLINE)
        except (SSL.Error, OSError) as exc:
            entry["reason"] = f"{entry['reason'] or 'answer'} not delivered: {_describe(exc)}"
            return
        with contextlib.suppress(SSL.Error, OSError):
            conn.shutdown()

    def _hold(self, conn: SSL.Connection, sock: socket.socket, until: float) -> None:
        """Keep the connection open, answering nothing, until the client gives up, the server stops or
        ``until``: what a stalled backend behind a terminator looks like."""
        while not self._stopping.is_set() and time.monotonic() < until:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if not readable:
                continue
            try:
                if not conn.recv(MAX_HEADER_BYTES):
                    return
            except SSL.WantReadError:
                continue
            except (SSL.Error, OSError):
                return

    def _authorize(
        self,
        conn: SSL.Connection,
        peer: x509.Certificate | None,
        request: _Request,
        entry: dict[str, Any],
    ) -> None:
        """The application checks (``server/policy.py``); identity from the TLS layer unless broken on purpose."""
        if peer is None:
            raise _refuse("no client certificate")
        identity = identity_of(self.policy, peer, request.headers)
        self.last_identity = identity
        entry.update(identity=identity.subject, identity_source=identity.source)

        def verified_chain() -> list[x509.Certificate]:
            return conn.get_verified_chain(as_cryptography=True) or []

        reason = application_refusal(self.policy, self._ocsp, peer, identity, verified_chain)
        if reason is not None:
            raise _refuse(reason)


def _refuse(reason: str) -> _Refused:
    return _Refused(error_response(403, reason, code="security"), reason, decision="refused_http")


def _bad_request(status: int, reason: str) -> _Refused:
    return _Refused(error_response(status, reason, code="invalid"), reason, decision="bad_request")


def _read_request(conn: SSL.Connection, sock: socket.socket, deadline: float) -> _Request:
    """One HTTP/1.1 request with a Content-Length body (SAS sends nothing fancier)."""
    buffer = bytearray()
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_HEADER_BYTES:
            raise _bad_request(431, "request head too large")
        chunk = _recv(conn, sock, deadline)
        if not chunk:
            raise _ClientGone("connection closed before a complete request")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1]:
        raise _bad_request(400, "malformed request line")
    method, target, _ = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _bad_request(400, "malformed header line")
        key = name.lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    if "transfer-encoding" in headers:
        raise _bad_request(411, "chunked request bodies are not supported: send Content-Length")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise _bad_request(400, "invalid Content-Length") from None
    if length < 0:
        raise _bad_request(400, "invalid Content-Length")
    if length > MAX_BODY_BYTES:
        raise _bad_request(413, f"request body over {MAX_BODY_BYTES} bytes")
    body = bytearray(rest)
    if headers.get("expect", "").lower() == "100-continue" and len(body) < length:
        try:
            _send_all(conn, sock, b"HTTP/1.1 100 Continue\r\n\r\n", deadline)
        except (SSL.Error, OSError) as exc:
            raise _ClientGone(_describe(exc)) from exc
    while len(body) < length:
        chunk = _recv(conn, sock, deadline)
        if not chunk:
            raise _ClientGone("connection closed before the whole body")
        body += chunk
    return _Request(method=method, target=target, headers=headers, body=bytes(body[:length]))


def _serialize(response: FhirResponse) -> bytes:
    try:
        phrase = HTTPStatus(response.status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {response.status} {phrase}"]
    lines += [f"{name}: {value}" for name, value in response.headers]
    lines += [
        f"Content-Length: {len(response.body)}",
        f"Date: {email.utils.formatdate(usegmt=True)}",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


def _linger_close(sock: socket.socket) -> None:
    linger_close(sock, linger=LINGER)
