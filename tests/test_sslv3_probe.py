"""The SSL 3.0 probe (tlslite-ng) and the front that accepts SSL 3.0: the check can pass and can fail.

Against a TLS 1.2 server the probe's ClientHello proves SSL 3.0 was offered and the refusal is a refusal;
against the broken front the handshake completes in SSL 3.0 and the call is accepted; a front whose
certificate the probe cannot verify is a probe fault, never an acceptance nor a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from recette_sas.pki.catalogue import Defect
from recette_sas.pki.store import Pki
from recette_sas.probe.attempt import attempt
from recette_sas.probe.endpoint import Endpoint, HttpRequest, TlsVersion
from recette_sas.probe.sslv3 import translate
from recette_sas.server.policy import Policy
from recette_sas.server.reference import ReferenceServer
from recette_sas.server.sslv3 import Sslv3Front, rsa_server_pair
from recette_sas.verdict import Outcome


@pytest.fixture(scope="module")
def front(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sslv3Front, Path]]:
    ca, leaf = rsa_server_pair()
    policy = Policy(allowed_subjects=(), trusted_cas=pki.hierarchy("test"), crls=pki.crls("test"))
    ca_file = tmp_path_factory.mktemp("sslv3") / "ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    with (
        ReferenceServer(policy, server_cert=leaf, server_ca=ca) as server,
        Sslv3Front(
            backend=(server.host, server.port), server_cert=leaf, trusted_cas=policy.trusted_cas
        ) as fr,
    ):
        yield fr, ca_file


def _endpoint(port: int, ca_file: Path) -> Endpoint:
    return Endpoint(host="127.0.0.1", port=port, server_name="localhost", ca_file=ca_file, read_timeout=5)


def test_the_front_accepts_ssl3_and_the_probe_proves_it(pki: Pki, front: tuple[Sslv3Front, Path]) -> None:
    fr, ca_file = front
    a = attempt(
        _endpoint(fr.port, ca_file),
        HttpRequest(path="/metadata"),
        identity=pki.identity("preproduction", Defect.VALIDE),
        tls_version=TlsVersion.SSLv3,
    )
    assert a.outcome is Outcome.ACCEPTED, a.reason
    assert a.tls_negotiated == "SSLv3" and a.http_status == 200
    assert a.client_hello_version == "SSLv3" and a.versions_offered_on_wire == ("SSLv3",)
    assert a.server_chain and fr.sslv3_handshakes >= 1


def test_the_front_relays_everything_else_to_the_reference(pki: Pki, front: tuple[Sslv3Front, Path]) -> None:
    fr, ca_file = front
    modern = attempt(_endpoint(fr.port, ca_file), HttpRequest(path="/metadata"), identity=None)
    assert modern.tls_negotiated in ("TLSv1.2", "TLSv1.3")
    assert modern.outcome is not Outcome.ACCEPTED  # the reference behind it requires a certificate
    old = attempt(
        _endpoint(fr.port, ca_file),
        HttpRequest(path="/metadata"),
        identity=pki.identity("preproduction", Defect.VALIDE),
        tls_version=TlsVersion.TLSv1,
    )
    assert old.outcome is Outcome.REFUSED_TLS, old.reason


def test_a_server_the_ssl3_probe_cannot_verify_is_a_probe_fault(
    pki: Pki, front: tuple[Sslv3Front, Path], tmp_path: Path
) -> None:
    fr, _ = front
    stranger = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(stranger)
    a = attempt(
        _endpoint(fr.port, stranger),
        HttpRequest(path="/metadata"),
        identity=pki.identity("preproduction", Defect.VALIDE),
        tls_version=TlsVersion.SSLv3,
    )
    assert a.outcome is Outcome.PROBE_FAULT, a.reason
    assert "could not verify the server certificate" in a.reason


def test_a_closed_port_is_unreachable_for_the_ssl3_probe(tmp_path: Path) -> None:
    from recette_sas.server.targets import closed_port

    a = attempt(_endpoint(closed_port(), tmp_path / "none.pem"), HttpRequest(), tls_version=TlsVersion.SSLv3)
    assert a.outcome is Outcome.UNREACHABLE, a.reason


def test_untranslated_tlslite_errors_stay_probe_faults() -> None:
    error = ValueError("anything tlslite raises that is not an alert or a close")
    assert translate(error) is error
