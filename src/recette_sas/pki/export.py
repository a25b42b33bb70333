"""``recette-sas pki export DIR``: what an editor needs to make a staging terminator trust the suite.

The export is a snapshot of the cached look-alike PKI for one responder URL: CA bundles per hierarchy,
CRLs for every CA, the OCSP/CRL address the leaves point to, a server certificate for the staging
terminator, the reference configurations of nginx, HAProxy and Apache httpd (written by
``terminators/export.py`` through ``contributions``: this package never imports the terminators), and a
README. The CAs stay the same across
exports until they near expiry, so the editor configures once; ``manifest.json`` lets a later run tell
when a re-export is needed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from recette_sas import __version__
from recette_sas.environments import ENVIRONMENTS, Hierarchy, Mapping, UsageError
from recette_sas.identity import certificate_pem
from recette_sas.pki.cachefs import replace_dir
from recette_sas.pki.export_client import client_files, client_readme, write_client_export
from recette_sas.pki.keys import write_private
from recette_sas.pki.store import Pki

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ExportLayout:
    """Paths inside an export directory (the contract the snippets, the README and the tests share)."""

    root: Path

    def ca(self, name: str) -> Path:
        return self.root / "ca" / f"{name}.pem"

    def bundle(self, h: Hierarchy) -> Path:
        return self.root / "ca" / f"{h.value}-bundle.pem"

    def crl(self, name: str) -> Path:
        return self.root / "crl" / f"{name}.crl.pem"

    def crls(self, h: Hierarchy) -> Path:
        return self.root / "crl" / f"{h.value}-crls.pem"

    @property
    def server_fullchain(self) -> Path:
        return self.root / "server" / "fullchain.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "server" / "key.pem"

    @property
    def server_pem(self) -> Path:
        """Certificate chain and key in one file (mode 0600), as HAProxy's ``crt`` wants them."""
        return self.root / "server" / "haproxy.pem"

    @property
    def server_ca(self) -> Path:
        return self.root / "server" / "ca.pem"

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST


def _staging_ca(cache_dir: Path) -> trustme.CA:
    """The CA of staging server certificates, kept in the cache so the editor's trust of it lasts."""
    folder = cache_dir / "staging"
    cert, key = folder / "server-ca.pem", folder / "server-ca.key"
    if cert.is_file() and key.is_file():
        return trustme.CA.from_pem(cert.read_bytes(), key.read_bytes())
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="recette-sas staging")
    cert.write_bytes(ca.cert_pem.bytes())
    write_private(key, ca.private_key_pem.bytes())
    return ca


ExportContribution = Callable[[ExportLayout, ExportLayout], None]
"""Writes more files into the export being built (first layout), naming them where they will be once
the export is in place (second layout): how the terminators' configurations join the export without
this package knowing about terminators (``terminators/export.py``)."""


def export_pki(
    pki: Pki,
    target: Path,
    *,
    server_names: tuple[str, ...] = ("localhost",),
    mapping: Mapping = Mapping.ONE_TO_ONE,
    contributions: Sequence[ExportContribution] = (),
    p12_password_env: str | None = None,
) -> dict[str, Any]:
    """Write the export into ``target`` (replaced whole, or created); return the manifest.

    ``client/`` holds the client role's material (``pki/export_client.py``); with ``p12_password_env``,
    a PKCS#12 per environment too, encrypted with the password that variable holds.

    ``contributions`` add their files before the export is renamed into place, so a reader never
    sees an export without them.
    """
    if target.exists() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise UsageError(
            f"{target}: exists and is not a recette-sas export; choose an empty or new directory"
        )
    written: dict[str, Any] = {}

    def build(work: Path) -> None:
        layout = ExportLayout(work)
        for sub in ("ca", "crl", "server"):
            (work / sub).mkdir()
        for h in Hierarchy:
            root_name, inter_name = pki.hierarchy_names(h)
            for name in (root_name, inter_name):
                layout.ca(name).write_bytes(certificate_pem(pki.ca(name)))
                layout.crl(name).write_bytes(pki.crl_path(name).read_bytes())
            root, inter = pki.hierarchy(h)
            layout.bundle(h).write_bytes(certificate_pem(inter) + certificate_pem(root))
            layout.crls(h).write_bytes(
                pki.crl_path(inter_name).read_bytes() + pki.crl_path(root_name).read_bytes()
            )
        ca = _staging_ca(pki.root)
        leaf = ca.issue_cert(*server_names)
        layout.server_fullchain.write_bytes(b"".join(b.bytes() for b in leaf.cert_chain_pems))
        write_private(layout.server_key, leaf.private_key_pem.bytes())
        write_private(layout.server_pem, layout.server_fullchain.read_bytes() + leaf.private_key_pem.bytes())
        layout.server_ca.write_bytes(ca.cert_pem.bytes())
        (work / "ocsp.txt").write_text(f"{pki.responder_url}/ocsp\n")
        client_manifest = write_client_export(pki, work, password_env=p12_password_env)
        for contribute in contributions:
            contribute(layout, ExportLayout(target.resolve()))
        manifest = {
            "suite_version": __version__,
            "exported_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "responder_url": pki.responder_url,
            "fingerprints": pki.fingerprints(),
            "crl_next_update": pki.crl_next_update.isoformat(),
            "server_names": list(server_names),
            "mapping": mapping.value,
            **client_manifest,
        }
        layout.manifest.write_text(json.dumps(manifest, indent=2))
        (work / "README.md").write_text(_readme(manifest) + client_readme(manifest))
        written.update(manifest)

    replace_dir(target, build)
    return written


def check_export(pki: Pki, export_dir: Path, *, horizon: dt.timedelta) -> str | None:
    """Why ``export_dir`` no longer matches the PKI the run uses (a re-export is needed), or None."""
    try:
        manifest = json.loads((export_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return f"{export_dir}: no readable {MANIFEST} (run `recette-sas pki export {export_dir}`)"
    if manifest.get("fingerprints") != pki.fingerprints():
        return f"{export_dir}: exported for other CAs than this run's PKI: re-export and reconfigure the terminator"
    if manifest.get("responder_url") != pki.responder_url:
        return (
            f"{export_dir}: exported for responder {manifest.get('responder_url')}, "
            f"this run serves {pki.responder_url}: re-export"
        )
    exported = manifest.get("client_fingerprints")
    if exported is not None and exported != {e: client_files(pki, e).fingerprint for e in exported}:
        return (
            f"{export_dir}: its client certificates were renewed since (near expiry, or a new PKI): re-export "
            "and reconfigure the editor's client (client/<env>/)"
        )
    next_update = dt.datetime.fromisoformat(manifest["crl_next_update"])
    if next_update < dt.datetime.now(dt.UTC) + horizon:
        return f"{export_dir}: its CRLs expire on {next_update.date()}: re-export and reload the terminator"
    return None


def _readme(manifest: dict[str, Any]) -> str:
    subjects = "\n".join(f"- {e.label} : `{e.subject.rfc4514()}`" for e in ENVIRONMENTS.values())
    return f"""# recette-sas — PKI look-alike exportée

Générée par recette-sas {manifest["suite_version"]} le {manifest["exported_at"]}.

Ce dossier permet de configurer un terminateur HTTPS de **staging** pour qu'il fasse confiance à la PKI
look-alike de recette-sas (mêmes DN que l'IGC Santé, autres clés) : la suite peut alors jouer toute la
matrice, contrôle positif compris, ce qu'aucun environnement réel ne permet (seul SAS détient la clé de SAS).

| fichier | usage |
|---|---|
| `ca/test-bundle.pem` | AC de confiance pour la recette et la pré-production (ACI-EL-ORG-TEST + ACR-EL-TEST) |
| `ca/production-bundle.pem` | AC de confiance pour la production (ACI-EL-ORG + ACR-EL) |
| `crl/test-crls.pem`, `crl/production-crls.pem` | CRL de toute la chaîne (racine comprise : nginx et HAProxy l'exigent) |
| `ocsp.txt` | adresse du répondeur OCSP de la suite : `{manifest["responder_url"]}/ocsp` |
| `server/fullchain.pem`, `server/key.pem` | certificat serveur du terminateur ({", ".join(manifest["server_names"])}) |
| `server/haproxy.pem` | le même certificat et sa clé dans un seul fichier, pour le `crt` de HAProxy (ne le publiez pas) |
| `server/ca.pem` | AC du certificat serveur : à déclarer dans `server_ca` de la configuration recette-sas |
| `snippets/` | configurations de référence nginx, HAProxy et Apache httpd par environnement, prêtes à démarrer |
| `run/` | dossiers de travail de ces configurations (pid, journaux) |
| `client/` | rôle client : certificats client look-alike par environnement et AC de la plateforme SAS simulée (voir plus bas) |

Sujets SAS attendus (CN **et** OU, comparaison exacte) :
{subjects}

Le répondeur OCSP et les CRL sont servis par la suite pendant son exécution, à l'adresse ci-dessus : le
terminateur doit pouvoir la joindre. Les CRL exportées expirent le {manifest["crl_next_update"]} ;
recette-sas signale quand une nouvelle exportation est nécessaire.

Ne publiez ni `server/key.pem` ni `server/haproxy.pem`.
"""


__all__ = ["ExportLayout", "check_export", "export_pki", "serialization", "x509"]
