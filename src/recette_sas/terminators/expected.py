"""What a run of the look-alike server matrix must show, by check key, for terminators and their mutants.

A check key is a scenario's stable check id (``docs/requirements.toml`` ``checks``), plus the first Examples
column for a Scenario Outline: ``SRV-CN-01[cn-prefixe]``. Runs report it as the ``check`` field of each
result in ``summary.json``; nothing here depends on a scenario's title.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- check ids of the look-alike server matrix (features/serveur) --------------------------------------

POSITIVE = "SRV-MTLS-01"
"""SAS's valid certificate, sent with its intermediate, is accepted (the positive control)."""
NO_CERT = "SRV-MTLS-02"
UPDATE = "SRV-MTLS-03"
POSITIVE_LEAF_ONLY = "REC-CHAINE-01"
TLS12 = "SRV-TLS-01"
OLD_TLS = "SRV-TLS-02"
SSL3 = "REC-SSL3-01"
TLS13 = "REC-TLS13-01"
NOT_IGC = "SRV-AC-IGC-01"
OTHER_H = "SRV-HIERARCHIE-01"
VALIDITY = "SRV-VALIDITE-01"
PROFILE = "REC-PROFIL-01"
CRYPTO = "REC-CRYPTO-01"
REVOKED = "SRV-REVOCATION-01"
REVOKED_OCSP = "REC-OCSP-01"
CN = "SRV-CN-01"
OU = "SRV-OU-01"
CN_CASE = "REC-CN-CASSE-01"
OTHER_ENV = "SRV-CORRESPONDANCE-01"
"""Another ANS environment's SAS certificate is refused (where the editor environment does not serve it)."""
OTHER_ENV_SERVED = "SRV-CORRESPONDANCE-02"
"""The other ANS environment's SAS certificate is accepted (only where the mapping makes one editor
environment serve both: simplified mapping, editor pre-production)."""
HEADERS = "SRV-IDENTITE-TLS-01"


def keys(check: str, *examples: str) -> frozenset[str]:
    """The keys of some examples of a Scenario Outline: ``keys(CN, "deux-cn")`` = {``SRV-CN-01[deux-cn]``}."""
    return frozenset(f"{check}[{e}]" for e in examples)


NOT_IGC_ALL = keys(NOT_IGC, "auto-signe", "ac-imposteur", "ac-etrangere")
CN_ALL = keys(CN, "mauvais-cn", "cn-prefixe", "cn-suffixe", "deux-cn", "nom-dans-san")
CN_CASE_ALL = keys(CN_CASE, "cn-casse", "cn-espace-debut", "cn-espace-fin")
NEGATIVES = frozenset(
    {
        NO_CERT,
        OTHER_H,
        REVOKED,
        REVOKED_OCSP,
        OTHER_ENV,
        HEADERS,
        *NOT_IGC_ALL,
        *keys(VALIDITY, "expire", "pas-encore-valide"),
        *keys(PROFILE, "eku-serveur", "sans-signature-numerique", "feuille-ca", "signe-par-feuille"),
        *keys(CRYPTO, "rsa-1024", "sha1"),
        *keys(OLD_TLS, "TLS 1.0", "TLS 1.1"),
        *CN_ALL,
        *keys(OU, "mauvais-ou"),
        *CN_CASE_ALL,
    }
)
"""Every check that expects a refusal (one-to-one mapping): all become unjudgeable when the positive control
fails."""
POSITIVES = frozenset({POSITIVE, POSITIVE_LEAF_ONLY, TLS12, TLS13, UPDATE})
SKIPPED = frozenset({SSL3})
"""SSL 3.0 cannot be offered by this OpenSSL: the probe says so and the scenario is skipped, not passed."""


@dataclass(frozen=True)
class Expected:
    """Checks that fail (blocking), warn (advisory) or cannot be judged (broken).

    For a mutant, the sets name what the MUTATION adds to its reference configuration's run (the
    reference's documented warnings come on top: ``mutants.full_expected``).
    """

    failed: frozenset[str] = frozenset()
    warning: frozenset[str] = frozenset()
    broken: frozenset[str] = frozenset()

    @property
    def caught(self) -> bool:
        return bool(self.failed or self.warning)


# --- reference limitations --------------------------------------------------------------------------

FEUILLE_CA = keys(PROFILE, "feuille-ca")
"""OpenSSL (the TLS library of all three) accepts a client leaf marked CA:TRUE: only an application that
parses the forwarded certificate could refuse it. Advisory (REC-PROFIL)."""

REFERENCE_WARNINGS: dict[str, frozenset[str]] = {
    "nginx": FEUILLE_CA,
    "haproxy": FEUILLE_CA | {REVOKED_OCSP},  # HAProxy has no OCSP for client certificates
    "apache": FEUILLE_CA,
}
"""The documented advisory warnings of each reference configuration (everything else passes)."""


__all__ = [
    "NEGATIVES",
    "POSITIVES",
    "REFERENCE_WARNINGS",
    "SKIPPED",
    "Expected",
    "keys",
]
