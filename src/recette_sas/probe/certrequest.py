"""Whether a server asks TLS clients for a certificate, and from which CAs: one handshake, no certificate.

A server in the client role of the suite is judged by what it *asks* before anything it accepts: the
CertificateRequest must exist and, for SAS, advertise the IGC Santé CA names. pyOpenSSL because the
stdlib cannot read the CA names of a CertificateRequest; it is imported when a probe runs, not when
this module is, so that collecting scenarios does not load it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from recette_sas.probe._wire import ALERT_NAMES, WIRE_VERSIONS
from recette_sas.probe.endpoint import (
    LEGACY_CIPHERS,
    LEGACY_VERSIONS,
    Endpoint,
    ProbeSetupError,
    TlsVersion,
    system_trust,
)
from recette_sas.verdict import describe, version_words

if TYPE_CHECKING:
    from cryptography import x509
    from OpenSSL import SSL


@dataclass(frozen=True)
class CertificateRequestInfo:
    """What a server asks of TLS clients, read with one handshake that presents no certificate.

    ``requested`` comes from the client's state machine having read a CertificateRequest
    (``evidence`` says so), or, failing that, from a ``certificate_required`` alert.
    ``ca_names`` is the list the server sent in it (often empty: a stdlib server sends none).
    """

    target: str
    requested: bool
    ca_names: tuple[str, ...]
    tls_negotiated: str | None
    handshake_completed: bool
    alert: str | None
    error: str | None
    evidence: str


_T = TypeVar("_T")
_STATE_READ_CERTIFICATE_REQUEST = b"SSLv3/TLS read server certificate request"


class _HandshakeTrace:
    """pyOpenSSL info callback: whether a CertificateRequest was read, and the fatal alert received."""

    def __init__(self) -> None:
        self.requested = False
        self.alert: str | None = None

    def __call__(self, conn: SSL.Connection, where: int, ret: int) -> None:
        try:
            from OpenSSL import SSL

            if where & SSL.SSL_CB_LOOP and conn.get_state_string() == _STATE_READ_CERTIFICATE_REQUEST:
                self.requested = True
            if (
                where & SSL.SSL_CB_READ_ALERT == SSL.SSL_CB_READ_ALERT
                and ret >> 8 == 2
                and self.alert is None
            ):
                self.alert = ALERT_NAMES.get(ret & 0xFF, str(ret & 0xFF))
        except Exception:
            return


def _pump(operation: Callable[[], _T], sock: socket.socket, deadline: float) -> _T:
    """Run a non-blocking pyOpenSSL operation to completion or until the deadline."""
    from OpenSSL import SSL

    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no TLS progress before the timeout")
        try:
            return operation()
        except SSL.WantReadError:
            select.select([sock], [], [], remaining)
        except SSL.WantWriteError:
            select.select([], [sock], [], remaining)


def _name_matches(cert: x509.Certificate, server_name: str) -> bool:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        return ipaddress.ip_address(server_name) in san.get_values_for_type(x509.IPAddress)
    except ValueError:
        pass
    wanted = server_name.lower().rstrip(".")
    for dns in san.get_values_for_type(x509.DNSName):
        dns = dns.lower().rstrip(".")
        if dns == wanted or (dns.startswith("*.") and wanted.partition(".")[2] == dns[2:] and "." in dns[2:]):
            return True
    return False


def read_certificate_request(
    endpoint: Endpoint, *, tls_version: TlsVersion | None = None, timeout: float = 5.0
) -> CertificateRequestInfo:
    """Shake hands presenting no certificate and report whether, and from which CAs, the server
    asked for one.

    pyOpenSSL because the stdlib cannot read the CA names of a CertificateRequest. Whether a
    certificate was requested is read from the client state machine ("read server certificate
    request"), which works for TLS 1.2 and 1.3 alike and does not depend on the CA list (a stdlib
    server sends it empty). The server chain is verified against ``endpoint.ca_file`` and the leaf
    matched against ``server_name``. Under TLS 1.3 the server judges the missing certificate after
    the client's Finished, so the probe waits up to one second for that alert.
    """
    from OpenSSL import SSL

    trace = _HandshakeTrace()
    target = endpoint.name

    def info(
        *,
        completed: bool = False,
        version: str | None = None,
        error: str | None = None,
        ca_names: tuple[str, ...] = (),
    ) -> CertificateRequestInfo:
        requested = trace.requested or trace.alert == "certificate_required"
        if trace.requested:
            evidence = "the server sent a CertificateRequest"
        elif requested:
            evidence = "no CertificateRequest seen, but the server alerted certificate_required"
        else:
            evidence = "no CertificateRequest seen" + ("" if completed else " before the handshake stopped")
        return CertificateRequestInfo(
            target=target,
            requested=requested,
            ca_names=ca_names,
            tls_negotiated=version,
            handshake_completed=completed,
            alert=trace.alert,
            error=error,
            evidence=evidence,
        )

    try:
        pyopenssl_versions = {
            TlsVersion.TLSv1: SSL.TLS1_VERSION,
            TlsVersion.TLSv1_1: SSL.TLS1_1_VERSION,
            TlsVersion.TLSv1_2: SSL.TLS1_2_VERSION,
            TlsVersion.TLSv1_3: SSL.TLS1_3_VERSION,
        }
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        if tls_version is None:
            ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        elif tls_version in pyopenssl_versions:
            ctx.set_min_proto_version(pyopenssl_versions[tls_version])
            ctx.set_max_proto_version(pyopenssl_versions[tls_version])
            if tls_version in LEGACY_VERSIONS:
                ctx.set_cipher_list(LEGACY_CIPHERS.encode())
        else:
            raise ProbeSetupError(
                f"{version_words(tls_version.value)} cannot be offered by this OpenSSL build"
            )
        if endpoint.ca_file is not None:
            ctx.load_verify_locations(str(endpoint.ca_file))
        else:
            ctx.load_verify_locations(*system_trust())
        ctx.set_verify(SSL.VERIFY_PEER)
        ctx.set_info_callback(trace)
    except Exception as exc:
        return info(error=f"the probe could not be set up: {describe(exc)}")

    try:
        sock = socket.create_connection(
            (endpoint.host, endpoint.port), timeout=min(timeout, endpoint.connect_timeout)
        )
    except OSError as exc:
        return info(error=f"no TCP connection: {describe(exc)}")
    with contextlib.closing(sock):
        sock.setblocking(False)
        conn = SSL.Connection(ctx, sock)
        if not _is_ip(endpoint.server_name):
            conn.set_tlsext_host_name(endpoint.server_name.encode("idna"))
        conn.set_connect_state()
        deadline = time.monotonic() + timeout
        completed = False
        error: str | None = None
        try:
            _pump(conn.do_handshake, sock, deadline)
            completed = True
            leaf = conn.get_peer_certificate(as_cryptography=True)
            if leaf is None or not _name_matches(leaf, endpoint.server_name):
                error = f"the server certificate does not match {endpoint.server_name!r}"
            elif conn.get_protocol_version_name() == "TLSv1.3" and trace.requested:
                with contextlib.suppress(TimeoutError):
                    _pump(lambda: conn.recv(1), sock, min(deadline, time.monotonic() + 1.0))
        except (SSL.Error, OSError) as exc:
            error = describe(exc)
        version = conn.get_protocol_version_name()
        ca_names = tuple(name.rfc4514_string() for name in conn.get_client_ca_list(as_cryptography=True))
    return info(
        completed=completed,
        version=version if version in WIRE_VERSIONS.values() else None,
        error=error,
        ca_names=ca_names,
    )


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
