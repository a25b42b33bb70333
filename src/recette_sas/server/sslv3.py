"""A front that accepts SSL 3.0: the broken editor the ``REC-SSL3`` check must catch.

Neither OpenSSL here can speak SSL 3.0, so the reference server cannot be broken that way by a policy
toggle. This front listens in its place and reads the first bytes of each connection without consuming
them: a ClientHello whose client_version is SSL 3.0 is answered by tlslite-ng (SSL 3.0 only, a client
certificate required and checked against the trusted CAs, one fixed FHIR answer); every other
connection is relayed byte for byte to the real reference server behind it, so every other scenario
meets the reference unchanged. That is the defect and nothing else: a terminator left with SSLv3 on.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import threading
import time
import warnings
from typing import Any, Final

import trustme
from cryptography import x509

PEEK_DEADLINE: Final = 5.0
RELAY_DEADLINE: Final = 30.0
MAX_CONNECTIONS: Final = 32
_CLIENT_VERSION_OFFSET = slice(9, 11)
_SSL3 = b"\x03\x00"


def _tlslite() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import tlslite.api

    return tlslite.api


def rsa_server_pair(server_name: str = "localhost") -> tuple[trustme.CA, trustme.LeafCert]:
    """An RSA server certificate: SSL 3.0 has no ECDSA suite tlslite can use."""
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    return ca, ca.issue_cert(server_name, "127.0.0.1", key_type=trustme.KeyType.RSA)


def _answer(status: int, reason: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/fhir+json\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + data


class Sslv3Front:
    """Listens on loopback; SSL 3.0 handshakes are accepted here, everything else goes to ``backend``."""

    def __init__(
        self,
        *,
        backend: tuple[str, int],
        server_cert: trustme.LeafCert,
        trusted_cas: tuple[x509.Certificate, ...],
        host: str = "127.0.0.1",
    ) -> None:
        self._backend = backend
        self._trusted = trusted_cas
        api = _tlslite()
        self._chain = api.X509CertChain()
        self._chain.parsePemList(server_cert.cert_chain_pems[0].bytes().decode())
        self._key = api.parsePEMKey(server_cert.private_key_pem.bytes().decode(), private=True)
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self.host = host
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._threads: list[threading.Thread] = []
        self.sslv3_handshakes = 0
        self._accept = threading.Thread(target=self._run, name=f"recette-sas-sslv3-{self.port}", daemon=True)

    def __enter__(self) -> Sslv3Front:
        self._accept.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._accept.is_alive():
            self._accept.join(timeout=2)
        for thread in self._threads:
            thread.join(timeout=2)
        self._listener.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            if not self._slots.acquire(timeout=1):
                conn.close()
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            head = _peek(conn, 11)
            if head[:1] == b"\x16" and head[_CLIENT_VERSION_OFFSET] == _SSL3:
                self._serve_sslv3(conn)
            else:
                _relay(conn, self._backend, self._stop)
        except Exception:  # a broken variant's worker must not die noisily either
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            self._slots.release()

    def _serve_sslv3(self, conn: socket.socket) -> None:
        api = _tlslite()
        settings = api.HandshakeSettings()
        settings.minVersion = settings.maxVersion = (3, 0)
        conn.settimeout(PEEK_DEADLINE)
        tls = api.TLSConnection(conn)
        tls.handshakeServer(certChain=self._chain, privateKey=self._key, reqCert=True, settings=settings)
        self.sslv3_handshakes += 1
        request = bytearray()
        deadline = time.monotonic() + PEEK_DEADLINE
        while b"\r\n\r\n" not in request and len(request) < 64 * 1024 and time.monotonic() < deadline:
            chunk = tls.read(max=16 * 1024)
            if not chunk:
                break
            request += chunk
        if not self._client_trusted(tls):
            tls.write(_answer(403, "Forbidden", {"resourceType": "OperationOutcome", "issue": []}))
        else:
            tls.write(_answer(200, "OK", {"resourceType": "Bundle", "type": "searchset", "total": 0}))
        with contextlib.suppress(Exception):
            tls.close()

    def _client_trusted(self, tls: Any) -> bool:
        chain = tls.session.clientCertChain
        if not chain or not chain.x509List:
            return False
        leaf = x509.load_der_x509_certificate(bytes(chain.x509List[0].writeBytes()))
        for ca in self._trusted:
            with contextlib.suppress(Exception):
                leaf.verify_directly_issued_by(ca)
                return True
        return False


def _peek(conn: socket.socket, size: int) -> bytes:
    """Up to ``size`` bytes already sent by the client, left in the socket for whoever serves it."""
    deadline = time.monotonic() + PEEK_DEADLINE
    data = b""
    while len(data) < size and time.monotonic() < deadline:
        readable, _, _ = select.select([conn], [], [], 0.2)
        if not readable:
            continue
        data = conn.recv(size, socket.MSG_PEEK)
        if not data:
            break
        if len(data) < size:
            time.sleep(0.01)
    return data


def _relay(client: socket.socket, backend: tuple[str, int], stop: threading.Event) -> None:
    """Bytes both ways, half-closes passed on (a FIN stays a FIN, so refusals look the same)."""
    upstream = socket.create_connection(backend, timeout=PEEK_DEADLINE)
    open_ends = {client: upstream, upstream: client}
    deadline = time.monotonic() + RELAY_DEADLINE
    try:
        while open_ends and time.monotonic() < deadline and not stop.is_set():
            readable, _, _ = select.select(list(open_ends), [], [], 0.2)
            for src in readable:
                dst = open_ends[src]
                try:
                    data = src.recv(65536)
                except OSError:
                    return
                if data:
                    try:
                        dst.sendall(data)
                    except OSError:
                        return
                else:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                    del open_ends[src]
    finally:
        upstream.close()
