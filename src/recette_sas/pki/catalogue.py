"""What the look-alike PKI holds: its CAs, its leaf keys, and the catalogue of one-defect leaves.

This is the data side of ``pki/store.py``, which builds, caches and loads what is described here. A
``LeafPlan`` says how one certificate differs from the valid SAS leaf of its environment (``Defect``
names the one difference); ``sign_plan`` issues it with the one leaf profile of ``pki/profile.py``.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from recette_sas.environments import (
    ENVIRONMENT_KEYS,
    Hierarchy,
    SasSubject,
    UsageError,
    get_environment,
    other_environment,
)
from recette_sas.pki.profile import issue_leaf

LEAF_VALIDITY = dt.timedelta(days=3 * 365)


class Defect(enum.StrEnum):
    """The one thing a negative certificate gets wrong (the value is what scenarios name)."""

    VALIDE = "valide"
    AUTO_SIGNE = "auto-signe"
    AC_IMPOSTEUR = "ac-imposteur"
    AC_ETRANGERE = "ac-etrangere"
    AUTRE_HIERARCHIE = "autre-hierarchie"
    EXPIRE = "expire"
    PAS_ENCORE_VALIDE = "pas-encore-valide"
    EKU_SERVEUR = "eku-serveur"
    SANS_SIGNATURE_NUMERIQUE = "sans-signature-numerique"
    FEUILLE_CA = "feuille-ca"
    SIGNE_PAR_FEUILLE = "signe-par-feuille"
    RSA_1024 = "rsa-1024"
    SHA1 = "sha1"
    REVOQUE = "revoque"
    REVOQUE_OCSP = "revoque-ocsp"
    MAUVAIS_CN = "mauvais-cn"
    MAUVAIS_OU = "mauvais-ou"
    AUTRE_ENVIRONNEMENT = "autre-environnement"
    CN_CASSE = "cn-casse"
    CN_ESPACE_DEBUT = "cn-espace-debut"
    CN_ESPACE_FIN = "cn-espace-fin"
    CN_PREFIXE = "cn-prefixe"
    CN_SUFFIXE = "cn-suffixe"
    DEUX_CN = "deux-cn"
    NOM_DANS_SAN = "nom-dans-san"
    OU_CONTIENT = "ou-contient"
    OU_PREFIXE = "ou-prefixe"
    OU_SUFFIXE = "ou-suffixe"
    OU_ESPACE_DEBUT = "ou-espace-debut"
    OU_ESPACE_FIN = "ou-espace-fin"
    DEUX_OU = "deux-ou"
    MAUVAIS_O = "mauvais-o"
    ORDRE_RDN = "ordre-rdn"
    INTERMEDIAIRE_EXPIRE = "intermediaire-expire"
    INTERMEDIAIRE_PAS_ENCORE_VALIDE = "intermediaire-pas-encore-valide"
    INTERMEDIAIRE_REVOQUE = "intermediaire-revoque"
    INTERMEDIAIRE_NON_CA = "intermediaire-non-ca"
    INTERMEDIAIRE_SANS_KEYCERTSIGN = "intermediaire-sans-keycertsign"
    LONGUEUR_CHEMIN = "longueur-chemin"
    SIGNATURE_CORROMPUE = "signature-corrompue"
    EXTENSION_CRITIQUE_INCONNUE = "extension-critique-inconnue"
    AUTRE_CLE_DN_INTERMEDIAIRE = "autre-cle-dn-intermediaire"
    CHAINE_DESORDRE = "chaine-desordre"
    CHAINE_CERTIFICAT_ETRANGER = "chaine-certificat-etranger"

    @classmethod
    def parse(cls, value: str) -> Defect:
        try:
            return cls(value)
        except ValueError:
            raise UsageError(f"unknown certificate defect {value!r}") from None


DEFECT_DESCRIPTIONS: dict[Defect, str] = {
    Defect.VALIDE: "certificat SAS valide",
    Defect.AUTO_SIGNE: "auto-signé avec le sujet exact de SAS",
    Defect.AC_IMPOSTEUR: "émis par une AC imposteur portant les DN de l'IGC Santé, avec d'autres clés",
    Defect.AC_ETRANGERE: "émis par une AC sans rapport avec l'IGC Santé",
    Defect.AUTRE_HIERARCHIE: "sujet de SAS signé par l'autre hiérarchie IGC (TEST ↔ production)",
    Defect.EXPIRE: "expiré",
    Defect.PAS_ENCORE_VALIDE: "pas encore valide",
    Defect.EKU_SERVEUR: "usage étendu serverAuth seulement",
    Defect.SANS_SIGNATURE_NUMERIQUE: "keyUsage sans digitalSignature",
    Defect.FEUILLE_CA: "certificat feuille marqué CA:TRUE",
    Defect.SIGNE_PAR_FEUILLE: "signé par un autre certificat feuille",
    Defect.RSA_1024: "clé RSA de 1024 bits",
    Defect.SHA1: "signé en SHA-1",
    Defect.REVOQUE: "révoqué (dans la CRL et pour l'OCSP)",
    Defect.REVOQUE_OCSP: "révoqué depuis la dernière CRL (seul l'OCSP le sait)",
    Defect.MAUVAIS_CN: "CN d'une autre application",
    Defect.MAUVAIS_OU: "bon CN, OU d'une autre structure",
    Defect.AUTRE_ENVIRONNEMENT: "sujet SAS d'un autre environnement ANS",
    Defect.CN_CASSE: "CN de SAS en majuscules",
    Defect.CN_ESPACE_DEBUT: "CN de SAS précédé d'une espace",
    Defect.CN_ESPACE_FIN: "CN de SAS suivi d'une espace",
    Defect.CN_PREFIXE: "CN de SAS précédé d'un caractère",
    Defect.CN_SUFFIXE: "CN de SAS suivi d'un suffixe",
    Defect.DEUX_CN: "deux attributs CN, dont celui de SAS",
    Defect.NOM_DANS_SAN: "nom de SAS seulement dans subjectAltName",
    Defect.OU_CONTIENT: "bon CN, OU qui contient celle de SAS entre deux autres caractères",
    Defect.OU_PREFIXE: "bon CN, OU de SAS précédée d'un caractère",
    Defect.OU_SUFFIXE: "bon CN, OU de SAS suivie d'un caractère",
    Defect.OU_ESPACE_DEBUT: "bon CN, OU de SAS précédée d'une espace",
    Defect.OU_ESPACE_FIN: "bon CN, OU de SAS suivie d'une espace",
    Defect.DEUX_OU: "bon CN, deux attributs OU, dont celui de SAS",
    Defect.MAUVAIS_O: "bons CN et OU, O d'une autre structure",
    Defect.ORDRE_RDN: "CN et OU de SAS, dans un autre ordre des attributs du sujet",
    Defect.INTERMEDIAIRE_EXPIRE: "émis par une AC intermédiaire de la racine IGC expirée",
    Defect.INTERMEDIAIRE_PAS_ENCORE_VALIDE: "émis par une AC intermédiaire de la racine IGC pas encore valide",
    Defect.INTERMEDIAIRE_REVOQUE: "émis par une AC intermédiaire révoquée dans la CRL de la racine IGC",
    Defect.INTERMEDIAIRE_NON_CA: "émis par un certificat de la racine IGC sans CA:TRUE",
    Defect.INTERMEDIAIRE_SANS_KEYCERTSIGN: "émis par une AC intermédiaire de la racine IGC sans keyCertSign",
    Defect.LONGUEUR_CHEMIN: "émis par une AC de plus sous l'intermédiaire (pathLenConstraint 0 violée)",
    Defect.SIGNATURE_CORROMPUE: "signature du certificat corrompue",
    Defect.EXTENSION_CRITIQUE_INCONNUE: "extension critique inconnue",
    Defect.AUTRE_CLE_DN_INTERMEDIAIRE: "signé par une autre clé au DN exact de l'intermédiaire, envoyé avec le vrai",
    Defect.CHAINE_DESORDRE: "certificat valide, chaîne envoyée dans le désordre (racine avant l'intermédiaire)",
    Defect.CHAINE_CERTIFICAT_ETRANGER: "certificat valide, chaîne avec un certificat d'AC sans rapport en plus",
}

WRONG_CN = "application-tierce-editeur"
WRONG_OU = "499700999999001"
SECOND_CN = "application-tierce"
CN_SUFFIX = ".evil"
OU_EXTRA = "9"  # OUs are digits (a structure number): the character that extends SAS's is one too
WRONG_O = "CABINET TIERS0099999"


def _dn(*, test: bool, cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ASIP-SANTE"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "0002 187512751"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "IGC-SANTE TEST" if test else "IGC-SANTE"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass(frozen=True)
class CaSpec:
    """A CA of the look-alike PKI: its file name, DN, issuer and key size."""

    name: str
    dn: x509.Name
    issuer: str | None
    key_bits: int
    flaw: str = ""  # "" (a sound CA), or the one thing wrong with it (``CA_FLAWS``)


CA_FLAWS = ("expiree", "pas-encore-valide", "revoquee", "non-ca", "sans-keycertsign", "sous-ac")
"""Flawed CAs of each hierarchy, each wrong in one way: validity, revoked in the root's CRL, no CA:TRUE,
no keyCertSign, or a sound CA under the intermediate (whose pathLenConstraint 0 forbids it)."""


def _hierarchy_specs(h: Hierarchy, *, prefix: str = "", key_bits: int = 4096) -> tuple[CaSpec, CaSpec]:
    test = h is Hierarchy.TEST
    suffix = "-TEST" if test else ""
    cn_prefix = "TEST " if test else ""
    root = CaSpec(
        f"{prefix}ACR-EL{suffix}",
        _dn(test=test, cn=f"{cn_prefix}AC RACINE IGC-SANTE ELEMENTAIRE"),
        None,
        key_bits,
    )
    inter = CaSpec(
        f"{prefix}ACI-EL-ORG{suffix}",
        _dn(test=test, cn=f"{cn_prefix}AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"),
        root.name,
        key_bits,
    )
    return root, inter


GENUINE = {h: _hierarchy_specs(h) for h in Hierarchy}


def _flawed_specs(h: Hierarchy) -> dict[str, CaSpec]:
    root, inter = GENUINE[h]
    test = h is Hierarchy.TEST
    cn = f"{'TEST ' if test else ''}AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"
    return {
        flaw: CaSpec(
            f"{inter.name}-{flaw.upper()}",
            _dn(test=test, cn=f"{cn} {flaw.upper()}"),
            inter.name if flaw == "sous-ac" else root.name,
            2048,
            flaw,
        )
        for flaw in CA_FLAWS
    }


FLAWED = {h: _flawed_specs(h) for h in Hierarchy}
# Impostors reuse the exact IGC DNs with other keys; their key size is not what they get wrong.
IMPOSTORS = {h: _hierarchy_specs(h, prefix="IMPOSTEUR-", key_bits=2048) for h in Hierarchy}
UNRELATED = CaSpec(
    "AC-ETRANGERE",
    x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AC ETRANGERE A L'IGC SANTE"),
            x509.NameAttribute(NameOID.COMMON_NAME, "AC SANS RAPPORT"),
        ]
    ),
    None,
    2048,
)
ALL_CAS: tuple[CaSpec, ...] = (
    *GENUINE[Hierarchy.TEST],
    *GENUINE[Hierarchy.PRODUCTION],
    *IMPOSTORS[Hierarchy.TEST],
    *IMPOSTORS[Hierarchy.PRODUCTION],
    UNRELATED,
    *(spec for h in Hierarchy for spec in FLAWED[h].values()),  # after the CAs that sign them
)

# Leaf keys: one per environment (every defect but RSA-1024 reuses it), a signer leaf, a weak key.
LEAF_KEYS: dict[str, int] = {
    **{f"leaf-{e}": 2048 for e in ENVIRONMENT_KEYS},
    "leaf-signer": 2048,
    "leaf-weak": 1024,
}


@dataclass(frozen=True)
class LeafPlan:
    """How one certificate of the catalogue is made (``sign_plan`` turns it into a certificate)."""

    subject: x509.Name
    issuer: str  # CA name, or "self", or "leaf-signer"
    key: str
    chain: tuple[str, ...]  # what is sent after the leaf (CA names, or "leaf-signer")
    not_before: dt.datetime
    not_after: dt.datetime
    eku: tuple[x509.ObjectIdentifier, ...] = (ExtendedKeyUsageOID.CLIENT_AUTH,)
    digital_signature: bool = True
    key_encipherment: bool = False
    ca: bool = False
    san: tuple[str, ...] = ()
    hash_name: str = "sha256"
    pointer: str = ""  # the CA whose CRL/OCSP/caIssuers URLs the leaf carries: always the genuine one
    flaw: str = ""  # "signature" (corrupted), "critical-extension" (an unknown one), or ""


def _replace_cn(subject: SasSubject, cn: str) -> x509.Name:
    return SasSubject(c=subject.c, st=subject.st, o=subject.o, ou=subject.ou, cn=cn).to_name()


def _replace_ou(subject: SasSubject, ou: str) -> x509.Name:
    return SasSubject(c=subject.c, st=subject.st, o=subject.o, ou=ou, cn=subject.cn).to_name()


def _subject_plans(subject: SasSubject) -> dict[Defect, x509.Name]:
    """The subjects one attribute away from SAS's (CN, OU, O, or the RDN order)."""
    sas = list(subject.to_name())
    ou_at = next(i for i, a in enumerate(sas) if a.oid == NameOID.ORGANIZATIONAL_UNIT_NAME)
    second_ou = x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, WRONG_OU)
    cn_at = next(i for i, a in enumerate(sas) if a.oid == NameOID.COMMON_NAME)
    swapped = list(sas)
    swapped[ou_at], swapped[cn_at] = sas[cn_at], sas[ou_at]
    return {
        Defect.OU_CONTIENT: _replace_ou(subject, OU_EXTRA + subject.ou + OU_EXTRA),
        Defect.OU_PREFIXE: _replace_ou(subject, OU_EXTRA + subject.ou),
        Defect.OU_SUFFIXE: _replace_ou(subject, subject.ou + OU_EXTRA),
        Defect.OU_ESPACE_DEBUT: _replace_ou(subject, " " + subject.ou),
        Defect.OU_ESPACE_FIN: _replace_ou(subject, subject.ou + " "),
        Defect.DEUX_OU: x509.Name([*sas[: ou_at + 1], second_ou, *sas[ou_at + 1 :]]),
        Defect.MAUVAIS_O: SasSubject(
            c=subject.c, st=subject.st, o=WRONG_O, ou=subject.ou, cn=subject.cn
        ).to_name(),
        Defect.ORDRE_RDN: x509.Name(swapped),
    }


def leaf_plans(env_key: str, now: dt.datetime) -> dict[Defect, LeafPlan]:
    env = get_environment(env_key)
    h = env.hierarchy
    _root, inter = (s.name for s in GENUINE[h])
    other_inter = GENUINE[h.other][1].name
    imp_inter = IMPOSTORS[h][1].name
    subject = env.subject
    base = LeafPlan(
        subject=subject.to_name(),
        issuer=inter,
        key=f"leaf-{env_key}",
        chain=(inter,),
        not_before=now - dt.timedelta(days=1),
        not_after=now + LEAF_VALIDITY,
        pointer=inter,
    )

    def v(**changes: Any) -> LeafPlan:
        return LeafPlan(**{**base.__dict__, **changes})

    two_cn = x509.Name([*subject.to_name(), x509.NameAttribute(NameOID.COMMON_NAME, SECOND_CN)])
    san_only = _replace_cn(subject, WRONG_CN)
    root = GENUINE[h][0].name
    flawed = {flaw: spec.name for flaw, spec in FLAWED[h].items()}

    def under(flaw: str) -> LeafPlan:
        chain = (flawed[flaw], inter) if flaw == "sous-ac" else (flawed[flaw],)
        return v(issuer=flawed[flaw], chain=chain)

    return {
        Defect.VALIDE: base,
        Defect.AUTO_SIGNE: v(issuer="self", chain=()),
        Defect.AC_IMPOSTEUR: v(issuer=imp_inter, chain=(imp_inter,)),
        Defect.AC_ETRANGERE: v(issuer=UNRELATED.name, chain=(UNRELATED.name,)),
        Defect.AUTRE_HIERARCHIE: v(issuer=other_inter, chain=(other_inter,)),
        Defect.EXPIRE: v(not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=30)),
        Defect.PAS_ENCORE_VALIDE: v(
            not_before=now + dt.timedelta(days=5 * 365), not_after=now + dt.timedelta(days=8 * 365)
        ),
        Defect.EKU_SERVEUR: v(eku=(ExtendedKeyUsageOID.SERVER_AUTH,)),
        Defect.SANS_SIGNATURE_NUMERIQUE: v(digital_signature=False, key_encipherment=True),
        Defect.FEUILLE_CA: v(ca=True),
        Defect.SIGNE_PAR_FEUILLE: v(issuer="leaf-signer", chain=("leaf-signer", inter)),
        Defect.RSA_1024: v(key="leaf-weak"),
        Defect.SHA1: v(hash_name="sha1"),
        Defect.REVOQUE: base,
        Defect.REVOQUE_OCSP: base,
        Defect.MAUVAIS_CN: v(subject=_replace_cn(subject, WRONG_CN)),
        Defect.MAUVAIS_OU: v(
            subject=SasSubject(c=subject.c, st=subject.st, o=subject.o, ou=WRONG_OU, cn=subject.cn).to_name()
        ),
        Defect.AUTRE_ENVIRONNEMENT: v(subject=other_environment(env_key).subject.to_name()),
        Defect.CN_CASSE: v(subject=_replace_cn(subject, subject.cn.upper())),
        Defect.CN_ESPACE_DEBUT: v(subject=_replace_cn(subject, " " + subject.cn)),
        Defect.CN_ESPACE_FIN: v(subject=_replace_cn(subject, subject.cn + " ")),
        Defect.CN_PREFIXE: v(subject=_replace_cn(subject, "x" + subject.cn)),
        Defect.CN_SUFFIXE: v(subject=_replace_cn(subject, subject.cn + CN_SUFFIX)),
        Defect.DEUX_CN: v(subject=two_cn),
        Defect.NOM_DANS_SAN: v(subject=san_only, san=(subject.cn,)),
        **{defect: v(subject=name) for defect, name in _subject_plans(subject).items()},
        Defect.INTERMEDIAIRE_EXPIRE: under("expiree"),
        Defect.INTERMEDIAIRE_PAS_ENCORE_VALIDE: under("pas-encore-valide"),
        Defect.INTERMEDIAIRE_REVOQUE: under("revoquee"),
        Defect.INTERMEDIAIRE_NON_CA: under("non-ca"),
        Defect.INTERMEDIAIRE_SANS_KEYCERTSIGN: under("sans-keycertsign"),
        Defect.LONGUEUR_CHEMIN: under("sous-ac"),
        Defect.SIGNATURE_CORROMPUE: v(flaw="signature"),
        Defect.EXTENSION_CRITIQUE_INCONNUE: v(flaw="critical-extension"),
        Defect.AUTRE_CLE_DN_INTERMEDIAIRE: v(issuer=imp_inter),
        Defect.CHAINE_DESORDRE: v(chain=(root, inter)),
        Defect.CHAINE_CERTIFICAT_ETRANGER: v(chain=(inter, UNRELATED.name)),
    }


def signer_plan(env_key: str, now: dt.datetime) -> LeafPlan:
    """The leaf that signs ``signe-par-feuille``: a valid AUTH_CLI-like leaf of the same intermediate."""
    env = get_environment(env_key)
    inter = GENUINE[env.hierarchy][1].name
    return LeafPlan(
        subject=_replace_cn(env.subject, "feuille-signataire"),
        issuer=inter,
        key="leaf-signer",
        chain=(inter,),
        not_before=now - dt.timedelta(days=1),
        not_after=now + LEAF_VALIDITY,
        pointer=inter,
    )


def sign_plan(
    plan: LeafPlan,
    certs: dict[str, x509.Certificate],
    key: Any,
    base_url: str,
) -> x509.Certificate:
    leaf_key = key(plan.key)
    if plan.issuer == "self":
        issuer_name, issuer_key = plan.subject, leaf_key
    else:
        issuer_name = certs[plan.issuer].subject
        issuer_key = key("leaf-signer" if plan.issuer == "leaf-signer" else plan.issuer)
    cert = issue_leaf(
        subject=plan.subject,
        public_key=leaf_key.public_key(),
        issuer_name=issuer_name,
        issuer_key=issuer_key,
        pointer=plan.pointer,
        base_url=base_url,
        not_before=plan.not_before,
        not_after=plan.not_after,
        eku=plan.eku,
        digital_signature=plan.digital_signature,
        key_encipherment=plan.key_encipherment,
        ca=plan.ca,
        san=plan.san,
        hash_name=plan.hash_name,
        extra_extensions=(UNKNOWN_CRITICAL,) if plan.flaw == "critical-extension" else (),
    )
    return _corrupt_signature(cert) if plan.flaw == "signature" else cert


UNKNOWN_CRITICAL = x509.Extension(
    x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.1"),  # a private arc nobody implements
    True,
    x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.1"), b"\x05\x00"),
)


def _corrupt_signature(cert: x509.Certificate) -> x509.Certificate:
    """``cert`` with the last byte of its signature flipped: the TBS is untouched, the signature is not
    the issuer's any more."""
    from cryptography.hazmat.primitives.serialization import Encoding

    der = bytearray(cert.public_bytes(Encoding.DER))
    der[-1] ^= 0x01
    return x509.load_der_x509_certificate(bytes(der))


def iter_defects(*, include_valid: bool = False) -> Iterable[Defect]:
    return (d for d in Defect if include_valid or d is not Defect.VALIDE)
