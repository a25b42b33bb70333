"""Look-alike IGC Santé PKI: building, caching and loading both hierarchies and SAS's leaves.

The CAs carry the real IGC Santé DNs (``domain-notes.md`` §3) with keys of our own, so an editor's
server configured with this PKI behaves as it will with the real chain, while every negative
certificate the suite needs can be minted. Each negative certificate differs from the valid SAS leaf of
its environment by exactly one defect (same key, same subject, same issuer, same extensions, same
validity, except the one thing the defect names; the serial always differs so revocation is per
certificate).

Layout on disk (``cache_dir``)::

    material/          keys (mode 0600) and CA certificates: expensive (RSA-4096), kept until near expiry
    issued/<profile>/  leaves, chains and CRLs for one responder URL: cheap, re-issued when the URL changes

Building happens under the cache's lock, in a temporary folder renamed into place, so concurrent runs
build one CA generation and an interrupted build leaves nothing half-written; every load checks each
file against its manifest and each leaf and CRL against the cached CA keys (``pki/cache_guard.py``). What is built (the CA specs, the leaf keys, the one-defect catalogue) is described in
``pki/catalogue.py``; the leaf profile every leaf is issued with lives in ``pki/profile.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from recette_sas.environments import Hierarchy, UsageError, get_environment
from recette_sas.identity import Identity, certificate_pem, signed_by
from recette_sas.pki.cache_guard import (
    CacheCorrupt,
    cache_lock,
    files_digest,
    read_manifest,
    sweep_work_dirs,
    terminating_pool,
    verify_issued,
    verify_material,
)
from recette_sas.pki.cachefs import ensure_writable, prune_sets, replace_dir
from recette_sas.pki.catalogue import (
    ALL_CAS,
    FLAWED,
    GENUINE,
    LEAF_KEYS,
    LEAF_VALIDITY,
    Defect,
)
from recette_sas.pki.issue import PROFILE_VERSION, issue_all
from recette_sas.pki.keys import key_pem, load_rsa_key, write_private

DEFAULT_HORIZON = dt.timedelta(days=30)
CA_VALIDITY = dt.timedelta(days=3650)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _keygen_pem(bits: int) -> bytes:
    return key_pem(rsa.generate_private_key(public_exponent=65537, key_size=bits))


def _generate_keys(sizes: dict[str, int]) -> dict[str, bytes]:
    """RSA keys as PEM. The RSA-4096 ones (most of a cold build, with a wide spread) are generated in
    worker processes, one per core, while this process makes the small ones. An interruption (Ctrl-C,
    SIGTERM) terminates the workers at once rather than letting them finish the queue."""
    big = [name for name, bits in sizes.items() if bits >= 4096]
    workers = min(len(big), os.cpu_count() or 1)
    if workers < 2:
        return {name: _keygen_pem(bits) for name, bits in sizes.items()}
    with terminating_pool(workers) as pool:
        pending = {name: pool.apply_async(_keygen_pem, (sizes[name],)) for name in big}
        pems = {name: _keygen_pem(bits) for name, bits in sizes.items() if name not in pending}
        pems.update({name: result.get(timeout=300) for name, result in pending.items()})
    return {name: pems[name] for name in sizes}


def _build_material(work: Path, now: dt.datetime) -> None:
    """Generate every key and CA certificate (the expensive part)."""
    keys_dir = work / "keys"
    certs_dir = work / "ca"
    keys_dir.mkdir(parents=True)
    certs_dir.mkdir()
    pems = _generate_keys({**{spec.name: spec.key_bits for spec in ALL_CAS}, **LEAF_KEYS})
    for name, pem in pems.items():
        write_private(keys_dir / f"{name}.key.pem", pem)
    keys = {spec.name: load_rsa_key(keys_dir / f"{spec.name}.key.pem") for spec in ALL_CAS}
    certs: dict[str, x509.Certificate] = {}
    for spec in ALL_CAS:  # roots come before the intermediates they sign
        key = keys[spec.name]
        issuer_cert = certs[spec.issuer] if spec.issuer else None
        issuer_key = keys[spec.issuer] if spec.issuer else key
        not_before, not_after = _ca_validity(spec.flaw, now)
        path_length = None if spec.flaw == "sous-ac" or not spec.issuer else 0
        builder = (
            x509.CertificateBuilder()
            .subject_name(spec.dn)
            .issuer_name(issuer_cert.subject if issuer_cert else spec.dn)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(
                x509.BasicConstraints(
                    ca=spec.flaw != "non-ca", path_length=None if spec.flaw == "non-ca" else path_length
                ),
                critical=True,
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=spec.flaw != "sans-keycertsign",
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        )
        if issuer_cert is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
            )
        certs[spec.name] = builder.sign(issuer_key, hashes.SHA256())
        (certs_dir / f"{spec.name}.pem").write_bytes(certificate_pem(certs[spec.name]))
    meta = {
        "profile_version": PROFILE_VERSION,
        "created": now.isoformat(),
        "generation": uuid.uuid4().hex,
        "files": files_digest(work),
    }
    (work / "material.json").write_text(json.dumps(meta, indent=2))


class Pki:
    """The look-alike PKI, loaded from (or built into) a cache directory.

    ``responder_url`` is the base URL of the suite's own CRL/OCSP publisher, written into every leaf's
    CRL distribution point and OCSP AIA.
    """

    def __init__(self, root: Path, issued: Path, responder_url: str) -> None:
        """Load a built cache, checking that it is whole and one generation (``CacheCorrupt`` if not)."""
        self.root = root
        self.issued_dir = issued
        self.responder_url = responder_url
        self._identities: dict[tuple[str, Defect, bool], Identity] = {}
        self.notices: list[str] = []
        self.generation, self._certs, self._keys = verify_material(root / "material")
        manifest = verify_issued(issued, self._certs, self.generation)
        self.created = dt.datetime.fromisoformat(manifest["created"])
        self._revoked: dict[str, dict[int, dt.datetime]] = {
            ca: {int(s, 16): dt.datetime.fromisoformat(t) for s, t in entries.items()}
            for ca, entries in manifest["revoked"].items()
        }
        self._in_crl: dict[str, set[int]] = {
            ca: {int(s, 16) for s in v} for ca, v in manifest["in_crl"].items()
        }
        self.crl_next_update = dt.datetime.fromisoformat(manifest["crl_next_update"])
        self._later: dict[str, dict[int, dt.datetime]] = {}  # revoked after the build (pki/sentinel.py)
        self._known = {ca: {int(s, 16) for s in v} for ca, v in manifest["issued"].items()}

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def load_or_build(
        cls,
        cache_dir: Path,
        *,
        responder_url: str,
        horizon: dt.timedelta = DEFAULT_HORIZON,
        notify: Callable[[str], None] | None = None,
    ) -> Pki:
        """The PKI for ``responder_url``, reusing what the cache holds while it stays valid over ``horizon``.

        Runs sharing a cache take turns (a lock on the cache folder), so two cold runs never build two
        CA generations. A cache found corrupt or inconsistent is rebuilt, and ``notify`` (default: one
        line on stderr) says which file was wrong; if the rebuilt cache still fails its check, a
        one-line ``UsageError`` names the file.
        """
        cache_dir = Path(cache_dir)
        say = notify or _stderr_line
        _ensure_writable(cache_dir)
        notices: list[str] = []
        with cache_lock(cache_dir):
            sweep_work_dirs(cache_dir)
            profile = hashlib.sha256(f"{PROFILE_VERSION}|{responder_url}".encode()).hexdigest()[:16]
            issued = cache_dir / "issued" / profile
            for attempt in range(2):
                try:
                    _build_stale(cache_dir, issued, responder_url, horizon)
                    loaded = cls(cache_dir, issued, responder_url)
                except CacheCorrupt as exc:
                    if attempt:
                        raise UsageError(
                            f"PKI cache {exc.path}: {exc.problem}, even after rebuilding"
                        ) from None
                    notices.append(f"recette-sas: PKI cache {exc.path}: {exc.problem}; rebuilding it")
                    say(notices[-1])
                    shutil.rmtree(issued, ignore_errors=True)
                    if exc.path.is_relative_to(cache_dir / "material"):
                        shutil.rmtree(cache_dir / "material", ignore_errors=True)
                    continue
                prune_sets(cache_dir / "issued", keep=issued)
                loaded.notices = notices
                return loaded
        raise AssertionError("unreachable")  # pragma: no cover

    # -- queries ------------------------------------------------------------------------------
    def ca_names(self) -> tuple[str, ...]:
        return tuple(self._certs)

    def ca(self, name: str) -> x509.Certificate:
        return self._certs[name]

    def ca_key(self, name: str) -> rsa.RSAPrivateKey:
        """A CA's private key: for the suite's own OCSP responder only (loaded and checked with the cache,
        so a later rebuild of the cache by another run cannot change it under this one)."""
        return self._keys[name]

    def hierarchy(self, h: Hierarchy) -> tuple[x509.Certificate, x509.Certificate]:
        """(root, intermediate) of a genuine look-alike hierarchy."""
        root, inter = GENUINE[h]
        return self._certs[root.name], self._certs[inter.name]

    def hierarchy_names(self, h: Hierarchy) -> tuple[str, str]:
        root, inter = GENUINE[h]
        return root.name, inter.name

    def crl_path(self, ca_name: str) -> Path:
        return self.issued_dir / "crl" / f"{ca_name}.crl.pem"

    def crl(self, ca_name: str) -> x509.CertificateRevocationList:
        crl = x509.load_pem_x509_crl(self.crl_path(ca_name).read_bytes())
        extra = self._later.get(ca_name)
        return _with_entries(crl, self.ca_key(ca_name), extra) if extra else crl

    def revoke(self, issuer_name: str, serial: int, when: dt.datetime) -> None:
        """Revoke a serial after the build (the CRL refresh sentinel): CRL and OCSP list it from now on."""
        self._later.setdefault(issuer_name, {})[serial] = when
        self._revoked.setdefault(issuer_name, {})[serial] = when

    def crls(self, h: Hierarchy, *, as_built: bool = False) -> tuple[x509.CertificateRevocationList, ...]:
        """CRLs for every CA of a hierarchy, its flawed test CAs included (root too: terminators refuse
        everyone without it); ``as_built``: without the revocations made since the build (a server that
        never reloads)."""
        names = (*self.hierarchy_names(h), *(spec.name for spec in FLAWED[h].values()))
        if as_built:
            return tuple(x509.load_pem_x509_crl(self.crl_path(n).read_bytes()) for n in names)
        return tuple(self.crl(n) for n in names)

    def identity(self, env_key: str, defect: Defect = Defect.VALIDE, *, send_chain: bool = True) -> Identity:
        """What SAS of ``env_key`` presents with ``defect``; ``send_chain=False`` sends the leaf alone."""
        key = (env_key, defect, send_chain)
        if key not in self._identities:
            self._identities[key] = self._load_identity(env_key, defect, send_chain=send_chain)
        return self._identities[key]

    def _load_identity(self, env_key: str, defect: Defect, *, send_chain: bool) -> Identity:
        get_environment(env_key)
        folder = self.issued_dir / "leaves" / env_key / defect.value
        leaf = x509.load_pem_x509_certificate((folder / "leaf.pem").read_bytes())
        chain = (
            tuple(x509.load_pem_x509_certificates((folder / "chain.pem").read_bytes()))
            if (folder / "chain.pem").stat().st_size
            else ()
        )
        certfile = folder / ("fullchain.pem" if send_chain else "leaf.pem")
        label = f"{env_key}:{defect.value}" + ("" if send_chain else ":feuille-seule")
        return Identity(
            label=label,
            leaf=leaf,
            chain=chain if send_chain else (),
            certfile=certfile,
            keyfile=folder / "key.pem",
        )

    def register_issued(self, issuer_name: str, serial: int) -> None:
        """Tell the OCSP responder about a leaf issued outside the catalogue (the editor's look-alike leaves)."""
        self._known_serials().setdefault(issuer_name, set()).add(serial)

    def ocsp_status(self, issuer_name: str, serial: int) -> tuple[str, dt.datetime | None]:
        """("good" | "revoked" | "unknown", revocation time) for a serial issued by ``issuer_name``."""
        revoked = self._revoked.get(issuer_name, {})
        if serial in revoked:
            return "revoked", revoked[serial]
        if serial in self._known_serials().get(issuer_name, set()):
            return "good", None
        return "unknown", None

    def _known_serials(self) -> dict[str, set[int]]:
        return self._known

    def fingerprints(self) -> dict[str, str]:
        """SHA-256 of each genuine look-alike CA (for reports: which PKI a run used)."""
        return {
            spec.name: self._certs[spec.name].fingerprint(hashes.SHA256()).hex()
            for h in Hierarchy
            for spec in GENUINE[h]
        }

    def expires_soon(self, *, within: dt.timedelta) -> bool:
        return self.crl_next_update < _now() + within


def _with_entries(
    crl: x509.CertificateRevocationList, key: rsa.RSAPrivateKey, entries: dict[int, dt.datetime]
) -> x509.CertificateRevocationList:
    """``crl`` with ``entries`` added, re-signed (same dates and extensions: the same publication)."""
    builder = x509.CertificateRevocationListBuilder().issuer_name(crl.issuer).last_update(crl.last_update_utc)
    if crl.next_update_utc is not None:
        builder = builder.next_update(crl.next_update_utc)
    for entry in crl:
        builder = builder.add_revoked_certificate(entry)
    for serial, when in sorted(entries.items()):
        if crl.get_revoked_certificate_by_serial_number(serial) is None:
            revoked = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            builder = builder.add_revoked_certificate(revoked)
    for extension in crl.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    return builder.sign(key, hashes.SHA256())


def _build_stale(cache_dir: Path, issued: Path, responder_url: str, horizon: dt.timedelta) -> None:
    """Build the material and the issued set for ``responder_url`` where absent or too old."""
    now = _now()
    material = cache_dir / "material"
    if not _material_fresh(material, now, horizon):
        replace_dir(material, lambda work: _build_material(work, now))
    if not _issued_fresh(issued, material, now, horizon):
        issued.parent.mkdir(parents=True, exist_ok=True)
        replace_dir(issued, lambda work: issue_all(work, material, responder_url, now))


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _ensure_writable(cache_dir: Path) -> None:
    ensure_writable(cache_dir, what=f"PKI cache directory {cache_dir}:")


def _ca_validity(flaw: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """A CA's validity: ten years from yesterday, or outside any window the material lives through
    (material is rebuilt when a sound CA has less than LEAF_VALIDITY and a horizon left: < 7 years)."""
    if flaw == "expiree":
        return now - dt.timedelta(days=400), now - dt.timedelta(days=30)
    if flaw == "pas-encore-valide":
        return now + dt.timedelta(days=8 * 365), now + dt.timedelta(days=18 * 365)
    return now - dt.timedelta(days=1), now + CA_VALIDITY


def _material_fresh(material: Path, now: dt.datetime, horizon: dt.timedelta) -> bool:
    """True if the material is whole, of this profile, and valid over ``horizon`` (the flawed test CAs
    keep their one defect over it: the expired one stays expired, the not-yet-valid one stays so);
    ``CacheCorrupt`` if a file of it changed since it was built."""
    meta = read_manifest(material / "material.json")
    if meta is None or meta.get("profile_version") != PROFILE_VERSION or "generation" not in meta:
        return False
    certs = verify_material(material)[1]
    for spec in ALL_CAS:
        cert = certs.get(spec.name)
        if cert is None:
            return False
        if spec.flaw == "expiree":
            continue
        if spec.flaw == "pas-encore-valide":
            if cert.not_valid_before_utc < now + horizon + LEAF_VALIDITY:
                return False  # about to become valid: it would lose its one defect
            continue
        if cert.not_valid_after_utc < now + horizon + LEAF_VALIDITY:
            return False
    return all(f"keys/{k}.key.pem" in meta["files"] for k in LEAF_KEYS)


def _issued_fresh(issued: Path, material: Path, now: dt.datetime, horizon: dt.timedelta) -> bool:
    """True if the issued set belongs to the current material generation and stays valid over ``horizon``."""
    meta = read_manifest(issued / "issued.json")
    material_meta = read_manifest(material / "material.json")
    if meta is None or material_meta is None:
        return False
    try:
        if meta.get("generation") != material_meta["generation"] or "files" not in meta:
            return False
        if meta.get("defects") != [d.value for d in Defect]:
            return False  # the catalogue grew (or changed) since this set was issued
        if dt.datetime.fromisoformat(meta["crl_next_update"]) < now + horizon:
            return False
        if dt.datetime.fromisoformat(meta["leaf_not_after"]) < now + horizon:
            return False
        return dt.datetime.fromisoformat(meta["not_yet_valid_from"]) >= now + horizon
    except (KeyError, TypeError, ValueError):
        raise CacheCorrupt(issued / "issued.json", "manifest lacks its dates") from None


def issuer_name_for(pki: Pki, cert: x509.Certificate) -> str | None:
    """The name of the look-alike CA that issued ``cert`` (by DN and signature), if any."""
    return next((name for name, ca_cert in pki._certs.items() if signed_by(cert, ca_cert)), None)
