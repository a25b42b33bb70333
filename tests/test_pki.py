"""Each certificate of the catalogue has its one defect and nothing else (cryptography + openssl verify)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from recette_sas.environments import (
    ENVIRONMENT_KEYS,
    Hierarchy,
    UsageError,
    get_environment,
    other_environment,
)
from recette_sas.identity import certificate_pem, signed_by
from recette_sas.pki.catalogue import GENUINE, IMPOSTORS, Defect
from recette_sas.pki.store import Pki

OPENSSL = shutil.which("openssl")
_ASIP = "OU=0002 187512751,O=ASIP-SANTE,C=FR"
IGC_DNS = {
    "ACR-EL": f"CN=AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE,{_ASIP}",
    "ACI-EL-ORG": f"CN=AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE,{_ASIP}",
    "ACR-EL-TEST": f"CN=TEST AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE TEST,{_ASIP}",
    "ACI-EL-ORG-TEST": f"CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE TEST,{_ASIP}",
}


def _fields(cert: x509.Certificate) -> dict[str, object]:
    """Everything a defect may change, except the serial (always unique) and the signature bytes."""
    ext = {
        e.oid.dotted_string: e.value
        for e in cert.extensions
        if e.oid != ExtensionOID.AUTHORITY_KEY_IDENTIFIER
    }
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "key": cert.public_key().public_numbers(),  # type: ignore[union-attr]
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
        "hash": cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else None,
        **ext,
    }


EXPECTED_CHANGES: dict[Defect, set[str]] = {
    Defect.AUTO_SIGNE: {"issuer"},
    Defect.AC_IMPOSTEUR: set(),  # same DNs, other keys: only the signature (and AKI) differ
    Defect.AC_ETRANGERE: {"issuer"},
    Defect.AUTRE_HIERARCHIE: {"issuer"},
    Defect.EXPIRE: {"not_before", "not_after"},
    Defect.PAS_ENCORE_VALIDE: {"not_before", "not_after"},
    Defect.EKU_SERVEUR: {ExtensionOID.EXTENDED_KEY_USAGE.dotted_string},
    Defect.SANS_SIGNATURE_NUMERIQUE: {ExtensionOID.KEY_USAGE.dotted_string},
    Defect.FEUILLE_CA: {ExtensionOID.BASIC_CONSTRAINTS.dotted_string},
    Defect.SIGNE_PAR_FEUILLE: {"issuer"},
    Defect.RSA_1024: {"key", ExtensionOID.SUBJECT_KEY_IDENTIFIER.dotted_string},
    Defect.SHA1: {"hash"},
    Defect.REVOQUE: set(),
    Defect.REVOQUE_OCSP: set(),
    Defect.MAUVAIS_CN: {"subject"},
    Defect.MAUVAIS_OU: {"subject"},
    Defect.AUTRE_ENVIRONNEMENT: {"subject"},
    Defect.CN_CASSE: {"subject"},
    Defect.CN_ESPACE_DEBUT: {"subject"},
    Defect.CN_ESPACE_FIN: {"subject"},
    Defect.CN_PREFIXE: {"subject"},
    Defect.CN_SUFFIXE: {"subject"},
    Defect.DEUX_CN: {"subject"},
    Defect.NOM_DANS_SAN: {"subject", ExtensionOID.SUBJECT_ALTERNATIVE_NAME.dotted_string},
    **{
        d: {"subject"}
        for d in (
            Defect.OU_CONTIENT,
            Defect.OU_PREFIXE,
            Defect.OU_SUFFIXE,
            Defect.OU_ESPACE_DEBUT,
            Defect.OU_ESPACE_FIN,
            Defect.DEUX_OU,
            Defect.MAUVAIS_O,
            Defect.ORDRE_RDN,
        )
    },
    # Chain defects: the leaf is SAS's valid one but for its issuer (a flawed CA of the same root,
    # or another key under the intermediate's DN: only the signature and AKI differ), or nothing at all
    # (the defect is in the signature bytes or in what is sent after the leaf).
    **{
        d: {"issuer"}
        for d in (
            Defect.INTERMEDIAIRE_EXPIRE,
            Defect.INTERMEDIAIRE_PAS_ENCORE_VALIDE,
            Defect.INTERMEDIAIRE_REVOQUE,
            Defect.INTERMEDIAIRE_NON_CA,
            Defect.INTERMEDIAIRE_SANS_KEYCERTSIGN,
            Defect.LONGUEUR_CHEMIN,
        )
    },
    Defect.AUTRE_CLE_DN_INTERMEDIAIRE: set(),
    Defect.SIGNATURE_CORROMPUE: set(),
    Defect.EXTENSION_CRITIQUE_INCONNUE: {"1.3.6.1.4.1.55555.1.1"},
    Defect.CHAINE_DESORDRE: set(),
    Defect.CHAINE_CERTIFICAT_ETRANGER: set(),
}


def test_catalogue_covers_every_defect() -> None:
    assert set(EXPECTED_CHANGES) | {Defect.VALIDE} == set(Defect)


def test_ca_dns_are_the_real_igc_dns(pki: Pki) -> None:
    for h in Hierarchy:
        for spec in (*GENUINE[h], *IMPOSTORS[h]):
            real = spec.name.removeprefix("IMPOSTEUR-")
            assert pki.ca(spec.name).subject.rfc4514_string() == IGC_DNS[real]
    for name in IGC_DNS:
        key = pki.ca(name).public_key()
        assert key.key_size == 4096  # type: ignore[union-attr]
        assert pki.ca(name).public_key() != pki.ca(f"IMPOSTEUR-{name}").public_key()
    _root, inter = pki.hierarchy(Hierarchy.TEST)
    assert inter.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0


@pytest.mark.parametrize("env", ENVIRONMENT_KEYS)
def test_valid_leaf_has_the_auth_cli_profile(pki: Pki, env: str) -> None:
    ident = pki.identity(env)
    leaf = ident.leaf
    assert leaf.subject == get_environment(env).subject.to_name()
    assert leaf.issuer == pki.hierarchy(get_environment(env).hierarchy)[1].subject
    assert leaf.public_key().key_size == 2048  # type: ignore[union-attr]
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_cert_sign
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert any(d.access_location.value == f"{pki.responder_url}/ocsp" for d in aia)
    crldp = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crldp[0].full_name[0].value.startswith(pki.responder_url)  # type: ignore[index,union-attr]
    assert [c.subject for c in ident.chain] == [pki.hierarchy(get_environment(env).hierarchy)[1].subject]


@pytest.mark.parametrize("env", ENVIRONMENT_KEYS)
@pytest.mark.parametrize("defect", list(EXPECTED_CHANGES), ids=lambda d: d.value)
def test_each_defect_differs_by_exactly_one_thing(pki: Pki, env: str, defect: Defect) -> None:
    valid = _fields(pki.identity(env).leaf)
    broken = _fields(pki.identity(env, defect).leaf)
    changed = {k for k in valid.keys() | broken.keys() if valid.get(k) != broken.get(k)}
    assert changed == EXPECTED_CHANGES[defect]
    assert pki.identity(env, defect).leaf.serial_number != pki.identity(env).leaf.serial_number


def test_subject_defects_change_only_what_they_name(pki: Pki) -> None:
    env = get_environment("preproduction")

    def attrs(defect: Defect) -> list[tuple[str, str]]:
        return [(a.oid._name, str(a.value)) for a in pki.identity(env.key, defect).leaf.subject]

    base = attrs(Defect.VALIDE)
    cn = env.subject.cn
    assert attrs(Defect.CN_CASSE)[-1] == ("commonName", cn.upper())
    assert attrs(Defect.CN_ESPACE_DEBUT)[-1] == ("commonName", " " + cn)
    assert attrs(Defect.CN_ESPACE_FIN)[-1] == ("commonName", cn + " ")
    assert attrs(Defect.CN_PREFIXE)[-1] == ("commonName", "x" + cn)
    assert attrs(Defect.CN_SUFFIXE)[-1] == ("commonName", cn + ".evil")
    assert attrs(Defect.DEUX_CN)[:-1] == base
    assert attrs(Defect.MAUVAIS_OU)[:3] == base[:3] and attrs(Defect.MAUVAIS_OU)[4] == base[4]
    other = pki.identity(env.key, Defect.AUTRE_ENVIRONNEMENT).leaf
    assert other.subject == other_environment(env.key).subject.to_name()
    san = pki.identity(env.key, Defect.NOM_DANS_SAN).leaf
    assert san.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    ) == [cn]
    assert cn not in [a.value for a in san.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


@pytest.mark.parametrize("env_key", ENVIRONMENT_KEYS)
def test_ou_and_o_defects_change_only_what_they_name(pki: Pki, env_key: str) -> None:
    env = get_environment(env_key)

    def attrs(defect: Defect) -> list[tuple[str, str]]:
        return [(a.oid._name, str(a.value)) for a in pki.identity(env.key, defect).leaf.subject]

    base = attrs(Defect.VALIDE)
    ou_at = [k for k, _ in base].index("organizationalUnitName")
    ou = env.subject.ou

    def with_ou(value: str) -> list[tuple[str, str]]:
        return [*base[:ou_at], ("organizationalUnitName", value), *base[ou_at + 1 :]]

    assert attrs(Defect.OU_CONTIENT) == with_ou("9" + ou + "9")
    assert attrs(Defect.OU_PREFIXE) == with_ou("9" + ou)
    assert attrs(Defect.OU_SUFFIXE) == with_ou(ou + "9")
    assert attrs(Defect.OU_ESPACE_DEBUT) == with_ou(" " + ou)
    assert attrs(Defect.OU_ESPACE_FIN) == with_ou(ou + " ")
    assert ou.isdigit()  # why no "OU in another letter case" defect exists: it would be SAS's OU
    two = attrs(Defect.DEUX_OU)
    assert two[: ou_at + 1] == base[: ou_at + 1] and two[ou_at + 2 :] == base[ou_at + 1 :]
    assert two[ou_at + 1][0] == "organizationalUnitName" and two[ou_at + 1][1] != ou
    wrong_o = attrs(Defect.MAUVAIS_O)
    changed = [i for i, (a, b) in enumerate(zip(base, wrong_o, strict=True)) if a != b]
    assert [base[i][0] for i in changed] == ["organizationName"]
    reordered = attrs(Defect.ORDRE_RDN)
    assert sorted(reordered) == sorted(base) and reordered != base
    assert [k for k, _ in reordered][-2:] == ["commonName", "organizationalUnitName"]


FLAWS = {
    Defect.INTERMEDIAIRE_EXPIRE: "expiree",
    Defect.INTERMEDIAIRE_PAS_ENCORE_VALIDE: "pas-encore-valide",
    Defect.INTERMEDIAIRE_REVOQUE: "revoquee",
    Defect.INTERMEDIAIRE_NON_CA: "non-ca",
    Defect.INTERMEDIAIRE_SANS_KEYCERTSIGN: "sans-keycertsign",
    Defect.LONGUEUR_CHEMIN: "sous-ac",
}


def _ca_fields(cert: x509.Certificate) -> dict[str, object]:
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    return {
        "not_before": cert.not_valid_before_utc,
        "not_after": cert.not_valid_after_utc,
        "ca": bc.ca,
        "path_length": bc.path_length,
        "key_cert_sign": ku.key_cert_sign,
        "crl_sign": ku.crl_sign,
    }


@pytest.mark.parametrize("env_key", ENVIRONMENT_KEYS)
@pytest.mark.parametrize("defect", list(FLAWS), ids=lambda d: d.value)
def test_each_flawed_ca_differs_from_the_intermediate_by_one_thing(
    pki: Pki, env_key: str, defect: Defect
) -> None:
    h = get_environment(env_key).hierarchy
    root, inter = pki.hierarchy(h)
    ident = pki.identity(env_key, defect)
    flawed = ident.chain[0]
    assert signed_by(ident.leaf, flawed)
    assert flawed.subject.rfc4514_string().startswith(inter.subject.rfc4514_string().split(",", 1)[0])
    assert flawed.subject != inter.subject and flawed.public_key() != inter.public_key()
    if defect is Defect.LONGUEUR_CHEMIN:
        assert signed_by(flawed, inter) and ident.chain[1] == inter  # a sound CA one level too deep
        sound = _ca_fields(inter) | {"path_length": None}
    else:
        assert signed_by(flawed, root) and len(ident.chain) == 1
        sound = _ca_fields(inter)
    actual = _ca_fields(flawed)
    changed = {k for k in sound if sound[k] != actual[k]}
    now = dt.datetime.now(dt.UTC)
    expected = {
        Defect.INTERMEDIAIRE_EXPIRE: {"not_before", "not_after"},
        Defect.INTERMEDIAIRE_PAS_ENCORE_VALIDE: {"not_before", "not_after"},
        Defect.INTERMEDIAIRE_REVOQUE: set(),
        Defect.INTERMEDIAIRE_NON_CA: {"ca", "path_length"},
        Defect.INTERMEDIAIRE_SANS_KEYCERTSIGN: {"key_cert_sign"},
        Defect.LONGUEUR_CHEMIN: set(),
    }[defect]
    if defect in (Defect.INTERMEDIAIRE_EXPIRE, Defect.INTERMEDIAIRE_PAS_ENCORE_VALIDE):
        assert {k for k in changed if k not in ("not_before", "not_after")} == set()
        assert flawed.not_valid_after_utc < now or flawed.not_valid_before_utc > now + dt.timedelta(days=365)
    else:
        assert changed == expected
    revoked = pki.crl(pki.hierarchy_names(h)[0]).get_revoked_certificate_by_serial_number(
        flawed.serial_number
    )
    assert (revoked is not None) == (defect is Defect.INTERMEDIAIRE_REVOQUE)


@pytest.mark.parametrize("env_key", ENVIRONMENT_KEYS)
def test_signature_and_sending_defects(pki: Pki, env_key: str) -> None:
    h = get_environment(env_key).hierarchy
    root, inter = pki.hierarchy(h)
    valid = pki.identity(env_key)
    corrupted = pki.identity(env_key, Defect.SIGNATURE_CORROMPUE)
    assert corrupted.leaf.tbs_certificate_bytes != valid.leaf.tbs_certificate_bytes  # its own serial
    assert not signed_by(corrupted.leaf, inter) and corrupted.chain == (inter,)
    other_key = pki.identity(env_key, Defect.AUTRE_CLE_DN_INTERMEDIAIRE)
    assert other_key.leaf.issuer == inter.subject and not signed_by(other_key.leaf, inter)
    assert signed_by(other_key.leaf, pki.ca(IMPOSTORS[h][1].name)) and other_key.chain == (inter,)
    critical = pki.identity(env_key, Defect.EXTENSION_CRITIQUE_INCONNUE).leaf
    ext = critical.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.1"))
    assert ext.critical and signed_by(critical, inter)
    assert pki.identity(env_key, Defect.CHAINE_DESORDRE).chain == (root, inter)
    foreign = pki.identity(env_key, Defect.CHAINE_CERTIFICAT_ETRANGER).chain
    assert foreign[0] == inter and len(foreign) == 2 and foreign[1].subject != root.subject
    for defect in (Defect.CHAINE_DESORDRE, Defect.CHAINE_CERTIFICAT_ETRANGER):
        assert signed_by(pki.identity(env_key, defect).leaf, inter)


def test_validity_defects_stay_outside_the_window(pki: Pki) -> None:
    now = dt.datetime.now(dt.UTC)
    assert pki.identity("recette", Defect.EXPIRE).leaf.not_valid_after_utc < now
    assert pki.identity("recette", Defect.PAS_ENCORE_VALIDE).leaf.not_valid_before_utc > now + dt.timedelta(
        days=365
    )


def test_revocation_state(pki: Pki) -> None:
    for env in ENVIRONMENT_KEYS:
        _root, inter_name = pki.hierarchy_names(get_environment(env).hierarchy)
        crl = pki.crl(inter_name)
        revoked = pki.identity(env, Defect.REVOQUE).leaf.serial_number
        ocsp_only = pki.identity(env, Defect.REVOQUE_OCSP).leaf.serial_number
        assert crl.get_revoked_certificate_by_serial_number(revoked) is not None
        assert crl.get_revoked_certificate_by_serial_number(ocsp_only) is None
        assert pki.ocsp_status(inter_name, revoked)[0] == "revoked"
        assert pki.ocsp_status(inter_name, ocsp_only)[0] == "revoked"
        assert pki.ocsp_status(inter_name, pki.identity(env).leaf.serial_number)[0] == "good"
        assert pki.ocsp_status(inter_name, 12345)[0] == "unknown"


def test_private_keys_are_owner_only(pki: Pki) -> None:
    keyfile = pki.identity("production").keyfile
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    for key in (pki.root / "material" / "keys").glob("*.pem"):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


OPENSSL_VERDICTS = {
    Defect.VALIDE: "OK",
    Defect.EXPIRE: "certificate has expired",
    Defect.PAS_ENCORE_VALIDE: "certificate is not yet valid",
    Defect.REVOQUE: "certificate revoked",
    Defect.EKU_SERVEUR: "unsuitable certificate purpose",
    Defect.SANS_SIGNATURE_NUMERIQUE: "unsuitable certificate purpose",
    Defect.SIGNE_PAR_FEUILLE: "invalid CA certificate",
    Defect.AC_IMPOSTEUR: "unable to get local issuer certificate",
    Defect.AUTRE_HIERARCHIE: "unable to get local issuer certificate",
    Defect.AUTO_SIGNE: "self-signed certificate",
    Defect.AC_ETRANGERE: "self-signed certificate in certificate chain",
    # Identity defects chain perfectly: only the application's subject check can refuse them.
    Defect.MAUVAIS_CN: "OK",
    Defect.REVOQUE_OCSP: "OK",
}


@pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")
@pytest.mark.parametrize("defect", list(OPENSSL_VERDICTS), ids=lambda d: d.value)
def test_openssl_verify_agrees(pki: Pki, defect: Defect, tmp_path: Path) -> None:
    env = "recette"
    root_name, inter_name = pki.hierarchy_names(Hierarchy.TEST)
    ident = pki.identity(env, defect)
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(
        ident.public_pem().split(b"-----END CERTIFICATE-----", 1)[0] + b"-----END CERTIFICATE-----\n"
    )
    untrusted = tmp_path / "untrusted.pem"
    untrusted.write_bytes(b"".join(certificate_pem(c) for c in ident.chain))
    cmd = [
        OPENSSL,
        "verify",
        "-purpose",
        "sslclient",
        "-crl_check_all",
        "-CAfile",
        str(pki.root / "material" / "ca" / f"{root_name}.pem"),
        "-CRLfile",
        str(pki.crl_path(root_name)),
        "-CRLfile",
        str(pki.crl_path(inter_name)),
    ]
    if ident.chain:
        cmd += ["-untrusted", str(untrusted)]
    out = subprocess.run([*cmd, str(leaf)], capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    expected = OPENSSL_VERDICTS[defect]
    if expected == "OK":
        assert out.returncode == 0, text
    else:
        assert out.returncode != 0 and expected in text, text


def test_cache_is_reused_and_reissued_for_a_new_responder(pki_cache_dir: Path, pki: Pki) -> None:
    again = Pki.load_or_build(pki_cache_dir, responder_url=pki.responder_url)
    assert again.issued_dir == pki.issued_dir
    assert again.identity("recette").leaf == pki.identity("recette").leaf
    moved = Pki.load_or_build(pki_cache_dir, responder_url="http://127.0.0.1:9/")
    assert moved.hierarchy(Hierarchy.TEST) == pki.hierarchy(
        Hierarchy.TEST
    )  # CAs kept: editors configure once
    assert moved.identity("recette").leaf != pki.identity("recette").leaf
    assert moved.identity("recette").leaf.public_key() == pki.identity("recette").leaf.public_key()


def test_profile_change_rebuilds_material(tmp_path: Path) -> None:
    first = Pki.load_or_build(tmp_path, responder_url="http://127.0.0.1:9")
    meta = tmp_path / "material" / "material.json"
    meta.write_text(meta.read_text().replace('"profile_version": ', '"profile_version": -'))
    second = Pki.load_or_build(tmp_path, responder_url="http://127.0.0.1:9")
    assert second.hierarchy(Hierarchy.TEST)[0] != first.hierarchy(Hierarchy.TEST)[0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") and p.name != ".lock"]  # nothing half-written


def test_unwritable_cache_is_a_one_line_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(UsageError) as info:
        Pki.load_or_build(blocker / "cache", responder_url="http://127.0.0.1:9")
    assert "PKI cache directory" in str(info.value) and "\n" not in str(info.value)


def test_fingerprints_cover_the_four_cas(pki: Pki) -> None:
    fps = pki.fingerprints()
    assert set(fps) == set(IGC_DNS)
    assert all(len(v) == 64 for v in fps.values())
    assert fps["ACR-EL"] == pki.ca("ACR-EL").fingerprint(hashes.SHA256()).hex()
