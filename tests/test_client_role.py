"""The client role over real TLS on loopback: the mock SAS platform, the reference client and its broken
variants, the three drivers, the verdict rules, and the client features run against each broken client.

No mocks of TLS or HTTP: the mock platform is a pyOpenSSL server, the clients are httpx, curl or
pyOpenSSL. The feature runs go through ``pytester`` in a subprocess, exactly as an editor runs them,
and every broken client must fail exactly the scenarios meant to catch it: no more (a negative that
fails for the wrong reason), no fewer (a negative that passes wrongly).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from recette_sas.client import rules as client_rules
from recette_sas.client.appointments import appointment_problems
from recette_sas.client.commands import parse_command
from recette_sas.client.drivers import (
    CommandDriver,
    EmbeddedDriver,
    MockTarget,
    WaitDriver,
    substitute,
)
from recette_sas.client.mock import MockSas
from recette_sas.client.mock_credentials import ServerCredentials, server_credentials
from recette_sas.client.presentation import MockMode, Presentation
from recette_sas.client.reference import (
    APPOINTMENT_SYSTEM,
    ClientConfig,
    appointment,
    run_exchange,
    ssl_context,
)
from recette_sas.client.rules import Anchors, RevocationChecker
from recette_sas.client.session import ClientSession
from recette_sas.client.variants import VARIANTS, ClientBehaviour
from recette_sas.environments import Hierarchy, UsageError, get_environment
from recette_sas.identity import Identity
from recette_sas.pki import revocation
from recette_sas.pki.catalogue import Defect
from recette_sas.pki.certcheck import intermediate_dn, root_dn
from recette_sas.pki.editor import EditorPki
from recette_sas.pki.editor_defects import EditorDefect
from recette_sas.pki.store import Pki
from recette_sas.probe.certrequest import read_certificate_request
from recette_sas.probe.endpoint import Endpoint
from recette_sas.verdict import VerdictUnavailable

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
CURL = Path("/usr/bin/curl")
ENV = "preproduction"


# -- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def editor(pki: Pki) -> EditorPki:
    return EditorPki(pki)


@pytest.fixture(scope="session")
def server_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(server_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mock-ca") / "ca.pem"
    server_ca.cert_pem.write_to_path(str(path))
    return path


def _mock(
    pki: Pki,
    editor: EditorPki,
    server_ca: trustme.CA,
    mode: MockMode = MockMode.NORMAL,
    *,
    env_key: str = ENV,
    listen: tuple[str, int] = ("127.0.0.1", 0),
) -> MockSas:
    env = get_environment(env_key)
    other = (
        ServerCredentials(*editor.other_hierarchy_server(env_key, env.host))
        if mode is MockMode.OTHER_HIERARCHY
        else None
    )
    return MockSas(
        host_name=env.host,
        mode=mode,
        credentials=server_credentials(mode, env.host, server_ca=server_ca, other_hierarchy=other),
        client_ca_certificates=pki.hierarchy(env.hierarchy),
        listen=listen,
    )


def _config(mock: MockSas, ca_file: Path, identity: Identity | None, **behaviour: Any) -> ClientConfig:
    return ClientConfig(
        base_url=mock.base_url,
        ca_file=ca_file,
        certfile=identity.certfile if identity else None,
        keyfile=identity.keyfile if identity else None,
        connect_to="127.0.0.1",
        timeout=5,
        behaviour=ClientBehaviour(**behaviour),
    )


@dataclasses.dataclass(frozen=True)
class _Exchange:
    presentations: tuple[Presentation, ...]
    label: str = "test"


def _presented(identity: Identity, *, method: str = "POST") -> _Exchange:
    """An exchange in which ``identity`` was presented on one request (for the certificate rules)."""
    from recette_sas.client.presentation import RecordedRequest

    request = RecordedRequest(method, "/Appointment", "/Appointment", (), (), b"{}")
    presentation = Presentation(
        mode=MockMode.NORMAL,
        peer="test",
        at="",
        sni=None,
        tls_version="TLSv1.3",
        cipher=None,
        chain=(identity.leaf, *identity.chain),
        verify_errors=(),
        handshake_error=None,
        request=request,
        status=201,
    )
    return _Exchange((presentation,))


def _anchors(pki: Pki, h: Hierarchy) -> Anchors:
    root, inter = pki.hierarchy(h)
    return Anchors(h, (root,), (inter,), tuple(pki.ca(n) for n in pki.ca_names()))


# -- the mock platform --------------------------------------------------------------------------------------


def test_minimal_appointment_shape() -> None:
    start = dt.datetime(2030, 1, 2, 10, tzinfo=dt.UTC)
    valid = appointment("abc", status="booked", start=start)
    assert appointment_problems(valid) == []
    assert appointment_problems({**valid, "status": "proposed"}) == [
        "status is 'proposed', expected one of booked, fulfilled, noshow, cancelled"
    ]
    assert (
        "identifier is missing"
        in appointment_problems({k: v for k, v in valid.items() if k != "identifier"})[0]
    )
    assert appointment_problems({**valid, "end": "2030-01-02"}) == [
        "end is '2030-01-02', expected an instant with a time zone"
    ]
    assert appointment_problems({**valid, "participant": [{"status": "accepted"}]}) == [
        "participant[0] has no actor"
    ]
    assert appointment_problems({**valid, "resourceType": "Slot"}) == [
        "resourceType is 'Slot', expected 'Appointment'"
    ]
    late = {**valid, "end": "2030-01-02T09:00:00+00:00"}
    assert appointment_problems(late) == ["end is before start"]


def test_mock_records_what_the_reference_client_presents(
    pki: Pki, editor: EditorPki, server_ca: trustme.CA, ca_file: Path
) -> None:
    identity = editor.identity(ENV)
    with _mock(pki, editor, server_ca) as mock:
        run = run_exchange(_config(mock, ca_file, identity))
        assert mock.wait_idle(5)
        seen = mock.presentations
    assert [s.status for s in run.steps] == [201, 200]
    assert run.steps[0].location is not None and run.steps[0].location.startswith(
        f"{mock.base_url}/Appointment/"
    )
    assert [p.request.method for p in seen if p.request] == ["POST", "PUT"]
    for p in seen:
        assert p.sni == get_environment(ENV).host
        assert p.tls_version in ("TLSv1.2", "TLSv1.3")
        # The FULL chain the client sent: leaf then intermediate (what stdlib ssl cannot read).
        assert [c.subject for c in p.chain] == [identity.leaf.subject, intermediate_dn(Hierarchy.TEST)]
    update = seen[1].request
    assert update is not None and update.query_values("identifier") == (run.identifier,)


@pytest.mark.parametrize("env_key", ["preproduction", "production"])
def test_mock_advertises_the_environment_ca_names(
    pki: Pki, editor: EditorPki, server_ca: trustme.CA, ca_file: Path, env_key: str
) -> None:
    with _mock(pki, editor, server_ca, env_key=env_key) as mock:
        endpoint = Endpoint(host="127.0.0.1", port=mock.port, server_name=mock.host_name, ca_file=ca_file)
        info = read_certificate_request(endpoint)
    h = get_environment(env_key).hierarchy
    assert info.requested
    assert set(info.ca_names) == {root_dn(h).rfc4514_string(), intermediate_dn(h).rfc4514_string()}


def test_mock_records_and_answers_whatever_the_client_presents(
    pki: Pki, editor: EditorPki, server_ca: trustme.CA, ca_file: Path
) -> None:
    """No certificate, or one of the other hierarchy: recorded, never refused at TLS level."""
    other = editor.identity(ENV, EditorDefect.AUTRE_HIERARCHIE)
    with _mock(pki, editor, server_ca) as mock:
        bare = run_exchange(_config(mock, ca_file, None))
        foreign = run_exchange(_config(mock, ca_file, other))
        mock.wait_idle(5)
        seen = mock.presentations
    assert [s.status for s in (*bare.steps, *foreign.steps)] == [201, 200, 201, 200]
    assert [len(p.chain) for p in seen] == [0, 0, 2, 2]
    assert seen[2].chain[1].subject == intermediate_dn(Hierarchy.PRODUCTION)
    assert seen[2].verify_errors  # OpenSSL's opinion is recorded, not obeyed


def test_mock_fhir_answers(pki: Pki, editor: EditorPki, server_ca: trustme.CA, ca_file: Path) -> None:
    identity = editor.identity(ENV)
    start = dt.datetime(2030, 1, 2, 10, tzinfo=dt.UTC)
    body = appointment("fhir-1", status="booked", start=start)
    config = ClientConfig(
        base_url="https://unused", ca_file=ca_file, certfile=identity.certfile, keyfile=identity.keyfile
    )

    with (
        _mock(pki, editor, server_ca) as mock,
        httpx.Client(verify=ssl_context(config), trust_env=False, timeout=5) as client,
    ):
        base = f"https://127.0.0.1:{mock.port}"
        ext = {"sni_hostname": mock.host_name}
        fhir = {"Content-Type": "application/fhir+json"}

        def call(method: str, path: str, content: Any, headers: dict[str, str] = fhir) -> httpx.Response:
            return client.request(method, base + path, content=content, headers=headers, extensions=ext)

        token = f"{APPOINTMENT_SYSTEM}%7Cfhir-1"
        unknown = call("PUT", f"/Appointment?identifier={token}", json.dumps(body))
        created = call("POST", "/Appointment", json.dumps(body))
        again = call("POST", "/Appointment", json.dumps(body))
        updated = call("PUT", f"/Appointment?identifier={token}", json.dumps({**body, "status": "cancelled"}))
        mismatch = call("PUT", f"/Appointment?identifier={APPOINTMENT_SYSTEM}%7Cother", json.dumps(body))
        no_param = call("PUT", "/Appointment", json.dumps(body))
        shape = call("POST", "/Appointment", json.dumps({**body, "identifier": [{"value": "x2"}]}))
        not_json = call("POST", "/Appointment", b"not json")
        wrong_type = call("POST", "/Appointment", json.dumps(body), {"Content-Type": "text/plain"})
        chunked = call(
            "POST",
            "/Appointment",
            iter([json.dumps({**body, "identifier": [{"system": "s", "value": "c"}]}).encode()]),
        )
        elsewhere = call("GET", "/Patient", None)
        deleted = call("DELETE", "/Appointment", None)
    statuses = [
        r.status_code
        for r in (
            unknown,
            created,
            again,
            updated,
            mismatch,
            no_param,
            shape,
            not_json,
            wrong_type,
            chunked,
            elsewhere,
            deleted,
        )
    ]
    assert statuses == [404, 201, 409, 200, 400, 400, 422, 400, 415, 201, 404, 405]
    assert all(
        r.headers["content-type"] == "application/fhir+json" for r in (unknown, created, shape, elsewhere)
    )
    assert unknown.json()["resourceType"] == "OperationOutcome"
    assert "identifier" in unknown.json()["issue"][0]["diagnostics"]
    assert updated.headers["location"].endswith("/_history/2")


@pytest.mark.parametrize("mode", [m for m in MockMode if m.hostile], ids=str)
def test_hostile_platforms(
    pki: Pki, editor: EditorPki, server_ca: trustme.CA, ca_file: Path, mode: MockMode
) -> None:
    """The reference client refuses every hostile platform; the matching broken client does not."""
    identity = editor.identity(ENV)
    broken: dict[str, Any] = {"min_tls": "TLSv1"} if mode is MockMode.LEGACY_TLS else {"verify_server": False}
    with _mock(pki, editor, server_ca, mode) as mock:
        refused = run_exchange(_config(mock, ca_file, identity))
        mock.wait_idle(5)
        after_refusal = mock.presentations
        accepted = run_exchange(_config(mock, ca_file, identity, **broken))
        mock.wait_idle(5)
        seen = mock.presentations
    assert [s.status for s in refused.steps] == [None]  # the creation failed, no update attempted
    assert after_refusal and all(p.request is None and p.handshake_error for p in after_refusal)
    assert [s.status for s in accepted.steps] == [201, 200]
    if mode is MockMode.LEGACY_TLS:
        assert {p.tls_version for p in seen if p.request} == {"TLSv1.1"}


# -- drivers ---------------------------------------------------------------------------------------------------


def test_parse_command_and_substitute(ca_file: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown placeholder \{hostname\}"):
        parse_command("curl https://{hostname}/")
    with pytest.raises(UsageError, match="not found"):
        parse_command("no-such-program-recette-sas {base_url}")
    with pytest.raises(UsageError, match="cannot split"):
        parse_command("curl 'unbalanced")
    with pytest.raises(UsageError, match="empty"):
        parse_command("   ")
    argv = parse_command(
        f'{CURL} --data \'{{"resourceType": "Appointment"}}\' --resolve {{host}}:{{port}}:{{address}} {{base_url}}/Appointment --cacert {{ca_file}}'
    )
    target = MockTarget(MockMode.NORMAL, "sas.example", "127.0.0.1", 8443, ca_file)
    assert substitute(argv, target)[1:] == [
        "--data",
        '{"resourceType": "Appointment"}',
        "--resolve",
        "sas.example:8443:127.0.0.1",
        "https://sas.example:8443/Appointment",
        "--cacert",
        str(ca_file),
    ]


def test_command_driver_stops_the_whole_process_group_on_timeout(tmp_path: Path, ca_file: Path) -> None:
    pid_file = tmp_path / "child.pid"
    driver = CommandDriver(("/bin/sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"), timeout=0.5)
    target = MockTarget(MockMode.NORMAL, "sas.example", "127.0.0.1", 1, ca_file)
    began = time.monotonic()
    run = driver.run(ENV, target, None)  # type: ignore[arg-type]
    assert time.monotonic() - began < 5
    assert run.error is not None and "did not finish within 0.5 s" in run.error
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        status = Path(f"/proc/{child}/stat")
        if status.exists() and status.read_text().split()[2] == "Z":
            break  # killed, waiting to be reaped by its new parent
        time.sleep(0.05)
    else:
        pytest.fail(f"the command's background child {child} survived the timeout")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_wait_driver_is_bounded_and_records_a_hand_triggered_exchange(
    pki: Pki, editor: EditorPki, server_ca: trustme.CA, ca_file: Path
) -> None:
    messages: list[str] = []
    driver = WaitDriver(timeout=0.6, announce=messages.append, quiet=0.3)
    port = _free_port()
    listen = ("127.0.0.1", port)
    with _mock(pki, editor, server_ca, listen=listen) as mock:
        target = MockTarget(MockMode.NORMAL, mock.host_name, "127.0.0.1", port, ca_file)
        began = time.monotonic()
        idle = driver.run(ENV, target, mock)
        assert time.monotonic() - began < 3
        assert idle.detail.startswith("waited 0.6 s: 0 connection(s)")
    assert f"127.0.0.1:{port}" in messages[0] and str(ca_file) in messages[0]

    operator_done = threading.Event()
    driver = WaitDriver(timeout=10, announce=messages.append, quiet=0.3)
    with _mock(pki, editor, server_ca, listen=listen) as mock:

        def operator() -> None:  # someone clicks "create" then "update" in the editor's software
            time.sleep(0.2)
            run_exchange(_config(mock, ca_file, editor.identity(ENV)))
            operator_done.set()

        thread = threading.Thread(target=operator, daemon=True)
        thread.start()
        run = driver.run(ENV, target, mock)
        thread.join(10)
    assert operator_done.is_set()
    assert run.detail == "2 connection(s), 2 request(s) received"


def test_session_runs_the_positive_control_first_and_once(
    pki: Pki, editor: EditorPki, server_ca: trustme.CA, ca_file: Path
) -> None:
    runs: list[MockMode] = []
    inner = EmbeddedDriver(VARIANTS["reference"], identity_for=lambda env: editor.identity(env))

    class Counting:
        label = inner.label

        def run(self, ans_env: str, target: MockTarget, mock: MockSas) -> Any:
            runs.append(target.mode)
            return inner.run(ans_env, target, mock)

    session = ClientSession(
        driver_for=lambda env: Counting(),
        mock_factory=lambda env, mode: _mock(pki, editor, server_ca, mode, env_key=env),
        ca_file=ca_file,
    )
    hostile = session.exchange(ENV, MockMode.EXPIRED)
    again = session.exchange(ENV, MockMode.EXPIRED)
    assert runs == [MockMode.NORMAL, MockMode.EXPIRED]
    assert hostile == again and hostile.control is not None
    assert client_rules.require_no_request(hostile, hostile.control).startswith("no request reached")
    silent = dataclasses.replace(hostile, presentations=())
    with pytest.raises(VerdictUnavailable, match="never connected"):
        client_rules.require_no_request(silent, hostile.control)
    with pytest.raises(VerdictUnavailable, match="positive control failed"):
        client_rules.require_no_request(hostile, dataclasses.replace(hostile.control, presentations=()))


# -- rules on certificates the look-alike PKI got wrong on purpose ---------------------------------------------


def test_certificate_rules_catch_one_defect_each(pki: Pki, editor: EditorPki) -> None:
    anchors = _anchors(pki, Hierarchy.TEST)
    flow = client_rules.FLOW_CREATION
    good = _presented(editor.identity(ENV))
    for rule in (
        client_rules.require_issued_by_environment,
        client_rules.require_chain_includes_intermediate,
    ):
        rule(good, flow, anchors)
    client_rules.require_auth_cli_profile(good, flow)
    client_rules.require_within_validity(good, flow)
    client_rules.require_not_expiring_soon(good, flow)

    impostor = _presented(pki.identity(ENV, Defect.AC_IMPOSTEUR))
    with pytest.raises(
        AssertionError, match="carries ACI-EL-ORG-TEST's name, but ACI-EL-ORG-TEST's key did not sign it"
    ):
        client_rules.require_issued_by_environment(impostor, flow, anchors)
    # Without every genuine key behind that name (the editor's own, maybe real, certificate and no real
    # IGC CAs configured), an unknown key is not proof of an impostor: no verdict.
    with pytest.raises(VerdictUnavailable, match="give the real IGC Santé CA certificates"):
        client_rules.require_issued_by_environment(
            impostor, flow, dataclasses.replace(anchors, authoritative=False)
        )
    with pytest.raises(AssertionError, match=r"ACI-EL-ORG, the production hierarchy"):
        client_rules.require_issued_by_environment(
            _presented(pki.identity(ENV, Defect.AUTRE_HIERARCHIE)), flow, anchors
        )
    with pytest.raises(AssertionError, match="clientAuth expected"):
        client_rules.require_auth_cli_profile(_presented(pki.identity(ENV, Defect.EKU_SERVEUR)), flow)
    with pytest.raises(AssertionError, match="RSA-1024"):
        client_rules.require_auth_cli_profile(_presented(pki.identity(ENV, Defect.RSA_1024)), flow)
    with pytest.raises(AssertionError, match="CA:TRUE"):
        client_rules.require_auth_cli_profile(_presented(pki.identity(ENV, Defect.FEUILLE_CA)), flow)
    with pytest.raises(AssertionError, match="expired on"):
        client_rules.require_within_validity(_presented(pki.identity(ENV, Defect.EXPIRE)), flow)
    with pytest.raises(AssertionError, match="days left, under 30"):
        client_rules.require_not_expiring_soon(
            _presented(editor.identity(ENV, EditorDefect.EXPIRE_BIENTOT)), flow
        )
    with pytest.raises(AssertionError, match="only the leaf was sent"):
        client_rules.require_chain_includes_intermediate(
            _presented(editor.identity(ENV, send_chain=False)), flow, anchors
        )


def test_revocation_is_read_from_the_crl_and_never_fetched_off_loopback(pki: Pki, editor: EditorPki) -> None:
    anchors = _anchors(pki, Hierarchy.TEST)
    flow = client_rules.FLOW_CREATION
    checker = RevocationChecker()
    assert "not listed in the CRL" in client_rules.require_not_revoked(
        _presented(editor.identity(ENV)), flow, anchors, checker
    )
    with pytest.raises(AssertionError, match="is revoked: listed in the CRL"):
        client_rules.require_not_revoked(
            _presented(pki.identity(ENV, Defect.REVOQUE)), flow, anchors, checker
        )

    # CRL unreachable: OCSP decides (the suite's responder knows the catalogue's leaves, the one
    # revoked since the last CRL, and the editor's leaves).
    def no_crl(url: str, **kwargs: Any) -> bytes:
        if "/crl/" in url:
            raise OSError("CRL publication unreachable")
        return revocation.fetch(url, **kwargs)

    ocsp_only = RevocationChecker(fetch=no_crl)
    verdict = client_rules.require_not_revoked(_presented(pki.identity(ENV)), flow, anchors, ocsp_only)
    assert verdict.startswith("OCSP ") and verdict.endswith(": good")
    with pytest.raises(AssertionError, match=r"OCSP http://127\.0\.0\.1:\d+/ocsp: revoked"):
        client_rules.require_not_revoked(
            _presented(pki.identity(ENV, Defect.REVOQUE_OCSP)), flow, anchors, ocsp_only
        )
    editor_verdict = client_rules.require_not_revoked(
        _presented(editor.identity(ENV)), flow, anchors, ocsp_only
    )
    assert editor_verdict.endswith(": good")  # the editor's leaves are registered with the responder

    # A certificate whose CRL and OCSP live outside this machine: nothing is fetched, no verdict.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ailleurs")])
    now = dt.datetime.now(dt.UTC)
    remote = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=9))
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [
                            x509.UniformResourceIdentifier(
                                "http://igc-sante.esante.gouv.fr/CRL/ACI-EL-ORG-TEST.crl"
                            )
                        ],
                        None,
                        None,
                        None,
                    )
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    fetched: list[str] = []
    offline = RevocationChecker(fetch=lambda url, **_: fetched.append(url) or b"")  # type: ignore[func-returns-value]
    status, how = offline.status(remote, remote)
    assert (status, fetched) == ("unknown", [])
    assert "not fetched (not loopback; online checks are off)" in how


# -- the features against each client --------------------------------------------------------------------------

RESULTS_PLUGIN = """
import json, os
import pytest

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" or report.outcome != "passed":
        reason = ""
        if report.skipped and isinstance(report.longrepr, tuple):
            reason = str(report.longrepr[2])
        line = {
            "nodeid": item.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "wasxfail": getattr(report, "wasxfail", None),
            "exception": call.excinfo.type.__name__ if call.excinfo is not None else None,
            "markers": sorted({m.name for m in item.iter_markers()}),
            "ans_env": item.callspec.params.get("ans_env"),
            "flow": item.callspec.params.get("flow"),
            "example": item.callspec.params.get("_pytest_bdd_example") or {},
            "reason": reason,
        }
        with open(os.environ["RECETTE_SAS_RESULTS"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\\n")
    return report
"""

ENVS = ("recette", "preproduction", "production")
CERTIFICATE_REQS = (
    "CLI-MTLS",
    "CLI-CERT-CONFIGURE",
    "CLI-HIERARCHIE",
    "CLI-CHAINE",
    "CLI-PROFIL",
    "CLI-VALIDITE",
    "CLI-EXPIRATION",
    "CLI-REVOCATION",
)
FLOWS = ("creation_rdv", "maj_rdv")
ALL_SCENARIOS = frozenset(
    {f"{req}[{f}]" for req in (*CERTIFICATE_REQS, "CLI-TLS", "CLI-SNI") for f in FLOWS}
    | {
        "CLI-SERVEUR[expire]",
        "CLI-SERVEUR[mauvais-nom]",
        "CLI-SERVEUR[non-reconnu]",
        "CLI-SERVEUR-HIERARCHIE[autre-hierarchie]",
        "CLI-TLS[-]",
        "CLI-CREATION[creation_rdv]",
        "CLI-MAJ[maj_rdv]",
        "CLI-MAJ-IDENTIFIANT[maj_rdv]",
        "CLI-LIVE[-]",
    }
)
HOSTILE = frozenset(
    {
        "CLI-SERVEUR[expire]",
        "CLI-SERVEUR[mauvais-nom]",
        "CLI-SERVEUR[non-reconnu]",
        "CLI-SERVEUR-HIERARCHIE[autre-hierarchie]",
        "CLI-TLS[-]",
    }
)
FLOW_SCENARIOS = frozenset({"CLI-CREATION[creation_rdv]", "CLI-MAJ[maj_rdv]", "CLI-MAJ-IDENTIFIANT[maj_rdv]"})


def _both(*reqs: str) -> frozenset[str]:
    return frozenset(f"{r}[{f}]" for r in reqs for f in FLOWS)


@dataclasses.dataclass(frozen=True)
class Expected:
    failed: frozenset[str] = frozenset()  # AssertionError: non-conformant
    broken: frozenset[str] = frozenset()  # VerdictUnavailable: cannot judge
    warning: frozenset[str] = frozenset()  # advisory scenario failed (reported as a warning)


EXPECTED: dict[str, Expected] = {
    "sans-certificat": Expected(
        failed=_both("CLI-MTLS"), broken=_both(*(r for r in CERTIFICATE_REQS if r != "CLI-MTLS"))
    ),
    "feuille-seule": Expected(warning=_both("CLI-CHAINE")),
    "autre-hierarchie": Expected(failed=_both("CLI-HIERARCHIE")),
    "expire-bientot": Expected(warning=_both("CLI-EXPIRATION")),
    "accepte-tout": Expected(failed=HOSTILE - {"CLI-TLS[-]"}),
    "fait-confiance-igc": Expected(failed=frozenset({"CLI-SERVEUR-HIERARCHIE[autre-hierarchie]"})),
    "tls10": Expected(failed=frozenset({"CLI-TLS[-]"})),
    "mauvais-chemin": Expected(failed=frozenset({"CLI-CREATION[creation_rdv]", "CLI-MAJ[maj_rdv]"})),
    "mauvaise-methode": Expected(failed=frozenset({"CLI-MAJ[maj_rdv]"})),
    "sans-identifiant": Expected(failed=frozenset({"CLI-MAJ-IDENTIFIANT[maj_rdv]"})),
    # Sends nothing at all: nothing is known of it, so every scenario is "no verdict" (ClientDidNotRun,
    # exit 2) — never a failure of a client that never ran, and above all no "refuses hostile platforms"
    # scenario passes.
    "silencieux": Expected(broken=ALL_SCENARIOS - {"CLI-LIVE[-]"}),
    # A valid certificate, right in every respect but one: it is not the one the client is configured with.
    "autre-certificat": Expected(failed=_both("CLI-CERT-CONFIGURE")),
}


@dataclasses.dataclass(frozen=True)
class Result:
    status: str  # passed | failed | broken | warning | skipped
    reason: str


def _key(record: dict[str, Any]) -> tuple[str, str]:
    """(ANS environment, ``REQ[flow]``, ``REQ[example]`` or ``REQ[-]`` for a scenario without either)."""
    reqs = [m for m in record["markers"] if m.startswith("CLI-") and not m[-2:].isdigit()]  # not check ids
    assert len(reqs) == 1, record
    param = record["flow"] if record["flow"] in FLOWS else "-".join(record["example"].values()) or "-"
    return record["ans_env"], f"{reqs[0]}[{param}]"


def _status(record: dict[str, Any]) -> str:
    if record["outcome"] == "passed":
        return "passed"
    if record["outcome"] == "skipped":
        return "warning" if str(record["wasxfail"] or "").startswith("AVERTISSEMENT") else "skipped"
    return "failed" if record["exception"] == "AssertionError" else "broken"


def run_features(
    pytester: pytest.Pytester,
    pki_cache_dir: Path,
    *args: str,
    marker: str | None = "not fhir",
    exits: tuple[int, ...] = (0, 1, 2),
) -> dict[str, dict[str, Result]]:
    """Run the client features in a subprocess; results per ANS environment, keyed ``REQ[param]``.

    ``marker``: the scenarios (default: all but the functional appointment ones, which
    tests/test_fhir_flows_regul_rdv.py runs); ``exits``: the exit codes the run may end with."""
    pytester.makepyfile(recette_sas_results=RESULTS_PLUGIN)
    results_file = pytester.path / f"results-{time.monotonic_ns()}.jsonl"
    os.environ["RECETTE_SAS_RESULTS"] = str(results_file)
    try:
        outcome = pytester.runpytest_subprocess(
            "-p",
            "recette_sas_results",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(ROOT),
            "--pki-cache",
            str(pki_cache_dir),
            "--alluredir",
            str(pytester.path / "allure"),
            "-q",
            "--tb=line",
            "--assert=plain",
            str(ROOT / "features" / "test_client.py"),
            *(("-m", marker) if marker else ()),
            *args,
            timeout=120,
        )
    finally:
        del os.environ["RECETTE_SAS_RESULTS"]
    assert outcome.ret in exits, outcome.stdout.str() + outcome.stderr.str()
    (pytester.path / "terminal.txt").write_text(outcome.stdout.str())  # what the editor's terminal showed
    results: dict[str, dict[str, Result]] = {}
    for line in results_file.read_text().splitlines():
        record = json.loads(line)
        if record["when"] == "teardown":
            continue
        env, key = _key(record)
        results.setdefault(env, {})[key] = Result(
            _status(record), record["reason"] or str(record["wasxfail"] or "")
        )
    return results


def _by_status(results: dict[str, Result], status: str) -> frozenset[str]:
    return frozenset(k for k, r in results.items() if r.status == status)


def _assert_exactly(results: dict[str, dict[str, Result]], expected: Expected, envs: tuple[str, ...]) -> None:
    assert set(results) == set(envs)
    for env in envs:
        got = results[env]
        assert set(got) == ALL_SCENARIOS, env
        assert _by_status(got, "failed") == expected.failed, env
        assert _by_status(got, "broken") == expected.broken, env
        assert _by_status(got, "warning") == expected.warning, env
        assert _by_status(got, "skipped") == {"CLI-LIVE[-]"}, env
        assert _by_status(
            got, "passed"
        ) == ALL_SCENARIOS - expected.failed - expected.broken - expected.warning - {"CLI-LIVE[-]"}, env


def test_reference_client_passes_every_scenario(
    pytester: pytest.Pytester, pki_cache_dir: Path, pki: Pki
) -> None:
    results = run_features(pytester, pki_cache_dir)
    _assert_exactly(results, Expected(), ENVS)
    for env in ENVS:  # no editor certificate configured: skipped before anything is dialled
        assert "aucun certificat d'éditeur configuré" in results[env]["CLI-LIVE[-]"].reason


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_broken_client_fails_exactly_its_scenarios(
    pytester: pytest.Pytester, pki_cache_dir: Path, pki: Pki, variant: str
) -> None:
    envs = ("preproduction", "production")  # one environment per IGC hierarchy
    results = run_features(
        pytester, pki_cache_dir, "--sas-client-variant", variant, "--sas-env", ",".join(envs)
    )
    _assert_exactly(results, EXPECTED[variant], envs)


def _curl_command(
    folder: Path, *, insecure: bool = False, cert: str = "{fullchain_file}", key: str = "{key_file}"
) -> str:
    """curl configured from the placeholders alone: the exported client certificate, the mock's CA."""
    start = dt.datetime(2030, 1, 2, 10, tzinfo=dt.UTC)
    (folder / "creation.json").write_text(json.dumps(appointment("curl-1", status="booked", start=start)))
    (folder / "update.json").write_text(json.dumps(appointment("curl-1", status="cancelled", start=start)))
    common = (
        f"--cert {cert} --key {key} --cacert {{ca_file}} "
        f"--resolve {{host}}:{{port}}:127.0.0.1 -sS --max-time 10 "
        "-H 'Content-Type: application/fhir+json' -H 'Accept: application/fhir+json'"
        + (" --insecure" if insecure else "")
    )
    token = f"{APPOINTMENT_SYSTEM}|curl-1".replace(":", "%3A").replace("/", "%2F").replace("|", "%7C")
    return (
        f"{CURL} {common} -X POST --data-binary @{folder / 'creation.json'} {{base_url}}/Appointment "
        f"--next {common} -X PUT --data-binary @{folder / 'update.json'} '{{base_url}}/Appointment?identifier={token}'"
    )


@pytest.mark.skipif(not CURL.is_file(), reason="curl is not installed at /usr/bin/curl")
def test_trigger_command_drives_a_real_external_client(
    pytester: pytest.Pytester, pki_cache_dir: Path, tmp_path: Path
) -> None:
    """curl as the editor's software, configured in the editor's configuration file: conformant; the
    same curl told to trust any server (given on the command line): caught by the hostile platforms."""
    config = tmp_path / "editeur.toml"
    config.write_text(
        'editor = "Editeur curl"\n'
        "[environments.preproduction]\n"
        'base_url = "https://editeur.example:8443/fhir"\n'
        "[environments.preproduction.client]\n"
        'mode = "command"\n'
        f"command = '''{_curl_command(tmp_path)}'''\n"
    )
    good = run_features(pytester, pki_cache_dir, "--sas-config", str(config))
    _assert_exactly(good, Expected(), (ENV,))
    insecure = run_features(
        pytester,
        pki_cache_dir,
        "--sas-env",
        ENV,
        "--sas-client-command",
        _curl_command(tmp_path, insecure=True),
    )
    _assert_exactly(insecure, EXPECTED["accepte-tout"], (ENV,))


def test_live_check_is_skipped_with_its_reason_and_never_leaves_loopback(
    pytester: pytest.Pytester, pki_cache_dir: Path, editor: EditorPki
) -> None:
    """With an editor certificate, the live check dials the SAS platform: here redirected to a closed
    loopback port, so it is skipped as unreachable; a TEST certificate is not tried against production."""
    identity = editor.identity("recette")
    results = run_features(
        pytester,
        pki_cache_dir,
        "-m",
        "live",
        "--sas-env",
        "recette,production",
        "--sas-client-cert",
        str(identity.certfile),
        "--sas-client-key",
        str(identity.keyfile),
        "--sas-live-connect",
        f"127.0.0.1:{_free_port()}",
    )
    assert {env: {k: r.status for k, r in got.items()} for env, got in results.items()} == {
        "recette": {"CLI-LIVE[-]": "skipped"},
        "production": {"CLI-LIVE[-]": "skipped"},
    }
    assert "injoignable depuis cette machine" in results["recette"]["CLI-LIVE[-]"].reason
    assert "n'est pas destiné à l'environnement Production" in results["production"]["CLI-LIVE[-]"].reason


def test_bad_client_options_are_one_line_usage_errors(pytester: pytest.Pytester, pki_cache_dir: Path) -> None:
    result = pytester.runpytest_subprocess(
        "-c",
        str(ROOT / "pyproject.toml"),
        "--rootdir",
        str(ROOT),
        "--pki-cache",
        str(pki_cache_dir),
        str(ROOT / "features" / "test_client.py"),
        "--sas-client-command",
        "curl {nope}",
        timeout=60,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == [
        "ERROR: --sas-client-command: unknown placeholder {nope} (known: {base_url}, {host}, {port}, "
        "{address}, {address_url}, {ca_file}, {cert_file}, {key_file}, {chain_file}, {fullchain_file}, "
        "{p12_file})"
    ]
