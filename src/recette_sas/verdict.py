"""The outcome taxonomy: the one place that turns what happened on the wire into an ``Outcome``.

A negative scenario passes only on a refusal, so every rule below leans the same way: when the
facts are ambiguous, the attempt is *not* a refusal. A TLS error the probe raised on its own side,
a closed port or a server that answered something other than TLS can never make a negative pass.

Decision tree of ``classify()`` (first match wins)::

    classify(phase, error, http_status, …)
    │
    ├── phase "setup": the probe could not build its client ................. PROBE_FAULT
    │     (no SSL 3.0 in this OpenSSL, unreadable certificate or key, bad CA file)
    ├── phase "connect": no TCP connection
    │     ├── OSError (refused, DNS failure, timeout, no route) ............... UNREACHABLE
    │     └── anything else ................................................... PROBE_FAULT
    ├── a version was pinned and the ClientHello on the wire did not offer
    │   exactly that version, or no ClientHello left at all .................... PROBE_FAULT
    ├── a version was pinned and another one was negotiated .................... PROBE_FAULT
    ├── an HTTP status was read after a completed handshake
    │     ├── 400 401 403 421 495 496 ........................................ REFUSED_HTTP
    │     └── any other status (2xx, but also 404, 5xx: ambiguous) ............ ACCEPTED
    └── no HTTP status: look at the ROOT exception (through __cause__/__context__)
          ├── SSLCertVerificationError: the probe rejected the SERVER ......... PROBE_FAULT
          ├── EOF: close_notify, SSLEOFError, RemoteDisconnected
          │     ├── after the ClientHello went out ............................ REFUSED_TLS
          │     └── before it ................................................. UNREACHABLE
          ├── SSLError whose reason is an alert received from the server
          │   (TLSV1_ALERT_PROTOCOL_VERSION, SSLV3_ALERT_BAD_CERTIFICATE,
          │    TLSV1_ALERT_UNKNOWN_CA, TLSV13_ALERT_CERTIFICATE_REQUIRED, …) .... REFUSED_TLS
          ├── local SSLError (NO_CIPHERS_AVAILABLE, NO_PROTOCOLS_AVAILABLE,
          │   UNSUPPORTED_PROTOCOL, LEGACY_SIGALG_DISALLOWED…): before the
          │   ClientHello nothing was offered; after it the server chose
          │   parameters the probe will not accept, which is not a refusal ..... PROBE_FAULT
          ├── WRONG_VERSION_NUMBER, PACKET_LENGTH_TOO_LONG…: the peer does not
          │   speak TLS at all (a plain HTTP port, for instance) ................ UNREACHABLE
          ├── TimeoutError: the connection stayed open and nothing (more) came . NO_ANSWER
          ├── reset or broken pipe
          │     ├── after the server had sent TLS records ..................... REFUSED_TLS
          │     └── before any TLS byte came back ............................. UNREACHABLE
          └── anything else .................................................... PROBE_FAULT

``NO_ANSWER`` is not ``UNREACHABLE``: the connection was open and then nothing came. Which of the two
a stall means is decided per target by ``server.targets.TargetSession``: before the target's positive
control passed, the target never answered (unreachable); after it, only this call stalled.

A reset before any TLS byte came back is not a refusal: Linux answers with RST when a process
closes a socket it never read from, which is what a dead backend behind a TCP proxy looks like;
a server that read the ClientHello and declined it closes with FIN (EOF) or sends an alert.
"""

from __future__ import annotations

import enum
import http.client
import ssl
from dataclasses import asdict, dataclass
from typing import Any, Literal

from recette_sas.errors import (
    VerdictUnavailable as VerdictUnavailable,  # re-exported: the outcome tree names it
)

Phase = Literal["setup", "connect", "handshake", "request", "response", "done"]


class Outcome(enum.StrEnum):
    """Exactly one per attempt. Values are the French words the reports show.

    A ``StrEnum`` (a ``str`` and an ``Enum``): ``str()`` and f-strings give the value, as reports want.
    """

    ACCEPTED = "accepte"
    REFUSED_TLS = "refuse_tls"
    REFUSED_HTTP = "refuse_http"
    UNREACHABLE = "injoignable"
    NO_ANSWER = "sans_reponse"
    PROBE_FAULT = "defaut_sonde"

    @property
    def is_refusal(self) -> bool:
        return self in (Outcome.REFUSED_TLS, Outcome.REFUSED_HTTP)


REFUSAL_STATUSES = frozenset({400, 401, 403, 421, 495, 496})

CONNECTION_CLOSED = "connection closed"

# OpenSSL reasons for alerts *received* whose name lacks "_ALERT_" (ssl/ssl_err.c, offset 1000 + code).
_ALERT_REASONS_WITHOUT_ALERT_IN_NAME = frozenset(
    {
        "TLSV1_UNRECOGNIZED_NAME",
        "TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE",
        "TLSV1_BAD_CERTIFICATE_HASH_VALUE",
        "TLSV1_CERTIFICATE_UNOBTAINABLE",
    }
)

# Raised by the probe's own OpenSSL when it has nothing it may offer or will not accept what came.
_LOCAL_REASONS = frozenset(
    {
        "NO_CIPHERS_AVAILABLE",
        "NO_PROTOCOLS_AVAILABLE",
        "UNSUPPORTED_PROTOCOL",
        "VERSION_TOO_LOW",
        "VERSION_TOO_HIGH",
        "WRONG_SSL_VERSION",
        "NO_SUITABLE_SIGNATURE_ALGORITHM",
        "WRONG_CIPHER_RETURNED",
        "UNKNOWN_CIPHER_RETURNED",
        "LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED",
        "WRONG_SIGNATURE_TYPE",
    }
)

# The bytes that came back are not TLS records.
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE"}
)

_EOF_REASONS = frozenset({"UNEXPECTED_EOF_WHILE_READING"})

_VERSION_WORDS = {
    "SSLv3": "SSL 3.0",
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}


@dataclass(frozen=True)
class Attempt:
    """One real attempt, immutable, as the report shows it.

    Only public material: the certificate *summary* of what was sent, never a key, a password
    or the request headers (which could carry credentials).
    """

    target: str
    method: str
    url: str
    tls_offered: tuple[str, ...]
    client_hello_version: str | None
    tls_negotiated: str | None
    cipher: str | None
    certificate_sent: dict[str, Any] | None
    alert: str | None
    error: str | None
    phase: Phase
    http_status: int | None
    content_type: str | None
    location: str | None
    body_excerpt: str
    server_chain: tuple[dict[str, Any], ...]
    started_at: str
    duration_ms: float
    outcome: Outcome
    reason: str
    versions_offered_on_wire: tuple[str, ...] = ()
    alerts_received: tuple[str, ...] = ()
    alerts_sent: tuple[str, ...] = ()
    tls_messages: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable view (tuples become lists, the outcome its value)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        data["outcome"] = self.outcome.value
        return data


def spoke_tls(attempt: Attempt) -> bool:
    """Whether the target answered in TLS at all (a handshake message or an alert came back)."""
    return attempt.tls_negotiated is not None or any(m.startswith("read ") for m in attempt.tls_messages)


def silent(attempt: Attempt) -> bool:
    """No TCP connection, or not one TLS byte back: what "unreachable" means before a control passed
    (``server.targets.TargetSession`` decides; a stall after the server spoke TLS is not silence)."""
    return attempt.outcome is Outcome.UNREACHABLE or (
        attempt.outcome is Outcome.NO_ANSWER and not spoke_tls(attempt)
    )


def version_words(version: str) -> str:
    """``"TLSv1"`` → ``"TLS 1.0"``: the way the spec and the reports name versions."""
    return _VERSION_WORDS.get(version, version)


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` then its causes, outermost first, following ``__cause__`` then ``__context__``."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 32:
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return chain


def root_cause(exc: BaseException) -> BaseException:
    """The exception to classify: the innermost ``ssl.SSLError`` of the chain, else the innermost.

    An HTTP client wraps the same TLS alert in different classes depending on when it arrives
    (httpx: ``ConnectError`` under TLS 1.2, ``ReadError`` under TLS 1.3); the root does not move.
    """
    chain = exception_chain(exc)
    ssl_errors = [e for e in chain if isinstance(e, ssl.SSLError)]
    return ssl_errors[-1] if ssl_errors else chain[-1]


def ssl_reason(exc: BaseException) -> str | None:
    """OpenSSL's reason code of the root error (``"TLSV1_ALERT_UNKNOWN_CA"``), if it has one."""
    reason = getattr(root_cause(exc), "reason", None)
    return reason if isinstance(reason, str) else None


def describe(exc: BaseException) -> str:
    """One line naming the root exception and its message, for the report."""
    root = root_cause(exc)
    text = " ".join(str(root).split()) or "(no message)"
    line = f"{type(root).__name__}: {text}"
    return line if len(line) <= 300 else line[:297] + "..."


def is_received_alert(exc: BaseException) -> bool:
    """Whether the root error is OpenSSL reporting a fatal alert sent by the peer."""
    reason = ssl_reason(exc)
    if reason is None or isinstance(root_cause(exc), ssl.SSLCertVerificationError):
        return False
    return "_ALERT_" in reason or reason in _ALERT_REASONS_WITHOUT_ALERT_IN_NAME


def _is_eof(root: BaseException) -> bool:
    if isinstance(root, ssl.SSLEOFError | ssl.SSLZeroReturnError | http.client.RemoteDisconnected):
        return True
    return isinstance(root, ssl.SSLError) and getattr(root, "reason", None) in _EOF_REASONS


def _is_reset(root: BaseException) -> bool:
    return isinstance(root, ConnectionResetError | BrokenPipeError | ConnectionAbortedError)


def alert_of(exc: BaseException | None) -> str | None:
    """What the report shows as the alert: OpenSSL's reason for a received alert, or a close."""
    if exc is None:
        return None
    if is_received_alert(exc):
        return ssl_reason(exc)
    root = root_cause(exc)
    if _is_eof(root) or _is_reset(root):
        return CONNECTION_CLOSED
    return None


def classify(
    *,
    phase: Phase,
    error: BaseException | None = None,
    http_status: int | None = None,
    client_hello_sent: bool = False,
    server_sent_tls: bool = False,
    pinned_version: str | None = None,
    offered_on_wire: tuple[str, ...] = (),
    negotiated_version: str | None = None,
) -> tuple[Outcome, str]:
    """Map the raw facts of one attempt to exactly one ``Outcome`` and a one-sentence reason.

    ``phase`` is where the attempt stopped ("done" when an answer was read); ``error`` the
    exception that stopped it, unwrapped here to its root; ``client_hello_sent`` and
    ``server_sent_tls`` come from the handshake messages actually written and read;
    ``pinned_version`` is the only version the probe meant to offer (``"TLSv1"`` …), checked
    against ``offered_on_wire`` (the ClientHello's supported_versions, else its legacy_version).
    The tree is drawn in the module docstring. Pure: no I/O, no clock.
    """
    root = root_cause(error) if error is not None else None
    what = describe(error) if error is not None else "no error"

    if phase == "setup":
        return Outcome.PROBE_FAULT, f"the probe could not be set up: {what}"
    if phase == "connect":
        if isinstance(root, OSError):
            return Outcome.UNREACHABLE, f"no TCP connection: {what}"
        return Outcome.PROBE_FAULT, f"the probe failed before connecting: {what}"

    if pinned_version is not None:
        words = version_words(pinned_version)
        if not client_hello_sent:
            return Outcome.PROBE_FAULT, f"the probe could not offer {words}: no ClientHello was sent ({what})"
        if offered_on_wire != (pinned_version,):
            shown = ", ".join(offered_on_wire) or "nothing readable"
            return Outcome.PROBE_FAULT, f"the probe could not offer {words}: its ClientHello offered {shown}"
        if negotiated_version is not None and negotiated_version != pinned_version:
            return (
                Outcome.PROBE_FAULT,
                f"the probe pinned {words} but {version_words(negotiated_version)} was negotiated",
            )

    if http_status is not None:
        if http_status in REFUSAL_STATUSES:
            return Outcome.REFUSED_HTTP, f"handshake completed, then HTTP {http_status}: a refusal status"
        return Outcome.ACCEPTED, f"handshake completed and HTTP {http_status} answered: not a refusal status"

    if root is None:
        return Outcome.PROBE_FAULT, f"the attempt stopped in phase {phase!r} without an error or an answer"

    reason = getattr(root, "reason", None)
    if isinstance(root, ssl.SSLCertVerificationError):
        return Outcome.PROBE_FAULT, (
            f"the probe could not verify the server certificate "
            f"(verify code {root.verify_code}: {root.verify_message}); nothing is known of the client check"
        )
    if _is_eof(root):
        if client_hello_sent:
            return Outcome.REFUSED_TLS, f"the server closed the connection without an HTTP answer ({what})"
        return Outcome.UNREACHABLE, f"the connection closed before any ClientHello was sent ({what})"
    if is_received_alert(root):
        return Outcome.REFUSED_TLS, f"the server sent the TLS alert {reason}"
    if reason in _LOCAL_REASONS:
        if not client_hello_sent:
            return Outcome.PROBE_FAULT, f"the probe could not build a ClientHello ({reason}): nothing offered"
        return Outcome.PROBE_FAULT, (
            f"the probe gave up on the server's answer ({reason}): the server did not refuse, "
            "it chose parameters the probe does not offer"
        )
    if reason in _NOT_TLS_REASONS:
        return Outcome.UNREACHABLE, f"the endpoint did not answer in TLS ({reason})"
    if isinstance(root, TimeoutError):
        if phase in ("request", "response"):
            return Outcome.NO_ANSWER, "no HTTP answer before the read timeout (handshake done, connection still open)"
        if server_sent_tls:
            return Outcome.NO_ANSWER, "the handshake stalled: no answer before the read timeout"
        return Outcome.NO_ANSWER, "no TLS answer before the read timeout (connection still open)"
    if _is_reset(root):
        if server_sent_tls:
            return Outcome.REFUSED_TLS, f"the server reset the connection after speaking TLS ({what})"
        return Outcome.UNREACHABLE, f"the connection was reset before any TLS byte came back ({what})"
    if isinstance(root, http.client.HTTPException):
        return Outcome.PROBE_FAULT, f"the answer after the handshake is not readable HTTP ({what})"
    return Outcome.PROBE_FAULT, f"unexpected failure in phase {phase!r}, counted as no verdict: {what}"
