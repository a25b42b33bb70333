"""Static check of the editor's IGC Santé certificate file, without any network.

``recette-sas cert check`` (its command line is ``cli/cert.py``) reads a PEM file (certificate,
optionally key and chain) or a PKCS#12 file; ``check`` says in one finding each whether it is what SAS
expects from an editor in the client role: an ORG AUTH_CLI certificate (clientAuth, digitalSignature,
not a CA, RSA >= 2048) issued by ACI-EL-ORG-TEST for recette and pre-production, or ACI-EL-ORG for
production, in its validity period (a warning under 30 days left), whose private key matches.

The issuer is checked by DN always, and by signature when the real IGC Santé CA certificates are
given (``--igc-ca-dir``): a DN alone can be forged, a signature cannot.

Secrets: a PKCS#12 (or encrypted PEM key) password comes only from an environment variable whose
*name* is given (``--password-env NAME``), never from the command line or a file, and is never
printed. Bad input (unreadable file, wrong password, key that does not match) is a ``CredentialError``
(a ``UsageError``): one line naming the file and the problem, which the command prints and exits with
``ExitCode.USAGE``. The files are read by ``pki/credential_files.py``, the same reader as the editor
configuration's (``--sas-config``), so both accept the same files.

The certificate rules (``issuer_findings``, ``validity_findings``, and ``profile_findings`` from
``pki/profile.py``, which the reference server applies too) are shared with the client-role scenarios
(``client/rules.py``), so the static check and the live judgement of what the editor's software
presents cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from recette_sas.environments import Hierarchy, get_environment
from recette_sas.identity import signed_by
from recette_sas.pki.catalogue import GENUINE
from recette_sas.pki.credential_files import CredentialError, Credentials, certificates_in, read_file
from recette_sas.pki.profile import Finding, profile_findings

EXPIRY_WARNING = dt.timedelta(days=30)
CA_NAMES: Mapping[Hierarchy, str] = {Hierarchy.TEST: "ACI-EL-ORG-TEST", Hierarchy.PRODUCTION: "ACI-EL-ORG"}
ROOT_NAMES: Mapping[Hierarchy, str] = {Hierarchy.TEST: "ACR-EL-TEST", Hierarchy.PRODUCTION: "ACR-EL"}


# -- the rules ---------------------------------------------------------------------------------------


def intermediate_dn(hierarchy: Hierarchy) -> x509.Name:
    """The DN of ACI-EL-ORG(-TEST): the look-alike PKI carries the real IGC Santé DNs."""
    return GENUINE[hierarchy][1].dn


def root_dn(hierarchy: Hierarchy) -> x509.Name:
    return GENUINE[hierarchy][0].dn


def _cn(name: x509.Name) -> str:
    values = [str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return values[0] if values else name.rfc4514_string()


def issuer_findings(
    leaf: x509.Certificate, env_key: str, *, igc_cas: Sequence[x509.Certificate] = (), igc_source: str = ""
) -> list[Finding]:
    """Issuer by DN, and by signature against the real IGC CAs when they are given."""
    env = get_environment(env_key)
    hierarchy = env.hierarchy
    expected = intermediate_dn(hierarchy)
    name = CA_NAMES[hierarchy]
    findings: list[Finding] = []
    if leaf.issuer == expected:
        findings.append(
            Finding("ok", "issuer", f"issued by {name} ({_cn(expected)}), as {env.label} expects")
        )
    elif leaf.issuer == intermediate_dn(hierarchy.other):
        other = CA_NAMES[hierarchy.other]
        findings.append(
            Finding(
                "error",
                "issuer",
                f"issued by {other} (the {hierarchy.other.value} hierarchy); {env.label} expects {name}",
            )
        )
        return findings
    else:
        findings.append(
            Finding(
                "error",
                "issuer",
                f"issued by {leaf.issuer.rfc4514_string()}, not by the IGC Santé {name} that {env.label} expects",
            )
        )
        return findings
    where = f" from {igc_source}" if igc_source else ""
    if not igc_cas:
        findings.append(
            Finding("info", "signature", "not checked against the real IGC Santé CAs (give --igc-ca-dir)")
        )
        return findings
    intermediates = [c for c in igc_cas if c.subject == expected]
    if not intermediates:
        findings.append(
            Finding("warning", "signature", f"no {name} certificate{where}: signature not checked")
        )
        return findings
    issuer = next((c for c in intermediates if signed_by(leaf, c)), None)
    if issuer is None:
        findings.append(
            Finding("error", "signature", f"carries {name}'s DN but {name}'s key{where} did not sign it")
        )
        return findings
    findings.append(Finding("ok", "signature", f"signature verified with {name}{where}"))
    roots = [c for c in igc_cas if c.subject == root_dn(hierarchy)]
    if roots:
        if any(signed_by(issuer, r) for r in roots):
            findings.append(Finding("ok", "chain", f"{name} verified with {ROOT_NAMES[hierarchy]}{where}"))
        else:
            findings.append(
                Finding("error", "chain", f"{name}{where} is not signed by {ROOT_NAMES[hierarchy]}")
            )
    return findings


def validity_findings(cert: x509.Certificate, *, now: dt.datetime | None = None) -> list[Finding]:
    """Expired or not yet valid: error; under 30 days left: warning."""
    now = now or dt.datetime.now(dt.UTC)
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now < not_before:
        return [Finding("error", "validity", f"not valid before {_when(not_before)}")]
    if now > not_after:
        days = (now - not_after).days
        return [Finding("error", "validity", f"expired on {_when(not_after)} ({days} days ago)")]
    left = not_after - now
    if left < EXPIRY_WARNING:
        return [
            Finding(
                "warning",
                "expiry",
                f"expires on {_when(not_after)}: {left.days} days left, under {EXPIRY_WARNING.days} (renew it)",
            )
        ]
    return [Finding("ok", "validity", f"valid until {_when(not_after)} ({left.days} days left)")]


def _when(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def chain_findings(credentials: Credentials, env_key: str) -> list[Finding]:
    """Whether the file also holds the intermediate the software must send with the leaf."""
    hierarchy = get_environment(env_key).hierarchy
    name = CA_NAMES[hierarchy]
    if any(c.subject == credentials.leaf.issuer for c in credentials.chain):
        return [
            Finding(
                "ok",
                "chain",
                f"the file holds the issuing CA ({_cn(credentials.leaf.issuer)}) to send with the leaf",
            )
        ]
    return [
        Finding(
            "warning",
            "chain",
            f"the file holds no intermediate: the software must send {name} with the leaf (SAS may not have it)",
        )
    ]


def check(
    credentials: Credentials,
    env_key: str,
    *,
    igc_cas: Sequence[x509.Certificate] = (),
    igc_source: str = "",
    now: dt.datetime | None = None,
) -> list[Finding]:
    """Every finding on ``credentials`` for ``env_key``, in reading order."""
    leaf = credentials.leaf
    findings = issuer_findings(leaf, env_key, igc_cas=igc_cas, igc_source=igc_source)
    findings += validity_findings(leaf, now=now)
    findings += profile_findings(leaf)
    findings += chain_findings(credentials, env_key)
    if credentials.key is None:
        findings.append(Finding("info", "key", "no private key given: key/certificate match not checked"))
    else:
        findings.append(
            Finding("ok", "key", f"private key ({credentials.key_source}) matches the certificate")
        )
    return findings


# -- reading files -------------------------------------------------------------------------------------


def load_ca_dir(directory: Path, *, pinned: bool = True) -> tuple[x509.Certificate, ...]:
    """Every certificate in ``directory`` (``*.pem``, ``*.cer``, ``*.crt``, ``*.der``, PEM or DER).

    Files holding no certificate (a key, a CRL) are passed over; a directory with no certificate at
    all is an error. With ``pinned`` (``cert check``), a certificate carrying an IGC Santé CA's name
    must be that CA's pinned certificate (SHA-256 in ``pki/igc.py``), as the run requires of the
    cache and of downloads: a folder of other CAs under the IGC names proves nothing. ``pinned=False``
    is for the embedded run's look-alike chain only.
    """
    from recette_sas.pki.igc import IGC_CAS

    if not directory.is_dir():
        raise CredentialError(f"--igc-ca-dir {directory}: not a directory")
    found: list[x509.Certificate] = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() in (".pem", ".cer", ".crt", ".der") and path.is_file():
            try:
                certs = certificates_in(read_file(path, str(path)), str(path))
            except CredentialError:
                continue
            for cert in certs if pinned else ():
                fingerprint = cert.fingerprint(hashes.SHA256()).hex()
                for ca in IGC_CAS:
                    if cert.subject.rfc4514_string() == ca.subject and fingerprint != ca.sha256:
                        raise CredentialError(
                            f"--igc-ca-dir {path}: carries {ca.name}'s name but is not its pinned "
                            f"certificate (SHA-256 {fingerprint}, expected {ca.sha256})"
                        )
            found.extend(certs)
    if not found:
        raise CredentialError(f"--igc-ca-dir {directory}: no certificate file (*.pem, *.cer, *.crt, *.der)")
    return tuple(found)
