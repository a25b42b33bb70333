"""The daily CRL refresh, across scheduled runs: a sentinel certificate revoked at run N, judged at N+1.

The IGC Santé republishes its CRLs every morning from 7:00; a server that loaded a CRL once and never
reloads it keeps accepting every certificate revoked since. No single run can see that, so the suite
keeps a small state file beside ``reports/history.jsonl`` (which scheduled CI runs already carry from one
run to the next): ``reports/crl-sentinel.json``. It holds, per ANS environment, the serial of one
sentinel certificate (SAS's subject, a fresh key, issued by the look-alike intermediate) that the run
revoked after presenting it, the time of that revocation, and the fingerprint of its issuing CA.

At the next run the look-alike PKI lists that serial as revoked from the start (CRL and OCSP), before
any target loads its CRLs; the scenario presents the sentinel and the target must refuse it. Then a new
sentinel is issued and revoked for the run after. The first run (no state, or a state from a PKI since
rebuilt) can judge nothing: it says so, and plants its sentinel.

The sentinel's key stays in the PKI cache, never beside the reports (which are published).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from recette_sas.identity import Identity
from recette_sas.pki.catalogue import Defect
from recette_sas.pki.keys import key_pem, write_private
from recette_sas.pki.profile import issue_leaf

if TYPE_CHECKING:
    from recette_sas.pki.store import Pki

STATE_FILE = "crl-sentinel.json"
STATE_VERSION = 1
SENTINEL_DAYS = 30


@dataclass(frozen=True)
class Sentinel:
    """One revoked sentinel: what the next run must see refused."""

    ans_env: str
    issuer: str
    issuer_sha256: str
    serial: int
    revoked_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "issuer_sha256": self.issuer_sha256,
            "serial": f"{self.serial:x}",
            "revoked_at": self.revoked_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, ans_env: str, data: dict[str, Any]) -> Sentinel:
        return cls(
            ans_env=ans_env,
            issuer=str(data["issuer"]),
            issuer_sha256=str(data["issuer_sha256"]),
            serial=int(str(data["serial"]), 16),
            revoked_at=dt.datetime.fromisoformat(str(data["revoked_at"])),
        )


def state_path(reports_dir: Path) -> Path:
    return Path(reports_dir) / STATE_FILE


def load_state(path: Path) -> dict[str, Sentinel]:
    """The sentinels of the previous run; an unreadable or foreign file is no state (a first run)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            return {}
        return {env: Sentinel.from_dict(env, entry) for env, entry in data["sentinels"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def save_state(path: Path, sentinels: dict[str, Sentinel]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "version": STATE_VERSION,
        "what": "recette-sas: sentinel certificates revoked by the previous run (docs: pki/sentinel.py)",
        "sentinels": {env: s.to_dict() for env, s in sorted(sentinels.items())},
    }
    tmp = path.with_suffix(f".json.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def applies(pki: Pki, sentinel: Sentinel) -> bool:
    """Whether ``sentinel`` was issued by this PKI (a rebuilt PKI has other CAs: the state is void)."""
    try:
        return _fingerprint(pki.ca(sentinel.issuer)) == sentinel.issuer_sha256
    except KeyError:
        return False


def sentinel_folder(pki: Pki, ans_env: str, serial: int) -> Path:
    return pki.root / "sentinels" / ans_env / f"{serial:x}"


def issue_sentinel(pki: Pki, ans_env: str, *, now: dt.datetime | None = None) -> tuple[Identity, str]:
    """A fresh certificate one serial away from SAS's valid one (same subject, issuer and profile), and
    the name of its issuing CA; the OCSP responder knows it as good until it is revoked."""
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    valid = pki.identity(ans_env, Defect.VALIDE)
    inter = valid.chain[0] if valid.chain else None
    issuer = next(n for n in pki.ca_names() if inter is not None and pki.ca(n) == inter)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = issue_leaf(
        subject=valid.leaf.subject,
        public_key=key.public_key(),
        issuer_name=pki.ca(issuer).subject,
        issuer_key=pki.ca_key(issuer),
        pointer=issuer,
        base_url=pki.responder_url,
        not_before=now - dt.timedelta(hours=1),
        not_after=now + dt.timedelta(days=SENTINEL_DAYS),
    )
    folder = sentinel_folder(pki, ans_env, leaf.serial_number)
    folder.mkdir(parents=True, exist_ok=True)
    pem = leaf.public_bytes(serialization.Encoding.PEM)
    (folder / "fullchain.pem").write_bytes(pem + pki.ca(issuer).public_bytes(serialization.Encoding.PEM))
    write_private(folder / "key.pem", key_pem(key))
    pki.register_issued(issuer, leaf.serial_number)
    identity = Identity(
        label=f"{ans_env}:sentinelle",
        leaf=leaf,
        chain=(pki.ca(issuer),),
        certfile=folder / "fullchain.pem",
        keyfile=folder / "key.pem",
    )
    return identity, issuer


def load_sentinel_identity(pki: Pki, sentinel: Sentinel) -> Identity | None:
    folder = sentinel_folder(pki, sentinel.ans_env, sentinel.serial)
    try:
        certs = x509.load_pem_x509_certificates((folder / "fullchain.pem").read_bytes())
    except (OSError, ValueError):
        return None
    if not (folder / "key.pem").is_file():
        return None
    return Identity(
        label=f"{sentinel.ans_env}:sentinelle",
        leaf=certs[0],
        chain=tuple(certs[1:]),
        certfile=folder / "fullchain.pem",
        keyfile=folder / "key.pem",
    )


def revoked(
    pki: Pki, ans_env: str, identity: Identity, issuer: str, *, now: dt.datetime | None = None
) -> Sentinel:
    """``identity`` revoked now, in this PKI (CRL and OCSP): the sentinel the next run must see refused."""
    when = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    pki.revoke(issuer, identity.leaf.serial_number, when)
    return Sentinel(
        ans_env=ans_env,
        issuer=issuer,
        issuer_sha256=_fingerprint(pki.ca(issuer)),
        serial=identity.leaf.serial_number,
        revoked_at=when,
    )
