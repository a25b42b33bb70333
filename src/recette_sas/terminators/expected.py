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
HEADERS_NO_CERT = "SRV-IDENTITE-TLS-02"
HEADER_FORMS = "SRV-IDENTITE-TLS-03"
OU_TRAPS = "SRV-OU-02"
OU_SPACES = "REC-OU-ESPACE-01"
WHOLE_SUBJECT = "REC-SUJET-EXACT-01"
CHAIN_CA = "SRV-CHAINE-VALIDE-01"
CHAIN_LEAF = "SRV-CHAINE-VALIDE-02"
CRITICAL_EXT = "REC-EXTENSION-CRITIQUE-01"
TOLERANT_CHAIN = "REC-CHAINE-TOLERANTE-01"
"""The chain sent in another order, or with an unrelated certificate: still accepted (advisory positive)."""
REVOCATION_FAULT = "REC-REVOCATION-PANNE-01"
CRL_REFRESH = "REC-CRL-RAFRAICHIE-01"
"""Judged across two runs: a run from a fresh state says it will be judged next time (skipped)."""


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
        SSL3,
        HEADERS_NO_CERT,
        *keys(HEADER_FORMS, "minuscules", "soulignes", "doubles"),
        *keys(OU_TRAPS, "ou-contient", "ou-prefixe", "ou-suffixe", "deux-ou"),
        *keys(OU_SPACES, "ou-espace-debut", "ou-espace-fin"),
        *keys(WHOLE_SUBJECT, "mauvais-o", "ordre-rdn"),
        *keys(
            CHAIN_CA,
            "intermediaire-expire",
            "intermediaire-pas-encore-valide",
            "intermediaire-revoque",
            "intermediaire-non-ca",
            "intermediaire-sans-keycertsign",
            "longueur-chemin",
        ),
        *keys(CHAIN_LEAF, "signature-corrompue", "autre-cle-dn-intermediaire"),
        *keys(CRITICAL_EXT, "extension-critique-inconnue"),
        *keys(
            REVOCATION_FAULT,
            "crl-perimee",
            "crl-injoignable",
            "ocsp-hors-service",
            "ocsp-plus-tard",
            "ocsp-non-autorise",
            "ocsp-signataire-inconnu",
            "ocsp-perime",
        ),
        CRL_REFRESH,
    }
)
"""Every check that expects a refusal (one-to-one mapping): all become unjudgeable when the positive control
fails."""
TOLERANT_ALL = keys(TOLERANT_CHAIN, "chaine-desordre", "chaine-certificat-etranger")
POSITIVES = frozenset({POSITIVE, POSITIVE_LEAF_ONLY, TLS12, TLS13, UPDATE, *TOLERANT_ALL})
SKIPPED = frozenset({CRL_REFRESH})
"""The daily CRL refresh is judged at the next run: a campaign's single run says so (skipped, not passed).
It is also in ``NEGATIVES``: where the positive control fails it is unjudgeable like every negative."""


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


# --- what the scenarios added after the first catalogue catch in each mutant ------------------------------

_OU_TRAPS = keys(OU_TRAPS, "ou-contient", "ou-prefixe", "ou-suffixe", "deux-ou")
_OU_SPACES = keys(OU_SPACES, "ou-espace-debut", "ou-espace-fin")
_WHOLE = keys(WHOLE_SUBJECT, "mauvais-o", "ordre-rdn")
_FAULTS = keys(
    REVOCATION_FAULT,
    "crl-perimee",
    "crl-injoignable",
    "ocsp-hors-service",
    "ocsp-plus-tard",
    "ocsp-non-autorise",
    "ocsp-signataire-inconnu",
    "ocsp-perime",
)
_REVOKED_INTERMEDIATE = keys(CHAIN_CA, "intermediaire-revoque")
_OTHER_KEY = keys(CHAIN_LEAF, "autre-cle-dn-intermediaire")

LATER_CATCHES: dict[str, Expected] = {
    # An unanchored or OU-blind subject check lets SAS's CN through with an OU that contains, starts or ends
    # with SAS's, or a second OU, and warns on the spaces and the whole-subject hardening.
    **{
        f"{t}:{m}": Expected(failed=_OU_TRAPS, warning=_OU_SPACES | _WHOLE)
        for t in ("nginx", "haproxy", "apache")
        for m in ("cn-non-ancre", "ou-non-verifie")
    },
    # nginx's OU-blind map still compares the DN string in its order: the RDN order trap is refused.
    "nginx:ou-non-verifie": Expected(failed=_OU_TRAPS, warning=_OU_SPACES | keys(WHOLE_SUBJECT, "mauvais-o")),
    # No revocation at all: the intermediate revoked in the root's CRL passes, and every fault lets all in.
    **{
        key: Expected(failed=_REVOKED_INTERMEDIATE, warning=_FAULTS)
        for key in ("nginx:sans-revocation", "apache:sans-revocation", "haproxy:sans-crl")
    },
    # Optional verification without revocation: the same, and the leaf under a forged intermediate key.
    **{
        key: Expected(failed=_REVOKED_INTERMEDIATE | _OTHER_KEY, warning=_FAULTS)
        for key in ("nginx:debrayage", "apache:debrayage")
    },
    "nginx:verification-optionnelle": Expected(failed=_OTHER_KEY),
    "haproxy:verification-optionnelle": Expected(
        failed=keys(
            CHAIN_CA,
            "intermediaire-expire",
            "intermediaire-non-ca",
            "intermediaire-pas-encore-valide",
            "intermediaire-revoque",
            "longueur-chemin",
        )
        | keys(CHAIN_LEAF, "signature-corrompue", "autre-cle-dn-intermediaire"),
        warning=_FAULTS,
    ),
    # Client identity headers believed: the other spellings of the header get through too.
    "nginx:en-tetes-identite": Expected(failed=keys(HEADER_FORMS, "doubles", "minuscules"), warning=_WHOLE),
    "haproxy:en-tetes-identite": Expected(failed=keys(HEADER_FORMS, "doubles", "minuscules"), warning=_WHOLE),
    "apache:en-tetes-identite": Expected(failed=keys(HEADER_FORMS, "minuscules"), warning=_WHOLE),
}
"""What the subject, chain and revocation-fault scenarios (added after the first catalogue) catch in each
mutant, measured on real nginx, HAProxy and Apache and checked against the mutation: only true defects."""


__all__ = [
    "LATER_CATCHES",
    "NEGATIVES",
    "POSITIVES",
    "REFERENCE_WARNINGS",
    "SKIPPED",
    "Expected",
    "keys",
]
