"""A mock SAS platform on loopback: the server the editor's software calls in the client role.

It is a *recorder*, not a gatekeeper. It asks for a client certificate (advertising the
environment's IGC Santé CA names in its CertificateRequest) but never refuses one at TLS level: the
verify callback always says yes, so whatever the client presents (nothing, a leaf alone, a chain of
the wrong hierarchy) is written down as a frozen ``Presentation`` and judged afterwards by
``client_rules``. A mock that refused at TLS level would hide what the client sent.

Why pyOpenSSL and not ``ssl``: Python 3.11's server side cannot set the CA names of the
CertificateRequest and cannot read the chain the client sent (only its leaf). pyOpenSSL runs on the
OpenSSL bundled with ``cryptography``, not on the system's.

Each ``MockMode`` but ``NORMAL`` is a hostile platform the client must refuse to talk to: an expired
server certificate, a certificate for another host name, a self-signed (untrusted) one, one issued by
the other IGC Santé hierarchy, or a server that speaks only TLS 1.0/1.1. One connection carries one
request (``Connection: close``), so every request comes with its own handshake and its own
certificate presentation.

FHIR behaviour (ANS IG "Service d'Accès aux Soins", INT_R03):

- ``POST /Appointment``: 201 + ``Location``; 400 when the body is not an Appointment in JSON, 422
  when the minimal shape is wrong (identifier, start, end, status, participant), 409 when an
  Appointment with the same identifier was already created, 415 for a non-JSON media type.
- ``PUT /Appointment?identifier=system|value``: 200 + ``Location`` when that identifier was created
  on this mock; **404** when it never was. SAS only knows appointments the editor created, so an
  update that designates anything else is an error, not an implicit creation (unlike the regulator
  accounts of the server role, where a PUT on an unknown account creates it). 400 when the body's
  identifiers do not include the one designated.
- ``GET /metadata``: a CapabilityStatement (reachability); anything else: 404 or 405.
Every answer is ``application/fhir+json``; errors are OperationOutcome resources.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL, crypto

from recette_sas._net.tlsio import ClientGone as _ClientGone
from recette_sas._net.tlsio import describe as _describe
from recette_sas._net.tlsio import linger_close
from recette_sas._net.tlsio import recv as _recv
from recette_sas._net.tlsio import retry as _retry
from recette_sas._net.tlsio import send_all as _send_all
from recette_sas.environments import UsageError
from recette_sas.identity import certificate_summary

FHIR_JSON: Final = "application/fhir+json"
ACCEPTED_BODY_TYPES: Final = frozenset({"application/fhir+json", "application/json+fhir", "application/json"})
"""The IG's prose says ``application/json+fhir``, its CapabilityStatements ``application/fhir+json``."""
APPOINTMENT_STATUSES: Final = ("booked", "fulfilled", "noshow", "cancelled")
PARTICIPANT_STATUSES: Final = ("accepted", "declined", "tentative", "needs-action")
WRONG_HOST_NAME: Final = "plateforme-usurpee.invalid"

CONVERSATION_DEADLINE: Final = 10.0
SEND_DEADLINE: Final = 5.0
LINGER: Final = 0.5
ACCEPT_POLL: Final = 0.1
MAX_HEAD_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_WORKERS: Final = 8
MAX_PRESENTATIONS: Final = 256


class MockMode(enum.StrEnum):
    """How the mock platform behaves; the values are what scenarios name."""

    NORMAL = "normale"
    EXPIRED = "expire"
    WRONG_HOST = "mauvais-nom"
    UNTRUSTED = "non-reconnu"
    OTHER_HIERARCHY = "autre-hierarchie"
    LEGACY_TLS = "tls-ancien"

    @classmethod
    def parse(cls, value: str) -> MockMode:
        try:
            return cls(value.strip())
        except ValueError:
            raise UsageError(
                f"unknown mock platform mode {value!r} (expected one of: {', '.join(m.value for m in cls)})"
            ) from None

    @property
    def hostile(self) -> bool:
        return self is not MockMode.NORMAL


MODE_DESCRIPTIONS: Final[Mapping[MockMode, str]] = {
    MockMode.NORMAL: "normale, certificat serveur valide",
    MockMode.EXPIRED: "certificat serveur expiré (émis par l'AC de confiance, bon nom)",
    MockMode.WRONG_HOST: f"certificat serveur valide pour un autre nom ({WRONG_HOST_NAME})",
    MockMode.UNTRUSTED: "certificat serveur auto-signé au nom de la plateforme SAS",
    MockMode.OTHER_HIERARCHY: "certificat serveur au nom de la plateforme SAS émis par l'autre hiérarchie IGC Santé",
    MockMode.LEGACY_TLS: "serveur qui ne parle que TLS 1.0 et TLS 1.1",
}


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as it arrived (the target split into path and decoded query)."""

    method: str
    target: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def query_values(self, name: str) -> tuple[str, ...]:
        return tuple(v for k, v in self.query if k == name)

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def line(self) -> str:
        return f"{self.method} {self.target}"

    def summary(self) -> dict[str, Any]:
        """Public facts for reports: the request line, the media type, and only the judged fields of
        the body (an editor's real appointment may name a patient)."""
        body = self.json()
        shape: dict[str, Any] | None = None
        if isinstance(body, dict):
            shape = {
                "resourceType": body.get("resourceType"),
                "identifier": body.get("identifier"),
                "status": body.get("status"),
                "start": body.get("start"),
                "end": body.get("end"),
                "participants": len(body["participant"])
                if isinstance(body.get("participant"), list)
                else None,
            }
        return {
            "request": self.line(),
            "content_type": self.header("content-type"),
            "user_agent": self.header("user-agent"),
            "host": self.header("host"),
            "body_bytes": len(self.body),
            "body_shape": shape,
        }


@dataclass(frozen=True)
class Presentation:
    """What a client presented on one connection to the mock, and what it asked.

    ``chain`` is what went on the wire: the leaf first, then whatever the client sent after it
    (empty when no certificate was presented). ``handshake_error`` is set when the handshake did not
    complete (a client refusing the mock's certificate aborts with an alert, recorded here).
    """

    mode: MockMode
    peer: str
    at: str
    sni: str | None = None
    tls_version: str | None = None
    cipher: str | None = None
    chain: tuple[x509.Certificate, ...] = ()
    verify_errors: tuple[str, ...] = ()
    handshake_error: str | None = None
    request: RecordedRequest | None = None
    status: int | None = None
    answer_excerpt: str = ""

    @property
    def leaf(self) -> x509.Certificate | None:
        return self.chain[0] if self.chain else None

    @property
    def handshake_completed(self) -> bool:
        return self.tls_version is not None

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "peer": self.peer,
            "at": self.at,
            "sni": self.sni,
            "tls_version": self.tls_version,
            "cipher": self.cipher,
            "chain_sent": [certificate_summary(c) for c in self.chain],
            "verify_errors": list(self.verify_errors),
            "handshake_error": self.handshake_error,
            "request": self.request.summary() if self.request is not None else None,
            "status": self.status,
            "answer_excerpt": self.answer_excerpt,
        }


# -- server certificates -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerCredentials:
    """The certificate chain (PEM, leaf first) and private key (PEM) the mock presents."""

    chain_pem: bytes
    key_pem: bytes = field(repr=False)

    @classmethod
    def from_trustme(cls, leaf: trustme.LeafCert) -> ServerCredentials:
        return cls(b"".join(b.bytes() for b in leaf.cert_chain_pems), leaf.private_key_pem.bytes())


def _self_signed(host_name: str) -> ServerCredentials:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ServerCredentials(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def server_credentials(
    mode: MockMode,
    host_name: str,
    *,
    server_ca: trustme.CA,
    other_hierarchy: ServerCredentials | None = None,
) -> ServerCredentials:
    """The certificate the mock presents in ``mode``; everything but the mode's defect is right.

    ``server_ca`` is the CA the client is told to trust; ``other_hierarchy`` (needed for
    ``OTHER_HIERARCHY`` only) is a certificate for ``host_name`` issued by the other IGC hierarchy.
    """
    now = dt.datetime.now(dt.UTC)
    if mode in (MockMode.NORMAL, MockMode.LEGACY_TLS):
        return ServerCredentials.from_trustme(server_ca.issue_cert(host_name))
    if mode is MockMode.EXPIRED:
        leaf = server_ca.issue_cert(
            host_name, not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=30)
        )
        return ServerCredentials.from_trustme(leaf)
    if mode is MockMode.WRONG_HOST:
        return ServerCredentials.from_trustme(server_ca.issue_cert(WRONG_HOST_NAME))
    if mode is MockMode.UNTRUSTED:
        return _self_signed(host_name)
    if other_hierarchy is None:
        raise UsageError(
            "mock SAS: the other-hierarchy mode needs a certificate issued by the other hierarchy"
        )
    return other_hierarchy


# -- FHIR ------------------------------------------------------------------------------------------


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def appointment_problems(resource: Any) -> list[str]:
    """Why ``resource`` is not a minimal SAS Appointment (empty when it is one).

    Minimal shape: resourceType Appointment; identifier (system and value); start and end as FHIR
    instants with a time zone, end not before start; status booked/fulfilled/noshow/cancelled; at
    least one participant with an actor and a status.
    """
    if not isinstance(resource, dict):
        return [f"the body is not a JSON object ({type(resource).__name__})"]
    if resource.get("resourceType") != "Appointment":
        return [f"resourceType is {resource.get('resourceType')!r}, expected 'Appointment'"]
    problems: list[str] = []
    identifiers = resource.get("identifier")
    if not isinstance(identifiers, list) or not identifiers:
        problems.append("identifier is missing (a list with at least one system and value is expected)")
    elif not all(
        isinstance(i, dict)
        and isinstance(i.get("value"), str)
        and i["value"].strip()
        and isinstance(i.get("system"), str)
        and i["system"].strip()
        for i in identifiers
    ):
        problems.append("every identifier needs a non-empty system and value")
    status = resource.get("status")
    if status not in APPOINTMENT_STATUSES:
        problems.append(f"status is {status!r}, expected one of {', '.join(APPOINTMENT_STATUSES)}")
    start, end = _instant(resource.get("start")), _instant(resource.get("end"))
    if start is None:
        problems.append(f"start is {resource.get('start')!r}, expected an instant with a time zone")
    if end is None:
        problems.append(f"end is {resource.get('end')!r}, expected an instant with a time zone")
    if start is not None and end is not None and end < start:
        problems.append("end is before start")
    participants = resource.get("participant")
    if not isinstance(participants, list) or not participants:
        problems.append("participant is missing (at least one is expected)")
    else:
        for index, participant in enumerate(participants):
            if not isinstance(participant, dict) or not isinstance(participant.get("actor"), dict):
                problems.append(f"participant[{index}] has no actor")
            elif participant.get("status") not in PARTICIPANT_STATUSES:
                problems.append(
                    f"participant[{index}].status is {participant.get('status')!r}, "
                    f"expected one of {', '.join(PARTICIPANT_STATUSES)}"
                )
    return problems


def identifier_tokens(resource: Any) -> tuple[str, ...]:
    """The ``system|value`` tokens of a resource's identifiers."""
    if not isinstance(resource, dict) or not isinstance(resource.get("identifier"), list):
        return ()
    return tuple(
        f"{i.get('system', '')}|{i['value']}"
        for i in resource["identifier"]
        if isinstance(i, dict) and isinstance(i.get("value"), str)
    )


Answer = tuple[int, dict[str, Any], tuple[tuple[str, str], ...]]
"""(status, FHIR resource, extra headers)."""


def operation_outcome(diagnostics: str, *, code: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }


def _error(status: int, diagnostics: str, *, code: str) -> Answer:
    return status, operation_outcome(diagnostics, code=code), ()


@dataclass
class _Stored:
    resource_id: str
    version: int
    resource: dict[str, Any]


class AppointmentStore:
    """The appointments created on one mock; thread-safe."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._by_token: dict[str, _Stored] = {}
        self._lock = threading.Lock()

    def answer(self, request: RecordedRequest) -> Answer:
        path = request.path.rstrip("/") or "/"
        if path == "/metadata":
            if request.method != "GET":
                return _error(405, "only GET is supported on /metadata", code="not-supported")
            return 200, _capability_statement(self.base_url), ()
        if path != "/Appointment":
            return _error(404, f"no such resource path: {request.path}", code="not-found")
        if request.method == "POST":
            return self._create(request)
        if request.method == "PUT":
            return self._update(request)
        return _error(
            405,
            f"{request.method} is not supported on /Appointment (POST creates, PUT updates)",
            code="not-supported",
        )

    @staticmethod
    def _parse(request: RecordedRequest) -> Answer | dict[str, Any]:
        """The Appointment in the body, or the error answer."""
        if request.media_type not in ACCEPTED_BODY_TYPES:
            return _error(
                415,
                f"unsupported Content-Type {request.header('content-type')!r} (expected {FHIR_JSON})",
                code="not-supported",
            )
        resource = request.json()
        if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
            found = resource.get("resourceType") if isinstance(resource, dict) else "no JSON object"
            return _error(400, f"expected an Appointment resource in JSON, got {found!r}", code="invalid")
        problems = appointment_problems(resource)
        if problems:
            return _error(422, "; ".join(problems), code="invariant")
        return resource

    def _create(self, request: RecordedRequest) -> Answer:
        if request.query:
            return _error(
                400,
                "POST /Appointment takes no search parameter (an update is PUT ?identifier=)",
                code="invalid",
            )
        parsed = self._parse(request)
        if isinstance(parsed, tuple):
            return parsed
        tokens = identifier_tokens(parsed)
        with self._lock:
            if any(t in self._by_token for t in tokens):
                return _error(409, "an Appointment with this identifier exists", code="duplicate")
            stored = _Stored(uuid.uuid4().hex, 1, {})
            stored.resource = _with_meta(parsed, stored)
            for token in tokens:
                self._by_token[token] = stored
            return 201, stored.resource, (("Location", self._location(stored)),)

    def _update(self, request: RecordedRequest) -> Answer:
        wanted = request.query_values("identifier")
        if len(wanted) != 1 or "|" not in wanted[0]:
            return _error(
                400,
                "PUT /Appointment needs exactly one identifier=system|value search parameter",
                code="invalid",
            )
        system, _, value = wanted[0].partition("|")
        if not system or not value:
            return _error(400, "identifier needs both a system and a value", code="invalid")
        parsed = self._parse(request)
        if isinstance(parsed, tuple):
            return parsed
        if wanted[0] not in identifier_tokens(parsed):
            return _error(
                400,
                "the Appointment's identifiers do not include the one the update designates",
                code="invalid",
            )
        with self._lock:
            stored = self._by_token.get(wanted[0])
            if stored is None:
                return _error(
                    404, f"no Appointment was created with identifier {wanted[0]}", code="not-found"
                )
            stored.version += 1
            stored.resource = _with_meta(parsed, stored)
            return 200, stored.resource, (("Location", self._location(stored)),)

    def _location(self, stored: _Stored) -> str:
        return f"{self.base_url}/Appointment/{stored.resource_id}/_history/{stored.version}"


def _with_meta(resource: Mapping[str, Any], stored: _Stored) -> dict[str, Any]:
    meta = dict(resource["meta"]) if isinstance(resource.get("meta"), dict) else {}
    meta.update(versionId=str(stored.version), lastUpdated=_now_iso())
    return {**resource, "id": stored.resource_id, "meta": meta}


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _now_iso(),
        "kind": "instance",
        "software": {"name": "recette-sas mock SAS platform"},
        "implementation": {"description": "Mock SAS platform of the recette-sas suite", "url": base},
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON],
        "rest": [
            {
                "mode": "server",
                "security": {"description": "Mutual TLS with IGC Santé certificates"},
                "resource": [
                    {
                        "type": "Appointment",
                        "interaction": [{"code": "create"}, {"code": "update"}],
                        "conditionalUpdate": True,
                        "searchParam": [{"name": "identifier", "type": "token"}],
                    }
                ],
            }
        ],
    }


# -- the server ------------------------------------------------------------------------------------


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

    # -- lifecycle
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

    # -- public state
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

    # -- TLS
    def _make_context(self) -> SSL.Context:
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

    # -- connections
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

    def _done(self, presentation: Presentation | None) -> None:
        with self._changed:
            if presentation is not None and len(self._presentations) < MAX_PRESENTATIONS:
                self._presentations.append(presentation)
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
                at=_now_iso(),
                handshake_error=f"mock error: {type(exc).__name__}: {exc}",
            )
        finally:
            _linger_close(sock)
            sock.close()
            self._done(presentation)

    def _converse(self, sock: socket.socket, peer: str) -> Presentation:
        assert self._context is not None and self._store is not None
        at = _now_iso()
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
