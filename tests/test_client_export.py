"""The client role for real editors: clients configured only from ``recette-sas pki export`` and the
trigger command's placeholders, run through the client features exactly as an editor runs them.

curl, Python ``requests`` and a Java ``java.net.http`` client (compiled here with ``javac``) reach
``conforme`` for pre-production and production; a client presenting another valid certificate fails
CLI-CERT-CONFIGURE-01 and nothing else; a client unable to resolve the SAS name (``{address_url}``) is
judged on everything but its SNI, which is "not verifiable here"; a genuine-IGC-like certificate (an
independent chain carrying the IGC Santé names, trusted through ``--igc-ca-dir``) ends "conforme sous
réserve" offline, and fails where a loopback stand-in for the IGC's CRL says revoked.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from recette_sas.client.reference import APPOINTMENT_SYSTEM, appointment
from recette_sas.environments import Hierarchy, get_environment
from recette_sas.pki.certcheck import intermediate_dn, root_dn
from recette_sas.pki.editor import EditorPki, editor_subject
from recette_sas.pki.profile import issue_leaf
from recette_sas.pki.store import Pki

from .test_client_role import ALL_SCENARIOS, Result, run_features

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
CURL = shutil.which("curl")
JAVAC = shutil.which("javac")
JAVA = shutil.which("java")
P12_ENV = "RECETTE_SAS_TEST_P12_PASSWORD"
P12_PASSWORD = "mot de passe d'essai"
ENVS = ("preproduction", "production")
TOKEN = f"{APPOINTMENT_SYSTEM}|ext-1".replace(":", "%3A").replace("/", "%2F").replace("|", "%7C")
LIVE = "CLI-LIVE[-]"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, cache: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recette_sas.cli", *args, "--cache", str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
    )


@pytest.fixture(scope="module")
def responder() -> str:
    """One responder address for the export and the runs, as an editor configures it (``[pki]``): the
    default port may be taken by another run on a shared machine, and a run then falls back to another
    port, whose certificates the export does not hold."""
    return f"http://127.0.0.1:{_free_port()}"


@pytest.fixture(scope="module")
def export_dir(pki_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory, responder: str) -> Path:
    """``recette-sas pki export`` as the editor runs it, with a PKCS#12 per environment."""
    target = tmp_path_factory.mktemp("export") / "sas"
    done = _cli("pki", "export", str(target), "--p12-password-env", P12_ENV, "--responder-url", responder,
                cache=pki_cache_dir, env={P12_ENV: P12_PASSWORD})
    assert done.returncode == 0, done.stderr
    return target


@pytest.fixture(scope="module")
def bodies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bodies")
    start = dt.datetime(2030, 1, 2, 10, tzinfo=dt.UTC)
    (folder / "creation.json").write_text(json.dumps(appointment("ext-1", status="booked", start=start)))
    (folder / "update.json").write_text(json.dumps(appointment("ext-1", status="cancelled", start=start)))
    return folder


def _statuses(results: dict[str, Result]) -> dict[str, str]:
    """passed | failed | broken | warning | non-verifiable | skipped, per check key."""
    return {
        key: "non-verifiable" if r.status == "skipped" and r.reason.startswith("NON VERIFIABLE ICI") else r.status
        for key, r in results.items()
    }


def _assert(
    results: dict[str, dict[str, Result]],
    envs: tuple[str, ...],
    *,
    failed: frozenset[str] = frozenset(),
    unverifiable: frozenset[str] = frozenset(),
) -> None:
    assert set(results) == set(envs)
    for env in envs:
        got = _statuses(results[env])
        assert set(got) == ALL_SCENARIOS, env
        expected = {k: "passed" for k in ALL_SCENARIOS} | {LIVE: "skipped"}
        expected |= {k: "failed" for k in failed} | {k: "non-verifiable" for k in unverifiable}
        assert got == expected, (env, {k: results[env][k].reason for k in got if got[k] != expected[k]})


def _summary(pytester: pytest.Pytester) -> dict[str, object]:
    return dict(json.loads((pytester.path / "summary.json").read_text()))


def _config(tmp_path: Path, responder: str, commands: dict[str, str | None]) -> Path:
    """The editor's configuration: the export's responder, and per environment its command (None: the
    command comes from ``--sas-client-command``)."""
    bind = responder.removeprefix("http://")
    lines = ['editor = "Editeur exemple"', "[pki]", f'responder_url = "{responder}"', f'responder_bind = "{bind}"']
    for env, command in commands.items():
        lines += [f"[environments.{env}]", f'base_url = "https://editeur.example:8443/{env}"']
        if command is not None:
            lines += [f"[environments.{env}.client]", 'mode = "command"', f"command = '''{command}'''"]
    path = tmp_path / f"editeur-{len(list(tmp_path.glob('editeur-*.toml')))}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _curl(bodies: Path, *, cert: str, key: str, ca: str, url: str = "{base_url}", resolve: bool = True) -> str:
    common = (
        f"--cert {cert} --key {key} --cacert {ca} -sS --max-time 10 "
        + ("--resolve {host}:{port}:{address} " if resolve else "")
        + "-H 'Content-Type: application/fhir+json' -H 'Accept: application/fhir+json'"
    )
    return (
        f"{CURL} {common} -X POST --data-binary @{bodies / 'creation.json'} {url}/Appointment "
        f"--next {common} -X PUT --data-binary @{bodies / 'update.json'} '{url}/Appointment?identifier={TOKEN}'"
    )


REQUESTS_CLIENT = '''
import sys, requests
from requests.adapters import HTTPAdapter

url, host, cert, key, ca, creation, update, token = sys.argv[1:9]

class SasName(HTTPAdapter):
    """Connect to the address in the URL, but name the SAS host in the SNI and the certificate check."""
    def init_poolmanager(self, *args, **kwargs):
        if host != "-":
            kwargs["server_hostname"] = host
            kwargs["assert_hostname"] = host
        super().init_poolmanager(*args, **kwargs)

session = requests.Session()
session.mount("https://", SasName())
headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
if host != "-":
    headers["Host"] = host
for method, path, body in (("POST", "/Appointment", creation), ("PUT", "/Appointment?identifier=" + token, update)):
    answer = session.request(method, url + path, data=open(body, "rb").read(), headers=headers,
                             cert=(cert, key), verify=ca, timeout=10)
    print(method, answer.status_code)
'''


def _requests(folder: Path, bodies: Path, *, by_name: bool) -> str:
    script = folder / "envoyer.py"
    script.write_text(REQUESTS_CLIENT)
    url, host = ("https://{address}:{port}", "{host}") if by_name else ("{address_url}", "-")
    return (
        f"{sys.executable} {script} {url} {host} {{fullchain_file}} {{key_file}} {{ca_file}} "
        f"{bodies / 'creation.json'} {bodies / 'update.json'} {TOKEN}"
    )


# -- the export --------------------------------------------------------------------------------------------


def test_export_writes_the_client_material_and_reuses_it(
    export_dir: Path, pki_cache_dir: Path, responder: str
) -> None:
    manifest = json.loads((export_dir / "manifest.json").read_text())
    sas_ca = x509.load_pem_x509_certificate((export_dir / "client" / "sas-ca.pem").read_bytes())
    assert manifest["sas_ca_sha256"] == sas_ca.fingerprint(hashes.SHA256()).hex()
    pki = Pki.load_or_build(pki_cache_dir, responder_url=responder)
    for env in ("recette", *ENVS):
        folder = export_dir / "client" / env
        leaf = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
        _, inter_name = pki.hierarchy_names(get_environment(env).hierarchy)
        assert leaf.issuer == pki.ca(inter_name).subject
        assert leaf.subject == editor_subject(env)
        assert manifest["client_fingerprints"][env] == leaf.fingerprint(hashes.SHA256()).hex()
        assert (folder / "chain.pem").read_bytes() == (folder / "fullchain.pem").read_bytes()[
            len((folder / "cert.pem").read_bytes()) :
        ]
        for private in ("key.pem", "client.p12"):
            assert stat.S_IMODE((folder / private).stat().st_mode) == 0o600, private
        key, cert, extra = pkcs12.load_key_and_certificates(
            (folder / "client.p12").read_bytes(), P12_PASSWORD.encode()
        )
        assert cert == leaf and key is not None and [c.subject for c in extra] == [leaf.issuer]
        with pytest.raises(ValueError):
            pkcs12.load_key_and_certificates((folder / "client.p12").read_bytes(), b"wrong")
    readme = (export_dir / "README.md").read_text()
    for placeholder in ("{base_url}", "{host}", "{port}", "{address}", "{address_url}", "{ca_file}",
                        "{cert_file}", "{key_file}", "{chain_file}", "{p12_file}"):
        assert placeholder in readme, placeholder
    for client in ("### curl", "### Java", "### Python", "### .NET"):
        assert client in readme
    assert P12_PASSWORD not in readme and P12_PASSWORD not in json.dumps(manifest)
    # Exported again: the same client certificates and CA (the editor configures its client once).
    again = export_dir.parent / "again"
    assert _cli("pki", "export", str(again), "--responder-url", responder, cache=pki_cache_dir).returncode == 0
    assert json.loads((again / "manifest.json").read_text())["client_fingerprints"] == manifest["client_fingerprints"]
    assert not (again / "client" / "preproduction" / "client.p12").exists()  # no password named, no PKCS#12
    from recette_sas.pki.export import check_export

    assert check_export(pki, again, horizon=dt.timedelta(days=1)) is None
    stale = json.loads((again / "manifest.json").read_text())
    stale["client_fingerprints"]["production"] = "0" * 64  # as if renewed since this export
    (again / "manifest.json").write_text(json.dumps(stale))
    assert "client certificates were renewed" in str(check_export(pki, again, horizon=dt.timedelta(days=1)))


def test_export_with_an_unset_password_variable_is_a_usage_error(pki_cache_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != P12_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "recette_sas.cli", "pki", "export", str(tmp_path / "x"), "--cache",
         str(pki_cache_dir), "--p12-password-env", P12_ENV],
        capture_output=True, text=True, timeout=120, env={**env, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 4, done.stderr
    assert P12_ENV in done.stderr and not (tmp_path / "x").exists()


# -- real clients, configured from the export alone ------------------------------------------------------------


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl_and_requests_configured_from_the_export_are_conforme(
    pytester: pytest.Pytester, pki_cache_dir: Path, export_dir: Path, bodies: Path, tmp_path: Path, responder: str
) -> None:
    """curl from the export's files (pre-production), requests from the placeholders (production)."""
    client = export_dir / "client"
    config = _config(
        tmp_path,
        responder,
        {
            "preproduction": _curl(
                bodies,
                cert=str(client / "preproduction" / "fullchain.pem"),
                key=str(client / "preproduction" / "key.pem"),
                ca=str(client / "sas-ca.pem"),
            ),
            "production": _requests(tmp_path, bodies, by_name=True),
        },
    )
    results = run_features(pytester, pki_cache_dir, "--sas-config", str(config))
    _assert(results, ENVS)
    assert _summary(pytester)["verdict"] == "conforme"


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_a_client_that_cannot_resolve_the_sas_name_is_judged_on_the_address(
    pytester: pytest.Pytester, pki_cache_dir: Path, bodies: Path, tmp_path: Path, responder: str,
    export_dir: Path,
) -> None:
    """``{address_url}``: the mock's certificate names its address too, so every check is judged as by
    name (the hostile platforms still refused for their one defect) — but an IP carries no SNI, so SNI is
    not verifiable here, and the run is "conforme sous réserve" (exit 0) with that reservation."""
    config = _config(
        tmp_path,
        responder,
        {
            "preproduction": _requests(tmp_path, bodies, by_name=False),
            "production": _curl(bodies, cert="{fullchain_file}", key="{key_file}", ca="{ca_file}",
                                url="{address_url}", resolve=False),
        },
    )
    results = run_features(pytester, pki_cache_dir, "--sas-config", str(config))
    _assert(results, ENVS, unverifiable=frozenset({"CLI-SNI[creation_rdv]", "CLI-SNI[maj_rdv]"}))
    summary = _summary(pytester)
    assert (summary["verdict"], summary["exit_code"]) == ("conforme-sous-reserve", 0)
    reservations = summary["reservations"]
    assert isinstance(reservations, list) and len(reservations) == 4  # 2 environments x 2 flows
    assert {r["check"] for r in reservations} == {"CLI-SNI-01"}
    assert all("SNI not verifiable here" in r["message"] for r in reservations)


JAVA_CLIENT = r"""
import java.io.FileInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

public class SasClient {
    public static void main(String[] args) throws Exception {
        String base = args[0], p12 = args[1], ca = args[2], creation = args[3], update = args[4], token = args[5];
        char[] password = System.getenv(args[6]).toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(p12)) { keys.load(in, password); }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        try (FileInputStream in = new FileInputStream(ca)) {
            trust.setCertificateEntry("sas", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        HttpClient client = HttpClient.newBuilder().sslContext(tls).version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
        String[][] calls = {{"POST", "/Appointment", creation}, {"PUT", "/Appointment?identifier=" + token, update}};
        for (String[] call : calls) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + call[1]))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/fhir+json").header("Accept", "application/fhir+json")
                .method(call[0], HttpRequest.BodyPublishers.ofFile(Path.of(call[2]))).build();
            System.out.println(call[0] + " " + client.send(request, HttpResponse.BodyHandlers.ofString()).statusCode());
        }
    }
}
"""


def test_java_client_configured_from_the_export_is_conforme(
    pytester: pytest.Pytester, pki_cache_dir: Path, bodies: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    responder: str, export_dir: Path,
) -> None:
    """java.net.http with the exported PKCS#12 ({p12_file}, password from the named variable) and the
    mock's CA ({ca_file}); the SAS names resolved to loopback by a JVM hosts file."""
    if JAVAC is None or JAVA is None:
        if os.environ.get("CI") == "true":
            pytest.fail("javac and java are required under CI (a JDK 17 is on the CI machine)")
        pytest.skip("no JDK on this machine (javac not found): the Java client is not tried")
    source = tmp_path / "SasClient.java"
    source.write_text(JAVA_CLIENT)
    subprocess.run([JAVAC, "-d", str(tmp_path), str(source)], check=True, timeout=180, capture_output=True)
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("".join(f"127.0.0.1 {get_environment(e).host}\n" for e in ENVS))
    monkeypatch.setenv(P12_ENV, P12_PASSWORD)
    command = (
        f"{JAVA} -Djdk.net.hosts.file={hosts} -cp {tmp_path} SasClient {{base_url}} {{p12_file}} {{ca_file}} "
        f"{bodies / 'creation.json'} {bodies / 'update.json'} {TOKEN} {P12_ENV}"
    )
    results = run_features(
        pytester,
        pki_cache_dir,
        "--sas-config",
        str(_config(tmp_path, responder, dict.fromkeys(ENVS))),
        "--sas-client-command",
        command,
        "--sas-client-p12-password-env",
        P12_ENV,
        "--sas-client-command-timeout",
        "90",
    )
    _assert(results, ENVS)
    assert P12_PASSWORD not in (pytester.path / "summary.json").read_text()


# -- the presented certificate is the configured one --------------------------------------------------------


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_another_valid_certificate_fails_only_the_configured_certificate_check(
    pytester: pytest.Pytester, pki_cache_dir: Path, bodies: Path, tmp_path: Path, responder: str,
    export_dir: Path,
) -> None:
    """A valid look-alike editor certificate (right issuer, profile, validity, not revoked) that is not the
    exported one configured for the environment: CLI-CERT-CONFIGURE-01 fails, every other check passes."""
    other = EditorPki(Pki.load_or_build(pki_cache_dir, responder_url=responder)).identity("preproduction")
    command = _curl(bodies, cert=str(other.certfile), key=str(other.keyfile), ca="{ca_file}")
    config = _config(tmp_path, responder, {"preproduction": None})
    results = run_features(pytester, pki_cache_dir, "--sas-config", str(config), "--sas-client-command", command)
    _assert(
        results,
        ("preproduction",),
        failed=frozenset({"CLI-CERT-CONFIGURE[creation_rdv]", "CLI-CERT-CONFIGURE[maj_rdv]"}),
    )
    summary = _summary(pytester)
    assert summary["verdict"] == "non-conforme"
    failures = summary["failures"]
    assert isinstance(failures, list) and {f["check"] for f in failures} == {"CLI-CERT-CONFIGURE-01"}
    assert all("another certificate than the configured one" in f["message"] for f in failures)


# -- genuine IGC Santé certificates, offline ---------------------------------------------------------------


class _Chain:
    """An independent chain carrying the IGC Santé TEST names (ACR-EL-TEST → ACI-EL-ORG-TEST): the suite
    does not hold its keys, exactly as with the real IGC."""

    def __init__(self, folder: Path) -> None:
        now = dt.datetime.now(dt.UTC)
        self.folder = folder
        self.root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root = self._ca(root_dn(Hierarchy.TEST), root_dn(Hierarchy.TEST), self.root_key, self.root_key, now)
        self.inter = self._ca(intermediate_dn(Hierarchy.TEST), root_dn(Hierarchy.TEST), self.inter_key,
                              self.root_key, now)
        self.ca_dir = folder / "igc"
        self.ca_dir.mkdir()
        # --igc-ca-dir holds the four IGC CAs: the production pair is an independent stand-in too.
        prod_root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        prod_inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        prod = Hierarchy.PRODUCTION
        prod_root = self._ca(root_dn(prod), root_dn(prod), prod_root_key, prod_root_key, now)
        prod_inter = self._ca(intermediate_dn(prod), root_dn(prod), prod_inter_key, prod_root_key, now)
        for name, cert in (
            ("ACR-EL-TEST", self.root),
            ("ACI-EL-ORG-TEST", self.inter),
            ("ACR-EL", prod_root),
            ("ACI-EL-ORG", prod_inter),
        ):
            (self.ca_dir / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def _ca(subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey, signer: rsa.RSAPrivateKey,
            now: dt.datetime) -> x509.Certificate:
        return (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=10)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(signer, hashes.SHA256())
        )

    def leaf(self, base_url: str) -> tuple[Path, x509.Certificate]:
        """The editor's AUTH_CLI certificate, its CRL and OCSP at ``base_url``; ``(PEM with key, leaf)``."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = dt.datetime.now(dt.UTC)
        leaf = issue_leaf(
            subject=editor_subject("preproduction"), public_key=key.public_key(), issuer_name=self.inter.subject,
            issuer_key=self.inter_key, pointer="ACI-EL-ORG-TEST", base_url=base_url,
            not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=365),
        )
        path = self.folder / f"editeur-{leaf.serial_number}.pem"
        pem = serialization.Encoding.PEM
        path.write_bytes(
            leaf.public_bytes(pem) + self.inter.public_bytes(pem)
            + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        path.chmod(0o600)
        return path, leaf

    def crl(self, revoked: x509.Certificate) -> bytes:
        now = dt.datetime.now(dt.UTC)
        entry = (x509.RevokedCertificateBuilder().serial_number(revoked.serial_number)
                 .revocation_date(now - dt.timedelta(hours=1)).build())
        crl = (
            x509.CertificateRevocationListBuilder().issuer_name(self.inter.subject)
            .last_update(now - dt.timedelta(minutes=5)).next_update(now + dt.timedelta(days=1))
            .add_revoked_certificate(entry)
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.inter_key.public_key()),
                           critical=False)
            .sign(self.inter_key, hashes.SHA256())
        )
        return crl.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def stand_in_igc() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A loopback HTTP server standing in for the IGC's CRL publication: ``(base URL, path → body)``."""
    served: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = served.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _genuine_run(pytester: pytest.Pytester, pki_cache_dir: Path, chain: _Chain, cert: Path, bodies: Path,
                 responder: str) -> dict[str, dict[str, Result]]:
    command = _curl(bodies, cert=str(cert), key=str(cert), ca="{ca_file}")
    config = _config(chain.folder, responder, {"preproduction": None})
    return run_features(
        pytester, pki_cache_dir, "--sas-config", str(config), "--sas-client-command", command,
        "--sas-client-cert", str(cert), "--igc-ca-dir", str(chain.ca_dir),
        "--sas-live-connect", f"127.0.0.1:{_free_port()}",  # the live check never leaves loopback
    )


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_a_genuine_igc_certificate_offline_is_conforme_with_a_reservation(
    pytester: pytest.Pytester, pki_cache_dir: Path, bodies: Path, tmp_path: Path, responder: str
) -> None:
    chain = _Chain(tmp_path)
    cert, _ = chain.leaf("http://igc-sante.esante.gouv.fr")  # never fetched: online checks are off
    results = _genuine_run(pytester, pki_cache_dir, chain, cert, bodies, responder)
    _assert(results, ("preproduction",),
            unverifiable=frozenset({"CLI-REVOCATION[creation_rdv]", "CLI-REVOCATION[maj_rdv]"}))
    summary = _summary(pytester)
    assert (summary["verdict"], summary["exit_code"]) == ("conforme-sous-reserve", 0)
    reservations = summary["reservations"]
    assert isinstance(reservations, list) and {r["check"] for r in reservations} == {"CLI-REVOCATION-01"}
    assert len(reservations) == 2 and all("not verifiable here" in r["message"] for r in reservations)
    terminal = (pytester.path / "terminal.txt").read_text()
    assert "réserve : CLI-REVOCATION-01 — NON VERIFIABLE ICI" in terminal
    assert "verdict : conforme-sous-reserve (code de sortie 0" in terminal
    allure = [json.loads(p.read_text()) for p in (pytester.path / "allure").glob("*-result.json")]
    shown = [r for r in allure if r["status"] == "skipped" and "NON VERIFIABLE ICI" in r["statusDetails"]["message"]]
    assert len(shown) == 2  # Allure: skipped, in the « Non vérifiable ici » category, not broken


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_a_revoked_genuine_igc_certificate_fails_where_the_stand_in_says_revoked(
    pytester: pytest.Pytester, pki_cache_dir: Path, bodies: Path, tmp_path: Path,
    stand_in_igc: tuple[str, dict[str, bytes]], responder: str,
) -> None:
    base, served = stand_in_igc
    chain = _Chain(tmp_path)
    cert, leaf = chain.leaf(base)
    served["/crl/ACI-EL-ORG-TEST.crl"] = chain.crl(leaf)
    results = _genuine_run(pytester, pki_cache_dir, chain, cert, bodies, responder)
    _assert(results, ("preproduction",),
            failed=frozenset({"CLI-REVOCATION[creation_rdv]", "CLI-REVOCATION[maj_rdv]"}))
    assert _summary(pytester)["verdict"] == "non-conforme"


# -- wait mode -------------------------------------------------------------------------------------------------


def test_wait_mode_keeps_the_mock_certificate_across_runs(tmp_path: Path) -> None:
    import trustme

    from recette_sas.client.mock_credentials import server_credentials
    from recette_sas.client.presentation import MockMode

    ca = trustme.CA()
    host = get_environment("preproduction").host
    first = server_credentials(MockMode.NORMAL, host, server_ca=ca, address="127.0.0.1", keep_in=tmp_path)
    again = server_credentials(MockMode.NORMAL, host, server_ca=ca, address="127.0.0.1", keep_in=tmp_path)
    assert first == again
    leaf = x509.load_pem_x509_certificates(first.chain_pem)[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert host in names.get_values_for_type(x509.DNSName)
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    wrong = server_credentials(MockMode.WRONG_HOST, host, server_ca=ca, address="127.0.0.1", keep_in=tmp_path)
    wrong_names = x509.load_pem_x509_certificates(wrong.chain_pem)[0].extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value
    assert not wrong_names.get_values_for_type(x509.IPAddress)  # the wrong name stays the one defect
    other_ca = server_credentials(MockMode.NORMAL, host, server_ca=trustme.CA(), keep_in=tmp_path)
    assert other_ca != first  # a new CA: a new certificate
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in tmp_path.glob("*.key.pem"))


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_wait_mode_step_by_step_with_an_operator(
    pytester: pytest.Pytester, pki_cache_dir: Path, export_dir: Path, bodies: Path, tmp_path: Path, responder: str
) -> None:
    """``--sas-client-wait``: the mock listens on the configured address, one platform after the other,
    and an operator (here a loop running curl from the export's files) triggers each exchange."""
    port = _free_port()
    client = export_dir / "client"
    host = get_environment("preproduction").host
    argv = [
        part.replace("{host}", host).replace("{port}", str(port)).replace("{address}", "127.0.0.1")
        .replace("{base_url}", f"https://{host}:{port}")
        for part in __import__("shlex").split(
            _curl(bodies, cert=str(client / "preproduction" / "fullchain.pem"),
                  key=str(client / "preproduction" / "key.pem"), ca=str(client / "sas-ca.pem"))
        )
    ]
    stop = threading.Event()
    runs: list[int] = []

    def operator() -> None:
        deadline = dt.datetime.now() + dt.timedelta(seconds=100)
        while not stop.is_set() and dt.datetime.now() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                stop.wait(0.1)
                continue
            runs.append(subprocess.run(argv, capture_output=True, timeout=20).returncode)
            stop.wait(2.5)  # one action per platform: longer than the mock's quiet period

    thread = threading.Thread(target=operator, daemon=True)
    thread.start()
    try:
        results = run_features(
            pytester, pki_cache_dir, "--sas-config", str(_config(tmp_path, responder, {"preproduction": None})),
            "--sas-client-wait", f"127.0.0.1:{port}",
            "--sas-client-wait-timeout", "15",
        )
    finally:
        stop.set()
        thread.join(30)
    _assert(results, ("preproduction",))
    assert runs and runs[0] == 0 and any(code != 0 for code in runs[1:])  # the hostile ones refused


# -- the "not verifiable here" outcome, and the pinned IGC CAs ------------------------------------------------


def test_not_verifiable_makes_the_run_conforme_with_reservations_and_nothing_else() -> None:
    import xml.etree.ElementTree as ET

    from fixtures.levels import RunRecord, _Result
    from fixtures.run_verdict import _rewrite_case, summarise

    def record(*statuses: str) -> RunRecord:
        run = RunRecord()
        for i, status in enumerate(statuses):
            run.results[f"t{i}"] = _Result(f"t{i}", ("CLI-REVOCATION",), "bloquant", status, f"m{i}",
                                           check="CLI-REVOCATION-01")
        run.collected = len(statuses)
        return run

    reserved = summarise(record("passed", "non-verifiable"), strict=True)
    assert (reserved["verdict"], reserved["exit_code"]) == ("conforme-sous-reserve", 0)
    assert reserved["reservations"] == [{"test": "t1", "check": "CLI-REVOCATION-01", "message": "m1"}]
    assert "CONFORME SOUS RÉSERVE" in reserved["message"] and "CLI-REVOCATION-01" in reserved["message"]
    # A reservation never hides a failure or a scenario that could not be judged.
    assert summarise(record("failed", "non-verifiable"), strict=False)["verdict"] == "non-conforme"
    assert summarise(record("broken", "non-verifiable"), strict=False)["verdict"] == "indetermine"
    assert summarise(record("passed"), strict=False)["verdict"] == "conforme"
    case = ET.fromstring('<testcase classname="c" name="n"><skipped message="x"/></testcase>')
    _rewrite_case(case, "non-verifiable", "NON VERIFIABLE ICI : m", "")
    skipped = case.find("skipped")  # junit: neither passed nor failed
    assert skipped is not None and skipped.attrib == {
        "message": "NON VERIFIABLE ICI : m",
        "type": "recette-sas.non-verifiable",
    }
    assert {p.get("name"): p.get("value") for p in case.iter("property")} == {"recette-sas": "non-verifiable"}


def test_the_cached_pinned_igc_cas_are_anchors_without_igc_ca_dir(tmp_path: Path) -> None:
    """``recette-sas igc fetch`` caches the real CAs (verified against their pins): the client role then
    judges a genuine certificate by signature without ``--igc-ca-dir``; none cached, none used."""
    from fixtures.client import _cached_igc_cas

    shared = ROOT.parent / "shared" / "igc"
    if not shared.is_dir():
        pytest.skip(f"{shared}: the real IGC Santé CA certificates are not on this machine")
    (tmp_path / "igc").mkdir()
    for cer in shared.glob("*.cer"):
        shutil.copyfile(cer, tmp_path / "igc" / cer.name)
    cas = _cached_igc_cas(tmp_path)
    assert {c.subject for c in cas} == {dn(h) for h in Hierarchy for dn in (root_dn, intermediate_dn)}
    assert _cached_igc_cas(tmp_path / "nothing-cached") == ()


def test_p12_file_without_its_password_variable_is_a_usage_error(
    pytester: pytest.Pytester, pki_cache_dir: Path
) -> None:
    result = pytester.runpytest_subprocess(
        "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT), "--pki-cache", str(pki_cache_dir),
        str(ROOT / "features" / "test_client.py"), "--sas-client-command", f"{sys.executable} {{p12_file}}",
        timeout=60,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line.strip()] == [
        "ERROR: {p12_file} (--sas-client-p12-password-env): name the environment variable that holds the "
        "PKCS#12 password"
    ]
