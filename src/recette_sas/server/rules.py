"""Verdict rules: when an attempt proves what a scenario claims, and when nothing can be concluded.

A refusal counts only if the positive control for the same target, flow and ANS environment was
accepted in the same run; an unreachable target, a stalled call or a probe that failed on its own side
is never a refusal; and a refusal proves only what its stated cause allows (an expired certificate
refused proves nothing about the CN check). ``AssertionError`` means the target is non-conformant
(Allure *failed*); a ``VerdictUnavailable`` subclass from ``recette_sas.errors`` means the run could not
judge (Allure *broken*), and its type says why.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import itertools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from recette_sas.errors import ControlNotPassed, NoAnswer, ProbeFault, TargetUnreachable, WrongCause
from recette_sas.verdict import CONNECTION_CLOSED, Attempt, Outcome, silent

if TYPE_CHECKING:
    from recette_sas.server.targets import Reachability

FHIR_MEDIA_TYPES = ("application/fhir+json", "application/json+fhir")


class Cause(enum.StrEnum):
    """What can be wrong with a presented certificate; a refusal may name one of these."""

    VALIDITY = "validité"
    REVOCATION = "révocation"
    ISSUER = "émetteur"
    PROFILE = "profil"
    CRYPTO = "cryptographie"
    SUBJECT = "sujet"


CHAIN_CAUSES = frozenset({Cause.VALIDITY, Cause.REVOCATION, Cause.ISSUER, Cause.PROFILE, Cause.CRYPTO})

ALERT_CAUSES: dict[str, frozenset[Cause]] = {
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": frozenset({Cause.VALIDITY}),
    "SSLV3_ALERT_CERTIFICATE_REVOKED": frozenset({Cause.REVOCATION}),
    "TLSV1_ALERT_UNKNOWN_CA": frozenset({Cause.ISSUER}),
}
"""Alerts that name one cause. Every other refusal (handshake_failure, bad_certificate, access_denied,
certificate_unknown, a close, HTTP 401/403…) is generic: a server that checks the subject inside its
TLS layer answers with one of those, and it still counts."""

HTTP_CAUSES: dict[int, frozenset[Cause]] = {495: CHAIN_CAUSES, 496: frozenset()}
"""nginx's statuses: 495 a certificate that failed verification, 496 no certificate at all."""


def defect_causes(defect: str) -> frozenset[Cause]:
    """What is wrong with a look-alike defect certificate (``Defect`` values), for ``require_cause``.

    The PKI tests prove each defect certificate differs from SAS's valid one by that defect alone.
    Where a defect can honestly be reported under two names (a leaf signed by a leaf: profile and
    issuer; SAS's subject of another environment, which production signs under another hierarchy), both
    are listed, so that no honest refusal is ever ruled out.
    """
    return _DEFECT_CAUSES.get(defect, frozenset(Cause))


_SUBJECT = frozenset({Cause.SUBJECT})
_DEFECT_CAUSES: dict[str, frozenset[Cause]] = {
    "valide": frozenset(),
    "auto-signe": frozenset({Cause.ISSUER}),
    "ac-imposteur": frozenset({Cause.ISSUER}),
    "ac-etrangere": frozenset({Cause.ISSUER}),
    "autre-hierarchie": frozenset({Cause.ISSUER}),
    "expire": frozenset({Cause.VALIDITY}),
    "pas-encore-valide": frozenset({Cause.VALIDITY}),
    "eku-serveur": frozenset({Cause.PROFILE}),
    "sans-signature-numerique": frozenset({Cause.PROFILE}),
    "feuille-ca": frozenset({Cause.PROFILE}),
    "signe-par-feuille": frozenset({Cause.PROFILE, Cause.ISSUER}),
    "rsa-1024": frozenset({Cause.CRYPTO}),
    "sha1": frozenset({Cause.CRYPTO}),
    "revoque": frozenset({Cause.REVOCATION}),
    "revoque-ocsp": frozenset({Cause.REVOCATION}),
    "autre-environnement": frozenset({Cause.SUBJECT, Cause.ISSUER}),
    # A defect of a CA certificate of the chain is the issuer's too: a stack that cannot build a path
    # through it says "unknown CA" (or lacks that CA's CRL), an honest refusal all the same.
    "intermediaire-expire": frozenset({Cause.VALIDITY, Cause.ISSUER}),
    "intermediaire-pas-encore-valide": frozenset({Cause.VALIDITY, Cause.ISSUER}),
    "intermediaire-revoque": frozenset({Cause.REVOCATION, Cause.ISSUER}),
    "intermediaire-non-ca": frozenset({Cause.ISSUER, Cause.PROFILE}),
    "intermediaire-sans-keycertsign": frozenset({Cause.ISSUER, Cause.PROFILE}),
    "longueur-chemin": frozenset({Cause.ISSUER, Cause.PROFILE}),
    "signature-corrompue": frozenset({Cause.CRYPTO, Cause.ISSUER}),
    "extension-critique-inconnue": frozenset({Cause.PROFILE}),
    "autre-cle-dn-intermediaire": frozenset({Cause.ISSUER, Cause.CRYPTO}),
    "chaine-desordre": frozenset(),
    "chaine-certificat-etranger": frozenset(),
    **{
        d: _SUBJECT
        for d in (
            "mauvais-cn",
            "mauvais-ou",
            "cn-casse",
            "cn-espace-debut",
            "cn-espace-fin",
            "cn-prefixe",
            "cn-suffixe",
            "deux-cn",
            "nom-dans-san",
            "ou-contient",
            "ou-prefixe",
            "ou-suffixe",
            "ou-espace-debut",
            "ou-espace-fin",
            "deux-ou",
            "mauvais-o",
            "ordre-rdn",
        )
    },
}


def _describe(attempt: Attempt) -> str:
    facts = [f"outcome={attempt.outcome.value}"]
    if attempt.tls_negotiated:
        facts.append(f"tls={attempt.tls_negotiated}")
    if attempt.alert:
        facts.append(f"alert={attempt.alert}")
    if attempt.http_status is not None:
        facts.append(f"http={attempt.http_status}")
    return f"{', '.join(facts)}: {attempt.reason}"


def _require_not_silent(attempt: Attempt) -> None:
    if silent(attempt):
        raise TargetUnreachable(
            f"the target never answered in TLS, no verdict ({_describe(attempt)})",
            target=attempt.target,
            why=attempt.reason,
        )


def require_usable(attempt: Attempt) -> None:
    """Raise a ``VerdictUnavailable`` when the attempt says nothing about the target's policy."""
    if attempt.outcome is Outcome.UNREACHABLE:
        raise TargetUnreachable(
            f"target unreachable, no verdict ({_describe(attempt)})", target=attempt.target, why=attempt.reason
        )
    if attempt.outcome is Outcome.NO_ANSWER:
        seconds = attempt.duration_ms / 1000
        raise NoAnswer(
            f"no answer within {seconds:.1f} s on an open connection, no verdict for this call "
            f"({_describe(attempt)})"
        )
    if attempt.outcome is Outcome.PROBE_FAULT:
        raise ProbeFault(f"the probe failed on its own side, no verdict ({_describe(attempt)})")


def require_control(control: Attempt) -> None:
    """The positive control must have been accepted with a FHIR answer.

    A control that never reached the target makes the scenario's verdict "unreachable", not "control
    not passed": the run verdict must send the editor to the URL and the IP filter, not to its policy.
    """
    if silent(control):
        raise TargetUnreachable(
            f"the positive control got no answer from the target, no verdict ({_describe(control)})",
            target=control.target,
            why=control.reason,
        )
    try:
        require_usable(control)
        require_fhir_acceptance(control)
    except (AssertionError, ProbeFault, NoAnswer) as exc:
        raise ControlNotPassed(
            f"positive control did not pass on this target and flow, so no refusal can be trusted: {exc}"
        ) from None


def require_cause(attempt: Attempt, defects: Iterable[Cause] | None) -> None:
    """A refusal whose alert or status names a cause the presented certificate does not have proves
    nothing about the claim: ``WrongCause``. ``defects`` is what is wrong with that certificate (the
    look-alike catalogue knows; for the editor's own certificate, what the suite proved at load);
    ``None`` when nothing is known, in which case no cause is ruled out."""
    if defects is None:
        return
    has = frozenset(defects)
    named: frozenset[Cause] | None = None
    source = ""
    if attempt.outcome is Outcome.REFUSED_TLS and attempt.alert in ALERT_CAUSES:
        named, source = ALERT_CAUSES[attempt.alert], f"the TLS alert {attempt.alert}"
    elif attempt.outcome is Outcome.REFUSED_HTTP and attempt.http_status in HTTP_CAUSES:
        named, source = HTTP_CAUSES[attempt.http_status], f"HTTP {attempt.http_status}"
    if named is None or named & has:
        return
    wrong = "no certificate sent" if not named else " or ".join(sorted(c.value for c in named))
    actual = ", ".join(sorted(c.value for c in has)) or "rien (certificat valide)"
    raise WrongCause(
        f"refused, but {source} names another cause ({wrong}) than what is wrong with the certificate "
        f"presented ({actual}): this refusal proves nothing about the check the scenario claims, no verdict"
    )


def require_refusal(attempt: Attempt, *, control: Attempt, defects: Iterable[Cause] | None = None) -> str:
    """A negative check: the target really refused, for a cause the certificate has, and was shown up
    and accepting in this run."""
    require_control(control)
    require_usable(attempt)
    if not attempt.outcome.is_refusal:
        raise AssertionError(f"the target did not refuse ({_describe(attempt)})")
    require_cause(attempt, defects)
    return f"refused ({_describe(attempt)}); positive control accepted with HTTP {control.http_status}"


def require_fhir_acceptance(attempt: Attempt) -> str:
    """A positive check: a 2xx FHIR answer."""
    require_usable(attempt)
    if attempt.outcome is not Outcome.ACCEPTED:
        if attempt.outcome is Outcome.REFUSED_TLS and attempt.tls_negotiated and attempt.alert in (
            None,
            CONNECTION_CLOSED,
        ):
            raise AssertionError(
                "the handshake completed, then the server closed the connection without any HTTP answer "
                f"to a call it must accept ({_describe(attempt)})"
            )
        raise AssertionError(f"the target refused a call it must accept ({_describe(attempt)})")
    status = attempt.http_status or 0
    if not 200 <= status < 300:
        raise AssertionError(f"accepted at TLS level but no successful FHIR answer ({_describe(attempt)})")
    media = (attempt.content_type or "").split(";", 1)[0].strip().lower()
    if media not in FHIR_MEDIA_TYPES:
        raise AssertionError(f"answer is not FHIR JSON (Content-Type {attempt.content_type!r})")
    return f"accepted ({_describe(attempt)})"


def _require_answered(bare: Attempt) -> None:
    """The bare call of the reachability control reached the server's TLS layer (a stall after the
    handshake still proves that; the CertificateRequest was read on its own handshake)."""
    _require_not_silent(bare)
    if bare.outcome is Outcome.PROBE_FAULT:
        require_usable(bare)


def require_certificate_request(reach: Reachability) -> str:
    """The reachability control: the server answered TLS and asked for a client certificate."""
    _require_answered(reach.bare)
    info = reach.request
    if not info.requested:
        raise AssertionError(
            f"the server completed a handshake without asking for a client certificate ({info.evidence})"
        )
    return f"client certificate requested ({info.evidence}); CA names: {len(info.ca_names)}"


def require_refusal_after_reachability(
    attempt: Attempt, *, reach: Reachability, defects: Iterable[Cause] | None = None
) -> str:
    """A negative check on a server that trusts the real IGC chain: gated on the reachability control."""
    _require_answered(reach.bare)
    try:
        require_certificate_request(reach)
    except (AssertionError, ProbeFault) as exc:
        raise ControlNotPassed(
            f"reachability control did not pass on this target, so no refusal can be trusted: {exc}"
        ) from None
    require_usable(attempt)
    if not attempt.outcome.is_refusal:
        raise AssertionError(f"the target did not refuse ({_describe(attempt)})")
    require_cause(attempt, defects)
    return f"refused ({_describe(attempt)}); reachability control: {reach.request.evidence}"


def require_ca_names(reach: Reachability, *, intermediate_name: str, intermediate_subject: str) -> str:
    """The CertificateRequest names the environment's IGC intermediate (so a client picks the right
    certificate), after the reachability control passed."""
    require_certificate_request(reach)
    names = reach.request.ca_names
    if intermediate_subject not in names:
        raise AssertionError(
            f"the CertificateRequest does not name {intermediate_name} ({intermediate_subject}); "
            f"it names {list(names)}"
        )
    return f"{intermediate_name} named among {len(names)} CA name(s)"


def require_no_ca_names_of(reach: Reachability, others: Mapping[str, str]) -> str:
    """No CA of the other hierarchy is named (``others``: CA name → subject)."""
    require_certificate_request(reach)
    listed = [name for name, subject in others.items() if subject in reach.request.ca_names]
    if listed:
        raise AssertionError(f"the CertificateRequest also names the other hierarchy: {', '.join(listed)}")
    return "no CA of the other hierarchy named"


def require_server_certificate(bare: Attempt) -> str:
    """The editor's server certificate verified for its host name, and its chain sent in order."""
    _require_not_silent(bare)
    if bare.outcome is Outcome.PROBE_FAULT:
        raise AssertionError(f"the server certificate could not be verified: {bare.reason}")
    chain = bare.server_chain
    if not chain:
        raise AssertionError("the server sent no certificate the probe could read")
    for child, parent in itertools.pairwise(chain):
        if child["issuer"] != parent["subject"]:
            raise AssertionError(
                f"the chain sent is out of order: {child['subject']} is not issued by {parent['subject']}"
            )
    return f"verified for the host name; {len(chain)} certificate(s) sent, in order"


def require_server_certificate_lifetime(bare: Attempt, *, days: int, now: dt.datetime | None = None) -> str:
    """The editor's server certificate stays valid more than ``days`` days."""
    _require_answered(bare)
    chain = bare.server_chain
    if not chain:
        raise AssertionError("the server sent no certificate the probe could read")
    not_after = dt.datetime.fromisoformat(chain[0]["not_after"])
    left = not_after - (now or dt.datetime.now(dt.UTC))
    if left < dt.timedelta(days=days):
        raise AssertionError(f"the server certificate expires in {left.days} day(s), on {not_after.date()}")
    return f"valid until {not_after.date()} ({left.days} days)"


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def require_ip_allowed(egress: str, networks: Iterable[IpNetwork], *, editor_env: str, ans_env: str) -> str:
    """SAS's egress address for the ANS environment is in the editor's declared allow-list."""
    address = ipaddress.ip_address(egress)
    if not any(address in net for net in networks):
        raise AssertionError(
            f"SAS's {ans_env} egress IP {address} is not in the declared allow-list of {editor_env}"
        )
    return f"{address} is in the allow-list of {editor_env}"


def require_ip_filter_enforced(local_address: str | None, result: str, networks: Iterable[IpNetwork]) -> str:
    """A server that answered an address outside its allow-list does not enforce it. Silence proves
    nothing (filtered or down), and an address inside the list teaches nothing: both are ``None`` verdicts
    the step reports as skipped; this function only fails or returns the skip reason."""
    if local_address is None:
        return f"the server gave no answer ({result}): filtered or down, the suite cannot tell which"
    address = ipaddress.ip_address(local_address)
    if any(address in net for net in networks):
        return f"the suite's own address {address} is in the allow-list: nothing to learn"
    raise AssertionError(
        f"the server accepted a TCP connection from {address}, which is not in the declared allow-list: "
        "the IP filter is not enforced in front of this endpoint"
    )


CHAIN_REFUSAL_STATUSES = frozenset({400, 495, 496})


def require_chain_refusal_after_reachability(
    attempt: Attempt, *, reach: Reachability, defects: Iterable[Cause] | None = None
) -> str:
    """A refusal that must come from certificate verification, not from the subject check.

    With a real chain, the certificates the suite holds (the editor's own) never carry SAS's subject,
    so a 401/403 may only mean "wrong subject" and would pass for the wrong reason. Only a TLS refusal,
    or an HTTP answer that reports a certificate-verification failure (nginx: 400/495/496), counts.
    """
    verdict = require_refusal_after_reachability(attempt, reach=reach, defects=defects)
    if attempt.outcome is Outcome.REFUSED_HTTP and attempt.http_status not in CHAIN_REFUSAL_STATUSES:
        raise AssertionError(
            f"refused only by the application (HTTP {attempt.http_status}) after the TLS layer accepted this "
            "certificate's chain: a refusal on the subject proves nothing about the chain check"
        )
    return verdict


def require_version_not_negotiated(attempt: Attempt, version: str) -> None:
    """A legacy version is refused only if the handshake at that version did not complete."""
    if attempt.tls_negotiated == version:
        raise AssertionError(
            f"the server completed a {version} handshake (refused later at HTTP level: {attempt.http_status}); "
            f"{version} must be refused during the handshake"
        )


def require_version_refused_in_handshake(
    attempt: Attempt, version: str, *, control: Attempt | None = None, reach: Reachability | None = None
) -> str:
    """A TLS version (``TLSv1``…) is refused during the handshake: the claim of a version scenario.

    Three rules, in this order, so none can pass for the wrong reason: the probe proves from its own
    ClientHello that it offered ``version`` (a probe that could not offer it is no refusal: no verdict);
    the target refused, gated on the positive control (look-alike target) or the reachability control
    (real chain); and no handshake completed at ``version`` before a later HTTP refusal.
    """
    if (control is None) == (reach is None):
        raise TypeError("give exactly one of control (look-alike target) or reach (real IGC chain)")
    require_usable(attempt)
    if attempt.client_hello_version != version:
        raise ProbeFault(
            f"the probe meant to offer {version} but its ClientHello said {attempt.client_hello_version!r}"
        )
    if control is not None:
        verdict = require_refusal(attempt, control=control)
    else:
        assert reach is not None
        verdict = require_refusal_after_reachability(attempt, reach=reach)
    require_version_not_negotiated(attempt, version)
    return f"{version} offered by the probe's ClientHello, not negotiated; {verdict}"
