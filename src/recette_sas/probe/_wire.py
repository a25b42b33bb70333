"""The handshake as it went over the wire, read from OpenSSL's message callback.

The verdict must know what the probe really offered and what the server really answered, not what
the ``ssl`` module reports after the fact: a probe that meant to offer TLS 1.0 but sent a TLS 1.3
ClientHello proves nothing. ``ssl`` exposes none of it, so the records are parsed here, bounded and
defensively (a malformed message yields no evidence, never an exception), and the alerts are named
for both kinds of probe.
"""

from __future__ import annotations

from collections.abc import Iterator

WIRE_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}

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


def wire_version_name(value: int) -> str:
    return WIRE_VERSIONS.get(value, f"0x{value:04x}")


class Wire:
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


def certificate_list(msg: bytes, *, tls13: bool) -> list[bytes]:
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
