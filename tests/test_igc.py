"""The real IGC Santé CA certificates: pinned, downloaded once from a loopback stand-in, cached, re-verified.

A loopback HTTP server plays igc-sante.esante.gouv.fr with the real files of ``../shared/igc`` (read from
there, never copied into the project) under the real URL layout, and counts requests; a guard makes sure
nothing else is ever contacted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from recette_sas.cli.main import main
from recette_sas.environments import Hierarchy, UsageError
from recette_sas.errors import ExitCode
from recette_sas.pki import igc
from recette_sas.pki.igc import IGC_CAS, OFFICIAL_BASE, IgcChains

SHARED_IGC = Path(__file__).resolve().parent.parent.parent / "shared" / "igc"
if not (SHARED_IGC / "ACR-EL.cer").is_file():
    pytest.skip(
        f"{SHARED_IGC} is absent: no real IGC Santé CA certificates to serve on this machine",
        allow_module_level=True,
    )

NAMES = ("ACR-EL", "ACI-EL-ORG", "ACR-EL-TEST", "ACI-EL-ORG-TEST")
PATHS = {
    "ACR-EL": "/AC/ACR-EL.cer",
    "ACI-EL-ORG": "/AC/ACI-EL-ORG.cer",
    "ACR-EL-TEST": "/AC%20TEST/ACR-EL-TEST.cer",
    "ACI-EL-ORG-TEST": "/AC%20TEST/ACI-EL-ORG-TEST.cer",
}
# From ../shared/igc/README.md, typed again here so a wrong constant in the module cannot pass.
PINS = {
    "ACR-EL": "2d9e22ca19f777c6b745257c723ecb8df3c35fa6f1f6ec36b83600c97346967f",
    "ACI-EL-ORG": "d834ee5b40686b73573f60547bf6052c6d404d942a5665cdb2c0b9137b5d27b2",
    "ACR-EL-TEST": "01325aeb193871eec90fa89556804e4185cb362e0ca87a3d79939c71186da805",
    "ACI-EL-ORG-TEST": "dc528e3788691b3f7950164076f95b02c64334c68662bdede5750b4e0e5338f6",
}
_ASIP = "OU=0002 187512751,O=ASIP-SANTE,C=FR"
DNS = {
    "ACR-EL": f"CN=AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE,{_ASIP}",
    "ACI-EL-ORG": f"CN=AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE,{_ASIP}",
    "ACR-EL-TEST": f"CN=TEST AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE TEST,{_ASIP}",
    "ACI-EL-ORG-TEST": f"CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE TEST,{_ASIP}",
}
CHAINS = {Hierarchy.PRODUCTION: ("ACR-EL", "ACI-EL-ORG"), Hierarchy.TEST: ("ACR-EL-TEST", "ACI-EL-ORG-TEST")}
REAL_DER = {name: (SHARED_IGC / f"{name}.cer").read_bytes() for name in NAMES}


# -- the loopback stand-in for igc-sante.esante.gouv.fr ------------------------------------------


@dataclass
class FakeIgcSite:
    """Serves ``files`` by raw request path; ``status`` overrides answer a path with an HTTP error."""

    url: str
    files: dict[str, bytes]
    status: dict[str, int] = field(default_factory=dict)
    fail_first: set[str] = field(default_factory=set)
    hang: bool = False
    requests: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.requests)


def _handler(site: FakeIgcSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with site.lock:
                site.requests.append(self.path)
                first_failure = self.path in site.fail_first
                site.fail_first.discard(self.path)
            if site.hang:
                site.release.wait(5)
                self.close_connection = True
                return
            code = 500 if first_failure else site.status.get(self.path)
            body = site.files.get(self.path)
            if code is None and body is None:
                code = 404
            if code is not None:
                self.send_error(code)
                return
            assert body is not None
            self.send_response(200)
            self.send_header("Content-Type", "application/pkix-cert")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[FakeIgcSite]:
    state = FakeIgcSite(url="", files={PATHS[n]: REAL_DER[n] for n in NAMES})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real IGC host rate-limits and must never be contacted from tests: refuse anything not loopback."""
    real_fetch = igc._fetch

    def guarded(url: str, *, timeout: float) -> bytes:
        assert url.startswith("http://127.0.0.1:"), f"test tried to reach {url}"
        data: bytes = real_fetch(url, timeout=timeout)
        return data

    monkeypatch.setattr(igc, "_fetch", guarded)
    monkeypatch.setattr(igc, "RETRY_DELAY", 0.0)


def _load(cache: Path, site: FakeIgcSite, **kwargs: Any) -> IgcChains:
    return IgcChains.load(cache_dir=cache, base_url=site.url, **kwargs)


def _error(excinfo: pytest.ExceptionInfo[UsageError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and message.strip() == message
    return message


def _cached(cache: Path) -> dict[str, bytes]:
    folder = cache / "igc"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def _assert_real(chains: IgcChains) -> None:
    assert chains.pinned
    assert chains.fingerprints() == PINS
    for h, (root_name, inter_name) in CHAINS.items():
        root, inter = chains.hierarchy(h)
        assert root.subject.rfc4514_string() == DNS[root_name]
        assert inter.subject.rfc4514_string() == DNS[inter_name]
        root.verify_directly_issued_by(root)
        inter.verify_directly_issued_by(root)
        other_root, _ = chains.hierarchy(h.other)
        with pytest.raises((ValueError, InvalidSignature)):
            inter.verify_directly_issued_by(other_root)


# -- the constants --------------------------------------------------------------------------------


def test_constants_are_the_published_urls_pins_dns_and_hierarchies() -> None:
    assert OFFICIAL_BASE == "http://igc-sante.esante.gouv.fr"
    assert [ca.name for ca in IGC_CAS] == list(NAMES)
    assert {ca.name: ca.url() for ca in IGC_CAS} == {
        "ACR-EL": "http://igc-sante.esante.gouv.fr/AC/ACR-EL.cer",
        "ACI-EL-ORG": "http://igc-sante.esante.gouv.fr/AC/ACI-EL-ORG.cer",
        "ACR-EL-TEST": "http://igc-sante.esante.gouv.fr/AC%20TEST/ACR-EL-TEST.cer",
        "ACI-EL-ORG-TEST": "http://igc-sante.esante.gouv.fr/AC%20TEST/ACI-EL-ORG-TEST.cer",
    }
    assert {ca.name: ca.sha256 for ca in IGC_CAS} == PINS
    assert {ca.name: ca.subject for ca in IGC_CAS} == DNS
    assert {ca.name: (ca.hierarchy, ca.is_root) for ca in IGC_CAS} == {
        "ACR-EL": (Hierarchy.PRODUCTION, True),
        "ACI-EL-ORG": (Hierarchy.PRODUCTION, False),
        "ACR-EL-TEST": (Hierarchy.TEST, True),
        "ACI-EL-ORG-TEST": (Hierarchy.TEST, False),
    }
    # The pins are those of the reference files (DER as published, and the PEM twins).
    for name in NAMES:
        assert hashlib.sha256(REAL_DER[name]).hexdigest() == PINS[name]
        pem = x509.load_pem_x509_certificate((SHARED_IGC / f"{name}.pem").read_bytes())
        assert pem.public_bytes(serialization.Encoding.DER) == REAL_DER[name]


# -- download and cache ---------------------------------------------------------------------------


def test_download_into_empty_cache_then_cache_only(tmp_path: Path, site: FakeIgcSite) -> None:
    cache = tmp_path / "cache"
    chains = _load(cache, site)
    assert sorted(site.requests) == sorted(PATHS.values())  # exactly four, real layout, %20 kept
    assert chains.sources == dict.fromkeys(NAMES, "download")
    _assert_real(chains)
    assert _cached(cache) == {f"{n}.cer": REAL_DER[n] for n in NAMES}  # no temporary file left behind

    again = _load(cache, site)
    assert site.count() == 4  # no new request
    assert again.sources == dict.fromkeys(NAMES, "cache")
    _assert_real(again)


def test_only_missing_files_are_downloaded(tmp_path: Path, site: FakeIgcSite) -> None:
    _load(tmp_path, site)
    (tmp_path / "igc" / "ACI-EL-ORG-TEST.cer").unlink()
    chains = _load(tmp_path, site)
    assert site.requests[4:] == [PATHS["ACI-EL-ORG-TEST"]]
    assert chains.sources == {**dict.fromkeys(NAMES[:3], "cache"), "ACI-EL-ORG-TEST": "download"}


def test_bundle_holds_one_hierarchy_and_loads_as_a_trust_store(tmp_path: Path, site: FakeIgcSite) -> None:
    chains = _load(tmp_path, site)
    for h, (root_name, inter_name) in CHAINS.items():
        bundle = chains.bundle_pem(h)
        certs = x509.load_pem_x509_certificates(bundle)
        assert [c.subject.rfc4514_string() for c in certs] == [DNS[inter_name], DNS[root_name]]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cadata=bundle.decode())
        assert ctx.cert_store_stats()["x509_ca"] == 2


@pytest.mark.parametrize(
    ("tampered", "swapped_with"),
    [("ACR-EL", "ACI-EL-ORG"), ("ACI-EL-ORG-TEST", "ACR-EL-TEST")],
    ids=["first-file", "last-file"],
)
def test_download_with_wrong_fingerprint_is_refused_and_not_cached(
    tmp_path: Path, site: FakeIgcSite, tampered: str, swapped_with: str
) -> None:
    site.files[PATHS[tampered]] = REAL_DER[swapped_with]
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path, site)
    got = hashlib.sha256(REAL_DER[swapped_with]).hexdigest()
    assert _error(excinfo) == (
        f"{site.url}{PATHS[tampered]}: SHA-256 {got} does not match the pinned IGC Santé fingerprint "
        f"{PINS[tampered]} for {tampered} (not cached)"
    )
    cached = _cached(tmp_path)
    assert f"{tampered}.cer" not in cached
    # What was verified before the bad file stays (the quota is scarce); nothing unverified is there.
    assert cached == {f"{n}.cer": REAL_DER[n] for n in NAMES[: NAMES.index(tampered)]}
    assert site.requests[-1] == PATHS[tampered]


@pytest.mark.parametrize("code", [403, 429])
def test_rate_limit_is_one_line_never_retried(tmp_path: Path, site: FakeIgcSite, code: int) -> None:
    site.status = dict.fromkeys(PATHS.values(), code)
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path, site)
    message = _error(excinfo)
    assert message.startswith(f"{site.url}/AC/ACR-EL.cer: HTTP {code}: ")
    assert "rate-limits" in message and "--igc-ca-dir" in message
    assert site.requests == ["/AC/ACR-EL.cer"]  # stop at once: every request spends the quota
    assert _cached(tmp_path) == {}


def test_not_found_is_not_retried(tmp_path: Path, site: FakeIgcSite) -> None:
    site.status = {PATHS["ACR-EL"]: 404}
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path, site)
    assert _error(excinfo).startswith(f"{site.url}/AC/ACR-EL.cer: HTTP 404 ")
    assert site.count() == 1


def test_server_error_is_retried_once(tmp_path: Path, site: FakeIgcSite) -> None:
    site.fail_first = {PATHS["ACR-EL-TEST"]}
    chains = _load(tmp_path, site)
    assert site.requests.count(PATHS["ACR-EL-TEST"]) == 2 and site.count() == 5
    _assert_real(chains)

    site.status = {PATHS["ACR-EL"]: 503}
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path / "other", site)
    assert _error(excinfo).startswith(f"{site.url}/AC/ACR-EL.cer: download failed twice (HTTP 503 ")
    assert site.requests[5:] == [PATHS["ACR-EL"]] * 2  # one retry, no more


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_network_down_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path, base_url=url)
    message = _error(excinfo)
    assert message.startswith(f"{url}/AC/ACR-EL.cer: download failed twice (")
    assert "refused" in message.lower() and "--igc-ca-dir" in message


def test_timeout_is_one_line(tmp_path: Path, site: FakeIgcSite) -> None:
    site.hang = True
    start = time.monotonic()
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path, site, timeout=0.2)
    assert time.monotonic() - start < 3
    assert "timed out" in _error(excinfo)
    # The server thread may read the second request after the client gave up on it (a loaded machine).
    deadline = time.monotonic() + 5
    while site.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert site.count() == 2


def test_oversized_answer_is_refused(tmp_path: Path, site: FakeIgcSite) -> None:
    site.files[PATHS["ACR-EL"]] = b"<html>" + b"x" * igc.MAX_CERT_BYTES
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path, site)
    assert "not a CA certificate" in _error(excinfo)
    assert _cached(tmp_path) == {}


@pytest.mark.parametrize("base_url", ["file:///etc", "ftp://127.0.0.1/", "127.0.0.1:80"])
def test_base_url_must_be_http(tmp_path: Path, base_url: str) -> None:
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path, base_url=base_url)
    assert _error(excinfo).startswith("--base-url: ")


# -- offline and the cache's integrity ------------------------------------------------------------


def test_offline_with_empty_cache_names_what_is_missing(tmp_path: Path, site: FakeIgcSite) -> None:
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path, site, offline=True)
    message = _error(excinfo)
    assert all(name in message for name in NAMES) and "--igc-ca-dir" in message and "offline" in message
    assert site.count() == 0


def test_offline_with_warm_cache_makes_no_request(tmp_path: Path, site: FakeIgcSite) -> None:
    _load(tmp_path, site)
    chains = _load(tmp_path, site, offline=True)
    assert site.count() == 4
    assert chains.sources == dict.fromkeys(NAMES, "cache")
    _assert_real(chains)


def test_offline_with_partial_cache_names_only_the_missing(tmp_path: Path, site: FakeIgcSite) -> None:
    _load(tmp_path, site)
    (tmp_path / "igc" / "ACI-EL-ORG.cer").unlink()
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path, site, offline=True)
    message = _error(excinfo)
    assert ": ACI-EL-ORG not cached" in message and "ACR-EL-TEST" not in message
    assert site.count() == 4


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_tampered_cache_is_reported_not_repaired(tmp_path: Path, site: FakeIgcSite, offline: bool) -> None:
    _load(tmp_path, site)
    cached = tmp_path / "igc" / "ACR-EL-TEST.cer"
    tampered = bytearray(REAL_DER["ACR-EL-TEST"])
    tampered[-1] ^= 1  # one bit of the signature
    cached.write_bytes(bytes(tampered))
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path, site, offline=offline)
    got = hashlib.sha256(tampered).hexdigest()
    message = _error(excinfo)
    assert message.startswith(
        f"{cached}: SHA-256 {got} does not match the pinned IGC Santé fingerprint "
        f"{PINS['ACR-EL-TEST']} for ACR-EL-TEST"
    )
    assert "delete it" in message
    assert site.count() == 4  # no silent re-download
    assert cached.read_bytes() == bytes(tampered)  # left for inspection

    cached.unlink()  # what the message asks: the next load downloads that one file again
    assert _load(tmp_path, site).sources["ACR-EL-TEST"] == "download"
    assert site.requests[4:] == [PATHS["ACR-EL-TEST"]]


def test_cache_that_is_not_a_directory_is_one_line_before_any_download(
    tmp_path: Path, site: FakeIgcSite
) -> None:
    cache = tmp_path / "cache"
    cache.write_text("a file, not a folder\n")
    with pytest.raises(UsageError) as excinfo:
        _load(cache, site)
    message = _error(excinfo)
    assert message.startswith(f"{cache / 'igc'}: IGC Santé cache not writable (")
    assert site.count() == 0  # no quota spent on files that could not be kept


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file permissions")
def test_read_only_cache_is_one_line_before_any_download(tmp_path: Path, site: FakeIgcSite) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o500)
    try:
        with pytest.raises(UsageError) as excinfo:
            _load(cache, site)
    finally:
        cache.chmod(0o700)
    assert "not writable" in _error(excinfo)
    assert site.count() == 0


# -- a local directory: the real files, or a look-alike chain -------------------------------------


def test_ca_dir_with_the_real_files_makes_no_request(tmp_path: Path, site: FakeIgcSite) -> None:
    pem_only = tmp_path / "pem"
    pem_only.mkdir()
    for name in NAMES:
        shutil.copy(SHARED_IGC / f"{name}.pem", pem_only)
    for folder in (SHARED_IGC, pem_only):  # .cer + .pem twins, then PEM alone
        chains = _load(tmp_path / "cache", site, ca_dir=folder)
        assert chains.sources == dict.fromkeys(NAMES, "dir")
        _assert_real(chains)
    assert chains.get("ACR-EL").path == pem_only / "ACR-EL.pem"
    assert site.count() == 0
    assert not (tmp_path / "cache").exists()  # a directory source writes nothing


def test_ca_dir_with_disagreeing_twins_is_refused(tmp_path: Path) -> None:
    for name in NAMES:
        shutil.copy(SHARED_IGC / f"{name}.cer", tmp_path)
    shutil.copy(SHARED_IGC / "ACI-EL-ORG-TEST.pem", tmp_path / "ACI-EL-ORG.pem")
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path / "cache", ca_dir=tmp_path)
    assert _error(excinfo) == (
        f"{tmp_path / 'ACI-EL-ORG.cer'}: ACI-EL-ORG.pem holds a different certificate (one ACI-EL-ORG only)"
    )


def test_ca_dir_missing_or_incomplete(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path, ca_dir=tmp_path / "nowhere")
    assert _error(excinfo) == f"{tmp_path / 'nowhere'}: not a readable directory (--igc-ca-dir)"
    shutil.copy(SHARED_IGC / "ACR-EL.cer", tmp_path)
    (tmp_path / "ACI-EL-ORG.cer").write_bytes(b"not a certificate")
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path, ca_dir=tmp_path)
    message = _error(excinfo)
    assert "missing ACR-EL-TEST.cer or ACR-EL-TEST.pem, ACI-EL-ORG-TEST.cer or ACI-EL-ORG-TEST.pem" in message
    for name in NAMES[2:]:
        shutil.copy(SHARED_IGC / f"{name}.cer", tmp_path)
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path, ca_dir=tmp_path)
    assert _error(excinfo).startswith(f"{tmp_path / 'ACI-EL-ORG.cer'}: not a DER certificate (")


def _ca(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: x509.Certificate | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool = True,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string(subject))
        .issuer_name(issuer.subject if issuer else x509.Name.from_rfc4514_string(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key or key, hashes.SHA256())
    )


def _look_alike(
    folder: Path,
    *,
    der: bool = False,
    dns: dict[str, str] | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool = True,
) -> dict[str, x509.Certificate]:
    """The four IGC DNs with keys of our own (P-256: fast), as the suite's local runs inject them.

    ``dns``, ``issuer_key`` (signs the intermediates instead of their root) and ``ca`` (of the
    intermediates) spoil the chain on purpose.
    """
    folder.mkdir(parents=True, exist_ok=True)
    names = {**DNS, **(dns or {})}
    certs: dict[str, x509.Certificate] = {}
    for root_name, inter_name in CHAINS.values():
        root_key, inter_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        root = _ca(names[root_name], root_key)
        certs[root_name] = root
        certs[inter_name] = _ca(
            names[inter_name], inter_key, issuer=root, issuer_key=issuer_key or root_key, ca=ca
        )
    encoding = serialization.Encoding.DER if der else serialization.Encoding.PEM
    for name, cert in certs.items():
        (folder / f"{name}{'.cer' if der else '.pem'}").write_bytes(cert.public_bytes(encoding))
    return certs


@pytest.mark.parametrize("der", [False, True], ids=["pem", "der"])
def test_look_alike_dir_needs_allow_unpinned(tmp_path: Path, site: FakeIgcSite, der: bool) -> None:
    folder = tmp_path / "look-alike"
    certs = _look_alike(folder, der=der)
    prints = {n: c.fingerprint(hashes.SHA256()).hex() for n, c in certs.items()}
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path / "cache", site, ca_dir=folder)
    first = folder / f"ACR-EL{'.cer' if der else '.pem'}"
    assert _error(excinfo) == (
        f"{first}: SHA-256 {prints['ACR-EL']} does not match the pinned IGC Santé fingerprint "
        f"{PINS['ACR-EL']} for ACR-EL"
    )

    chains = _load(tmp_path / "cache", site, ca_dir=folder, allow_unpinned=True)
    assert chains.pinned is False
    assert chains.fingerprints() == prints  # reported, not enforced
    assert chains.sources == dict.fromkeys(NAMES, "dir")
    for h, (root_name, inter_name) in CHAINS.items():
        assert chains.hierarchy(h) == (certs[root_name], certs[inter_name])
    assert site.count() == 0 and not (tmp_path / "cache").exists()


def test_allow_unpinned_still_checks_dns_ca_flags_and_signatures(tmp_path: Path) -> None:
    wrong_dn = DNS["ACI-EL-ORG"].replace("ORGANISATIONS", "PERSONNES")
    _look_alike(tmp_path / "dn", dns={"ACI-EL-ORG": wrong_dn})
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path, ca_dir=tmp_path / "dn", allow_unpinned=True)
    assert _error(excinfo).startswith(f"{tmp_path / 'dn' / 'ACI-EL-ORG.pem'}: subject ")

    _look_alike(tmp_path / "leaf", ca=False)
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path, ca_dir=tmp_path / "leaf", allow_unpinned=True)
    assert "ACI-EL-ORG is not a CA certificate" in _error(excinfo)

    _look_alike(tmp_path / "impostor", issuer_key=ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path, ca_dir=tmp_path / "impostor", allow_unpinned=True)
    assert _error(excinfo).startswith(
        f"{tmp_path / 'impostor' / 'ACI-EL-ORG.pem'}: ACI-EL-ORG is not signed by ACR-EL ("
    )

    # A look-alike intermediate under the real root: the DN matches, the signature cannot.
    mixed = tmp_path / "mixed"
    _look_alike(mixed)
    (mixed / "ACR-EL.pem").unlink()
    shutil.copy(SHARED_IGC / "ACR-EL.cer", mixed)
    with pytest.raises(UsageError) as excinfo:
        IgcChains.load(cache_dir=tmp_path, ca_dir=mixed, allow_unpinned=True)
    assert "ACI-EL-ORG is not signed by ACR-EL" in _error(excinfo)


def test_allow_unpinned_without_ca_dir_is_refused(tmp_path: Path, site: FakeIgcSite) -> None:
    with pytest.raises(UsageError) as excinfo:
        _load(tmp_path, site, allow_unpinned=True)
    assert "--igc-ca-dir only" in _error(excinfo)
    assert site.count() == 0


# -- recette-sas igc fetch ------------------------------------------------------------------------


def fetch(argv: list[str]) -> int:
    """``recette-sas igc fetch ARGV…``, through the one parser tree."""
    return main(["igc", "fetch", *argv])


def test_cli_fetch_then_cache(tmp_path: Path, site: FakeIgcSite, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--cache", str(tmp_path), "--base-url", site.url]
    assert fetch(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:4] for line in lines] == [
        [n, ca.hierarchy.value, PINS[n], "download"] for n, ca in zip(NAMES, IGC_CAS, strict=True)
    ]
    assert fetch([*argv, "--offline"]) == 0
    assert [line.split()[3] for line in capsys.readouterr().out.splitlines()] == ["cache"] * 4
    assert fetch(["--cache", str(tmp_path / "x"), "--igc-ca-dir", str(SHARED_IGC)]) == 0
    assert [line.split()[3] for line in capsys.readouterr().out.splitlines()] == ["dir"] * 4
    assert site.count() == 4


def test_cli_errors_are_one_line_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch(["--cache", str(tmp_path), "--offline"]) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("recette-sas igc fetch: ") and "--igc-ca-dir" in err
    assert fetch(["--bogus"]) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert err == "recette-sas igc fetch: unrecognized arguments: --bogus\n"


def test_cli_igc_help(capsys: pytest.CaptureFixture[str]) -> None:
    """``recette-sas igc --help`` lists the verb; ``recette-sas igc fetch --help`` its options; both exit 0."""
    assert main(["igc", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: recette-sas igc ") and "fetch" in out
    assert main(["igc", "fetch", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: recette-sas igc fetch") and "--igc-ca-dir" in out and "--offline" in out
