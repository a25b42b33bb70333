"""The reference editor server over real TLS on loopback: right by default, broken on demand.

No mocks: a small PKI built here (root → intermediate → leaves with SAS's pre-production subject),
an OCSP responder run by this module, stdlib ``ssl`` clients like the probe's, and a pyOpenSSL
client where only pyOpenSSL can see something (the CA names of the CertificateRequest).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL

from recette_sas.environments import (
    PREPRODUCTION,
    RECETTE,
    Mapping,
    SasSubject,
    UsageError,
    accepted_subjects,
)
from recette_sas.fhir.app import FhirApp
from recette_sas.server.policy import PeerIdentity, Policy, identity_from_header, subject_allowed
from recette_sas.server.reference import ReferenceServer

SAS = PREPRODUCTION.subject
NOW = datetime.now(UTC)
SLOT_QUERY = (
    "/Slot?start=ge2030-01-01T00:00:00Z&start=le2030-01-02T00:00:00Z"
    "&schedule.actor:Practitioner.identifier=urn:oid:1.2.250.1.71.4.2.1|810000000001&status=free"
    "&_include=Slot:schedule&_include:iterate=Schedule:actor"
)
PRACTITIONER = {
    "resourceType": "Practitioner",
    "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "810000000001"}],
    "name": [{"family": "REGULATEUR", "given": ["Alice"]}],
}


# -- a tiny PKI --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ca:
    cert: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class Client:
    """A client identity: the files the stdlib client loads, and the objects behind them."""

    leaf: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: rsa.RSAPrivateKey
    certfile: Path
    keyfile: Path


def _name(cn: str, ou: str = "IGC-SANTE TEST") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ASIP-SANTE"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def sas_name(*, cn: str = SAS.cn, ou: str = SAS.ou) -> x509.Name:
    subject: SasSubject = dataclasses.replace(SAS, cn=cn, ou=ou)
    return subject.to_name()


def make_ca(cn: str, key: rsa.RSAPrivateKey, issuer: Ca | None = None) -> Ca:
    subject = _name(cn)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0 if issuer else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(issuer.key if issuer else key, hashes.SHA256())
    )
    return Ca(cert, key)


def make_leaf(
    issuer: Ca,
    key: rsa.RSAPrivateKey,
    *,
    subject: x509.Name | None = None,
    ocsp_url: str | None = None,
    eku: tuple[x509.ObjectIdentifier, ...] | None = (ExtendedKeyUsageOID.CLIENT_AUTH,),
    ca: bool = False,
    sha1: bool = False,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject or sas_name())
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(hours=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if ocsp_url is not None:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
                    )
                ]
            ),
            critical=False,
        )
    cert = builder.sign(issuer.key, hashes.SHA256())
    return resign_sha1(cert, issuer.key) if sha1 else cert


_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    length = (
        bytes([n])
        if n < 0x80
        else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    )
    return bytes([tag]) + length + content


def resign_sha1(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """sha1WithRSAEncryption, which cryptography's builder refuses to produce (same OID length)."""
    tbs = cert.tbs_certificate_bytes.replace(_SHA256_RSA, _SHA1_RSA)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    algorithm = _der(0x30, _SHA1_RSA + b"\x05\x00")
    return x509.load_der_x509_certificate(_der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature)))


def make_crl(ca: Ca, revoked: tuple[x509.Certificate, ...] = ()) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(NOW - timedelta(hours=1))
        .next_update(NOW + timedelta(days=1))
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(NOW - timedelta(minutes=30))
            .build()
        )
    return builder.sign(ca.key, hashes.SHA256())


def write_client(
    folder: Path,
    label: str,
    leaf: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    key: rsa.RSAPrivateKey,
) -> Client:
    certfile = folder / f"{label}.pem"
    keyfile = folder / f"{label}.key"
    certfile.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, *chain)))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    keyfile.chmod(0o600)
    return Client(leaf, chain, key, certfile, keyfile)


# -- an OCSP responder, signing with the issuing CA's key ----------------------------------------


class OcspResponder:
    """Answers OCSP POSTs on loopback: good for registered serials, revoked for revoked ones,
    unknown otherwise; ``forge`` makes it sign with a key that is not the CA's."""

    def __init__(self) -> None:
        self.issuer: Ca | None = None
        self.good: set[int] = set()
        self.revoked: set[int] = set()
        self.forger: Ca | None = None
        self.requests = 0
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                der = responder.answer(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(der)))
                self.end_headers()
                self.wfile.write(der)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/ocsp"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})

    def answer(self, body: bytes) -> bytes:
        self.requests += 1
        assert self.issuer is not None
        request = ocsp.load_der_ocsp_request(body)
        serial = request.serial_number
        if serial in self.revoked:
            status = ocsp.OCSPCertStatus.REVOKED
        elif serial in self.good:
            status = ocsp.OCSPCertStatus.GOOD
        else:
            status = ocsp.OCSPCertStatus.UNKNOWN
        revoked = status is ocsp.OCSPCertStatus.REVOKED
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=serial,
            algorithm=request.hash_algorithm,
            cert_status=status,
            this_update=NOW - timedelta(minutes=1),
            next_update=NOW + timedelta(hours=1),
            revocation_time=NOW - timedelta(minutes=30) if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        )
        if self.forger is None:
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.issuer.cert)
        else:  # claims to be the issuer by name, signs with another key
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.NAME, self.forger.cert)
        with contextlib.suppress(x509.ExtensionNotFound):
            nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
            builder = builder.add_extension(nonce, critical=False)
        key = self.forger.key if self.forger is not None else self.issuer.key
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def __enter__(self) -> OcspResponder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class Pki:
    root: Ca
    intermediate: Ca
    other_root: Ca
    crls: tuple[x509.CertificateRevocationList, ...]
    clients: dict[str, Client]
    responder: OcspResponder
    leaf_key: rsa.RSAPrivateKey

    def __getitem__(self, label: str) -> Client:
        return self.clients[label]

    def policy(self, **changes: Any) -> Policy:
        base = Policy(
            allowed_subjects=accepted_subjects("preproduction", Mapping.ONE_TO_ONE),
            trusted_cas=(self.root.cert, self.intermediate.cert),
            crls=self.crls,
        )
        return dataclasses.replace(base, **changes)


def _free_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ocsp"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    folder = tmp_path_factory.mktemp("pki")
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(4)]
    root_key, inter_key, leaf_key, other_key = keys
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    root = make_ca("TEST AC RACINE IGC-SANTE ELEMENTAIRE", root_key)
    inter = make_ca("TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS", inter_key, root)
    other_root = make_ca("AC RACINE IMPOSTEUR", other_key)
    other_inter = make_ca("AC IMPOSTEUR ORGANISATIONS", other_key, other_root)

    with OcspResponder() as responder:
        responder.issuer = inter
        url = responder.url
        clients: dict[str, Client] = {}

        def issue(
            label: str,
            *,
            issuer: Ca = inter,
            key: rsa.RSAPrivateKey = leaf_key,
            ocsp_url: str | None = url,
            **options: Any,
        ) -> x509.Certificate:
            leaf = make_leaf(issuer, key, ocsp_url=ocsp_url, **options)
            clients[label] = write_client(folder, label, leaf, (issuer.cert,), key)
            return leaf

        valid = issue("valid")
        issue("wrong-cn", subject=sas_name(cn=RECETTE.subject.cn))
        issue("wrong-ou", subject=sas_name(ou=RECETTE.subject.ou))
        issue("upper-cn", subject=sas_name(cn=SAS.cn.upper()))
        issue("cn-superstring", subject=sas_name(cn="x" + SAS.cn))
        crl_revoked = issue("crl-revoked")
        ocsp_revoked = issue("ocsp-revoked")
        ocsp_unknown = issue("ocsp-unknown")
        issue("ocsp-down", ocsp_url=_free_port_url())
        issue("ocsp-none", ocsp_url=None)
        issue("no-eku", eku=None)
        issue("server-auth", eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
        issue("ca-true", ca=True)
        issue("rsa-1024", key=weak_key)
        issue("sha1", sha1=True)
        issue("untrusted", issuer=other_inter)
        clients["leaf-only"] = write_client(folder, "leaf-only", valid, (), leaf_key)
        responder.good = {c.leaf.serial_number for c in clients.values()} - {ocsp_unknown.serial_number}
        responder.revoked = {crl_revoked.serial_number, ocsp_revoked.serial_number}
        crls = (make_crl(root), make_crl(inter, (crl_revoked,)))
        yield Pki(root, inter, other_root, crls, clients, responder, leaf_key)


@contextlib.contextmanager
def serving(policy: Policy) -> Iterator[ReferenceServer]:
    with ReferenceServer(policy) as server:
        yield server


# -- clients -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    tls_version: str | None

    def json(self) -> Any:
        return json.loads(self.body)


class Refused(Exception):
    """The TLS layer said no: ``stage`` is "handshake" or "read" (TLS 1.3 alerts come late)."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"{stage}: {error!r}")
        self.stage = stage
        self.error = error

    @property
    def reason(self) -> str | None:
        return getattr(self.error, "reason", None)


def client_context(
    server: ReferenceServer,
    client: Client | None,
    *,
    version: ssl.TLSVersion | None = None,
    weak: bool = False,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(server.ca_file)
    if weak:
        # Debian's OpenSSL (security level 2) will not even load an RSA-1024 or SHA-1 certificate.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if client is not None:
        ctx.load_cert_chain(client.certfile, client.keyfile)
    if version is not None:
        with warnings.catch_warnings():
            # Python deprecates TLS 1.0/1.1 constants; offering TLS 1.0 is what this probe is for.
            warnings.simplefilter("ignore", DeprecationWarning)
            if version < ssl.TLSVersion.TLSv1_2:
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = version
            ctx.maximum_version = version
    return ctx


def call(
    server: ReferenceServer,
    client: Client | None,
    *,
    method: str = "GET",
    path: str = SLOT_QUERY,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    version: ssl.TLSVersion | None = None,
    weak: bool = False,
) -> Answer:
    """One connection, one HTTP/1.1 request, read to EOF: what the probe does."""
    ctx = client_context(server, client, version=version, weak=weak)
    head = [f"{method} {path} HTTP/1.1", f"Host: {server.server_name}:{server.port}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("POST", "PUT"):
        head.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    with socket.create_connection((server.host, server.port), timeout=5) as raw:
        try:
            tls = ctx.wrap_socket(raw, server_hostname=server.server_name)
        except (ssl.SSLError, OSError) as exc:
            raise Refused("handshake", exc) from exc
        with tls:
            data = bytearray()
            try:
                tls.sendall(request)
                while chunk := tls.recv(65536):
                    data += chunk
            except ssl.SSLEOFError:
                if not data:
                    raise Refused("read", ssl.SSLEOFError()) from None
            except (ssl.SSLError, OSError) as exc:
                raise Refused("read", exc) from exc
            negotiated = tls.version()
    raw_head, _, payload = bytes(data).partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    parsed = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Answer(status, parsed, payload, negotiated)


def refusal(server: ReferenceServer, client: Client | None, **kwargs: Any) -> Refused:
    with pytest.raises(Refused) as caught:
        call(server, client, **kwargs)
    return caught.value


def advertised_ca_names(server: ReferenceServer, client: Client) -> list[x509.Name]:
    """The CA names of the CertificateRequest, as a pyOpenSSL client reads them."""
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.use_certificate(client.leaf)
    ctx.use_privatekey(client.key)
    for cert in client.chain:
        ctx.add_extra_chain_cert(cert)
    ctx.load_verify_locations(str(server.ca_file))
    ctx.set_verify(SSL.VERIFY_PEER)
    with socket.create_connection((server.host, server.port), timeout=5) as raw:
        raw.settimeout(None)
        conn = SSL.Connection(ctx, raw)
        conn.set_tlsext_host_name(server.server_name.encode())
        conn.set_connect_state()
        conn.do_handshake()
        names = conn.get_client_ca_list(as_cryptography=True)
        with contextlib.suppress(SSL.Error):
            conn.shutdown()
    return names


# -- the right server ----------------------------------------------------------------------------


def test_valid_certificate_gets_a_searchset_bundle(pki: Pki) -> None:
    with serving(pki.policy()) as server:
        answer = call(server, pki["valid"])
        assert server.wait_idle()
        entry = server.log[-1]
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/fhir+json"
    bundle = answer.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    assert isinstance(bundle["total"], int)  # the seeded agenda (fhir/seed.py) answers any window
    assert entry["decision"] == "accepted"
    assert entry["client_subject"] == SAS.rfc4514()
    assert entry["chain_sent"] == [SAS.rfc4514(), pki.intermediate.cert.subject.rfc4514_string()]
    assert entry["tls_version"] == answer.tls_version == "TLSv1.3"
    # What the server saw is kept for the suite, never echoed to the client.
    assert not any("identity" in name or "subject" in name for name in answer.headers)
    assert SAS.cn.encode() not in answer.body


def test_practitioner_accounts_are_created_and_updated(pki: Pki) -> None:
    body = json.dumps(PRACTITIONER).encode()
    json_fhir = {"Content-Type": "application/json+fhir"}
    with serving(pki.policy()) as server:
        created = call(
            server, pki["valid"], method="POST", path="/Practitioner", body=body, headers=json_fhir
        )
        query = "/Practitioner?identifier=urn:oid:1.2.250.1.213.3.6|5f1c8a6e-0000-4000-8000-000000000001"
        put_new = call(server, pki["valid"], method="PUT", path=query, body=body)
        put_again = call(server, pki["valid"], method="PUT", path=query, body=body)
        no_identifier = call(server, pki["valid"], method="PUT", path="/Practitioner", body=body)
        metadata = call(server, pki["valid"], path="/metadata")
        base = server.base_url
    assert created.status == 201
    assert created.headers["location"].startswith(f"{base}/Practitioner/")
    assert created.headers["location"].endswith("/_history/1")
    assert created.json()["resourceType"] == "Practitioner"
    assert put_new.status == 201
    assert put_again.status == 200
    assert put_again.json()["meta"]["versionId"] == "2"
    assert no_identifier.status == 400
    assert no_identifier.json()["resourceType"] == "OperationOutcome"
    assert metadata.status == 200
    assert metadata.json()["resourceType"] == "CapabilityStatement"


def test_expect_100_continue_is_honoured(pki: Pki) -> None:
    body = json.dumps(PRACTITIONER).encode()
    head = (
        "POST /Practitioner HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/fhir+json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n"
    )
    with serving(pki.policy()) as server:
        ctx = client_context(server, pki["valid"])
        with (
            socket.create_connection((server.host, server.port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=server.server_name) as tls,
        ):
            tls.sendall(head.encode())
            assert tls.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
            tls.sendall(body)
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 201 Created\r\n")


@pytest.mark.parametrize(
    ("version", "stage", "reason"),
    [
        (ssl.TLSVersion.TLSv1_2, "handshake", "SSLV3_ALERT_HANDSHAKE_FAILURE"),
        (ssl.TLSVersion.TLSv1_3, "read", "TLSV13_ALERT_CERTIFICATE_REQUIRED"),
    ],
    ids=["tls1.2", "tls1.3"],
)
def test_no_client_certificate_is_refused_by_tls(
    pki: Pki, version: ssl.TLSVersion, stage: str, reason: str
) -> None:
    with serving(pki.policy()) as server:
        refused = refusal(server, None, version=version)
        assert server.wait_idle()
        assert server.log[-1]["decision"] == "refused_tls"
    assert (refused.stage, refused.reason) == (stage, reason)


def test_certificate_from_an_untrusted_ca_is_refused_by_tls(pki: Pki) -> None:
    with serving(pki.policy()) as server:
        refused = refusal(server, pki["untrusted"])
        assert server.wait_idle()
        errors = server.log[-1]["verify_errors"]
    assert refused.reason == "TLSV1_ALERT_UNKNOWN_CA"
    assert errors and errors[0]["error"] == "unable to get local issuer certificate"


def test_certificate_in_a_crl_is_refused_by_tls(pki: Pki) -> None:
    with serving(pki.policy()) as server:
        refused = refusal(server, pki["crl-revoked"])
        assert server.wait_idle()
        errors = server.log[-1]["verify_errors"]
    assert refused.reason == "SSLV3_ALERT_CERTIFICATE_REVOKED"
    assert [e["code"] for e in errors] == [23]


def test_crl_checking_needs_the_crl_of_every_ca(pki: Pki) -> None:
    """Without the root's CRL (the one that covers the intermediate) everyone is refused, as with
    nginx; OpenSSL reports it with an unknown_ca alert, which says nothing about CRLs."""
    with serving(pki.policy(crls=pki.crls[1:])) as server:
        refused = refusal(server, pki["valid"])
        assert server.wait_idle()
        errors = server.log[-1]["verify_errors"]
    assert refused.reason == "TLSV1_ALERT_UNKNOWN_CA"
    assert [(e["depth"], e["error"]) for e in errors] == [(1, "unable to get certificate CRL")]


def test_an_expired_crl_refuses_everyone_with_a_misleading_alert(pki: Pki) -> None:
    # An editor that stops refreshing CRLs (republished daily at 07:00) locks SAS out; the client is
    # told its certificate expired.
    stale = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.intermediate.cert.subject)
        .last_update(NOW - timedelta(days=3))
        .next_update(NOW - timedelta(days=1))
        .sign(pki.intermediate.key, hashes.SHA256())
    )
    with serving(pki.policy(crls=(pki.crls[0], stale))) as server:
        refused = refusal(server, pki["valid"])
        assert server.wait_idle()
        errors = server.log[-1]["verify_errors"]
    assert refused.reason == "SSLV3_ALERT_CERTIFICATE_EXPIRED"
    assert [e["error"] for e in errors] == ["CRL has expired"]


@pytest.mark.parametrize("label", ["wrong-cn", "wrong-ou", "upper-cn", "cn-superstring"])
def test_wrong_subject_is_refused_with_403(pki: Pki, label: str) -> None:
    with serving(pki.policy()) as server:
        answer = call(server, pki[label])
        assert server.wait_idle()
        entry = server.log[-1]
    assert answer.status == 403
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "security"
    assert SAS.cn.encode() not in answer.body  # the expected subject is not disclosed
    assert entry["decision"] == "refused_http"
    assert entry["identity"] == pki[label].leaf.subject.rfc4514_string()


def test_leaf_only_chain_is_accepted(pki: Pki) -> None:
    with serving(pki.policy()) as server:
        answer = call(server, pki["leaf-only"])
        assert server.wait_idle()
        assert server.log[-1]["chain_sent"] == [SAS.rfc4514()]
    assert answer.status == 200


def test_tls10_is_refused_by_default(pki: Pki) -> None:
    with serving(pki.policy()) as server:
        refused = refusal(server, pki["valid"], version=ssl.TLSVersion.TLSv1)
    assert (refused.stage, refused.reason) == ("handshake", "TLSV1_ALERT_PROTOCOL_VERSION")


def test_tls10_is_accepted_when_min_tls_is_lowered(pki: Pki) -> None:
    with serving(pki.policy(min_tls="TLSv1")) as server:
        answer = call(server, pki["valid"], version=ssl.TLSVersion.TLSv1)
    assert (answer.status, answer.tls_version) == (200, "TLSv1")


def test_advertised_ca_names_are_the_trusted_cas(pki: Pki) -> None:
    trusted = [pki.root.cert.subject, pki.intermediate.cert.subject]
    with serving(pki.policy()) as server:
        assert advertised_ca_names(server, pki["valid"]) == trusted
    custom = (pki.other_root.cert.subject,)
    with serving(pki.policy(client_ca_names=custom)) as server:
        assert advertised_ca_names(server, pki["valid"]) == list(custom)
    with serving(pki.policy(client_ca_names=())) as server:
        assert advertised_ca_names(server, pki["valid"]) == []


# -- OCSP ----------------------------------------------------------------------------------------


def test_ocsp_good_is_accepted_and_cached(pki: Pki) -> None:
    with serving(pki.policy(check_crl=False)) as server:
        before = pki.responder.requests
        assert call(server, pki["valid"]).status == 200
        assert call(server, pki["valid"]).status == 200
    assert pki.responder.requests == before + 1


@pytest.mark.parametrize(
    ("label", "reason"),
    [
        ("ocsp-revoked", "OCSP: client certificate status is revoked"),
        ("ocsp-unknown", "OCSP: client certificate status is unknown"),
        ("ocsp-down", "OCSP: no valid answer from"),
        ("ocsp-none", "OCSP: the client certificate names no OCSP responder"),
    ],
)
def test_ocsp_refusals_are_hard_fails(pki: Pki, label: str, reason: str) -> None:
    with serving(pki.policy()) as server:
        answer = call(server, pki[label])
        assert server.wait_idle()
        entry = server.log[-1]
    assert answer.status == 403
    assert entry["reason"].startswith(reason)
    assert answer.json()["issue"][0]["diagnostics"].startswith(reason)


def test_ocsp_response_not_signed_by_the_issuer_is_refused(pki: Pki) -> None:
    # A self-signed impostor carrying the intermediate's name: right responder name, wrong key.
    cn = pki.intermediate.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    impostor = make_ca(str(cn), rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert impostor.cert.subject == pki.intermediate.cert.subject
    pki.responder.forger = impostor
    try:
        with serving(pki.policy()) as server:
            answer = call(server, pki["valid"])
            assert server.wait_idle()
            reason = server.log[-1]["reason"]
    finally:
        pki.responder.forger = None
    assert answer.status == 403
    assert reason == "OCSP: response signature does not verify with the issuing CA key"


def test_ocsp_off_lets_an_ocsp_revoked_certificate_through(pki: Pki) -> None:
    with serving(pki.policy(check_ocsp=False)) as server:
        assert call(server, pki["ocsp-revoked"]).status == 200


# -- the broken variants catch what they should not ----------------------------------------------


def test_verify_client_off_accepts_an_untrusted_certificate(pki: Pki) -> None:
    with serving(pki.policy(verify_client=False)) as server:
        answer = call(server, pki["untrusted"])
        assert server.wait_idle()
        entry = server.log[-1]
    assert answer.status == 200
    assert entry["verify_errors"], "OpenSSL still saw the problem; only the callback ignored it"
    with serving(pki.policy(verify_client=False)) as server:
        # It still requests (and requires) a certificate.
        assert refusal(server, None).reason == "TLSV13_ALERT_CERTIFICATE_REQUIRED"


def test_optional_client_certificate_without_one_gets_403(pki: Pki) -> None:
    with serving(pki.policy(require_client_cert=False)) as server:
        answer = call(server, None)
    assert answer.status == 403
    assert answer.json()["issue"][0]["diagnostics"] == "no client certificate"


@pytest.mark.parametrize(
    ("mode", "label"),
    [
        ("cn_casefold", "upper-cn"),
        ("cn_substring", "cn-superstring"),
        ("ignore_ou", "wrong-ou"),
        ("ignore_cn", "wrong-cn"),
    ],
)
def test_loose_subject_matching_lets_the_impostor_in(pki: Pki, mode: str, label: str) -> None:
    with serving(pki.policy()) as right, serving(pki.policy(subject_match=mode)) as broken:
        assert call(right, pki[label]).status == 403
        assert call(broken, pki[label]).status == 200
        assert call(broken, pki["valid"]).status == 200


@pytest.mark.parametrize(
    "header",
    [
        ("X-SSL-Client-CN", SAS.cn),
        ("SSL_CLIENT_S_DN_CN", SAS.cn),
        ("X-SSL-Client-S-DN", SAS.rfc4514()),
        ("X-Forwarded-Client-Cert", f'Hash=00;Subject="{SAS.rfc4514()}"'),
    ],
    ids=lambda h: h[0],
)
def test_trusting_identity_headers_lets_a_wrong_cn_in(pki: Pki, header: tuple[str, str]) -> None:
    headers = dict([header])
    with serving(pki.policy()) as right, serving(pki.policy(trust_identity_headers=True)) as broken:
        assert call(right, pki["wrong-cn"], headers=headers).status == 403
        assert call(broken, pki["wrong-cn"], headers=headers).status == 200
        assert call(broken, pki["wrong-cn"]).status == 403
        assert broken.wait_idle()
    assert broken.last_identity is not None and broken.last_identity.source == "tls"


def test_profile_is_checked_by_the_application(pki: Pki) -> None:
    # OpenSSL accepts a client leaf without extendedKeyUsage; the application does not.
    with serving(pki.policy()) as right, serving(pki.policy(check_profile=False)) as broken:
        answer = call(right, pki["no-eku"])
        assert answer.status == 403
        assert answer.json()["issue"][0]["diagnostics"] == (
            "client certificate: no extendedKeyUsage: clientAuth expected (AUTH_CLI)"
        )
        assert call(broken, pki["no-eku"]).status == 200


@pytest.mark.parametrize(
    ("label", "alert", "verify_error", "app_reason"),
    [
        (
            "ca-true",
            None,
            None,
            "client certificate: basicConstraints CA:TRUE: a CA certificate, not an AUTH_CLI leaf",
        ),
        (
            "rsa-1024",
            "SSLV3_ALERT_BAD_CERTIFICATE",
            "EE certificate key too weak",
            "client certificate: RSA-1024: at least RSA-2048 expected",
        ),
        (
            "sha1",
            "SSLV3_ALERT_BAD_CERTIFICATE",
            "CA signature digest algorithm too weak",
            "client certificate: signed with sha1: SHA-256 or better expected",
        ),
    ],
)
def test_weak_leaves_at_default_and_lowered_security_levels(
    pki: Pki, label: str, alert: str | None, verify_error: str | None, app_reason: str
) -> None:
    """At the default security level of cryptography's OpenSSL (2) the TLS layer refuses RSA-1024
    and SHA-1 leaves by itself; the TLSv1 variant (SECLEVEL=0) lets them through the TLS layer and
    only the profile check catches them. A CA:TRUE leaf passes OpenSSL at any level."""
    with serving(pki.policy()) as default:
        if alert is None:
            assert call(default, pki[label], weak=True).status == 403
        else:
            assert refusal(default, pki[label], weak=True).reason == alert
        assert default.wait_idle()
        entry = default.log[-1]
    if verify_error is None:
        assert entry["reason"] == app_reason
    else:
        assert entry["decision"] == "refused_tls"
        assert [e["error"] for e in entry["verify_errors"]] == [verify_error]
    with serving(pki.policy(min_tls="TLSv1")) as lowered:
        answer = call(lowered, pki[label], weak=True)
    assert answer.status == 403
    assert answer.json()["issue"][0]["diagnostics"].startswith(app_reason)


def test_openssl_refuses_a_leaf_whose_eku_lacks_client_auth(pki: Pki) -> None:
    # OpenSSL's SSL-client purpose check runs at every security level (only a verify callback that
    # ignores errors, verify_client=False, would let it through).
    for policy in (pki.policy(), pki.policy(min_tls="TLSv1", check_profile=False)):
        with serving(policy) as server:
            assert refusal(server, pki["server-auth"]).reason == "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE"


# -- robustness ----------------------------------------------------------------------------------


def test_garbage_and_idle_clients_neither_kill_nor_block_the_server(pki: Pki) -> None:
    server = ReferenceServer(pki.policy()).start()
    try:
        with socket.create_connection((server.host, server.port), timeout=5) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            plain.recv(1024)
        assert call(server, pki["valid"]).status == 200
        idle = socket.create_connection((server.host, server.port), timeout=5)
        deadline = time.monotonic() + 5
        while server.handshakes < 3 and time.monotonic() < deadline:
            time.sleep(0.01)  # accepted, the worker now waits for a ClientHello that never comes
    finally:
        started = time.monotonic()
        server.stop()
        stop_took = time.monotonic() - started
    idle.close()
    assert stop_took < 2
    assert [e["decision"] for e in server.log] == ["refused_tls", "accepted", "aborted"]
    assert server.handshakes == 3


def test_policy_rejects_unknown_values(pki: Pki) -> None:
    with pytest.raises(UsageError, match=r"^Policy\.min_tls: "):
        pki.policy(min_tls="SSLv3")
    with pytest.raises(UsageError, match=r"^Policy\.subject_match: "):
        pki.policy(subject_match="fuzzy")
    with pytest.raises(UsageError, match=r"^Policy\.trusted_cas: "):
        pki.policy(trusted_cas=())


# -- pure parts ----------------------------------------------------------------------------------


def test_exact_subject_match_needs_the_cn_ou_pair_of_one_subject() -> None:
    both = accepted_subjects("preproduction", Mapping.SIMPLIFIED)

    def ident(cns: tuple[str, ...], ous: tuple[str, ...]) -> PeerIdentity:
        return PeerIdentity(subject="", cns=cns, ous=ous)

    assert subject_allowed(ident((SAS.cn,), (SAS.ou,)), both)
    assert subject_allowed(ident((RECETTE.subject.cn,), (RECETTE.subject.ou,)), both)
    assert not subject_allowed(ident((SAS.cn,), (RECETTE.subject.ou,)), both)  # crossed pair
    assert not subject_allowed(ident((SAS.cn, "other"), (SAS.ou,)), both)
    assert not subject_allowed(ident((SAS.cn + " ",), (SAS.ou,)), both)
    assert not subject_allowed(ident((), (SAS.ou,)), both)


def test_identity_headers_are_parsed_like_proxies_write_them() -> None:
    slash = identity_from_header("X-SSL-Client-S-DN", f"/C=FR/OU={SAS.ou}/CN={SAS.cn}")
    assert slash is not None and (slash.cns, slash.ous) == ((SAS.cn,), (SAS.ou,))
    comma = identity_from_header("x-ssl-client-s-dn", f"CN={SAS.cn},OU={SAS.ou},O=A\\, B,C=FR")
    assert comma is not None and (comma.cns, comma.ous) == ((SAS.cn,), (SAS.ou,))
    assert identity_from_header("x-ssl-client-cn", "") is None


def test_fhir_app_errors_are_operation_outcomes() -> None:
    app = FhirApp(base_url="https://editor.example")
    fhir = {"Content-Type": "application/fhir+json"}
    cases = [
        (app("POST", "/Practitioner", fhir, b"{not json"), 400),
        (app("POST", "/Practitioner", fhir, b'{"resourceType": "Patient"}'), 400),
        (app("POST", "/Practitioner", {"Content-Type": "text/plain"}, b"{}"), 415),
        (app("GET", "/Appointment", {}, b""), 404),
        (app("DELETE", "/Practitioner", {}, b""), 405),
    ]
    for response, status in cases:
        assert response.status == status
        assert response.header("content-type") == "application/fhir+json"
        assert response.json()["resourceType"] == "OperationOutcome"
    created = app(
        "POST", "/Practitioner", {"content-type": "application/json"}, json.dumps(PRACTITIONER).encode()
    )
    assert created.status == 201
    location = created.header("Location")
    assert location is not None and location.startswith("https://editor.example/Practitioner/")
    assert app("GET", "/Slot", {}, b"").json()["resourceType"] == "OperationOutcome"  # no window: 400
