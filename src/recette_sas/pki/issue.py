"""Issuing one set of leaves for a responder URL: SAS's leaves, every one-defect leaf of the catalogue,
and the CRLs of every CA, written into a work folder that ``store.Pki`` renames into place.

Its own module because issuing (what each leaf is made of) and caching (when a set is reused, checked,
rebuilt) change for different reasons.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from recette_sas.environments import ENVIRONMENT_KEYS, Hierarchy
from recette_sas.identity import certificate_pem
from recette_sas.pki.cache_guard import (
    files_digest,
)
from recette_sas.pki.catalogue import (
    ALL_CAS,
    FLAWED,
    LEAF_VALIDITY,
    Defect,
    leaf_plans,
    sign_plan,
    signer_plan,
)
from recette_sas.pki.keys import key_pem, load_rsa_key, write_private

PROFILE_VERSION = 4
"""Bumped when what a leaf or CA is made of changes: cached material of another version is rebuilt."""
CRL_VALIDITY = dt.timedelta(days=90)


def issue_all(work: Path, material: Path, responder_url: str, now: dt.datetime) -> None:
    """Issue every leaf of the catalogue and the CRLs, for one responder URL."""
    certs = {
        p.name[: -len(".pem")]: x509.load_pem_x509_certificate(p.read_bytes())
        for p in (material / "ca").glob("*.pem")
    }
    keys: dict[str, rsa.RSAPrivateKey] = {}

    def key(name: str) -> rsa.RSAPrivateKey:
        if name not in keys:
            keys[name] = load_rsa_key(material / "keys" / f"{name}.key.pem")
        return keys[name]

    base = responder_url.rstrip("/")
    issued: dict[str, set[int]] = {}
    issuers: dict[str, str] = {}
    revoked: dict[str, dict[int, dt.datetime]] = {}
    in_crl: dict[str, set[int]] = {}
    leaves_dir = work / "leaves"
    latest_not_yet_valid = now + dt.timedelta(days=5 * 365)
    for h in Hierarchy:  # the one revoked CA of each hierarchy, in its root's CRL
        revoked_ca = FLAWED[h]["revoquee"]
        serial = certs[revoked_ca.name].serial_number
        assert revoked_ca.issuer is not None
        revoked.setdefault(revoked_ca.issuer, {})[serial] = now - dt.timedelta(hours=1)
        in_crl.setdefault(revoked_ca.issuer, set()).add(serial)
    for env_key in ENVIRONMENT_KEYS:
        signer_leaf = signer_plan(env_key, now)
        signer = sign_plan(signer_leaf, certs, key, base)
        issued.setdefault(signer_leaf.issuer, set()).add(signer.serial_number)
        certs_for_chain = {**certs, "leaf-signer": signer}
        for defect, plan in leaf_plans(env_key, now).items():
            cert = sign_plan(plan, certs_for_chain, key, base)
            if plan.issuer in certs:
                issued.setdefault(plan.issuer, set()).add(cert.serial_number)
            if defect in (Defect.REVOQUE, Defect.REVOQUE_OCSP):
                revoked.setdefault(plan.issuer, {})[cert.serial_number] = now - dt.timedelta(hours=1)
                if defect is Defect.REVOQUE:
                    in_crl.setdefault(plan.issuer, set()).add(cert.serial_number)
            folder = leaves_dir / env_key / defect.value
            folder.mkdir(parents=True)
            issuers[f"{env_key}/{defect.value}"] = plan.issuer
            chain = b"".join(certificate_pem(certs_for_chain[n]) for n in plan.chain)
            leaf_pem = certificate_pem(cert)
            (folder / "leaf.pem").write_bytes(leaf_pem)
            (folder / "chain.pem").write_bytes(chain)
            (folder / "fullchain.pem").write_bytes(leaf_pem + chain)
            write_private(folder / "key.pem", key_pem(key(plan.key)))
    crl_dir = work / "crl"
    crl_dir.mkdir()
    next_update = now + CRL_VALIDITY
    for spec in ALL_CAS:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(certs[spec.name].subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(next_update)
            .add_extension(x509.CRLNumber(1), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(key(spec.name).public_key()),
                critical=False,
            )
        )
        for serial in sorted(in_crl.get(spec.name, set())):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(revoked[spec.name][serial])
                .build()
            )
        crl = builder.sign(key(spec.name), hashes.SHA256())
        (crl_dir / f"{spec.name}.crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    material_meta = json.loads((material / "material.json").read_text())
    (work / "issued.json").write_text(
        json.dumps(
            {
                "profile_version": PROFILE_VERSION,
                "responder_url": responder_url,
                "created": now.isoformat(),
                "material_created": material_meta["created"],
                "generation": material_meta["generation"],
                "issuers": issuers,
                "files": files_digest(work),
                "crl_next_update": next_update.isoformat(),
                "leaf_not_after": (now + LEAF_VALIDITY).isoformat(),
                "not_yet_valid_from": latest_not_yet_valid.isoformat(),
                "defects": [d.value for d in Defect],
                "issued": {ca: sorted(format(s, "x") for s in v) for ca, v in issued.items()},
                "revoked": {
                    ca: {format(s, "x"): t.isoformat() for s, t in v.items()} for ca, v in revoked.items()
                },
                "in_crl": {ca: sorted(format(s, "x") for s in v) for ca, v in in_crl.items()},
            },
            indent=2,
        )
    )
