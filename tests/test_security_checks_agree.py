"""Each security check has two callers; this proves they reach the same judgement on the same input.

- Revocation: the reference server (its real TLS-layer CRL check and its application OCSP check, over
  a real handshake) and the client-role rules (``RevocationChecker``) are given the same CRLs and the
  same OCSP answers, served over loopback HTTP by a publication point whose answer each case sets.
- AUTH_CLI profile: ``cert check`` and the reference server on every certificate of the PKI's defect
  catalogue.
- Credentials: the same encrypted PEM key and PKCS#12 through ``cert check`` and through the editor
  configuration (``--sas-config``).

Each case also says what the judgement must be, so the two sides cannot agree by both being wrong.
Real certificates (the look-alike PKI, ``cryptography``), real sockets, no mocks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from recette_sas.cli.main import main as recette_sas
from recette_sas.client.rules import RevocationChecker
from recette_sas.config.credentials import load_credential, validate_credentials
from recette_sas.config.loader import load_config
from recette_sas.environments import (
    ENVIRONMENT_KEYS,
    PREPRODUCTION,
    Hierarchy,
    Mapping,
    UsageError,
    accepted_subjects,
)
from recette_sas.errors import ExitCode
from recette_sas.pki import certcheck
from recette_sas.pki.catalogue import Defect
from recette_sas.pki.credential_files import load_credentials
from recette_sas.pki.editor import EditorPki
from recette_sas.pki.keys import key_pem
from recette_sas.pki.profile import issue_leaf
from recette_sas.pki.store import Pki
from recette_sas.server.policy import Policy, profile_problem
from recette_sas.server.reference import ReferenceServer

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
ResponseMaker = Callable[[ocsp.OCSPRequest], bytes]


# -- a publication point whose answers each case sets ------------------------------------------------


class Publication:
    """Loopback HTTP: ``crl`` (DER) at any ``/crl/…`` URL, ``ocsp(request)`` at ``/ocsp``; None → 404/503."""

    def __init__(self) -> None:
        self.crl: bytes | None = None
        self.ocsp: ResponseMaker | None = None
        publication = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.startswith("/crl/") and publication.crl is not None:
                    self._send(200, publication.crl)
                else:
                    self._send(404, b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if not self.path.startswith("/ocsp") or publication.ocsp is None:
                    self._send(503, b"")
                    return
                self._send(200, publication.ocsp(ocsp.load_der_ocsp_request(body)))

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@dataclasses.dataclass(frozen=True)
class World:
    """The look-alike TEST hierarchy, a SAS leaf pointing at ``publication``, and keys to misbehave with."""

    publication: Publication
    root: x509.Certificate
    root_crl: x509.CertificateRevocationList
    inter: x509.Certificate
    inter_key: rsa.RSAPrivateKey
    other_inter: x509.Certificate
    other_inter_key: rsa.RSAPrivateKey
    stranger_key: rsa.RSAPrivateKey
    leaf: x509.Certificate
    certfile: Path
    keyfile: Path


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def world(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    publication = Publication()
    root_name, inter_name = pki.hierarchy_names(Hierarchy.TEST)
    _, other_name = pki.hierarchy_names(Hierarchy.PRODUCTION)
    inter, inter_key = pki.ca(inter_name), pki.ca_key(inter_name)
    leaf_key = _key()
    leaf = issue_leaf(
        subject=PREPRODUCTION.subject.to_name(),
        public_key=leaf_key.public_key(),
        issuer_name=inter.subject,
        issuer_key=inter_key,
        pointer=inter_name,
        base_url=publication.url,
        not_before=NOW - DAY,
        not_after=NOW + 30 * DAY,
    )
    folder = tmp_path_factory.mktemp("agree")
    certfile, keyfile = folder / "leaf.pem", folder / "leaf.key"
    certfile.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, inter)))
    keyfile.write_bytes(key_pem(leaf_key))
    try:
        yield World(
            publication=publication,
            root=pki.ca(root_name),
            root_crl=pki.crl(root_name),
            inter=inter,
            inter_key=inter_key,
            other_inter=pki.ca(other_name),
            other_inter_key=pki.ca_key(other_name),
            stranger_key=_key(),
            leaf=leaf,
            certfile=certfile,
            keyfile=keyfile,
        )
    finally:
        publication.close()


# -- the two sides ------------------------------------------------------------------------------------


def _handshake(server: ReferenceServer, world: World) -> None:
    ctx = ssl.create_default_context(cafile=str(server.ca_file))
    ctx.load_cert_chain(world.certfile, world.keyfile)
    request = f"GET /metadata HTTP/1.1\r\nHost: {server.server_name}\r\nConnection: close\r\n\r\n".encode()
    try:
        with (
            socket.create_connection((server.host, server.port), timeout=5) as raw,
            ctx.wrap_socket(raw, server_hostname=server.server_name) as tls,
        ):
            tls.sendall(request)
            while tls.recv(65536):
                pass
    except (ssl.SSLError, OSError):
        pass  # the server's log says what it decided


def server_judgement(world: World, *, crl: x509.CertificateRevocationList | None) -> str:
    """What the reference server decides: its CRL check (TLS layer) when ``crl`` is given, else its OCSP
    check (application layer). "good", "revoked" or "unproven" (refused for another reason)."""
    policy = Policy(
        allowed_subjects=accepted_subjects("preproduction", Mapping.ONE_TO_ONE),
        trusted_cas=(world.root, world.inter),
        crls=(world.root_crl, crl) if crl is not None else (),
        check_crl=crl is not None,
        check_ocsp=crl is None,
    )
    with ReferenceServer(policy) as server:
        _handshake(server, world)
        assert server.wait_idle()
        entry = server.log[-1]
    if entry["decision"] == "accepted":
        return "good"
    if any(e["error"] == "certificate revoked" for e in entry["verify_errors"]):
        return "revoked"
    if entry["reason"] == "OCSP: client certificate status is revoked":
        return "revoked"
    assert entry["decision"] in ("refused_tls", "refused_http"), entry
    return "unproven"


def client_judgement(world: World) -> str:
    status, _how = RevocationChecker().status(world.leaf, world.inter)
    return "unproven" if status == "unknown" else status


# -- OCSP -----------------------------------------------------------------------------------------------


def _responder_cert(world: World, key: rsa.RSAPrivateKey, *, ocsp_signing: bool) -> x509.Certificate:
    eku = ExtendedKeyUsageOID.OCSP_SIGNING if ocsp_signing else ExtendedKeyUsageOID.CLIENT_AUTH
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "repondeur OCSP delegue")]))
        .issuer_name(world.inter.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 30 * DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        .sign(world.inter_key, hashes.SHA256())
    )


def _impostor(world: World) -> x509.Certificate:
    """A self-signed certificate carrying the issuer's exact name under the stranger's key."""
    key = world.stranger_key
    return (
        x509.CertificateBuilder()
        .subject_name(world.inter.subject)
        .issuer_name(world.inter.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + 30 * DAY)
        .sign(key, hashes.SHA256())
    )


def answer(
    world: World,
    *,
    status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
    this_update: dt.datetime = NOW - dt.timedelta(minutes=1),
    next_update: dt.datetime = NOW + HOUR,
    serial_delta: int = 0,
    signer: str = "issuer",
    nonce: str = "echo",
) -> ResponseMaker:
    """An OCSP responder that answers every request the way the case says."""

    def make(request: ocsp.OCSPRequest) -> bytes:
        revoked = status is ocsp.OCSPCertStatus.REVOKED
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number + serial_delta,
            algorithm=request.hash_algorithm,
            cert_status=status,
            this_update=this_update,
            next_update=next_update,
            revocation_time=NOW - HOUR if revoked else None,
            revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
        )
        if signer == "issuer":
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, world.inter)
            key = world.inter_key
        elif signer == "forged":  # claims to be the issuer by name, signs with another key
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.NAME, _impostor(world))
            key = world.stranger_key
        else:  # a delegated responder, with or without id-kp-OCSPSigning
            key = _key()
            responder = _responder_cert(world, key, ocsp_signing=signer == "delegated")
            builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder).certificates(
                [responder]
            )
        sent = request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        echoed = {"echo": sent, "other": bytes(len(sent)), "none": None}[nonce]
        if echoed is not None:
            builder = builder.add_extension(x509.OCSPNonce(echoed), critical=False)
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    return make


def _unsuccessful(request: ocsp.OCSPRequest) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER).public_bytes(
        serialization.Encoding.DER
    )


OCSP_CASES: dict[str, tuple[dict[str, Any] | None, str]] = {
    "valid": ({}, "good"),
    "valid-without-nonce": ({"nonce": "none"}, "good"),
    "delegated-responder": ({"signer": "delegated"}, "good"),
    "revoked": ({"status": ocsp.OCSPCertStatus.REVOKED}, "revoked"),
    "unknown": ({"status": ocsp.OCSPCertStatus.UNKNOWN}, "unproven"),
    "stale": ({"this_update": NOW - 3 * HOUR, "next_update": NOW - HOUR}, "unproven"),
    "future-dated": ({"this_update": NOW + HOUR, "next_update": NOW + 2 * HOUR}, "unproven"),
    "forged": ({"signer": "forged"}, "unproven"),
    "wrong-responder": ({"signer": "not-ocsp-signing"}, "unproven"),
    "wrong-serial": ({"serial_delta": 1}, "unproven"),
    "wrong-nonce": ({"nonce": "other"}, "unproven"),
    "unsuccessful": (None, "unproven"),
}


@pytest.mark.parametrize("case", OCSP_CASES)
def test_ocsp_answers_get_the_same_judgement_on_both_sides(world: World, case: str) -> None:
    options, expected = OCSP_CASES[case]
    world.publication.crl = None  # no CRL: OCSP decides on the client side too
    world.publication.ocsp = _unsuccessful if options is None else answer(world, **options)
    server, client = server_judgement(world, crl=None), client_judgement(world)
    assert (server, client) == (expected, expected)


# -- CRL ------------------------------------------------------------------------------------------------


def crl(
    world: World,
    *,
    revoked: bool = False,
    last_update: dt.datetime = NOW - HOUR,
    next_update: dt.datetime = NOW + DAY,
    issuer: str = "issuer",
) -> x509.CertificateRevocationList:
    name, key = world.inter.subject, world.inter_key
    if issuer == "forged":
        key = world.stranger_key
    elif issuer == "other-ca":
        name, key = world.other_inter.subject, world.other_inter_key
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(name)
        .last_update(last_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    if revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(world.leaf.serial_number)
            .revocation_date(NOW - HOUR)
            .build()
        )
    return builder.sign(key, hashes.SHA256())


CRL_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "valid": ({}, "good"),
    "revoked": ({"revoked": True}, "revoked"),
    "stale": ({"last_update": NOW - 2 * DAY, "next_update": NOW - DAY}, "unproven"),
    "future-dated": ({"last_update": NOW + DAY, "next_update": NOW + 2 * DAY}, "unproven"),
    "forged": ({"issuer": "forged"}, "unproven"),
    "other-ca": ({"issuer": "other-ca"}, "unproven"),
}


@pytest.mark.parametrize("case", CRL_CASES)
def test_crls_get_the_same_judgement_on_both_sides(world: World, case: str) -> None:
    options, expected = CRL_CASES[case]
    the_crl = crl(world, **options)
    world.publication.crl = the_crl.public_bytes(serialization.Encoding.DER)
    world.publication.ocsp = None  # no OCSP: the CRL decides on the client side too
    server, client = server_judgement(world, crl=the_crl), client_judgement(world)
    assert (server, client) == (expected, expected)


# -- AUTH_CLI profile -------------------------------------------------------------------------------------

PROFILE_DEFECTS = {
    Defect.EKU_SERVEUR,
    Defect.SANS_SIGNATURE_NUMERIQUE,
    Defect.FEUILLE_CA,
    Defect.RSA_1024,
    Defect.SHA1,
}


@pytest.mark.parametrize("env_key", ENVIRONMENT_KEYS)
def test_cert_check_and_the_reference_server_judge_the_profile_alike(pki: Pki, env_key: str) -> None:
    refused: set[Defect] = set()
    for defect in Defect:
        identity = pki.identity(env_key, defect)
        credentials = load_credentials(identity.certfile, key_path=identity.keyfile)
        errors = [
            f
            for f in certcheck.check(credentials, env_key)
            if f.level == "error" and f.check in ("profile", "key")
        ]
        reason = profile_problem(credentials.leaf)
        assert (reason is not None) == bool(errors), (defect, reason, errors)
        if reason is not None:
            assert reason == f"client certificate: {errors[0].message}", defect
            refused.add(defect)
    assert refused == PROFILE_DEFECTS


# -- credentials --------------------------------------------------------------------------------------------

VAR = "RECETTE_SAS_AGREE_PASSWORD"
PASSWORD = "C0rrect-h0rse-agree"


@pytest.fixture
def editor_files(pki: Pki, tmp_path: Path) -> dict[str, Path]:
    """The editor's certificate as PEM + encrypted PEM key, and as a PKCS#12, both under ``PASSWORD``."""
    identity = EditorPki(pki).identity("preproduction")
    key = serialization.load_pem_private_key(identity.keyfile.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    encryption = serialization.BestAvailableEncryption(PASSWORD.encode())
    files = {
        "cert": tmp_path / "editeur.pem",
        "key": tmp_path / "editeur.key",
        "p12": tmp_path / "editeur.p12",
    }
    shutil.copy(identity.certfile, files["cert"])
    files["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    files["p12"].write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"editeur", key, identity.leaf, list(identity.chain), encryption
        )
    )
    return files


def via_cert_check(capsys: pytest.CaptureFixture[str], files: dict[str, Path], kind: str) -> tuple[bool, str]:
    argv = [str(files["p12"])] if kind == "p12" else [str(files["cert"]), "--key", str(files["key"])]
    code = recette_sas(["cert", "check", *argv, "--env", "preproduction", "--password-env", VAR])
    out, err = capsys.readouterr()
    assert code in (0, ExitCode.USAGE), out + err
    return code == 0, err.strip().removeprefix("recette-sas cert check: ")


def via_config(tmp_path: Path, files: dict[str, Path], kind: str) -> tuple[bool, str]:
    table = (
        f'pkcs12 = "{files["p12"]}"' if kind == "p12" else f'cert = "{files["cert"]}"\nkey = "{files["key"]}"'
    )
    config = tmp_path / "editeur.toml"
    config.write_text(
        'editor = "Test"\n[environments.preproduction]\nbase_url = "https://localhost:8443/fhir"\n'
        f'[environments.preproduction.certificate]\n{table}\npassword_env = "{VAR}"\n'
    )
    try:
        loaded = load_config(config)
        validate_credentials(loaded)
        certificate = loaded.environments["preproduction"].certificate
        assert certificate is not None
        credential = load_credential(certificate, where="agree")
    except UsageError as exc:
        return False, str(exc)
    cn = credential.leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "editeur-exemple-preproduction"
    return True, ""


@pytest.mark.parametrize("kind", ["pem", "p12"])
@pytest.mark.parametrize("password", [PASSWORD, "not-the-password", None])
def test_cert_check_and_the_configuration_open_the_same_files(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    editor_files: dict[str, Path],
    kind: str,
    password: str | None,
) -> None:
    if password is None:
        monkeypatch.delenv(VAR, raising=False)
    else:
        monkeypatch.setenv(VAR, password)
    checked, check_error = via_cert_check(capsys, editor_files, kind)
    configured, config_error = via_config(tmp_path, editor_files, kind)
    assert checked == configured == (password == PASSWORD), (check_error, config_error)
    for message in (check_error, config_error):
        assert PASSWORD not in message and "not-the-password" not in message and "\n" not in message
    if password is None:
        assert check_error == f"--password-env {VAR}: environment variable {VAR} is not set"
        assert config_error.endswith(f"password_env: environment variable {VAR} is not set")
    elif password != PASSWORD:
        # The same file named, the same problem, the variable named, never the password.
        problem = check_error.split(": ", 1)[1]
        assert (
            problem
            == f"{'cannot open the PKCS#12 file' if kind == 'p12' else 'cannot decrypt the private key'}: wrong password in {VAR} or corrupt file"
        )
        path = editor_files["p12" if kind == "p12" else "key"]
        assert check_error == f"{path}: {problem}"
        assert config_error.endswith(f".{'pkcs12' if kind == 'p12' else 'key'}: {path}: {problem}")


def test_an_encrypted_key_without_a_password_is_refused_by_both(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, editor_files: dict[str, Path]
) -> None:
    code = recette_sas(
        ["cert", "check", str(editor_files["cert"]), "--key", str(editor_files["key"]), "--env", "preproduction"]
    )
    err = capsys.readouterr().err.strip()
    assert code == ExitCode.USAGE
    assert err.startswith(f"recette-sas cert check: {editor_files['key']}: the private key is encrypted: ")
    config = tmp_path / "sans-mot-de-passe.toml"
    config.write_text(
        'editor = "Test"\n[environments.preproduction]\nbase_url = "https://localhost:8443/fhir"\n'
        f'[environments.preproduction.certificate]\ncert = "{editor_files["cert"]}"\nkey = "{editor_files["key"]}"\n'
    )
    with pytest.raises(UsageError) as info:
        validate_credentials(load_config(config))
    assert f".certificate.key: {editor_files['key']}: the private key is encrypted: " in str(info.value)
