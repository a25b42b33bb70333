"""``recette-sas cert check``: precise one-line findings, one-line input errors (exit 4), no secret printed.

The two public, expired TEST "ORG SIGN" certificates and the real IGC Santé CAs are read from
``../shared/igc`` (never copied into the project); those tests are skipped where it is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from recette_sas.cli.main import main
from recette_sas.errors import ExitCode
from recette_sas.pki.editor import EditorPki
from recette_sas.pki.editor_defects import EditorDefect
from recette_sas.pki.store import Pki

from .conftest import SHARED

IGC = SHARED / "igc"
EXAMPLES = IGC / "leaf_examples"
SIGN_TEST = EXAMPLES / "asip-p12-EL-TEST-ORG-SIGN-20181116-141712.pem"
SIGN_EXPIRED = EXAMPLES / "rpps.tra.henix.asipsante.fr-sign-expire.pem"
PASSWORD = "Tr0ub4dor&3-recette"
needs_shared = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="../shared/igc is absent: no real IGC Santé material"
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[str], list[str]]:
    code = main(["cert", "check", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out.splitlines(), err.splitlines()


@pytest.fixture(scope="module")
def editor(pki: Pki) -> EditorPki:
    return EditorPki(pki)


@needs_shared
@pytest.mark.parametrize(
    ("example", "expired_on"),
    [(SIGN_TEST, "2024-12-23 13:06:17 UTC"), (SIGN_EXPIRED, "2019-08-07 14:01:42 UTC")],
    ids=["org-sign-test", "org-sign-henix"],
)
def test_public_org_sign_certificates_get_precise_findings(
    capsys: pytest.CaptureFixture[str], example: Path, expired_on: str
) -> None:
    code, out, err = _run(capsys, example, "--env", "recette", "--igc-ca-dir", IGC)
    assert (code, err) == (1, [])
    assert (
        out[0].startswith(f"{example}: subject ")
        and "issuer CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS" in out[0]
    )
    findings = out[1:]
    assert findings[:3] == [
        "OK      issuer: issued by ACI-EL-ORG-TEST (TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS), as Recette expects",
        f"OK      signature: signature verified with ACI-EL-ORG-TEST from {IGC}",
        f"OK      chain: ACI-EL-ORG-TEST verified with ACR-EL-TEST from {IGC}",
    ]
    assert re.fullmatch(rf"ERROR   validity: expired on {expired_on} \(\d+ days ago\)", findings[3])
    assert findings[4:] == [
        "OK      profile: not a CA (basicConstraints CA:FALSE)",
        "ERROR   profile: extendedKeyUsage is emailProtection, clientAuth expected (AUTH_CLI): "
        "a signing (SIGN) certificate, not an authentication one",
        "OK      profile: keyUsage includes digitalSignature",
        "WARNING profile: keyUsage includes nonRepudiation, the mark of a signing certificate (AUTH_CLI has none)",
        "OK      key: RSA-2048",
        "WARNING chain: the file holds no intermediate: the software must send ACI-EL-ORG-TEST with the leaf "
        "(SAS may not have it)",
        "INFO    key: no private key given: key/certificate match not checked",
        "NOT CONFORMANT: 2 error(s), 2 warning(s)",
    ]


@needs_shared
def test_a_test_certificate_is_not_for_production(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, SIGN_TEST, "--env", "production", "--igc-ca-dir", IGC)
    assert code == 1
    assert (
        out[1]
        == "ERROR   issuer: issued by ACI-EL-ORG-TEST (the test hierarchy); Production expects ACI-EL-ORG"
    )


@needs_shared
def test_a_look_alike_certificate_fails_the_real_signature_check(
    capsys: pytest.CaptureFixture[str], editor: EditorPki
) -> None:
    """The look-alike PKI carries the real DNs: only the signature tells it apart from the real IGC."""
    code, out, _ = _run(capsys, editor.identity("recette").certfile, "--env", "recette", "--igc-ca-dir", IGC)
    assert code == 1
    assert (
        out[2]
        == f"ERROR   signature: carries ACI-EL-ORG-TEST's DN but ACI-EL-ORG-TEST's key from {IGC} did not sign it"
    )


def test_an_editor_auth_cli_bundle_is_conformant(
    capsys: pytest.CaptureFixture[str], editor: EditorPki, tmp_path: Path
) -> None:
    identity = editor.identity("preproduction")
    bundle = tmp_path / "editeur.pem"
    bundle.write_bytes(identity.certfile.read_bytes() + identity.keyfile.read_bytes())
    code, out, err = _run(capsys, bundle, "--env", "preproduction")
    assert (code, err) == (0, [])
    assert out[1:] == [
        "OK      issuer: issued by ACI-EL-ORG-TEST (TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS), as Pré-production expects",
        "INFO    signature: not checked against the real IGC Santé CAs (give --igc-ca-dir)",
        out[3],
        "OK      profile: not a CA (basicConstraints CA:FALSE)",
        "OK      profile: extendedKeyUsage includes clientAuth",
        "OK      profile: keyUsage includes digitalSignature",
        "OK      key: RSA-2048",
        "OK      chain: the file holds the issuing CA (TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS) to send with the leaf",
        f"OK      key: private key ({bundle}) matches the certificate",
        "conformant: 0 error(s), 0 warning(s)",
    ]
    assert re.fullmatch(
        r"OK      validity: valid until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ days left\)", out[3]
    )


def test_expiry_warning_and_other_hierarchy(capsys: pytest.CaptureFixture[str], editor: EditorPki) -> None:
    soon = editor.identity("recette", EditorDefect.EXPIRE_BIENTOT)
    code, out, _ = _run(capsys, soon.certfile, "--env", "recette", "--key", soon.keyfile)
    assert code == 0
    assert any(
        re.fullmatch(r"WARNING expiry: expires on .* UTC: \d days left, under 30 \(renew it\)", line)
        for line in out
    )
    other = editor.identity("recette", EditorDefect.AUTRE_HIERARCHIE)
    code, out, _ = _run(capsys, other.certfile, "--env", "recette")
    assert code == 1
    assert (
        out[1]
        == "ERROR   issuer: issued by ACI-EL-ORG (the production hierarchy); Recette expects ACI-EL-ORG-TEST"
    )


def _p12(editor: EditorPki, path: Path) -> Path:
    identity = editor.identity("production")
    key = serialization.load_pem_private_key(identity.keyfile.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"editeur",
            key,
            identity.leaf,
            list(identity.chain),
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    return path


def test_pkcs12_password_comes_from_a_named_variable(
    capsys: pytest.CaptureFixture[str], editor: EditorPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p12 = _p12(editor, tmp_path / "editeur.p12")
    monkeypatch.setenv("EDITEUR_P12", PASSWORD)
    code, out, err = _run(capsys, p12, "--env", "production", "--password-env", "EDITEUR_P12")
    assert (code, err) == (0, [])
    assert f"OK      key: private key ({p12} (PKCS#12)) matches the certificate" in out

    monkeypatch.setenv("EDITEUR_P12", "not-the-password")
    code, out, err = _run(capsys, p12, "--env", "production", "--password-env", "EDITEUR_P12")
    assert (code, out) == (ExitCode.USAGE, [])
    assert err == [
        f"recette-sas cert check: {p12}: cannot open the PKCS#12 file: wrong password in EDITEUR_P12 "
        "or corrupt file"
    ]

    monkeypatch.delenv("EDITEUR_P12")
    code, out, err = _run(capsys, p12, "--env", "production", "--password-env", "EDITEUR_P12")
    assert (code, err) == (
        ExitCode.USAGE,
        [
            "recette-sas cert check: --password-env EDITEUR_P12: environment variable "
            "EDITEUR_P12 is not set"
        ],
    )

    code, out, err = _run(capsys, p12, "--env", "production")
    assert code == ExitCode.USAGE and len(err) == 1
    assert err[0].startswith(
        f"recette-sas cert check: {p12}: not a PEM or DER certificate, and not a PKCS#12"
    )
    assert PASSWORD not in " ".join(err) and "not-the-password" not in " ".join(err)


def test_a_key_that_does_not_match_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], editor: EditorPki, tmp_path: Path
) -> None:
    stranger = tmp_path / "autre-cle.pem"
    stranger.write_bytes(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert = SIGN_TEST if SIGN_TEST.is_file() else editor.identity("recette").certfile
    code, out, err = _run(capsys, cert, "--env", "recette", "--key", stranger)
    assert (code, out) == (ExitCode.USAGE, [])
    assert len(err) == 1
    assert err[0].startswith(
        f"recette-sas cert check: {stranger}: the private key does not match the certificate "
    )
    assert err[0].endswith(f" in {cert}")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "{path}: cannot read (No such file or directory)"),
        (
            "garbage",
            "{path}: not a PEM or DER certificate, and not a PKCS#12 readable without a password "
            "(give --password-env NAME)",
        ),
        ("pem-without-cert", "{path}: no certificate in this PEM file"),
        ("encrypted-key", "{path}: the private key is encrypted: give --password-env NAME"),
    ],
)
def test_unusable_input_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], editor: EditorPki, tmp_path: Path, setup: str, expected: str
) -> None:
    path = tmp_path / f"{setup}.pem"
    identity = editor.identity("recette")
    if setup == "garbage":
        path.write_bytes(b"\x00\x01 not a certificate")
    elif setup == "pem-without-cert":
        path.write_bytes(identity.keyfile.read_bytes())
    elif setup == "encrypted-key":
        key = serialization.load_pem_private_key(identity.keyfile.read_bytes(), password=None)
        path.write_bytes(
            identity.certfile.read_bytes()
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(PASSWORD.encode()),
            )
        )
    code, out, err = _run(capsys, path, "--env", "recette")
    assert (code, out) == (ExitCode.USAGE, [])
    assert err == [f"recette-sas cert check: {expected.format(path=path)}"]


def test_bad_arguments_are_one_line(
    capsys: pytest.CaptureFixture[str], editor: EditorPki, tmp_path: Path
) -> None:
    cert = editor.identity("recette").certfile
    code, out, err = _run(capsys, cert, "--env", "recette")
    assert (code, err) == (0, [])
    code, out, err = _run(capsys, cert)
    assert (code, out) == (ExitCode.USAGE, [])
    assert err == ["recette-sas cert check: the following arguments are required: --env"]
    code, _, err = _run(capsys, cert, "--env", "staging")
    assert code == ExitCode.USAGE and len(err) == 1 and "invalid choice: 'staging'" in err[0]
    code, _, err = _run(capsys, cert, "--env", "recette", "--igc-ca-dir", tmp_path / "nowhere")
    assert (code, err) == (
        ExitCode.USAGE,
        [f"recette-sas cert check: --igc-ca-dir {tmp_path / 'nowhere'}: not a directory"],
    )
