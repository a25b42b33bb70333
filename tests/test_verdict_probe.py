"""The probe against real servers on 127.0.0.1: every Outcome is produced by a live handshake.

No mocks: each scenario starts a loopback server (stdlib ``ssl`` or pyOpenSSL, certificates from
trustme), makes one real attempt, and keeps the ``Attempt``. Scenarios run once per module and the
parametrized test at the end checks every attempt they produced, so "unclassified" can never hide.
"""

from __future__ import annotations

import json
import select
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trustme
from cryptography import x509
from OpenSSL import SSL

from recette_sas.identity import Identity
from recette_sas.probe._wire import client_hello_versions
from recette_sas.probe.attempt import attempt, client_context
from recette_sas.probe.certrequest import read_certificate_request
from recette_sas.probe.endpoint import LEGACY_CIPHERS, Endpoint, HttpRequest, ProbeSetupError, TlsVersion
from recette_sas.verdict import (
    REFUSAL_STATUSES,
    Attempt,
    Outcome,
    VerdictUnavailable,
    classify,
    root_cause,
)

SERVER_NAME = "recette.test"
FAST = 0.5
Handler = Callable[[socket.socket, threading.Event], None]


@dataclass
class TlsPki:
    ca: trustme.CA
    other_ca: trustme.CA
    ca_file: Path
    other_ca_file: Path
    server_cert: trustme.LeafCert
    server_chain_file: Path
    server_key_file: Path
    good: Identity
    untrusted: Identity
    mismatched_key: Identity


def _identity(
    label: str, leaf: trustme.LeafCert, directory: Path, *, key_from: trustme.LeafCert | None = None
) -> Identity:
    certfile = directory / f"{label}.crt"
    keyfile = directory / f"{label}.key"
    leaf.cert_chain_pems[0].write_to_path(certfile)
    (key_from or leaf).private_key_pem.write_to_path(keyfile)
    return Identity(
        label=label,
        leaf=x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()),
        chain=(),
        certfile=certfile,
        keyfile=keyfile,
    )


@pytest.fixture(scope="module")
def tls_pki(tmp_path_factory: pytest.TempPathFactory) -> TlsPki:
    directory = tmp_path_factory.mktemp("pki")
    ca, other_ca = trustme.CA(), trustme.CA()
    ca.cert_pem.write_to_path(directory / "ca.pem")
    other_ca.cert_pem.write_to_path(directory / "other-ca.pem")
    server_cert = ca.issue_cert(SERVER_NAME)
    server_cert.cert_chain_pems[0].write_to_path(directory / "server.crt")
    server_cert.private_key_pem.write_to_path(directory / "server.key")
    good = ca.issue_cert("sas-agregateur-recette.test")
    return TlsPki(
        ca=ca,
        other_ca=other_ca,
        ca_file=directory / "ca.pem",
        other_ca_file=directory / "other-ca.pem",
        server_cert=server_cert,
        server_chain_file=directory / "server.crt",
        server_key_file=directory / "server.key",
        good=_identity("valide", good, directory),
        untrusted=_identity("autre-ac", other_ca.issue_cert("sas-agregateur-recette.test"), directory),
        mismatched_key=_identity("cle-etrangere", good, directory, key_from=server_cert),
    )


def stdlib_server_context(
    tls_pki: TlsPki,
    *,
    verify: ssl.VerifyMode = ssl.CERT_REQUIRED,
    minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = minimum
        ctx.maximum_version = maximum
    if minimum < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers(LEGACY_CIPHERS)
    tls_pki.server_cert.configure_cert(ctx)
    tls_pki.ca.configure_trust(ctx)
    ctx.verify_mode = verify
    return ctx


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def answering(ctx: ssl.SSLContext, status: int = 200, body: bytes = b'{"resourceType":"Bundle"}') -> Handler:
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            _read_head(tls)
            head = f"HTTP/1.1 {status} X\r\nContent-Type: application/fhir+json\r\n"
            head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            tls.sendall(head.encode() + body)

    return handle


def closing_after_handshake(ctx: ssl.SSLContext) -> Handler:
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            _read_head(tls)

    return handle


def silent_after_handshake(ctx: ssl.SSLContext) -> Handler:
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with ctx.wrap_socket(conn, server_side=True):
            stop.wait(5)

    return handle


def plain_http(conn: socket.socket, stop: threading.Event) -> None:
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def _pump(operation: Callable[[], object], sock: socket.socket, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            operation()
            return
        except SSL.WantReadError:
            select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
    raise TimeoutError("pyOpenSSL server: no progress")


def pyopenssl_requiring(tls_pki: TlsPki, version: int, client_cas: tuple[trustme.CA, ...]) -> Handler:
    """A server that asks for a client certificate and names its accepted CAs (as nginx does)."""
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_min_proto_version(version)
    ctx.set_max_proto_version(version)
    ctx.use_certificate_chain_file(str(tls_pki.server_chain_file))
    ctx.use_privatekey_file(str(tls_pki.server_key_file))
    ctx.load_verify_locations(str(tls_pki.ca_file))
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT)
    for ca in client_cas:
        ctx.add_client_ca(x509.load_pem_x509_certificate(ca.cert_pem.bytes()))

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        conn.setblocking(False)
        tls = SSL.Connection(ctx, conn)
        tls.set_accept_state()
        _pump(tls.do_handshake, conn, time.monotonic() + 2)

    return handle


class LoopbackServer:
    """One listener on 127.0.0.1 (ephemeral port), connections handled one at a time in one thread.

    Without a handler the listener never accepts: the kernel completes TCP, nobody speaks.
    """

    def __init__(self, handler: Handler | None) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._handler = handler
        self._stop = threading.Event()
        self.errors: list[BaseException] = []
        self._thread: threading.Thread | None = None
        if handler is not None:
            self._thread = threading.Thread(target=self._serve, name=f"loopback-{self.port}", daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        assert self._handler is not None
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2.0)
                try:
                    self._handler(conn, self._stop)
                except Exception as exc:
                    self.errors.append(exc)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            assert not self._thread.is_alive(), "loopback server thread did not stop"
        self._listener.close()


@dataclass
class Lab:
    tls_pki: TlsPki
    server_errors: dict[str, list[BaseException]] = field(default_factory=dict)
    current: str = ""

    def endpoint(self, port: int, *, ca_file: Path | None = None, server_name: str = SERVER_NAME) -> Endpoint:
        return Endpoint(
            host="127.0.0.1",
            port=port,
            server_name=server_name,
            ca_file=ca_file or self.tls_pki.ca_file,
            label="loopback",
            connect_timeout=FAST,
            read_timeout=FAST,
        )

    @contextmanager
    def serving(self, handler: Handler | None) -> Iterator[LoopbackServer]:
        server = LoopbackServer(handler)
        try:
            yield server
        finally:
            server.close()
            self.server_errors[self.current] = server.errors

    def attempt_on(
        self,
        handler: Handler | None,
        *,
        identity: Identity | None = None,
        tls_version: TlsVersion | None = None,
        ciphers: str | None = None,
        ca_file: Path | None = None,
        server_name: str = SERVER_NAME,
    ) -> Attempt:
        with self.serving(handler) as server:
            return attempt(
                self.endpoint(server.port, ca_file=ca_file, server_name=server_name),
                HttpRequest(method="GET", path="/metadata", headers=(("Accept", "application/fhir+json"),)),
                identity=identity,
                tls_version=tls_version,
                ciphers=ciphers,
            )


Scenario = Callable[[Lab], Attempt]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[name] = fn
        return fn

    return register


@scenario("accepted-modern")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(answering(stdlib_server_context(lab.tls_pki)), identity=lab.tls_pki.good)


@scenario("accepted-tls12")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(
        answering(stdlib_server_context(lab.tls_pki)),
        identity=lab.tls_pki.good,
        tls_version=TlsVersion.TLSv1_2,
    )


@scenario("accepted-404-is-not-a-refusal")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(
        answering(stdlib_server_context(lab.tls_pki), status=404), identity=lab.tls_pki.good
    )


@scenario("refused-tls12-untrusted-cert")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki)
    return lab.attempt_on(answering(ctx), identity=lab.tls_pki.untrusted, tls_version=TlsVersion.TLSv1_2)


@scenario("refused-tls13-untrusted-cert")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki)
    return lab.attempt_on(answering(ctx), identity=lab.tls_pki.untrusted, tls_version=TlsVersion.TLSv1_3)


@scenario("refused-tls12-no-cert")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(answering(stdlib_server_context(lab.tls_pki)), tls_version=TlsVersion.TLSv1_2)


@scenario("refused-tls13-no-cert")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(answering(stdlib_server_context(lab.tls_pki)), tls_version=TlsVersion.TLSv1_3)


@scenario("refused-closed-after-handshake")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki, verify=ssl.CERT_NONE)
    return lab.attempt_on(closing_after_handshake(ctx), identity=lab.tls_pki.good)


@scenario("refused-http-403")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki, verify=ssl.CERT_NONE)
    return lab.attempt_on(answering(ctx, status=403, body=b"{}"), identity=lab.tls_pki.untrusted)


@scenario("refused-http-400-nginx-style")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki, verify=ssl.CERT_NONE)
    body = b"<html><center>No required SSL certificate was sent</center></html>"
    return lab.attempt_on(answering(ctx, status=400, body=body))


@scenario("unreachable-closed-port")
def _(lab: Lab) -> Attempt:
    with socket.create_server(("127.0.0.1", 0)) as probe_port:
        port = probe_port.getsockname()[1]
    return attempt(lab.endpoint(port), HttpRequest(), identity=lab.tls_pki.good)


@scenario("unreachable-silent-listener")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(None, identity=lab.tls_pki.good)


@scenario("unreachable-no-answer-after-handshake")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(
        silent_after_handshake(stdlib_server_context(lab.tls_pki)), identity=lab.tls_pki.good
    )


@scenario("unreachable-plain-http-port")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(plain_http, identity=lab.tls_pki.good)


@scenario("fault-server-not-trusted")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(
        answering(stdlib_server_context(lab.tls_pki)),
        identity=lab.tls_pki.good,
        ca_file=lab.tls_pki.other_ca_file,
    )


@scenario("fault-server-name-mismatch")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(
        answering(stdlib_server_context(lab.tls_pki)), identity=lab.tls_pki.good, server_name="autre.test"
    )


@scenario("sslv3-refused-by-tls12-server")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(
        answering(stdlib_server_context(lab.tls_pki)), identity=lab.tls_pki.good, tls_version=TlsVersion.SSLv3
    )


def python_default_ciphers() -> str:
    """The TLS 1.2-and-below cipher list a fresh ``ssl`` client context uses (it excludes SHA-1)."""
    suites = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).get_ciphers()
    return ":".join(s["name"] for s in suites if s["protocol"] != "TLSv1.3")


@scenario("fault-tls10-python-default-ciphers")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki, minimum=ssl.TLSVersion.TLSv1)
    return lab.attempt_on(
        answering(ctx),
        identity=lab.tls_pki.good,
        tls_version=TlsVersion.TLSv1,
        ciphers=python_default_ciphers(),
    )


@scenario("fault-tls10-openssl-default-seclevel")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki, minimum=ssl.TLSVersion.TLSv1)
    return lab.attempt_on(
        answering(ctx), identity=lab.tls_pki.good, tls_version=TlsVersion.TLSv1, ciphers="DEFAULT"
    )


@scenario("fault-key-does-not-match-certificate")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(answering(stdlib_server_context(lab.tls_pki)), identity=lab.tls_pki.mismatched_key)


@scenario("fault-tls11-probe-server-answers-tls10")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki, minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1)
    return lab.attempt_on(answering(ctx), identity=lab.tls_pki.good, tls_version=TlsVersion.TLSv1_1)


@scenario("tls10-accepted")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki, minimum=ssl.TLSVersion.TLSv1)
    return lab.attempt_on(answering(ctx), identity=lab.tls_pki.good, tls_version=TlsVersion.TLSv1)


@scenario("tls10-refused-by-tls12-server")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(
        answering(stdlib_server_context(lab.tls_pki)), identity=lab.tls_pki.good, tls_version=TlsVersion.TLSv1
    )


@scenario("tls11-accepted")
def _(lab: Lab) -> Attempt:
    ctx = stdlib_server_context(lab.tls_pki, minimum=ssl.TLSVersion.TLSv1)
    return lab.attempt_on(answering(ctx), identity=lab.tls_pki.good, tls_version=TlsVersion.TLSv1_1)


@scenario("tls11-refused-by-tls12-server")
def _(lab: Lab) -> Attempt:
    return lab.attempt_on(
        answering(stdlib_server_context(lab.tls_pki)),
        identity=lab.tls_pki.good,
        tls_version=TlsVersion.TLSv1_1,
    )


@pytest.fixture(scope="module")
def run(tls_pki: TlsPki) -> Callable[[str], Attempt]:
    """Each scenario runs once per module; later tests read the same Attempt."""
    lab = Lab(tls_pki)
    done: dict[str, Attempt] = {}

    def get(name: str) -> Attempt:
        if name not in done:
            lab.current = name
            done[name] = SCENARIOS[name](lab)
        return done[name]

    get.lab = lab  # type: ignore[attr-defined]
    return get


def server_error_reasons(run: Callable[[str], Attempt], name: str) -> list[str | None]:
    return [getattr(e, "reason", None) for e in run.lab.server_errors[name]]  # type: ignore[attr-defined]


# --- ACCEPTED -------------------------------------------------------------------------------------


def test_valid_certificate_is_accepted_with_full_evidence(
    run: Callable[[str], Attempt], tls_pki: TlsPki
) -> None:
    a = run("accepted-modern")
    assert a.outcome is Outcome.ACCEPTED, a.reason
    assert a.phase == "done"
    assert (a.http_status, a.content_type) == (200, "application/fhir+json")
    assert a.body_excerpt == '{"resourceType":"Bundle"}'
    assert a.tls_offered == ("TLSv1.2", "TLSv1.3")
    assert a.versions_offered_on_wire == ("TLSv1.3", "TLSv1.2")
    assert a.client_hello_version == "TLSv1.2"
    assert a.tls_negotiated == "TLSv1.3" and a.cipher
    assert a.certificate_sent is not None and a.certificate_sent["sha256"] == tls_pki.good.sha256
    server_leaf = x509.load_pem_x509_certificate(tls_pki.server_cert.cert_chain_pems[0].bytes())
    assert a.server_chain[0]["subject"] == server_leaf.subject.rfc4514_string()
    assert "read certificate_request" in a.tls_messages
    assert a.url == f"https://{SERVER_NAME}:{a.url.split(':')[2]}"
    assert a.alert is None and a.error is None


def test_pinned_tls12_is_accepted_and_offers_only_tls12(run: Callable[[str], Attempt]) -> None:
    a = run("accepted-tls12")
    assert a.outcome is Outcome.ACCEPTED, a.reason
    assert a.versions_offered_on_wire == ("TLSv1.2",) and a.tls_negotiated == "TLSv1.2"


def test_an_ambiguous_404_is_accepted_never_a_refusal(run: Callable[[str], Attempt]) -> None:
    a = run("accepted-404-is-not-a-refusal")
    assert a.outcome is Outcome.ACCEPTED and not a.outcome.is_refusal
    assert a.http_status == 404


# --- REFUSED_TLS ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "alert", "server_reason"),
    [
        ("refused-tls12-untrusted-cert", "TLSV1_ALERT_UNKNOWN_CA", "CERTIFICATE_VERIFY_FAILED"),
        ("refused-tls13-untrusted-cert", "TLSV1_ALERT_UNKNOWN_CA", "CERTIFICATE_VERIFY_FAILED"),
        ("refused-tls12-no-cert", "SSLV3_ALERT_HANDSHAKE_FAILURE", "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
        ("refused-tls13-no-cert", "TLSV13_ALERT_CERTIFICATE_REQUIRED", "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
    ],
)
def test_client_certificate_refusal_is_refused_tls_with_the_alert_kept(
    run: Callable[[str], Attempt], name: str, alert: str, server_reason: str
) -> None:
    a = run(name)
    assert a.outcome is Outcome.REFUSED_TLS, a.reason
    assert a.alert == alert
    assert alert in a.reason
    assert a.http_status is None
    assert server_error_reasons(run, name) == [server_reason]


def test_tls13_refusal_arrives_after_the_client_handshake(run: Callable[[str], Attempt]) -> None:
    """The probe's handshake completed, then reading the answer raised the alert: deciding at the
    end of the handshake would have read this refusal as a success."""
    a = run("refused-tls13-no-cert")
    assert a.tls_negotiated == "TLSv1.3"
    assert a.phase in ("request", "response")
    assert "certificate_required" in a.alerts_received


def test_tls12_refusal_arrives_during_the_handshake(run: Callable[[str], Attempt]) -> None:
    a = run("refused-tls12-no-cert")
    assert a.phase == "handshake" and a.tls_negotiated is None
    assert a.alerts_received == ("handshake_failure",)


def test_close_without_http_answer_is_refused_tls(run: Callable[[str], Attempt]) -> None:
    a = run("refused-closed-after-handshake")
    assert a.outcome is Outcome.REFUSED_TLS, a.reason
    assert a.alert == "connection closed"
    assert a.tls_negotiated == "TLSv1.3"


# --- REFUSED_HTTP ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status"), [("refused-http-403", 403), ("refused-http-400-nginx-style", 400)]
)
def test_refusal_status_after_handshake_is_refused_http(
    run: Callable[[str], Attempt], name: str, status: int
) -> None:
    a = run(name)
    assert a.outcome is Outcome.REFUSED_HTTP, a.reason
    assert a.http_status == status and a.tls_negotiated == "TLSv1.3"


def test_nginx_style_body_is_kept_as_excerpt(run: Callable[[str], Attempt]) -> None:
    assert "No required SSL certificate was sent" in run("refused-http-400-nginx-style").body_excerpt


# --- UNREACHABLE ----------------------------------------------------------------------------------


def test_closed_port_is_unreachable(run: Callable[[str], Attempt]) -> None:
    a = run("unreachable-closed-port")
    assert a.outcome is Outcome.UNREACHABLE, a.reason
    assert a.phase == "connect" and a.client_hello_version is None
    assert a.error is not None and "ConnectionRefusedError" in a.error


def test_listener_that_never_speaks_gives_no_answer_after_the_timeout(run: Callable[[str], Attempt]) -> None:
    a = run("unreachable-silent-listener")
    assert a.outcome is Outcome.NO_ANSWER, a.reason
    assert a.phase == "handshake" and a.client_hello_version == "TLSv1.2"
    assert FAST * 1000 <= a.duration_ms < FAST * 1000 + 1000


def test_no_answer_after_handshake_is_no_answer_not_refused(run: Callable[[str], Attempt]) -> None:
    a = run("unreachable-no-answer-after-handshake")
    assert a.outcome is Outcome.NO_ANSWER, a.reason
    assert a.phase == "response" and a.tls_negotiated == "TLSv1.3"
    assert "no HTTP answer before the read timeout" in a.reason


def test_plain_http_port_answering_400_is_not_a_refusal(run: Callable[[str], Attempt]) -> None:
    a = run("unreachable-plain-http-port")
    assert a.outcome is Outcome.UNREACHABLE, a.reason
    assert a.http_status is None and "WRONG_VERSION_NUMBER" in a.reason


# --- PROBE_FAULT ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fault-server-not-trusted", "fault-server-name-mismatch"])
def test_server_the_probe_cannot_verify_is_a_probe_fault(run: Callable[[str], Attempt], name: str) -> None:
    a = run(name)
    assert a.outcome is Outcome.PROBE_FAULT, a.reason
    assert "could not verify the server certificate" in a.reason
    assert a.server_chain, "the chain the server sent is still reported"


def test_sslv3_goes_to_tlslite_and_is_refused_with_proof_of_offer(run: Callable[[str], Attempt]) -> None:
    """This OpenSSL cannot offer SSL 3.0 (the stdlib context says so); ``attempt`` hands it to tlslite-ng,
    whose ClientHello on the wire is the evidence, as for TLS 1.0."""
    with pytest.raises(ProbeSetupError, match=r"SSL 3\.0 cannot be offered by this OpenSSL build"):
        client_context(
            Endpoint(host="127.0.0.1", port=1, server_name="x", ca_file=None), tls_version=TlsVersion.SSLv3
        )
    a = run("sslv3-refused-by-tls12-server")
    assert not ssl.HAS_SSLv3
    assert a.outcome is Outcome.REFUSED_TLS, a.reason
    assert a.client_hello_version == "SSLv3" and a.versions_offered_on_wire == ("SSLv3",)
    assert a.tls_negotiated is None and a.alerts_received


def test_tls10_with_python_default_ciphers_sends_nothing_and_is_a_probe_fault(
    run: Callable[[str], Attempt],
) -> None:
    """Same server that accepts TLS 1.0 (see tls10-accepted): only the cipher string differs."""
    a = run("fault-tls10-python-default-ciphers")
    assert a.outcome is Outcome.PROBE_FAULT, a.reason
    assert "could not offer TLS 1.0" in a.reason
    assert a.client_hello_version is None
    assert "write client_hello" not in a.tls_messages
    assert a.alerts_sent == ("internal_error",), "OpenSSL still writes an internal_error alert"
    assert a.error is not None and "NO_CIPHERS_AVAILABLE" in a.error


def test_tls10_at_openssl_default_seclevel_aborts_on_the_probe_side(run: Callable[[str], Attempt]) -> None:
    """The ClientHello does offer TLS 1.0 and the server accepts it, but the probe then rejects
    the server's SHA-1 signature and aborts: a TLS error that is not a refusal."""
    a = run("fault-tls10-openssl-default-seclevel")
    assert a.outcome is Outcome.PROBE_FAULT, a.reason
    assert a.client_hello_version == "TLSv1"
    assert "LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED" in a.reason
    assert a.alerts_sent and not a.alerts_received


def test_unloadable_client_key_is_a_probe_fault(run: Callable[[str], Attempt]) -> None:
    a = run("fault-key-does-not-match-certificate")
    assert a.outcome is Outcome.PROBE_FAULT and a.phase == "setup"
    assert a.error is not None and "KEY_VALUES_MISMATCH" in a.error


def test_server_choosing_a_lower_version_is_not_a_refusal(run: Callable[[str], Attempt]) -> None:
    a = run("fault-tls11-probe-server-answers-tls10")
    assert a.outcome is Outcome.PROBE_FAULT, a.reason
    assert a.client_hello_version == "TLSv1.1"


# --- legacy versions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "version"), [("tls10-accepted", "TLSv1"), ("tls11-accepted", "TLSv1.1")])
def test_legacy_probe_really_offers_and_negotiates_the_old_version(
    run: Callable[[str], Attempt], name: str, version: str
) -> None:
    a = run(name)
    assert a.outcome is Outcome.ACCEPTED, a.reason
    assert a.client_hello_version == version
    assert a.versions_offered_on_wire == (version,)
    assert a.tls_negotiated == version


@pytest.mark.parametrize(
    ("name", "version"),
    [("tls10-refused-by-tls12-server", "TLSv1"), ("tls11-refused-by-tls12-server", "TLSv1.1")],
)
def test_legacy_probe_refused_by_modern_server(
    run: Callable[[str], Attempt], name: str, version: str
) -> None:
    a = run(name)
    assert a.outcome is Outcome.REFUSED_TLS, a.reason
    assert a.alert == "TLSV1_ALERT_PROTOCOL_VERSION"
    assert a.client_hello_version == version
    assert a.alerts_received == ("protocol_version",)


# --- every attempt is classified ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_attempt_has_exactly_one_known_outcome(run: Callable[[str], Attempt], name: str) -> None:
    a = run(name)
    assert isinstance(a.outcome, Outcome) and a.outcome in set(Outcome)
    assert a.reason.strip() and "unclassified" not in a.reason.lower()
    if a.outcome is not Outcome.ACCEPTED and a.outcome is not Outcome.REFUSED_HTTP:
        assert a.http_status is None
    assert len(a.body_excerpt) <= 500
    text = json.dumps(a.to_dict())
    assert "PRIVATE KEY" not in text and json.loads(text)["outcome"] == a.outcome.value


def test_every_outcome_was_produced_by_a_real_server(run: Callable[[str], Attempt]) -> None:
    assert {run(name).outcome for name in SCENARIOS} == set(Outcome)


# --- classify() directly: root causes, wrappers, statuses -----------------------------------------


def _ssl_error(reason: str, cls: type[ssl.SSLError] = ssl.SSLError) -> ssl.SSLError:
    err = cls(1, f"[SSL: {reason}] ({reason.lower()})")
    err.reason = reason
    err.library = "SSL"
    return err


def test_no_ciphers_available_before_the_client_hello_is_a_probe_fault() -> None:
    outcome, reason = classify(phase="handshake", error=_ssl_error("NO_CIPHERS_AVAILABLE"))
    assert outcome is Outcome.PROBE_FAULT and "NO_CIPHERS_AVAILABLE" in reason
    outcome, reason = classify(
        phase="handshake", error=_ssl_error("NO_CIPHERS_AVAILABLE"), pinned_version="TLSv1"
    )
    assert outcome is Outcome.PROBE_FAULT and "could not offer TLS 1.0" in reason


def test_a_pin_not_seen_on_the_wire_is_a_probe_fault_whatever_the_server_did() -> None:
    outcome, reason = classify(
        phase="handshake",
        error=_ssl_error("TLSV1_ALERT_PROTOCOL_VERSION"),
        client_hello_sent=True,
        pinned_version="TLSv1",
        offered_on_wire=("TLSv1.3", "TLSv1.2"),
    )
    assert outcome is Outcome.PROBE_FAULT and "could not offer TLS 1.0" in reason


@pytest.mark.parametrize("wrapper", [httpx.ConnectError, httpx.ReadError])
def test_classification_follows_the_cause_not_the_wrapper(wrapper: type[httpx.TransportError]) -> None:
    alert = _ssl_error("TLSV13_ALERT_CERTIFICATE_REQUIRED")
    try:
        try:
            raise alert
        except ssl.SSLError as exc:
            raise wrapper("wrapped") from exc
    except httpx.TransportError as wrapped:
        assert root_cause(wrapped) is alert
        outcome, reason = classify(
            phase="response", error=wrapped, client_hello_sent=True, server_sent_tls=True
        )
    assert outcome is Outcome.REFUSED_TLS and "TLSV13_ALERT_CERTIFICATE_REQUIRED" in reason


def test_certificate_verification_failure_is_never_a_refusal() -> None:
    err = ssl.SSLCertVerificationError(1, "certificate verify failed")
    err.reason, err.verify_code, err.verify_message = "CERTIFICATE_VERIFY_FAILED", 20, "unable to get issuer"
    outcome, _ = classify(phase="handshake", error=err, client_hello_sent=True, server_sent_tls=True)
    assert outcome is Outcome.PROBE_FAULT


@pytest.mark.parametrize(
    ("error", "sent", "spoke", "expected"),
    [
        (ConnectionResetError(104, "reset"), True, False, Outcome.UNREACHABLE),
        (ConnectionResetError(104, "reset"), True, True, Outcome.REFUSED_TLS),
        (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), True, False, Outcome.REFUSED_TLS),
        (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), False, False, Outcome.UNREACHABLE),
        (TimeoutError("timed out"), True, True, Outcome.NO_ANSWER),
        (TimeoutError("timed out"), True, False, Outcome.NO_ANSWER),
        (ValueError("something new"), True, True, Outcome.PROBE_FAULT),
        (None, True, True, Outcome.PROBE_FAULT),
    ],
)
def test_closures_timeouts_and_unknowns(
    error: BaseException | None, sent: bool, spoke: bool, expected: Outcome
) -> None:
    outcome, reason = classify(phase="handshake", error=error, client_hello_sent=sent, server_sent_tls=spoke)
    assert outcome is expected and reason


@pytest.mark.parametrize("status", sorted(REFUSAL_STATUSES))
def test_refusal_statuses(status: int) -> None:
    assert classify(phase="done", http_status=status)[0] is Outcome.REFUSED_HTTP


@pytest.mark.parametrize("status", [200, 201, 204, 302, 404, 422, 500, 503])
def test_other_statuses_are_accepted(status: int) -> None:
    assert classify(phase="done", http_status=status)[0] is Outcome.ACCEPTED


def test_connect_and_setup_failures() -> None:
    assert (
        classify(phase="connect", error=socket.gaierror(-2, "Name or service not known"))[0]
        is Outcome.UNREACHABLE
    )
    assert classify(phase="connect", error=TimeoutError("timed out"))[0] is Outcome.UNREACHABLE
    assert classify(phase="setup", error=FileNotFoundError("client.key"))[0] is Outcome.PROBE_FAULT


def test_only_the_two_refusals_are_refusals_and_unavailable_is_not_an_assertion() -> None:
    assert {o for o in Outcome if o.is_refusal} == {Outcome.REFUSED_TLS, Outcome.REFUSED_HTTP}
    assert not issubclass(VerdictUnavailable, AssertionError)
    assert [o.value for o in Outcome] == [
        "accepte",
        "refuse_tls",
        "refuse_http",
        "injoignable",
        "sans_reponse",
        "defaut_sonde",
    ]


def test_client_hello_parser_reads_supported_versions_over_legacy_version() -> None:
    # legacy_version 0x0303, empty session id, one suite, null compression, supported_versions [1.3]
    body = b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    ext = b"\x00\x2b\x00\x03\x02\x03\x04"
    body += len(ext).to_bytes(2, "big") + ext
    msg = b"\x01" + len(body).to_bytes(3, "big") + body
    assert client_hello_versions(msg) == ("TLSv1.2", ("TLSv1.3",))
    assert client_hello_versions(msg[:30]) == ("TLSv1.2", ())


# --- read_certificate_request ---------------------------------------------------------------------


def _ca_name(ca: trustme.CA) -> str:
    return x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject.rfc4514_string()


@pytest.mark.parametrize(
    ("version", "pinned", "alert"),
    [
        (SSL.TLS1_2_VERSION, TlsVersion.TLSv1_2, "handshake_failure"),
        (SSL.TLS1_3_VERSION, TlsVersion.TLSv1_3, "certificate_required"),
    ],
)
def test_read_certificate_request_returns_the_ca_names_the_server_sent(
    tls_pki: TlsPki, version: int, pinned: TlsVersion, alert: str
) -> None:
    server = LoopbackServer(pyopenssl_requiring(tls_pki, version, (tls_pki.ca, tls_pki.other_ca)))
    try:
        endpoint = Endpoint(
            host="127.0.0.1", port=server.port, server_name=SERVER_NAME, ca_file=tls_pki.ca_file
        )
        info = read_certificate_request(endpoint, tls_version=pinned, timeout=2.0)
    finally:
        server.close()
    assert info.requested, info
    assert info.ca_names == (_ca_name(tls_pki.ca), _ca_name(tls_pki.other_ca))
    assert info.tls_negotiated == pinned.value
    assert info.alert == alert


@pytest.mark.parametrize(("verify", "requested"), [(ssl.CERT_REQUIRED, True), (ssl.CERT_NONE, False)])
def test_read_certificate_request_against_a_stdlib_server(
    tls_pki: TlsPki, verify: ssl.VerifyMode, requested: bool
) -> None:
    """A stdlib server asks with an empty CA list: 'requested' must not depend on the list."""
    server = LoopbackServer(answering(stdlib_server_context(tls_pki, verify=verify)))
    try:
        endpoint = Endpoint(
            host="127.0.0.1", port=server.port, server_name=SERVER_NAME, ca_file=tls_pki.ca_file
        )
        info = read_certificate_request(endpoint, tls_version=TlsVersion.TLSv1_2, timeout=2.0)
    finally:
        server.close()
    assert info.requested is requested, info
    assert info.ca_names == ()


# --- the environment cannot steer the probe -------------------------------------------------------


def test_ssl_cert_file_and_keylog_env_are_ignored(
    tls_pki: TlsPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pointing SSL_CERT_FILE at the test CA must not make the system-trust probe trust the
    server, and SSLKEYLOGFILE must not receive secrets."""
    keylog = tmp_path / "keys.log"
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_pki.ca_file))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    server = LoopbackServer(answering(stdlib_server_context(tls_pki)))
    try:
        endpoint = Endpoint(
            host="127.0.0.1",
            port=server.port,
            server_name=SERVER_NAME,
            connect_timeout=FAST,
            read_timeout=FAST,
        )
        a = attempt(endpoint, HttpRequest(), identity=tls_pki.good)
    finally:
        server.close()
    assert a.outcome is Outcome.PROBE_FAULT, a.reason
    assert "could not verify the server certificate" in a.reason
    assert not keylog.exists()


def test_request_bytes_carry_host_close_and_length_and_refuse_injection() -> None:
    endpoint = Endpoint(host="127.0.0.1", port=8443, server_name=SERVER_NAME)
    request = HttpRequest(
        method="POST",
        path="/fhir/Practitioner?_format=json",
        headers=(("Content-Type", "application/fhir+json"), ("Connection", "keep-alive")),
        body=b"{}",
    )
    head, _, body = request.encode(endpoint.authority).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /fhir/Practitioner?_format=json HTTP/1.1"
    assert f"Host: {SERVER_NAME}:8443" in lines
    assert "Connection: close" in lines and "Connection: keep-alive" not in lines
    assert "Content-Length: 2" in lines and body == b"{}"
    assert Endpoint(host="::1", port=443, server_name="::1").authority == "[::1]"
    with pytest.raises(ValueError, match="single well-formed line"):
        HttpRequest(headers=(("X-Test", "a\r\nX-Injected: 1"),)).encode("h")
