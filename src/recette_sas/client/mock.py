"""A mock SAS platform on loopback: the server the editor's software calls in the client role.

It is a *recorder*, not a gatekeeper. It asks for a client certificate (advertising the
environment's IGC Santé CA names in its CertificateRequest) but never refuses one at TLS level: the
verify callback always says yes, so whatever the client presents (nothing, a leaf alone, a chain of
the wrong hierarchy) is written down as a frozen ``Presentation`` and judged afterwards by
``client_rules``. A mock that refused at TLS level would hide what the client sent.

Why pyOpenSSL and not ``ssl``: Python 3.11's server side cannot set the CA names of the
CertificateRequest and cannot read the chain the client sent (only its leaf). pyOpenSSL runs on the
OpenSSL bundled with ``cryptography``, not on the system's.

Each ``MockMode`` but ``NORMAL`` is a hostile platform the client must refuse to talk to
(``mock_credentials`` makes its certificate; ``LEGACY_TLS`` is a server that speaks only TLS 1.0/1.1).
One connection carries one request (``Connection: close``), so every request comes with its own
handshake and its own certificate presentation. The records live in ``presentation``, the FHIR
answers in ``appointments``; this module is the TLS server and its HTTP/1.1 request reading.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl, urlsplit

from OpenSSL import SSL, crypto

from recette_sas._net.tlsio import ClientGone as _ClientGone
from recette_sas._net.tlsio import describe as _describe
from recette_sas._net.tlsio import linger_close
from recette_sas._net.tlsio import recv as _recv
from recette_sas._net.tlsio import retry as _retry
from recette_sas._net.tlsio import send_all as _send_all
from recette_sas.client.appointments import (
    ACCEPTED_BODY_TYPES,
    FHIR_JSON,
    AppointmentStore,
    appointment_problems,
    identifier_tokens,
    now_iso,
    operation_outcome,
)
from recette_sas.client.mock_credentials import ServerCredentials
from recette_sas.client.presentation import MockMode, Presentation, RecordedRequest
from recette_sas.environments import UsageError

if TYPE_CHECKING:
    from cryptography import x509

CONVERSATION_DEADLINE: Final = 10.0
SEND_DEADLINE: Final = 5.0
LINGER: Final = 0.5
ACCEPT_POLL: Final = 0.1
MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_WORKERS: Final = 8
MAX_PRESENTATIONS: Final = 256


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class _ConnState:
    sni: str | None = None
    verify_errors: list[str] = field(default_factory=list)


class MockSas:
    """The mock platform: ``with MockSas(...) as mock:``, then read ``mock.presentations``.

    ``host_name`` is SAS's host name for the environment (what clients send as SNI and verify);
    the socket listens on ``listen`` (loopback, an ephemeral port by default).
    ``client_ca_certificates`` are the IGC Santé CAs whose names the CertificateRequest advertises.
    """

    def __init__(
        self,
        *,
        host_name: str,
        mode: MockMode,
        credentials: ServerCredentials,
        client_ca_certificates: Sequence[x509.Certificate],
        listen: tuple[str, int] = ("127.0.0.1", 0),
    ) -> None:
        self.host_name = host_name
        self.mode = mode
        self._credentials = credentials
        self._client_cas = tuple(client_ca_certificates)
        self._listen = listen
        self._presentations: list[Presentation] = []
        self._changed = threading.Condition()
        self._active = 0
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._context: SSL.Context | None = None
        self._store: AppointmentStore | None = None
        self._port = listen[1]

    def __enter__(self) -> MockSas:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> MockSas:
        if self._listener is not None or self._stopping.is_set():
            raise RuntimeError("MockSas can be started once")
        self._context = self._make_context()
        try:
            listener = socket.create_server(self._listen)
        except OSError as exc:
            raise UsageError(
                f"mock SAS: cannot listen on {self._listen[0]}:{self._listen[1]} ({exc.strerror or exc})"
            ) from None
        listener.settimeout(ACCEPT_POLL)
        self._listener = listener
        self._port = int(listener.getsockname()[1])
        self._store = AppointmentStore(self.base_url)
        self._executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="recette-sas-mock")
        self._thread = threading.Thread(
            target=self._accept_loop, name=f"recette-sas-mock-{self._port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes a blocked accept() at once (Linux)
                self._listener.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    @property
    def address(self) -> str:
        return self._listen[0]

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """``https://<SAS host>:<port>``: FHIR's ``[base]`` as the client must address it."""
        return f"https://{self.host_name}:{self._port}"

    @property
    def presentations(self) -> tuple[Presentation, ...]:
        with self._changed:
            return tuple(self._presentations)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no connection is being served (bounded)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._active == 0, timeout=timeout)

    def wait_for(
        self, predicate: Callable[[tuple[Presentation, ...]], bool], *, timeout: float, quiet: float = 0.0
    ) -> bool:
        """Wait (bounded by ``timeout``) until ``predicate`` holds on the presentations and nothing new
        has arrived for ``quiet`` seconds. Returns whether it held in time."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                seen = len(self._presentations)
                if self._active == 0 and predicate(tuple(self._presentations)):
                    if quiet <= 0:
                        return True
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return True
                    self._changed.wait(timeout=min(quiet, remaining))
                    if len(self._presentations) == seen and self._active == 0:
                        return True
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(timeout=remaining)

    def _make_context(self) -> SSL.Context:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        # A recorder accepts every version a client may offer, so that a client negotiating TLS 1.0
        # is seen doing it; only LEGACY_TLS caps the version (and is the one hostile on that point).
        ctx.set_min_proto_version(SSL.TLS1_VERSION)
        if self.mode is MockMode.LEGACY_TLS:
            ctx.set_max_proto_version(SSL.TLS1_1_VERSION)
        # Without security level 0, OpenSSL 3+ has no cipher suite TLS 1.0/1.1 can use.
        ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
        # Every connection a full handshake: a resumed session would not show the certificate again.
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        key = serialization.load_pem_private_key(self._credentials.key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise UsageError("mock SAS: the server key must be RSA or EC")
        ctx.use_privatekey(key)
        certs = x509.load_pem_x509_certificates(self._credentials.chain_pem)
        ctx.use_certificate(certs[0])
        for extra in certs[1:]:
            ctx.add_extra_chain_cert(extra)
        ctx.check_privatekey()
        store = ctx.get_cert_store()
        for ca in self._client_cas:
            # add_client_ca puts the CA's subject in the CertificateRequest's CA names, as
            # set_client_ca_list would, without pyOpenSSL's deprecated X509Name type.
            ctx.add_client_ca(ca)
            if store is not None:
                store.add_cert(crypto.X509.from_cryptography(ca))
        ctx.set_verify(SSL.VERIFY_PEER, _record_and_accept)
        ctx.set_verify_depth(6)
        ctx.set_tlsext_servername_callback(_record_sni)
        return ctx

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                sock, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                time.sleep(ACCEPT_POLL)
                continue
            with self._changed:
                self._active += 1
            try:
                assert self._executor is not None
                self._executor.submit(self._serve, sock, f"{peer[0]}:{peer[1]}")
            except RuntimeError:  # the pool is shutting down
                sock.close()
                self._done(None)

    def _record(self, presentation: Presentation) -> None:
        """Written down as soon as the answer is sent, before the connection lingers: a client that sends
        its update once its creation was answered has them recorded in that order, however the two
        connections' closes interleave."""
        with self._changed:
            if len(self._presentations) < MAX_PRESENTATIONS:
                self._presentations.append(presentation)
            self._changed.notify_all()

    def _done(self, presentation: Presentation | None) -> None:
        with self._changed:
            self._active -= 1
            self._changed.notify_all()

    def _serve(self, sock: socket.socket, peer: str) -> None:
        presentation: Presentation | None = None
        try:
            presentation = self._converse(sock, peer)
        except Exception as exc:  # a worker never dies noisily: the record says what happened
            presentation = Presentation(
                mode=self.mode,
                peer=peer,
                at=now_iso(),
                handshake_error=f"mock error: {type(exc).__name__}: {exc}",
            )
        finally:
            if presentation is not None:
                self._record(presentation)
            _linger_close(sock)
            sock.close()
            self._done(presentation)

    def _converse(self, sock: socket.socket, peer: str) -> Presentation:
        assert self._context is not None and self._store is not None
        at = now_iso()
        sock.setblocking(False)
        deadline = time.monotonic() + CONVERSATION_DEADLINE
        state = _ConnState()
        conn = SSL.Connection(self._context, sock)
        conn.set_app_data(state)
        conn.set_accept_state()

        def record(**facts: Any) -> Presentation:
            return Presentation(
                mode=self.mode,
                peer=peer,
                at=at,
                sni=state.sni,
                verify_errors=tuple(state.verify_errors),
                **facts,
            )

        try:
            _retry(conn.do_handshake, sock, deadline)
        except TimeoutError:
            return record(handshake_error="no complete handshake before the deadline")
        except (SSL.Error, OSError) as exc:
            return record(handshake_error=_describe(exc))
        leaf = conn.get_peer_certificate(as_cryptography=True)
        # On the server side OpenSSL's peer chain excludes the leaf.
        rest = conn.get_peer_cert_chain(as_cryptography=True) or []
        tls = {
            "tls_version": conn.get_protocol_version_name(),
            "cipher": conn.get_cipher_name(),
            "chain": (leaf, *rest) if leaf is not None else (),
        }
        try:
            request = _read_request(conn, sock, deadline)
        except _ClientGone as exc:
            return record(**tls, answer_excerpt=f"no request: {exc}")
        except _BadRequest as bad:
            status, body = bad.status, json.dumps(operation_outcome(str(bad), code="invalid")).encode()
            with contextlib.suppress(SSL.Error, OSError, TimeoutError):
                _send_all(conn, sock, _serialize(status, body, ()), time.monotonic() + SEND_DEADLINE)
            return record(**tls, status=status, answer_excerpt=str(bad))
        status, resource, headers = self._store.answer(request)
        body = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        with contextlib.suppress(SSL.Error, OSError, TimeoutError):
            _send_all(conn, sock, _serialize(status, body, headers), time.monotonic() + SEND_DEADLINE)
            conn.shutdown()
        excerpt = ""
        if resource.get("resourceType") == "OperationOutcome":
            excerpt = str(resource["issue"][0].get("diagnostics", ""))[:300]
        return record(**tls, request=request, status=status, answer_excerpt=excerpt)


def _record_and_accept(
    connection: SSL.Connection, cert: crypto.X509, errnum: int, depth: int, ok: int
) -> bool:
    """Note what OpenSSL thinks of the client's chain, and accept it whatever: judged later."""
    if not ok:
        state = connection.get_app_data()
        if isinstance(state, _ConnState):
            subject = cert.to_cryptography().subject.rfc4514_string()
            state.verify_errors.append(f"depth {depth}: X509_V_ERR {errnum} ({subject})")
    return True


def _record_sni(connection: SSL.Connection) -> None:
    state = connection.get_app_data()
    name = connection.get_servername()
    if isinstance(state, _ConnState) and name is not None:
        state.sni = name.decode("ascii", "replace")


class _Reader:
    def __init__(
        self, conn: SSL.Connection, sock: socket.socket, deadline: float, initial: bytes = b""
    ) -> None:
        self._conn, self._sock, self._deadline = conn, sock, deadline
        self.buffer = bytearray(initial)

    def fill(self) -> None:
        chunk = _recv(self._conn, self._sock, self._deadline)
        if not chunk:
            raise _ClientGone("connection closed before a complete request")
        self.buffer += chunk

    def take_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise _BadRequest(400, "chunk size line too long")
            self.fill()
        line, _, rest = bytes(self.buffer).partition(b"\r\n")
        self.buffer = bytearray(rest)
        return line

    def take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data


def _read_request(conn: SSL.Connection, sock: socket.socket, deadline: float) -> RecordedRequest:
    """One HTTP/1.1 request, with a Content-Length or chunked body."""
    reader = _Reader(conn, sock, deadline)
    while b"\r\n\r\n" not in reader.buffer:
        if len(reader.buffer) > MAX_HEAD_BYTES:
            raise _BadRequest(431, "request head too large")
        reader.fill()
    head, _, rest = bytes(reader.buffer).partition(b"\r\n\r\n")
    reader.buffer = bytearray(rest)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        raise _BadRequest(400, "malformed request line")
    method, target, _ = parts
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _BadRequest(400, "malformed header line")
        headers.append((name, value.strip()))
    lowered = {k.lower(): v for k, v in headers}
    if "chunked" in lowered.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size_line = reader.take_line().split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _BadRequest(400, "malformed chunk size") from None
            if size == 0:
                while reader.take_line():  # trailers, then the empty line
                    pass
                break
            if len(body) + size > MAX_BODY_BYTES:
                raise _BadRequest(413, f"request body over {MAX_BODY_BYTES} bytes")
            body += reader.take(size)
            reader.take_line()
    else:
        try:
            length = int(lowered.get("content-length", "0"))
        except ValueError:
            raise _BadRequest(400, "invalid Content-Length") from None
        if not 0 <= length <= MAX_BODY_BYTES:
            raise _BadRequest(413 if length > 0 else 400, "invalid or too large Content-Length")
        body = bytearray(reader.take(length))
    split = urlsplit(target)
    return RecordedRequest(
        method=method,
        target=target,
        path=split.path,
        query=tuple(parse_qsl(split.query, keep_blank_values=True)),
        headers=tuple(headers),
        body=bytes(body),
    )


def _serialize(status: int, body: bytes, headers: tuple[tuple[str, str], ...]) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    lines = [f"HTTP/1.1 {status} {phrase}", f"Content-Type: {FHIR_JSON}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _linger_close(sock: socket.socket) -> None:
    linger_close(sock, linger=LINGER)


# client/rules.py still imports the record and the FHIR checks from here, though they live in presentation
# and appointments now: this list goes when that import line moves with the rules' own split.
__all__ = [
    "ACCEPTED_BODY_TYPES",
    "MockSas",
    "Presentation",
    "appointment_problems",
    "identifier_tokens",
]
