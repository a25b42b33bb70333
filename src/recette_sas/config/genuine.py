"""The editor's genuine IGC Santé certificate, proven valid on every count but its subject, at load.

On a server that trusts the real IGC chain, the suite cannot present SAS's certificate (only SAS holds its
key): the CN/OU check is judged by presenting the editor's own genuine certificate, which must be refused
*because of its subject*. That proves something only if nothing else is wrong with it: an expired, foreign
or misused certificate refused for that reason would pass the CN check for the wrong reason. So before any
scenario runs, the certificate is checked here — dates for the whole run, issued (by signature) by the
environment's IGC intermediate, AUTH_CLI profile — and an unusable one is a one-line usage error.
Revocation cannot be checked offline; a refusal that names revocation is then "no verdict" (see
``server.rules.require_cause``), never a pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509

from recette_sas.errors import CertificateFileError
from recette_sas.pki.certcheck import issuer_findings, validity_findings
from recette_sas.pki.profile import profile_findings


def prove_genuine(
    leaf: x509.Certificate,
    *,
    env_key: str,
    igc_cas: Sequence[x509.Certificate],
    igc_source: str,
    where: str,
    until: dt.datetime,
    now: dt.datetime | None = None,
) -> None:
    """Raise ``CertificateFileError`` (one line, naming ``where``) unless ``leaf`` is valid from ``now``
    to ``until``, signed by ``env_key``'s IGC intermediate among ``igc_cas`` and of the AUTH_CLI profile."""
    now = now or dt.datetime.now(dt.UTC)
    problems: list[str] = []
    for moment in (now, until):
        problems += [f.message for f in validity_findings(leaf, now=moment) if f.level == "error"]
        if problems:
            if moment is until:
                problems = [f"{problems[0]} (the run may last until {until:%Y-%m-%d %H:%M} UTC)"]
            break
    if not igc_cas:
        problems.append(
            "its chain to the IGC Santé intermediate cannot be proven: no IGC CA certificate is available "
            "(run `recette-sas igc fetch`, or give --igc-ca-dir)"
        )
    else:
        findings = issuer_findings(leaf, env_key, igc_cas=igc_cas, igc_source=igc_source)
        problems += [f.message for f in findings if f.level == "error"]
        if not any(f.level == "ok" and f.check == "signature" for f in findings):
            problems += [f.message for f in findings if f.check == "signature" and f.level != "ok"]
    problems += [f.message for f in profile_findings(leaf) if f.level == "error"]
    if problems:
        raise CertificateFileError(
            f"{where}: the editor's certificate must be valid on every count but its subject to judge the "
            f"CN/OU check; {problems[0]}"
        )
