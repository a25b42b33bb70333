"""What the look-alike PKI issues for the client role: the editor's AUTH_CLI leaves, and the mock SAS's
server certificate from the other hierarchy.

The embedded reference client needs an editor certificate: an IGC Santé ORG AUTH_CLI leaf (subject
``C, ST, O, OU=<structure id>, CN=<application>``, clientAuth, digitalSignature, RSA-2048) issued by
the environment's genuine look-alike intermediate (ACI-EL-ORG-TEST for recette and pre-production,
ACI-EL-ORG for production). Its CRL distribution point and OCSP AIA point at the suite's own
publisher, as SAS's leaves do.

Layout (next to the PKI cache, ``pki.root / "editor"``)::

    keys/                       editor and server keys (mode 0600), generated once
    <profile>/<env>/<variant>/  leaf.pem, chain.pem, fullchain.pem, key.pem (0600)

``<profile>`` hashes the responder URL and the PKI material's generation id, so a rebuilt PKI or
another publisher gets fresh leaves. A set older than a day is re-issued (cheap: one signature per
leaf), which keeps the "expires within 30 days" variant inside its window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from recette_sas.environments import Hierarchy, UsageError, get_environment
from recette_sas.identity import Identity, certificate_pem
from recette_sas.pki.cachefs import prune_sets, replace_dir
from recette_sas.pki.editor_defects import EditorDefect
from recette_sas.pki.keys import key_pem, write_private
from recette_sas.pki.profile import issue_leaf
from recette_sas.pki.store import Pki

EDITOR_ORGANISATION = "EDITEUR EXEMPLE"
EDITOR_STRUCTURE_ID = "499700888888001"
EDITOR_VALIDITY = dt.timedelta(days=3 * 365)
EXPIRING_SOON_DAYS = 10
REISSUE_AFTER = dt.timedelta(days=1)
FORMAT_VERSION = 1
KEEP_PROFILES = 6


def editor_subject(env_key: str) -> x509.Name:
    """The editor's subject in ``env_key``: one CN per application and environment, as the IGC issues."""
    get_environment(env_key)
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Paris (75)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, EDITOR_ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, EDITOR_STRUCTURE_ID),
            x509.NameAttribute(NameOID.COMMON_NAME, f"editeur-exemple-{env_key}"),
        ]
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class EditorPki:
    """The client-role material, issued from a loaded ``Pki`` and cached next to it."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.root = pki.root / "editor"
        profile = hashlib.sha256(
            f"{FORMAT_VERSION}|{pki.responder_url}|{pki.generation}".encode()
        ).hexdigest()[:16]
        self.issued_dir = self.root / profile
        prune_sets(self.root, keep=self.issued_dir, most=KEEP_PROFILES, skip=frozenset({"keys"}))

    # -- keys
    def _key(self, name: str) -> rsa.RSAPrivateKey:
        keys = self.root / "keys"
        path = keys / f"{name}.key.pem"
        if not path.is_file():
            keys.mkdir(parents=True, exist_ok=True)
            os.chmod(keys, 0o700)
            write_private(path, key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise UsageError(f"{path}: not an RSA private key")
        return key

    # -- issuing
    def _folder(self, env_key: str, variant: str, build: Callable[[Path], None]) -> Path:
        folder = self.issued_dir / env_key / variant
        meta = folder / "issued.json"
        try:
            issued_at = dt.datetime.fromisoformat(json.loads(meta.read_text())["issued_at"])
            if _now() - issued_at < REISSUE_AFTER and (folder / "key.pem").is_file():
                return folder
        except (OSError, ValueError, KeyError):
            pass

        def issue(work: Path) -> None:
            build(work)
            (work / "issued.json").write_text(json.dumps({"issued_at": _now().isoformat()}))

        replace_dir(folder, issue)
        return folder

    def _issue(
        self,
        work: Path,
        *,
        subject: x509.Name,
        issuer_name: str,
        key_name: str,
        not_after: dt.datetime,
        server_name: str | None = None,
    ) -> None:
        issuer = self.pki.ca(issuer_name)
        issuer_key = self.pki.ca_key(issuer_name)
        key = self._key(key_name)
        cert = issue_leaf(
            subject=subject,
            public_key=key.public_key(),
            issuer_name=issuer.subject,
            issuer_key=issuer_key,
            pointer=issuer_name,
            base_url=self.pki.responder_url,
            not_before=_now() - dt.timedelta(days=1),
            not_after=not_after,
            eku=(ExtendedKeyUsageOID.SERVER_AUTH if server_name else ExtendedKeyUsageOID.CLIENT_AUTH,),
            key_encipherment=bool(server_name),
            san=(server_name,) if server_name else (),
        )
        leaf_pem = certificate_pem(cert)
        chain_pem = certificate_pem(issuer)
        (work / "leaf.pem").write_bytes(leaf_pem)
        (work / "chain.pem").write_bytes(chain_pem)
        (work / "fullchain.pem").write_bytes(leaf_pem + chain_pem)
        write_private(work / "key.pem", key_pem(key))

    def identity(
        self, env_key: str, defect: EditorDefect = EditorDefect.VALIDE, *, send_chain: bool = True
    ) -> Identity:
        """The editor's certificate for ``env_key`` with ``defect``; ``send_chain=False`` sends the leaf alone."""
        env = get_environment(env_key)
        hierarchy = env.hierarchy.other if defect is EditorDefect.AUTRE_HIERARCHIE else env.hierarchy
        _, inter = self.pki.hierarchy_names(hierarchy)
        days = EXPIRING_SOON_DAYS if defect is EditorDefect.EXPIRE_BIENTOT else EDITOR_VALIDITY.days
        folder = self._folder(
            env_key,
            f"editeur-{defect.value}",
            lambda work: self._issue(
                work,
                subject=editor_subject(env_key),
                issuer_name=inter,
                key_name="editeur",
                not_after=_now() + dt.timedelta(days=days),
            ),
        )
        leaf = x509.load_pem_x509_certificate((folder / "leaf.pem").read_bytes())
        chain = tuple(x509.load_pem_x509_certificates((folder / "chain.pem").read_bytes()))
        self.pki.register_issued(inter, leaf.serial_number)  # so OCSP answers "good", as the IGC would
        return Identity(
            label=f"editeur:{env_key}:{defect.value}" + ("" if send_chain else ":feuille-seule"),
            leaf=leaf,
            chain=chain if send_chain else (),
            certfile=folder / ("fullchain.pem" if send_chain else "leaf.pem"),
            keyfile=folder / "key.pem",
        )

    def other_hierarchy_server(self, env_key: str, host_name: str) -> tuple[bytes, bytes]:
        """(chain PEM, key PEM) of a server certificate for ``host_name`` issued by the hierarchy that
        does NOT certify ``env_key`` (production's for recette and pre-production, TEST's for production)."""
        env = get_environment(env_key)
        _, inter = self.pki.hierarchy_names(env.hierarchy.other)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AGENCE DU NUMERIQUE EN SANTE"),
                x509.NameAttribute(NameOID.COMMON_NAME, host_name),
            ]
        )
        digest = hashlib.sha256(host_name.encode()).hexdigest()[:12]
        folder = self._folder(
            env_key,
            f"serveur-autre-hierarchie-{digest}",
            lambda work: self._issue(
                work,
                subject=subject,
                issuer_name=inter,
                key_name="serveur",
                not_after=_now() + dt.timedelta(days=365),
                server_name=host_name,
            ),
        )
        return (folder / "fullchain.pem").read_bytes(), (folder / "key.pem").read_bytes()

    def trust_bundle(self, hierarchies: tuple[Hierarchy, ...] = tuple(Hierarchy)) -> Path:
        """A PEM file of the look-alike IGC roots and intermediates of ``hierarchies`` (for the broken
        reference client that trusts the IGC Santé for server certificates too)."""
        names = "-".join(h.value for h in hierarchies)
        path = self.issued_dir / f"igc-{names}.pem"
        if not path.is_file():
            self.issued_dir.mkdir(parents=True, exist_ok=True)
            pem = b"".join(certificate_pem(c) for h in hierarchies for c in self.pki.hierarchy(h))
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_bytes(pem)
            os.replace(tmp, path)
        return path
