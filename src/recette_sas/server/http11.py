"""The reference server's one-request HTTP/1.1 exchange: reading a request, serializing an answer."""

from __future__ import annotations

import email.utils
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

from OpenSSL import SSL

from recette_sas._net.tlsio import ClientGone as _ClientGone
from recette_sas._net.tlsio import describe as _describe
from recette_sas._net.tlsio import recv as _recv
from recette_sas._net.tlsio import send_all as _send_all
from recette_sas.fhir.app import FhirResponse, error_response

MAX_HEADER_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 1024 * 1024


class Refused(Exception):
    """An HTTP-level answer decided before the app (bad request, refused identity)."""

    def __init__(self, response: FhirResponse, reason: str, *, decision: str) -> None:
        super().__init__(reason)
        self.response = response
        self.reason = reason
        self.decision = decision


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes


def _bad_request(status: int, reason: str) -> Refused:
    return Refused(error_response(status, reason, code="invalid"), reason, decision="bad_request")


def read_request(conn: SSL.Connection, sock: socket.socket, deadline: float) -> Request:
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
    return Request(method=method, target=target, headers=headers, body=bytes(body[:length]))


def serialize(response: FhirResponse) -> bytes:
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
