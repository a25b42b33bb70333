"""The application behind a TLS terminator: the reference FHIR app over plain HTTP on loopback.

A terminator (nginx, HAProxy, Apache httpd) does the mutual TLS and the subject check, strips every
identity header the client sent, and forwards the identity it verified in one header of its own,
``X-SSL-Client-S-DN``. The application therefore never looks at the client's claims: it only insists
that the terminator's header is there (a request that did not come through the terminator has none),
and otherwise serves ``fhir.FhirApp``.

``trust_client_cn_header`` is the classic broken application for the mutation tests: it decides who the
client is from ``X-SSL-Client-CN`` when the request carries one (a header the client can send), and from
the terminator's DN otherwise. Behind a terminator that lets that header through and leaves the subject
check to the application, forged headers win.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from recette_sas._net.background import BackgroundServer
from recette_sas.environments import SasSubject
from recette_sas.fhir.app import FhirApp, FhirResponse, error_response

IDENTITY_HEADER = "X-SSL-Client-S-DN"
"""The one header the terminator sets (after removing the client's) with the verified subject DN."""

CLIENT_CN_HEADER = "X-SSL-Client-CN"
"""What the broken application trusts: a header the client can set."""

MAX_BODY_BYTES = 1024 * 1024


def dn_fields(dn: str) -> tuple[list[str], list[str]]:
    """CN and OU values of an RFC 2253 DN string (as nginx, HAProxy and Apache print it)."""
    cns: list[str] = []
    ous: list[str] = []
    for part in re.split(r"(?<!\\),", dn):
        key, sep, raw = part.partition("=")
        if not sep:
            continue
        value = re.sub(r"\\(.)", r"\1", raw)
        if key.strip().upper() == "CN":
            cns.append(value)
        elif key.strip().upper() == "OU":
            ous.append(value)
    return cns, ous


@dataclass(frozen=True)
class UpstreamDecision:
    """Why the application answered as it did (kept in ``Upstream.log``, never sent to the client)."""

    method: str
    path: str
    identity: str | None
    source: str
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    upstream: Upstream


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the suite reports, not stderr
        return

    def _handle(self) -> None:
        length_header = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(error_response(400, "missing or invalid Content-Length", code="invalid"))
            return
        body = self.rfile.read(length) if length else b""
        headers = [(k, v) for k, v in self.headers.items()]
        self._send(self.server.upstream.handle(self.command, self.path, headers, body))

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def _send(self, response: FhirResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)
        self.close_connection = True


class Upstream:
    """``fhir.FhirApp`` over plain HTTP on loopback, for a terminator to proxy to.

    ``Upstream(port=0)`` binds at once (``port`` is then final); ``start()`` serves in a daemon thread.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        trust_client_cn_header: bool = False,
        allowed_subjects: Iterable[SasSubject] = (),
    ) -> None:
        self.trust_client_cn_header = trust_client_cn_header
        self.allowed_subjects = tuple(allowed_subjects)
        if trust_client_cn_header and not self.allowed_subjects:
            raise ValueError("an application that checks the subject itself needs allowed_subjects")
        self.app = FhirApp(scheme="https")
        self.log: list[UpstreamDecision] = []
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.upstream = self
        self.host, self.port = str(self._httpd.server_address[0]), int(self._httpd.server_address[1])
        self._serving = BackgroundServer(self._httpd, name="recette-sas-upstream")

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def handle(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> FhirResponse:
        """Decide on one proxied request (``headers`` in arrival order, repeated names kept)."""
        pairs = list(headers)
        verified = [v for k, v in pairs if k.lower() == IDENTITY_HEADER.lower()]
        path = target.split("?", 1)[0]
        if len(verified) != 1 or not verified[0].strip():
            return self._decide(
                method,
                path,
                None,
                "none",
                error_response(403, "no verified client identity from the TLS terminator", code="security"),
            )
        dn = verified[0].strip()
        source = IDENTITY_HEADER
        if self.trust_client_cn_header:
            claimed = next((v for k, v in pairs if k.lower() == CLIENT_CN_HEADER.lower() and v.strip()), None)
            cns, ous = dn_fields(dn)
            if claimed is not None:
                cns, source = [claimed.strip()], CLIENT_CN_HEADER
            if not any(cns == [s.cn] and ous == [s.ou] for s in self.allowed_subjects):
                return self._decide(
                    method,
                    path,
                    dn,
                    source,
                    error_response(403, "client subject is not allowed", code="security"),
                )
        plain: Mapping[str, str] = {k: v for k, v in pairs}
        return self._decide(method, path, dn, source, self.app(method, target, plain, body))

    def _decide(
        self, method: str, path: str, identity: str | None, source: str, response: FhirResponse
    ) -> FhirResponse:
        with self._lock:
            self.log.append(UpstreamDecision(method, path, identity, source, response.status))
            del self.log[:-256]
        return response

    def start(self) -> Upstream:
        self._serving.start()
        return self

    def close(self) -> None:
        self._serving.close()

    def __enter__(self) -> Upstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["CLIENT_CN_HEADER", "IDENTITY_HEADER", "Upstream", "UpstreamDecision", "dn_fields"]
