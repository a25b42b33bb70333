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

1. TLS (OpenSSL): protocol floor, certificate requested (and required), chain to ``trusted_cas``,
   CRLs of every CA when ``check_crl``; a failure aborts the handshake with OpenSSL's alert.
2. Application, identity from the TLS layer only (unless ``trust_identity_headers``): certificate
   profile, OCSP (hard fail), subject; a failure is a 403 OperationOutcome after the handshake.
3. The FHIR app (``fhir.FhirApp``), which never sees who the client is.

Nothing about the client identity is echoed back to it; what the server saw is kept in ``log``.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import functools
import http.client
import ipaddress
import re
import selectors
import shutil
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from OpenSSL import SSL, crypto

from recette_sas._net.tlsio import ClientGone as _ClientGone
from recette_sas._net.tlsio import describe as _describe
from recette_sas._net.tlsio import linger_close
from recette_sas._net.tlsio import recv as _recv
from recette_sas._net.tlsio import retry as _retry
from recette_sas._net.tlsio import send_all as _send_all
from recette_sas.environments import SasSubject, UsageError
from recette_sas.fhir.app import FhirApp, FhirResponse, error_response
from recette_sas.identity import find_issuer, ocsp_url
from recette_sas.pki import revocation
from recette_sas.pki.profile import first_blocking, profile_findings

TLS_VERSIONS: Final[Mapping[str, int]] = {
    "TLSv1": SSL.TLS1_VERSION,
    "TLSv1.1": SSL.TLS1_1_VERSION,
    "TLSv1.2": SSL.TLS1_2_VERSION,
    "TLSv1.3": SSL.TLS1_3_VERSION,
}
SUBJECT_MATCHES: Final = ("exact", "ignore_cn", "ignore_ou", "cn_substring", "cn_casefold", "ignore_subject")
IDENTITY_HEADERS: Final = (
    "x-ssl-client-s-dn",
    "x-ssl-client-cn",
    "x-client-cert",
    "x-forwarded-client-cert",
    "ssl_client_s_dn_cn",
)
"""Headers a misconfigured editor app trusts to say who the client is (lower case)."""

CONVERSATION_DEADLINE: Final = 10.0
"""Seconds for handshake + request: SAS gives up after 7 s, a slow client must not hold a worker."""
SEND_DEADLINE: Final = 5.0
LINGER: Final = 1.0
"""Seconds to drain the client after our FIN, so that a close never turns into a RST that could
destroy the alert or the answer before the client reads it."""
MAX_HEADER_BYTES: Final = 64 * 1024
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_WORKERS: Final = 32
ACCEPT_POLL: Final = 0.2
"""How often a saturated accept loop looks at stop(); an idle one is woken at once."""
LOG_SIZE: Final = 512
OCSP_TIMEOUT: Final = 3.0


_VERIFY_ERRORS: Final[Mapping[int, str]] = {
    2: "unable to get issuer certificate",
    3: "unable to get certificate CRL",
    7: "certificate signature failure",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    11: "CRL is not yet valid",
    12: "CRL has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
    23: "certificate revoked",
    24: "invalid CA certificate",
    25: "path length constraint exceeded",
    26: "unsupported certificate purpose",
    66: "EE certificate key too weak",
    67: "CA certificate key too weak",
    68: "CA signature digest algorithm too weak",
}


@dataclass(frozen=True)
class Policy:
    """What the reference server checks; every default is the right behaviour for an editor.

    ``allowed_subjects`` comes from ``environments.accepted_subjects(editor_env, mapping)`` and
    ``trusted_cas`` holds the root and intermediate of the one hierarchy that editor environment
    trusts. With ``check_crl`` and no CRL for some CA of the chain, everyone is refused (as nginx
    and HAProxy do): that is a usable "positive control fails" target, not a bug.
    """

    allowed_subjects: tuple[SasSubject, ...]
    trusted_cas: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    check_crl: bool = True
    check_ocsp: bool = True
    min_tls: str = "TLSv1.2"
    verify_client: bool = True
    require_client_cert: bool = True
    subject_match: str = "exact"
    check_profile: bool = True
    trust_identity_headers: bool = False
    client_ca_names: tuple[x509.Name, ...] | None = None

    def __post_init__(self) -> None:
        # Accept lists from callers, keep the dataclass hashable and immutable.
        for name in ("allowed_subjects", "trusted_cas", "crls", "client_ca_names"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if self.min_tls not in TLS_VERSIONS:
            raise UsageError(
                f"Policy.min_tls: unknown TLS version {self.min_tls!r} "
                f"(expected one of: {', '.join(TLS_VERSIONS)})"
            )
        if self.subject_match not in SUBJECT_MATCHES:
            raise UsageError(
                f"Policy.subject_match: unknown mode {self.subject_match!r} "
                f"(expected one of: {', '.join(SUBJECT_MATCHES)})"
            )
        if not self.trusted_cas:
            raise UsageError("Policy.trusted_cas: at least one CA certificate is needed")

    @property
    def advertised_ca_names(self) -> tuple[x509.Name, ...]:
        """The CA names sent in the CertificateRequest."""
        if self.client_ca_names is not None:
            return self.client_ca_names
        return tuple(ca.subject for ca in self.trusted_cas)


@dataclass(frozen=True)
class PeerIdentity:
    """Who the server believes the client is, and where that belief comes from.

    ``source`` is ``"tls"`` for the certificate subject, or the header name when a broken
    ``trust_identity_headers`` policy let a request header speak for the client.
    """

    subject: str
    cns: tuple[str, ...]
    ous: tuple[str, ...]
    source: str = "tls"

    @classmethod
    def from_name(cls, name: x509.Name, *, source: str = "tls") -> PeerIdentity:
        return cls(
            subject=name.rfc4514_string(),
            cns=tuple(str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)),
            ous=tuple(str(a.value) for a in name.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)),
            source=source,
        )


def subject_allowed(identity: PeerIdentity, allowed: Iterable[SasSubject], mode: str = "exact") -> bool:
    """Whether ``identity`` passes the subject check in ``mode``.

    ``exact`` is the right check: one CN and one OU, equal letter for letter (no case folding, no
    trimming) to the CN *and* OU of the same allowed subject. The other modes are the classic
    mistakes, each loosening exactly one thing.
    """
    one_cn = identity.cns[0] if len(identity.cns) == 1 else None
    one_ou = identity.ous[0] if len(identity.ous) == 1 else None
    for subject in allowed:
        if mode == "exact":
            ok = one_cn == subject.cn and one_ou == subject.ou
        elif mode == "ignore_cn":
            ok = one_ou == subject.ou
        elif mode == "ignore_ou":
            ok = one_cn == subject.cn
        elif mode == "cn_substring":
            ok = one_cn is not None and subject.cn in one_cn and one_ou == subject.ou
        elif mode == "ignore_subject":
            ok = True  # broken on purpose: trusts any subject the CA chain vouches for
        elif mode == "cn_casefold":
            ok = one_cn is not None and one_cn.casefold() == subject.cn.casefold() and one_ou == subject.ou
        else:
            raise UsageError(f"subject_match: unknown mode {mode!r}")
        if ok:
            return True
    return False


def profile_problem(cert: x509.Certificate) -> str | None:
    """Why ``cert`` is not an AUTH_CLI-like client certificate, or ``None`` if it is.

    OpenSSL's own checks depend on the security level (lowered for TLS 1.0) and accept a leaf
    without EKU, so the application states the profile itself: the first blocking finding of the
    one AUTH_CLI judgement (``pki/profile.py``) that ``cert check`` shows in full.
    """
    blocking = first_blocking(profile_findings(cert))
    return None if blocking is None else f"client certificate: {blocking.message}"


class OcspChecker:
    """Application-level OCSP with hard fail, and a per-instance cache of good answers.

    Hard fail because a soft-failing check is no check: blocking the responder would be enough to
    get a revoked certificate through. Only good answers are cached (for the server's lifetime):
    the suite revokes certificates by issuing new ones, never by changing a known serial's status.
    How an answer is judged is ``pki/revocation.py``'s, shared with the client-role rules.
    """

    def __init__(self, *, timeout: float = OCSP_TIMEOUT) -> None:
        self._timeout = timeout
        self._good: set[tuple[bytes, int]] = set()
        self._lock = threading.Lock()

    def problem(self, cert: x509.Certificate, issuer: x509.Certificate | None) -> str | None:
        if issuer is None:
            return "OCSP: the issuing CA of the client certificate is unknown"
        url = ocsp_url(cert)
        if url is None:
            return "OCSP: the client certificate names no OCSP responder"
        key = (issuer.fingerprint(hashes.SHA256()), cert.serial_number)
        with self._lock:
            if key in self._good:
                return None
        try:
            status = revocation.query_ocsp(url, cert, issuer, timeout=self._timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return f"OCSP: no valid answer from {url}: {exc or type(exc).__name__}"
        except revocation.RevocationProblem as exc:
            return f"OCSP: {exc}"
        if status.state != "good":
            return f"OCSP: client certificate status is {status.state}"
        with self._lock:
            self._good.add(key)
        return None


def identity_from_header(name: str, value: str) -> PeerIdentity | None:
    """What a (broken) app believes when it reads identity header ``name``; ``None`` if unusable."""
    name = name.lower()
    value = value.strip()
    if not value:
        return None
    if name in ("x-ssl-client-cn", "ssl_client_s_dn_cn"):
        return PeerIdentity(subject=f"CN={value}", cns=(value,), ous=(), source=name)
    if name in ("x-client-cert", "x-forwarded-client-cert"):
        cert = _certificate_from_header(value)
        if cert is not None:
            return PeerIdentity.from_name(cert.subject, source=name)
        match = re.search(r'Subject="((?:[^"\\]|\\.)*)"', value)
        if match is None:
            return None
        value = match.group(1)
    cns, ous = _dn_fields(value)
    if not cns and not ous:
        return None
    return PeerIdentity(subject=value, cns=tuple(cns), ous=tuple(ous), source=name)


def _certificate_from_header(value: str) -> x509.Certificate | None:
    match = re.search(r'Cert="([^"]*)"', value)
    text = unquote(match.group(1) if match else value).strip()
    try:
        if "-----BEGIN CERTIFICATE-----" in text:
            return x509.load_pem_x509_certificate(text.encode("ascii", "replace"))
        return x509.load_der_x509_certificate(base64.b64decode(text.strip(":"), validate=True))
    except ValueError:
        return None


def _dn_fields(text: str) -> tuple[list[str], list[str]]:
    """CN and OU values of a DN string, RFC 4514 (``CN=a,OU=b``) or OpenSSL (``/OU=b/CN=a``) style."""
    text = text.strip()
    slash_style = text.startswith("/")
    parts = re.split(r"(?<!\\)/", text[1:]) if slash_style else re.split(r"(?<!\\)[,+]", text)
    cns: list[str] = []
    ous: list[str] = []
    for part in parts:
        key, sep, raw = part.partition("=")
        if not sep:
            continue
        key = key.strip().upper()
        value = re.sub(r"\\(.)", r"\1", raw.strip())
        if key in ("CN", "2.5.4.3"):
            cns.append(value)
        elif key in ("OU", "2.5.4.11"):
            ous.append(value)
    return cns, ous


@functools.cache
def _carrier_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name_carrier(name: x509.Name) -> x509.Certificate:
    """A throwaway certificate whose only use is to carry ``name`` into the CA-names list.

    pyOpenSSL deprecates its ``X509Name`` type (so ``set_client_ca_list``), and
    ``add_client_ca`` takes certificates only; OpenSSL copies just the subject.
    """
    key = _carrier_key()
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


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
            leaf, ca_pem = self._server_identity()
            (tmpdir / "server-ca.pem").write_bytes(ca_pem)
            self._context = self._make_context(leaf)
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

    def _server_identity(self) -> tuple[trustme.LeafCert, bytes]:
        if self._server_cert is not None and self._server_ca is not None:
            return self._server_cert, self._server_ca.cert_pem.bytes()
        ca = trustme.CA()
        identities = [self._server_name, "127.0.0.1"]
        try:
            if not ipaddress.ip_address(self._host).is_unspecified:
                identities.append(self._host)
        except ValueError:
            identities.append(self._host)
        return ca.issue_cert(*dict.fromkeys(identities)), ca.cert_pem.bytes()

    def _make_context(self, leaf: trustme.LeafCert) -> SSL.Context:
        policy = self.policy
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        version = TLS_VERSIONS[policy.min_tls]
        ctx.set_min_proto_version(version)
        if version < SSL.TLS1_2_VERSION:
            # Without security level 0, OpenSSL 3+ has no cipher suite TLS 1.0/1.1 can use.
            ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
        # Every attempt must be a full handshake: a resumed session would skip the client checks.
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        ctx.set_session_id(b"recette-sas-reference")

        key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise UsageError("ReferenceServer: server key must be RSA or EC")
        ctx.use_privatekey(key)
        pems = [blob.bytes() for blob in leaf.cert_chain_pems]
        ctx.use_certificate(x509.load_pem_x509_certificate(pems[0]))
        for pem in pems[1:]:
            ctx.add_extra_chain_cert(x509.load_pem_x509_certificate(pem))
        ctx.check_privatekey()

        mode = SSL.VERIFY_PEER
        if policy.require_client_cert:
            mode |= SSL.VERIFY_FAIL_IF_NO_PEER_CERT
        ctx.set_verify(mode, self._verify_callback)
        ctx.set_verify_depth(5)
        store = ctx.get_cert_store()
        if store is None:
            raise RuntimeError("pyOpenSSL context has no certificate store")
        for ca in policy.trusted_cas:
            store.add_cert(crypto.X509.from_cryptography(ca))
        if policy.check_crl:
            for crl in policy.crls:
                store.add_crl(crl)
            store.set_flags(crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL)
        if policy.client_ca_names is None:
            for ca in policy.trusted_cas:
                ctx.add_client_ca(ca)
        else:
            for name in policy.client_ca_names:
                ctx.add_client_ca(_name_carrier(name))
        return ctx

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
                        "error": _VERIFY_ERRORS.get(errnum, f"X509_V_ERR {errnum}"),
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

    def _authorize(
        self,
        conn: SSL.Connection,
        peer: x509.Certificate | None,
        request: _Request,
        entry: dict[str, Any],
    ) -> None:
        """The application checks, in the order that reports the most precise reason."""
        policy = self.policy
        if peer is None:
            raise _refuse("no client certificate")
        identity = self._identity(peer, request.headers)
        self.last_identity = identity
        entry.update(identity=identity.subject, identity_source=identity.source)
        if not policy.verify_client:
            return
        if policy.check_profile and (problem := profile_problem(peer)) is not None:
            raise _refuse(problem)
        if policy.check_ocsp:
            verified = conn.get_verified_chain(as_cryptography=True) or []
            issuer = verified[1] if len(verified) > 1 else find_issuer(peer, policy.trusted_cas)
            if (problem := self._ocsp.problem(peer, issuer)) is not None:
                raise _refuse(problem)
        if not subject_allowed(identity, policy.allowed_subjects, policy.subject_match):
            # The expected subject is not told to the client: the log has what was presented.
            raise _refuse("client certificate subject is not allowed")

    def _identity(self, peer: x509.Certificate, headers: Mapping[str, str]) -> PeerIdentity:
        tls = PeerIdentity.from_name(peer.subject)
        if not self.policy.trust_identity_headers:
            return tls
        for name in IDENTITY_HEADERS:
            value = headers.get(name)
            claimed = identity_from_header(name, value) if value else None
            if claimed is not None:
                return PeerIdentity(
                    subject=claimed.subject,
                    cns=claimed.cns or tls.cns,
                    ous=claimed.ous or tls.ous,
                    source=claimed.source,
                )
        return tls


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
