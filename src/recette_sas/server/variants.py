"""Deliberately broken variants of the reference server: each gets one thing wrong.

The project's tests run the features against each and check that exactly the scenarios meant to catch
the defect fail, and that no negative scenario passes for the wrong reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from recette_sas.environments import UsageError
from recette_sas.fhir.regulators import DEFECTS as REGULATOR_DEFECTS
from recette_sas.fhir.schedules import SOS_DEFECTS
from recette_sas.fhir.slots import CPTS_DEFECTS, FHIR_DEFECTS
from recette_sas.server.policy import Policy


@dataclass(frozen=True)
class OtherHierarchy:
    """What a misconfigured server would load for the hierarchy it must not trust."""

    cas: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...]


Change = Callable[[Policy, OtherHierarchy], Policy]


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    change: Change | None  # None: no server at all (see ``kind``)
    kind: str = "server"  # "server" | "down" (nothing listens) | "silent" (accepts TCP, never speaks)
    # | "sslv3" (the reference behind a front that accepts SSL 3.0 handshakes: ``server/sslv3.py``)
    soft_fail_revocation: bool = False  # the revocation-fault targets accept when no source answers
    frozen_crl: bool = False  # loads the CRLs as first published, never the day's (pki/sentinel.py)


def _set(**changes: object) -> Change:
    return lambda policy, _other: dataclasses.replace(policy, **changes)  # type: ignore[arg-type]


def _trust_both(policy: Policy, other: OtherHierarchy) -> Policy:
    """Both bundles and both sets of CRLs, as an editor who pasted both hierarchies would have."""
    return dataclasses.replace(
        policy, trusted_cas=(*policy.trusted_cas, *other.cas), crls=(*policy.crls, *other.crls)
    )


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("accepte-tout", "accepts any client certificate", _set(verify_client=False)),
        Variant("ignore-cn", "does not check the CN", _set(subject_match="ignore_cn")),
        Variant("ignore-ou", "does not check the OU", _set(subject_match="ignore_ou")),
        Variant(
            "sans-controle-sujet",
            "checks neither CN nor OU behind a valid chain",
            _set(subject_match="ignore_subject"),
        ),
        Variant("cn-sous-chaine", "matches the CN as a substring", _set(subject_match="cn_substring")),
        Variant(
            "cn-insensible-casse", "matches the CN case-insensitively", _set(subject_match="cn_casefold")
        ),
        Variant("ou-sous-chaine", "matches the OU as a substring", _set(subject_match="ou_substring")),
        Variant(
            "ou-sans-espaces", "trims spaces around the OU before comparing", _set(subject_match="ou_strip")
        ),
        Variant("ou-multiple", "accepts SAS's OU among several OU attributes", _set(subject_match="ou_any")),
        Variant(
            "cn-ou-seulement",
            "checks CN and OU only, not O nor the order of the subject's attributes",
            _set(check_other_attributes=False),
        ),
        Variant(
            "chaine-ac-non-verifiee",
            "lets through any error on a CA certificate it can link to the root (dates, revocation, CA flags)",
            _set(ignore_ca_errors=True),
        ),
        Variant(
            "signature-non-verifiee",
            "lets certificate signature failures through",
            _set(ignored_verify_errors=(7,)),
        ),
        Variant(
            "extension-critique-ignoree",
            "lets an unhandled critical extension through",
            _set(ignored_verify_errors=(34,)),
        ),
        Variant("sans-revocation", "checks neither CRL nor OCSP", _set(check_crl=False, check_ocsp=False)),
        Variant("sans-ocsp", "checks the CRL only", _set(check_ocsp=False)),
        Variant("sans-profil", "does not check the AUTH_CLI profile", _set(check_profile=False)),
        Variant("tls10", "allows TLS 1.0 and 1.1", _set(min_tls="TLSv1")),
        Variant("deux-hierarchies", "trusts both IGC hierarchies", _trust_both),
        Variant(
            "en-tetes-identite", "takes the identity from client headers", _set(trust_identity_headers=True)
        ),
        Variant(
            "en-tetes-sans-certificat",
            "makes the client certificate optional and, without one, takes the identity from headers",
            _set(require_client_cert=False, trust_headers_without_certificate=True),
        ),
        Variant(
            "en-tetes-soulignes",
            "reads identity headers under their underscore names, which its terminator does not delete",
            _set(trust_underscore_headers=True),
        ),
        Variant(
            "en-tetes-premiere-occurrence",
            "takes the identity from client headers, reading a repeated one at its first occurrence",
            _set(trust_identity_headers=True, first_header_occurrence=True),
        ),
        Variant(
            "bloque-sans-certificat",
            "holds calls without a certificate open (certificate optional) and checks no revocation",
            _set(
                require_client_cert=False, stall_without_certificate=True, check_crl=False, check_ocsp=False
            ),
        ),
        Variant(
            "ferme-apres-poignee",
            "closes every connection after the handshake without an HTTP answer",
            _set(close_after_handshake=True),
        ),
        *(  # the CPTS and SOS ones to be run with --sas-reference-use-case=cpts / sos
            Variant(f"fhir-{name}", f"FHIR slot search {what}", _set(fhir_defect=name))
            for name, what in (FHIR_DEFECTS | CPTS_DEFECTS | SOS_DEFECTS).items()
        ),
        Variant(
            "crl-seule-souple",
            "checks the CRL only, and lets everyone in when it cannot get one (a permanent bypass)",
            _set(check_ocsp=False),
            soft_fail_revocation=True,
        ),
        Variant(
            "ocsp-seul-souple",
            "checks OCSP only, and lets everyone in when the responder gives no usable answer",
            _set(check_crl=False),
            soft_fail_revocation=True,
        ),
        Variant(
            "crl-figee",
            "never reloads its CRLs and checks no OCSP: revocations published since are ignored",
            _set(check_ocsp=False),
            frozen_crl=True,
        ),
        Variant("ssl3", "accepts SSL 3.0 (a front left with SSLv3 on)", _set(), kind="sslv3"),
        Variant("hors-service", "is down", None, kind="down"),
        Variant("muet", "accepts TCP connections but never answers", None, kind="silent"),
        *(
            Variant(f"regul-{name}", f"regulator accounts: {what}", _set(regulator_defect=name))
            for name, what in REGULATOR_DEFECTS.items()
        ),
    )
}


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise UsageError(
            f"--sas-reference-variant: unknown variant {name!r} (expected one of: {', '.join(VARIANTS)})"
        ) from None


__all__ = ["VARIANTS", "OtherHierarchy", "Variant", "get_variant"]
