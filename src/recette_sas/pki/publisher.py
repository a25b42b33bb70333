"""The suite's own publication point: CRLs, CA certificates and a real OCSP responder on loopback.

Every look-alike leaf points here (CRL distribution point, OCSP and caIssuers AIA), so a server under
test can check revocation exactly as it would against ``igc-sante.esante.gouv.fr`` and
``ocsp.esante.gouv.fr``. OCSP answers are signed by the issuing CA itself (RFC 6960 §2.2, the simplest
responder a client must accept).

The socket is bound before the PKI is loaded: the URL it ends up with is written into the leaves.

``Publisher.faulty(fault)`` switches one revocation fault on for a window and yields what the
publisher was asked meanwhile (``pki/faults.py``): the revocation-fault scenarios run one at a time.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import errno
import hashlib
import socket
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import OCSPExtensionOID

from recette_sas._net.background import BackgroundServer
from recette_sas.pki.faults import Consultations, PublisherFault, expired_crl, unauthorized_signer

if TYPE_CHECKING:
    from recette_sas.pki.store import Pki

DEFAULT_PORT = 47600
MAX_REQUEST = 64 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # SO_REUSEADDR: rebind over the TIME_WAIT connections a previous run left (this server closes first).
    # On Linux it never lets two live listeners share a port, so a concurrent run is still detected.
    allow_reuse_address = True
    pki: Pki | None = None
    requests_seen: list[str]
    fault: PublisherFault | None = None
    consultations: Consultations | None = None


class _Drop(Exception):
    """The fault says: close the connection without an answer (a responder or CDP that is down)."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the suite reports, not stderr
        return

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        try:
            self._get()
        except _Drop:
            self.close_connection = True

    def _get(self) -> None:
        pki = self.server.pki
        fault, seen = self.server.fault, self.server.consultations
        path = self.path.split("?", 1)[0]
        self.server.requests_seen.append(f"GET {path}")
        if pki is None:
            self._send(503, b"PKI not loaded", "text/plain")
            return
        if path.startswith("/crl/") and path.endswith(".crl"):
            name = path[len("/crl/") : -len(".crl")]
            if seen is not None:
                seen.crl(name)
            if fault is PublisherFault.CRL_UNREACHABLE:
                raise _Drop
            try:
                crl = expired_crl(pki, name) if fault is PublisherFault.CRL_EXPIRED else pki.crl(name)
                der = crl.public_bytes(serialization.Encoding.DER)
            except (OSError, ValueError):
                self._send(404, b"no such CRL", "text/plain")
                return
            self._send(200, der, "application/pkix-crl")
        elif path.startswith("/ca/") and path.endswith(".cer"):
            name = path[len("/ca/") : -len(".cer")]
            try:
                der = pki.ca(name).public_bytes(serialization.Encoding.DER)
            except KeyError:
                self._send(404, b"no such CA", "text/plain")
                return
            self._send(200, der, "application/pkix-cert")
        elif path.startswith("/ocsp/"):
            try:
                # RFC 6960 A.1: URL-encoded base64 (nginx escapes "+", "/" and "=")
                raw = base64.b64decode(urllib.parse.unquote(path[len("/ocsp/") :]), validate=True)
            except ValueError:
                self._send(400, b"", "application/ocsp-response")
                return
            self._send(200, self._ocsp(pki, raw), "application/ocsp-response")
        else:
            self._send(404, b"not found", "text/plain")

    def _ocsp(self, pki: Pki, raw: bytes) -> bytes:
        fault, seen = self.server.fault, self.server.consultations
        if seen is not None:
            with contextlib.suppress(ValueError):
                seen.ocsp(ocsp.load_der_ocsp_request(raw).serial_number)
        if fault is PublisherFault.OCSP_DOWN:
            raise _Drop
        return answer(pki, raw, fault=fault)

    def do_POST(self) -> None:
        try:
            self._post()
        except _Drop:
            self.close_connection = True
        except Exception:  # a broken request must not print tracebacks into the suite's output
            self._send(500, b"", "text/plain")

    def _post(self) -> None:
        pki = self.server.pki
        self.server.requests_seen.append(f"POST {self.path}")
        length = int(self.headers.get("Content-Length") or 0)
        if pki is None or not self.path.startswith("/ocsp") or not 0 < length <= MAX_REQUEST:
            self._send(400, b"", "text/plain")
            return
        self._send(200, self._ocsp(pki, self.rfile.read(length)), "application/ocsp-response")


def answer(pki: Pki, request_der: bytes, *, fault: PublisherFault | None = None) -> bytes:
    """A signed OCSP response (DER) to ``request_der``, or an unsuccessful one when it cannot be parsed;
    ``fault`` makes it the faulty answer of that ``PublisherFault`` (never a good-looking valid one)."""
    if fault in (PublisherFault.OCSP_TRY_LATER, PublisherFault.OCSP_UNAUTHORIZED):
        unsuccessful = (
            ocsp.OCSPResponseStatus.TRY_LATER
            if fault is PublisherFault.OCSP_TRY_LATER
            else ocsp.OCSPResponseStatus.UNAUTHORIZED
        )
        return ocsp.OCSPResponseBuilder.build_unsuccessful(unsuccessful).public_bytes(
            serialization.Encoding.DER
        )
    try:
        req = ocsp.load_der_ocsp_request(request_der)
    except ValueError:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        ).public_bytes(serialization.Encoding.DER)
    issuer = _find_issuer(pki, req)
    if issuer is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
            serialization.Encoding.DER
        )
    name, ca_cert = issuer
    status_text, revoked_at = pki.ocsp_status(name, req.serial_number)
    status = {
        "good": ocsp.OCSPCertStatus.GOOD,
        "revoked": ocsp.OCSPCertStatus.REVOKED,
    }.get(status_text, ocsp.OCSPCertStatus.UNKNOWN)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    this_update, next_update = now - dt.timedelta(minutes=1), now + dt.timedelta(hours=1)
    if fault is PublisherFault.OCSP_STALE:
        this_update, next_update = now - dt.timedelta(days=8), now - dt.timedelta(days=1)
    signer_key, signer_cert, extra = pki.ca_key(name), ca_cert, []
    if fault is PublisherFault.OCSP_WRONG_SIGNER:
        signer_key, signer_cert = unauthorized_signer()
        extra = [signer_cert]
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=req.issuer_name_hash,
            issuer_key_hash=req.issuer_key_hash,
            serial_number=req.serial_number,
            algorithm=req.hash_algorithm,
            cert_status=status,
            this_update=this_update,
            next_update=next_update,
            revocation_time=revoked_at if status is ocsp.OCSPCertStatus.REVOKED else None,
            revocation_reason=x509.ReasonFlags.key_compromise
            if status is ocsp.OCSPCertStatus.REVOKED
            else None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
    )
    if extra:
        builder = builder.certificates(extra)
    try:
        nonce = req.extensions.get_extension_for_oid(OCSPExtensionOID.NONCE).value
        builder = builder.add_extension(nonce, critical=False)
    except x509.ExtensionNotFound:
        pass
    return builder.sign(signer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _find_issuer(pki: Pki, req: ocsp.OCSPRequest) -> tuple[str, x509.Certificate] | None:
    for name in pki.ca_names():
        cert = pki.ca(name)
        name_hash = _digest(req.hash_algorithm, cert.subject.public_bytes())
        key_bits = _spki_bits(cert)
        if name_hash == req.issuer_name_hash and _digest(req.hash_algorithm, key_bits) == req.issuer_key_hash:
            return name, cert
    return None


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    h = hashlib.new(algorithm.name)
    h.update(data)
    return h.digest()


def _spki_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING contents (RFC 6960 issuerKeyHash input): PKCS#1 for RSA CAs."""
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("the look-alike PKI only has RSA CAs")
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


class Publisher:
    """CRL/CA/OCSP publication over plain HTTP on loopback.

    ``Publisher(port=DEFAULT_PORT)`` binds at once, falling back to an ephemeral port when the
    default one is taken (another run, a nested test session); ``url`` is final from then on.
    With ``advertised`` (a staging server was configured with that address) or ``fallback=False`` (the
    editor fixed the port) there is no fallback: answering elsewhere than advertised would make the
    server's OCSP checks fail for everyone. A run asks for the port the system chose for the previous
    one, else port 0 (``fixtures/pki.py``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        advertised: str | None = None,
        fallback: bool = True,
    ) -> None:
        try:
            self._httpd = _Server((host, port), _Handler)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or port == 0 or advertised is not None or not fallback:
                raise
            self._httpd = _Server((host, 0), _Handler)
        self._httpd.requests_seen = []
        self._httpd.timeout = 0.5
        address = self._httpd.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self.url = advertised or f"http://{self.host}:{self.port}"
        self._serving = BackgroundServer(self._httpd, name="recette-sas-ocsp")

    @property
    def requests_seen(self) -> list[str]:
        return self._httpd.requests_seen

    @property
    def fault(self) -> PublisherFault | None:
        return self._httpd.fault

    @contextlib.contextmanager
    def faulty(self, fault: PublisherFault) -> Iterator[Consultations]:
        """``fault`` on for the ``with`` block (never nested, always switched off), and what was asked."""
        if self._httpd.fault is not None:
            raise RuntimeError(f"publisher fault {self._httpd.fault} is already on")
        seen = Consultations()
        self._httpd.consultations, self._httpd.fault = seen, fault
        try:
            yield seen
        finally:
            self._httpd.fault, self._httpd.consultations = None, None

    @contextlib.contextmanager
    def counting(self) -> Iterator[Consultations]:
        """What was asked during the ``with`` block, no fault (the baseline of a fault scenario)."""
        seen = Consultations()
        self._httpd.consultations = seen
        try:
            yield seen
        finally:
            self._httpd.consultations = None

    def serve(self, pki: Pki) -> Publisher:
        self._httpd.pki = pki
        self._serving.start()
        return self

    def close(self) -> None:
        self._serving.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True
