"""The client role's part of the export: what the editor's own client presents and trusts.

Per ANS environment, a look-alike editor **client** certificate (AUTH_CLI profile, issued by the
look-alike ACI-EL-ORG-TEST or ACI-EL-ORG, its CRL and OCSP at the suite's publisher), kept in the cache
and reused until it nears expiry (like the CAs), so that the editor configures its client once; and the
CA of the mock SAS platform's server certificates (also kept in the cache) for the client's trust store.

The run uses the same files: the ``{cert_file}``, ``{key_file}``, ``{chain_file}`` and ``{p12_file}``
placeholders of a trigger command name a copy of them, and the "presented certificate is the
configured one" check expects this certificate from an editor's client unless the editor configured
its own (``certificate`` or ``--sas-client-cert``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from recette_sas.environments import ENVIRONMENT_KEYS, UsageError, get_environment
from recette_sas.identity import Identity, certificate_pem
from recette_sas.pki.cachefs import replace_dir
from recette_sas.pki.editor import editor_subject
from recette_sas.pki.keys import key_pem, write_private
from recette_sas.pki.profile import issue_leaf
from recette_sas.pki.store import Pki

CLIENT_VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=45)
"""Re-issued when fewer days than this remain: more than the 30 days of CLI-EXPIRATION, so a client
configured from the export never trips the renewal warning."""


def mock_sas_ca(cache_root: Path) -> tuple[trustme.CA, Path]:
    """The CA of the mock SAS platform's server certificates, kept in the cache: ``(ca, its PEM path)``.

    The editor puts it once in its client's trust store (export ``client/sas-ca.pem``, ``{ca_file}``)."""
    folder = cache_root / "mock-sas"
    cert_path, key_path = folder / "server-ca.pem", folder / "server-ca.key.pem"
    if cert_path.is_file() and key_path.is_file():
        return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes()), cert_path
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="recette-sas", organization_unit_name="plateforme SAS simulee")
    write_private(key_path, ca.private_key_pem.bytes())
    tmp = cert_path.with_name(f".{cert_path.name}.{os.getpid()}")
    tmp.write_bytes(ca.cert_pem.bytes())
    os.replace(tmp, cert_path)
    return ca, cert_path


@dataclass(frozen=True)
class ClientFiles:
    """One environment's exported client material (PEM files; the PKCS#12 is written on demand)."""

    env_key: str
    cert: Path  # the leaf alone
    key: Path  # PKCS#8 PEM, mode 0600
    chain: Path  # the intermediate CA
    fullchain: Path  # leaf then intermediate

    @property
    def leaf(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert.read_bytes())

    @property
    def fingerprint(self) -> str:
        return self.leaf.fingerprint(hashes.SHA256()).hex()

    def identity(self) -> Identity:
        return Identity(
            label=f"editeur-exporte:{self.env_key}",
            leaf=self.leaf,
            chain=tuple(x509.load_pem_x509_certificates(self.chain.read_bytes())),
            certfile=self.fullchain,
            keyfile=self.key,
        )

    def write_pkcs12(self, path: Path, password: bytes) -> None:
        """The leaf, its key and the intermediate in one PKCS#12 (AES-256), mode 0600."""
        key = serialization.load_pem_private_key(self.key.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise UsageError(f"{self.key}: not an RSA private key")
        chain = x509.load_pem_x509_certificates(self.chain.read_bytes())
        encryption = (
            serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        )
        data = pkcs12.serialize_key_and_certificates(
            f"recette-sas {self.env_key}".encode(), key, self.leaf, chain, encryption
        )
        write_private(path, data)


def _fresh(folder: Path, issuer: x509.Certificate) -> bool:
    try:
        meta = json.loads((folder / "issued.json").read_text())
        leaf = x509.load_pem_x509_certificate((folder / "cert.pem").read_bytes())
    except (OSError, ValueError, KeyError):
        return False
    left = leaf.not_valid_after_utc - dt.datetime.now(dt.UTC)
    return (
        meta.get("issuer") == issuer.fingerprint(hashes.SHA256()).hex()
        and leaf.issuer == issuer.subject
        and left > RENEW_BEFORE
        and (folder / "key.pem").is_file()
    )


def client_files(pki: Pki, env_key: str) -> ClientFiles:
    """The exported client certificate of ``env_key``: the cached one, or a new one when it nears expiry
    (or the PKI changed). Registered with the publisher so that OCSP answers "good", as the IGC would."""
    env = get_environment(env_key)
    _, inter_name = pki.hierarchy_names(env.hierarchy)
    issuer = pki.ca(inter_name)
    profile = hashlib.sha256(pki.responder_url.encode()).hexdigest()[:12]
    folder = pki.root / "export-client" / profile / env_key
    if not _fresh(folder, issuer):
        def issue(work: Path) -> None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            now = dt.datetime.now(dt.UTC)
            leaf = issue_leaf(
                subject=editor_subject(env_key),
                public_key=key.public_key(),
                issuer_name=issuer.subject,
                issuer_key=pki.ca_key(inter_name),
                pointer=inter_name,
                base_url=pki.responder_url,
                not_before=now - dt.timedelta(days=1),
                not_after=now + CLIENT_VALIDITY,
            )
            (work / "cert.pem").write_bytes(certificate_pem(leaf))
            (work / "chain.pem").write_bytes(certificate_pem(issuer))
            (work / "fullchain.pem").write_bytes(certificate_pem(leaf) + certificate_pem(issuer))
            write_private(work / "key.pem", key_pem(key))
            meta = {"issued_at": now.isoformat(), "issuer": issuer.fingerprint(hashes.SHA256()).hex()}
            (work / "issued.json").write_text(json.dumps(meta))

        replace_dir(folder, issue)
    files = ClientFiles(
        env_key=env_key,
        cert=folder / "cert.pem",
        key=folder / "key.pem",
        chain=folder / "chain.pem",
        fullchain=folder / "fullchain.pem",
    )
    pki.register_issued(inter_name, files.leaf.serial_number)
    return files


def p12_password(env_name: str | None, *, where: str) -> bytes:
    """The PKCS#12 password, read from the environment variable ``env_name`` (never from a command line)."""
    if not env_name:
        raise UsageError(f"{where}: name the environment variable that holds the PKCS#12 password")
    value = os.environ.get(env_name)
    if not value:
        raise UsageError(f"{where}: the environment variable {env_name} is not set or empty")
    return value.encode()


def write_client_export(pki: Pki, root: Path, *, password_env: str | None) -> dict[str, object]:
    """Write ``client/`` into the export at ``root``; return its part of the manifest."""
    ca_file = mock_sas_ca(pki.root)[1]
    folder = root / "client"
    folder.mkdir()
    shutil.copyfile(ca_file, folder / "sas-ca.pem")
    password = p12_password(password_env, where="--p12-password-env") if password_env else None
    fingerprints: dict[str, str] = {}
    for env_key in ENVIRONMENT_KEYS:
        files = client_files(pki, env_key)
        out = folder / env_key
        out.mkdir()
        for name in ("cert.pem", "chain.pem", "fullchain.pem"):
            shutil.copyfile(files.cert.parent / name, out / name)
        write_private(out / "key.pem", files.key.read_bytes())
        if password is not None:
            files.write_pkcs12(out / "client.p12", password)
        fingerprints[env_key] = files.fingerprint
    return {
        "client_fingerprints": fingerprints,
        "client_not_after": min(
            client_files(pki, e).leaf.not_valid_after_utc for e in ENVIRONMENT_KEYS
        ).isoformat(),
        "p12_password_env": password_env,
        "sas_ca_sha256": x509.load_pem_x509_certificate(ca_file.read_bytes())
        .fingerprint(hashes.SHA256())
        .hex(),
    }


__all__ = ["ClientFiles", "client_files", "mock_sas_ca", "p12_password", "write_client_export"]


def client_readme(manifest: dict[str, object]) -> str:
    """The README section on plugging the editor's own client into the mock SAS platform."""
    p12_env = manifest.get("p12_password_env") or "RECETTE_SAS_P12_PASSWORD"
    p12_note = (
        f"`client/<env>/client.p12` est chiffré avec le mot de passe lu dans la variable `{p12_env}`."
        if manifest.get("p12_password_env")
        else "Aucun PKCS#12 : relancez l'export avec `--p12-password-env NOM` (le mot de passe est lu dans la "
        "variable NOM, jamais sur la ligne de commande) pour en obtenir un par environnement."
    )
    return f"""
## Rôle client : brancher le logiciel de l'éditeur sur la plateforme SAS simulée

| fichier | usage |
|---|---|
| `client/sas-ca.pem` | AC des certificats serveur de la plateforme SAS simulée : le magasin de confiance du client |
| `client/<env>/cert.pem` | certificat client look-alike de l'éditeur pour `<env>` (recette, preproduction, production) |
| `client/<env>/key.pem` | sa clé privée (mode 0600 ; ne la publiez pas) |
| `client/<env>/chain.pem` | l'AC intermédiaire (ACI-EL-ORG-TEST ou ACI-EL-ORG) à envoyer avec le certificat |
| `client/<env>/fullchain.pem` | certificat puis intermédiaire, dans un seul fichier |
| `client/<env>/client.p12` | certificat, clé et intermédiaire en PKCS#12 (Java, .NET) |

{p12_note} Ces certificats restent les mêmes d'un export à l'autre jusqu'à 45 jours de leur expiration.
Le contrôle « le certificat présenté est celui configuré » (CLI-CERT-CONFIGURE-01, bloquant) attend
exactement celui-ci, sauf si la configuration déclare le certificat IGC Santé de l'éditeur
(`certificate` de l'environnement ou `--sas-client-cert`).

### Commande de déclenchement et substitutions

La commande (`command` de `[environments.<env>.client]`, ou `--sas-client-command`) est découpée comme
le ferait un shell, exécutée sans shell, et ces substitutions sont faites dans chaque argument :

| substitution | valeur |
|---|---|
| `{{base_url}}` | `https://<nom SAS>:<port>` : le nom réel de la plateforme SAS, le port de la plateforme simulée |
| `{{host}}`, `{{port}}` | ce nom et ce port |
| `{{address}}` | l'adresse où écoute la plateforme simulée (127.0.0.1) : `{{host}}` doit y être résolu |
| `{{address_url}}` | `https://<adresse>:<port>` : pour un client dont on ne peut pas changer la résolution de noms |
| `{{ca_file}}` | `client/sas-ca.pem` |
| `{{cert_file}}`, `{{key_file}}`, `{{chain_file}}` | `client/<env>/cert.pem`, `key.pem`, `chain.pem` (copies privées) |
| `{{fullchain_file}}` | certificat et intermédiaire en un fichier |
| `{{p12_file}}` | le PKCS#12 (mot de passe : variable nommée par `--sas-client-p12-password-env`, transmise au client) |

**Résolution de noms.** Le certificat de la plateforme simulée nomme `{{host}}` *et* son adresse de
boucle locale. Un client qui sait associer un nom à une adresse reçoit `{{base_url}}` et l'associe à
`{{address}}` (curl `--resolve`, JVM `-Djdk.net.hosts.file=`, une entrée `127.0.0.1 <nom SAS>` dans
`/etc/hosts`) : tout est vérifiable. Un client qui ne le peut pas reçoit `{{address_url}}` : l'échange est
jugé, mais une adresse IP ne porte pas de SNI, donc le contrôle SNI est **non vérifiable ici** et le
verdict est « conforme sous réserve » (la réserve est listée).

### curl

```
curl --cert {{cert_file}} --key {{key_file}} --cacert {{ca_file}} --resolve {{host}}:{{port}}:{{address}} \\
     -H 'Content-Type: application/fhir+json' -X POST --data-binary @creation.json {{base_url}}/Appointment
```
(curl envoie l'intermédiaire si `--cert` désigne `{{fullchain_file}}`.)

### Java (java.net.http)

```
keytool -importcert -noprompt -alias sas -file client/sas-ca.pem -keystore truststore.p12 \\
        -storetype PKCS12 -storepass:env {p12_env}
java -Djavax.net.ssl.keyStore={{p12_file}} -Djavax.net.ssl.keyStoreType=PKCS12 \\
     -Djavax.net.ssl.keyStorePassword=… -Djavax.net.ssl.trustStore=truststore.p12 \\
     -Djdk.net.hosts.file=hosts.txt MonClient {{base_url}}
```
où `hosts.txt` contient `{{address}} {{host}}` ; ou, dans le code, un `SSLContext` construit d'un
`KeyStore` PKCS12 chargé avec le mot de passe lu par `System.getenv("{p12_env}")`.

### Python (requests)

```
requests.post(url, cert=({{cert_file}}, {{key_file}}), verify={{ca_file}}, ...)
```
avec `url` = `{{address_url}}/Appointment` (ou `{{base_url}}` si le nom est résolu vers `{{address}}`).

### .NET (HttpClient)

```
var handler = new HttpClientHandler();
handler.ClientCertificates.Add(new X509Certificate2("{{p12_file}}", Environment.GetEnvironmentVariable("{p12_env}")));
handler.ServerCertificateCustomValidationCallback = /* chaîne vers client/sas-ca.pem */;
```
"""
