"""Verdict rules of the client role: what the mock SAS recorded, judged against the spec.

``AssertionError`` means the editor's client is non-conformant (Allure *failed*);
``VerdictUnavailable`` means the run could not judge (Allure *broken*): nothing of the flow arrived,
no certificate to judge, revocation not reachable, or, for a hostile platform, the positive control
(the same client against the normal mock, same run) delivered nothing, so silence proves nothing.

Which requests belong to which flow: the creation flow is everything up to and including the
first POST (the creation); the update flow is everything after it. So a client that updates
with the wrong method still has its update judged on its certificate and TLS, and the flow
scenarios say what is wrong with it.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from recette_sas.client.mock import ACCEPTED_BODY_TYPES, Presentation, appointment_problems, identifier_tokens
from recette_sas.environments import Hierarchy
from recette_sas.errors import NotVerifiable
from recette_sas.identity import ocsp_url, signed_by
from recette_sas.pki import revocation
from recette_sas.pki.certcheck import CA_NAMES, intermediate_dn, validity_findings
from recette_sas.pki.profile import profile_findings
from recette_sas.verdict import Attempt, Outcome, VerdictUnavailable

FLOW_CREATION = "creation_rdv"
FLOW_UPDATE = "maj_rdv"
FLOW_WORDS = {FLOW_CREATION: "creation", FLOW_UPDATE: "update"}
MODERN_TLS = ("TLSv1.2", "TLSv1.3")


class ExchangeLike(Protocol):
    """What the rules need of an exchange (``client_drivers.Exchange``)."""

    @property
    def presentations(self) -> tuple[Presentation, ...]: ...

    @property
    def label(self) -> str: ...


# -- flows ---------------------------------------------------------------------------------------------


def requests(exchange: ExchangeLike) -> tuple[Presentation, ...]:
    """The presentations that carried an HTTP request, in arrival order."""
    return tuple(p for p in exchange.presentations if p.request is not None)


def creation_of(exchange: ExchangeLike) -> Presentation | None:
    return next((p for p in requests(exchange) if p.request is not None and p.request.method == "POST"), None)


def flow_requests(exchange: ExchangeLike, flow: str) -> tuple[Presentation, ...]:
    """The requests of ``flow`` (see the module docstring)."""
    received = requests(exchange)
    creation = creation_of(exchange)
    cut = received.index(creation) + 1 if creation is not None else len(received)
    if flow == FLOW_CREATION:
        return received[:cut]
    if flow == FLOW_UPDATE:
        return received[cut:]
    raise ValueError(f"unknown client flow {flow!r}")


def _received(exchange: ExchangeLike) -> str:
    lines = [p.request.line() for p in requests(exchange) if p.request is not None]
    return ", ".join(lines) if lines else "nothing"


def require_flow(exchange: ExchangeLike, flow: str) -> tuple[Presentation, ...]:
    found = flow_requests(exchange, flow)
    if not found:
        raise VerdictUnavailable(
            f"no {FLOW_WORDS.get(flow, flow)} request reached the mock platform ({exchange.label}; received: "
            f"{_received(exchange)}): nothing to judge here, the flow scenarios say what went wrong"
        )
    return found


def _leaves(exchange: ExchangeLike, flow: str) -> list[tuple[Presentation, x509.Certificate]]:
    """(presentation, leaf) for each request of the flow; no certificate means nothing to judge."""
    found = require_flow(exchange, flow)
    missing = [p for p in found if p.leaf is None]
    if missing:
        raise VerdictUnavailable(
            f"{len(missing)} {FLOW_WORDS.get(flow, flow)} request(s) came without a client certificate: nothing to "
            "judge here (the certificate-presence scenario fails)"
        )
    return [(p, p.leaf) for p in found if p.leaf is not None]


def _line(p: Presentation) -> str:
    return p.request.line() if p.request is not None else "(no request)"


# -- certificate presented ----------------------------------------------------------------------------


def require_certificate_each_request(exchange: ExchangeLike, flow: str) -> str:
    found = require_flow(exchange, flow)
    missing = [_line(p) for p in found if p.leaf is None]
    if missing:
        raise AssertionError(f"no client certificate presented on: {', '.join(missing)}")
    subjects = sorted({p.leaf.subject.rfc4514_string() for p in found if p.leaf is not None})
    return f"a client certificate on each of {len(found)} request(s): {'; '.join(subjects)}"


@dataclass(frozen=True)
class Anchors:
    """The CAs of the environment's hierarchy a client certificate must chain to.

    ``intermediates`` are ACI-EL-ORG(-TEST) certificates (the look-alike one, and the real one when
    the real IGC CAs are configured), ``roots`` the matching ACR-EL(-TEST); ``known`` holds every
    CA the suite knows (both hierarchies), used to find an issuer for revocation checks.
    ``authoritative`` says the anchors hold every genuine key behind these DNs (the look-alike world
    of the embedded client, or the real IGC Santé CAs configured): only then is a certificate that
    carries ACI-EL-ORG(-TEST)'s name under another key an impostor rather than a real certificate the
    suite cannot verify.
    """

    hierarchy: Hierarchy
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    known: tuple[x509.Certificate, ...] = ()
    authoritative: bool = True
    genuine: tuple[x509.Certificate, ...] = ()  # the real IGC Santé CAs configured (--igc-ca-dir)

    @property
    def name(self) -> str:
        return CA_NAMES[self.hierarchy]

    def issuer_of(self, leaf: x509.Certificate) -> x509.Certificate | None:
        """The environment intermediate that issued ``leaf`` (by name and signature), if any."""
        for inter in self.intermediates:
            if signed_by(leaf, inter) and any(signed_by(inter, root) for root in self.roots):
                return inter
        return None

    def any_issuer(
        self, leaf: x509.Certificate, sent: Sequence[x509.Certificate] = ()
    ) -> x509.Certificate | None:
        """Whichever known or sent CA issued ``leaf``: for revocation, whatever the hierarchy."""
        for candidate in (*self.intermediates, *self.known, *sent):
            if signed_by(leaf, candidate):
                return candidate
        return None


def require_issued_by_environment(exchange: ExchangeLike, flow: str, anchors: Anchors) -> str:
    problems = []
    for p, leaf in _leaves(exchange, flow):
        if anchors.issuer_of(leaf) is not None:
            continue
        hint = ""
        if leaf.issuer == intermediate_dn(anchors.hierarchy):
            if not anchors.authoritative:
                raise VerdictUnavailable(
                    f"{_line(p)}: issued in {anchors.name}'s name by a key the suite does not know: give the real "
                    "IGC Santé CA certificates (--igc-ca-dir) to verify its signature"
                )
            hint = f" (it carries {anchors.name}'s name, but {anchors.name}'s key did not sign it)"
        elif leaf.issuer == intermediate_dn(anchors.hierarchy.other):
            hint = f" ({CA_NAMES[anchors.hierarchy.other]}, the {anchors.hierarchy.other.value} hierarchy)"
        problems.append(f"{_line(p)}: issued by {leaf.issuer.rfc4514_string()}{hint}")
    if problems:
        raise AssertionError(
            f"the client certificate does not chain to {anchors.name} of the {anchors.hierarchy.value} hierarchy: "
            + "; ".join(problems)
        )
    return f"issued by {anchors.name} and chained to its root ({anchors.hierarchy.value} hierarchy)"


def require_chain_includes_intermediate(exchange: ExchangeLike, flow: str, anchors: Anchors) -> str:
    problems = []
    for p, leaf in _leaves(exchange, flow):
        issuer = anchors.any_issuer(leaf, p.chain[1:])
        sent = p.chain[1:]
        if issuer is None:
            if not any(c.subject == leaf.issuer for c in sent):
                problems.append(f"{_line(p)}: only the leaf was sent")
        elif not any(c == issuer for c in sent):
            problems.append(f"{_line(p)}: only the leaf was sent, without {issuer.subject.rfc4514_string()}")
    if problems:
        raise AssertionError(
            "the chain sent does not include the intermediate CA (a server that does not hold it refuses): "
            + "; ".join(problems)
        )
    return "the intermediate CA was sent with the leaf on each request"


def _assert_findings(
    exchange: ExchangeLike,
    flow: str,
    check: Callable[[x509.Certificate], list[Any]],
    levels: tuple[str, ...],
    what: str,
) -> str:
    problems: list[str] = []
    oks: set[str] = set()
    for _p, leaf in _leaves(exchange, flow):
        for finding in check(leaf):
            if finding.level in levels:
                problems.append(f"{finding.check}: {finding.message}")
            elif finding.level == "ok":
                oks.add(finding.message)
    if problems:
        raise AssertionError(f"{what}: " + "; ".join(dict.fromkeys(problems)))
    return "; ".join(sorted(oks)) or what


def require_auth_cli_profile(exchange: ExchangeLike, flow: str) -> str:
    return _assert_findings(exchange, flow, profile_findings, ("error",), "not an AUTH_CLI-like certificate")


def require_within_validity(exchange: ExchangeLike, flow: str, *, now: dt.datetime | None = None) -> str:
    return _assert_findings(
        exchange,
        flow,
        lambda c: [f for f in validity_findings(c, now=now) if f.check == "validity"],
        ("error",),
        "the client certificate is not within its validity period",
    )


def require_not_expiring_soon(exchange: ExchangeLike, flow: str, *, now: dt.datetime | None = None) -> str:
    return _assert_findings(
        exchange,
        flow,
        lambda c: validity_findings(c, now=now),
        ("error", "warning"),
        "the client certificate must be renewed",
    )


# -- revocation -------------------------------------------------------------------------------------------


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class RevocationChecker:
    """CRL first (the distribution point in the certificate), OCSP second, only where reachable.

    Without ``online``, only loopback URLs are fetched: the default run never leaves the machine
    (the look-alike leaves point at the suite's own publisher). Verdicts are cached per certificate.
    This is the client role's policy; whether a CRL or an OCSP answer proves anything is judged by
    ``pki/revocation.py``, as for the reference server.
    """

    online: bool = False
    fetch: revocation.Fetch = revocation.fetch
    _cache: dict[tuple[bytes, int], tuple[str, str]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def status(self, leaf: x509.Certificate, issuer: x509.Certificate) -> tuple[str, str]:
        """("good" | "revoked" | "unknown", how it was found out)."""
        key = (issuer.fingerprint(hashes.SHA256()), leaf.serial_number)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        result = self._status(leaf, issuer)
        if result[0] != "unknown":
            with self._lock:
                self._cache[key] = result
        return result

    def _allowed(self, url: str) -> bool:
        return url.startswith("http://") and (self.online or _is_loopback(url))

    def _status(self, leaf: x509.Certificate, issuer: x509.Certificate) -> tuple[str, str]:
        notes: list[str] = []
        for url in revocation.crl_urls(leaf):
            if not self._allowed(url):
                notes.append(f"CRL {url} not fetched (not loopback; online checks are off)")
                continue
            try:
                status = revocation.crl_status(leaf, issuer, revocation.parse_crl(self.fetch(url)))
            except (OSError, ValueError, http.client.HTTPException) as exc:
                notes.append(f"CRL {url}: {exc or type(exc).__name__}")
                continue
            except revocation.RevocationProblem as exc:
                notes.append(f"CRL {url}: {exc}")
                continue
            if status.state == "revoked":
                since = status.revoked_at.isoformat() if status.revoked_at else "an unknown date"
                return "revoked", f"listed in the CRL {url} since {since}"
            return "good", f"not listed in the CRL {url} (signed by the issuing CA, fresh)"
        responder = ocsp_url(leaf)
        if responder is not None and self._allowed(responder):
            try:
                answer = revocation.query_ocsp(responder, leaf, issuer, fetch=self.fetch).state
            except (OSError, ValueError, http.client.HTTPException) as exc:
                notes.append(f"OCSP {responder}: {exc or type(exc).__name__}")
            except revocation.RevocationProblem as exc:
                notes.append(f"OCSP {responder}: {exc}")
            else:
                if answer != "unknown":
                    return answer, f"OCSP {responder}: {answer}"
                notes.append(f"OCSP {responder}: the responder does not know this certificate")
        elif responder is not None:
            notes.append(f"OCSP {responder} not queried (not loopback; online checks are off)")
        return "unknown", "; ".join(notes) or "the certificate names no CRL and no OCSP responder"


def require_not_revoked(
    exchange: ExchangeLike, flow: str, anchors: Anchors, checker: RevocationChecker
) -> str:
    verdicts: list[str] = []
    for p, leaf in _leaves(exchange, flow):
        issuer = anchors.any_issuer(leaf, p.chain[1:])
        if issuer is None:
            raise VerdictUnavailable(
                f"revocation not checkable: the issuer of {leaf.subject.rfc4514_string()} is unknown"
            )
        status, how = checker.status(leaf, issuer)
        if status == "revoked":
            raise AssertionError(f"the client certificate {leaf.subject.rfc4514_string()} is revoked: {how}")
        if status == "unknown" and issuer in anchors.genuine:
            raise NotVerifiable(
                f"revocation of {leaf.subject.rfc4514_string()} not verifiable here: the IGC Santé's CRL and "
                f"OCSP are not reachable from this machine ({how})"
            )
        if status == "unknown":
            raise VerdictUnavailable(f"revocation status not obtained (no CRL or OCSP reachable): {how}")
        verdicts.append(how)
    return "; ".join(dict.fromkeys(verdicts))


# -- TLS -----------------------------------------------------------------------------------------------


def require_modern_tls(exchange: ExchangeLike, flow: str) -> str:
    found = require_flow(exchange, flow)
    old = [f"{_line(p)} in {p.tls_version}" for p in found if p.tls_version not in MODERN_TLS]
    if old:
        raise AssertionError(f"TLS older than 1.2 negotiated: {', '.join(old)}")
    return "negotiated " + ", ".join(sorted({f"{p.tls_version} ({p.cipher})" for p in found}))


def require_sni(exchange: ExchangeLike, flow: str, host: str, *, by_address: bool = False) -> str:
    """``by_address``: the client was given the mock's IP address (``{address_url}``), to which no SNI
    can be sent (RFC 6066): an absent SNI is then not verifiable here, a wrong one still fails."""
    found = require_flow(exchange, flow)
    if by_address and all(p.sni is None for p in found):
        raise NotVerifiable(
            f"SNI not verifiable here: the client was pointed at the address of the mock ({{address_url}}), "
            f"and an IP address carries no SNI; point it at {host} to verify it"
        )
    wrong = [f"{_line(p)}: SNI {p.sni!r}" for p in found if (p.sni or "").lower().rstrip(".") != host.lower()]
    if wrong:
        raise AssertionError(f"the SNI does not carry the SAS host name {host}: {', '.join(wrong)}")
    return f"SNI {host} on each request"


# -- the FHIR flows ------------------------------------------------------------------------------------------


def _body_problems(p: Presentation) -> list[str]:
    assert p.request is not None
    problems = []
    if p.request.media_type not in ACCEPTED_BODY_TYPES:
        problems.append(f"Content-Type {p.request.header('content-type')!r}, expected application/fhir+json")
    problems += appointment_problems(p.request.json())
    return problems


def require_creation(exchange: ExchangeLike) -> str:
    creation = creation_of(exchange)
    if creation is None or creation.request is None:
        raise AssertionError(
            f"no creation (POST [base]/Appointment) reached the platform; received: {_received(exchange)}"
        )
    request = creation.request
    problems = []
    if request.path != "/Appointment":
        problems.append(f"path {request.path!r}, expected /Appointment")
    problems += _body_problems(creation)
    if problems:
        raise AssertionError(f"{request.line()} (answered {creation.status}): " + "; ".join(problems))
    return f"{request.line()} with a valid Appointment, answered {creation.status}"


def update_of(exchange: ExchangeLike) -> Presentation | None:
    following = flow_requests(exchange, FLOW_UPDATE) if creation_of(exchange) is not None else ()
    return following[0] if following else None


def require_update(exchange: ExchangeLike) -> str:
    update = update_of(exchange)
    if update is None or update.request is None:
        raise AssertionError(
            f"no update (PUT [base]/Appointment?identifier=…) after the creation; received: {_received(exchange)}"
        )
    request = update.request
    problems = []
    if request.method != "PUT":
        problems.append(f"method {request.method}, expected PUT (conditional update)")
    if request.path != "/Appointment":
        problems.append(f"path {request.path!r}, expected /Appointment")
    designated = request.query_values("identifier")
    if len(designated) != 1 or not all(designated[0].partition("|")[::2]):
        problems.append(f"identifier search parameter {list(designated)!r}, expected one system|value")
    problems += _body_problems(update)
    if problems:
        raise AssertionError(f"{request.line()} (answered {update.status}): " + "; ".join(problems))
    return f"{request.line()} with a valid Appointment, answered {update.status}"


def require_update_designates_creation(exchange: ExchangeLike) -> str:
    creation, update = creation_of(exchange), update_of(exchange)
    if creation is None or creation.request is None:
        raise AssertionError(f"no creation reached the platform; received: {_received(exchange)}")
    if update is None or update.request is None:
        raise AssertionError(f"no update after the creation; received: {_received(exchange)}")
    created = identifier_tokens(creation.request.json())
    if not created:
        raise AssertionError("the creation carries no identifier the update could reuse")
    designated = update.request.query_values("identifier")
    if not designated or designated[0] not in created:
        raise AssertionError(
            f"the update designates {list(designated) or 'nothing'}, not the creation's identifier "
            f"{', '.join(created)} (answered {update.status})"
        )
    if designated[0] not in identifier_tokens(update.request.json()):
        raise AssertionError(
            f"the updated Appointment does not carry the identifier {designated[0]} it designates"
        )
    return f"the update designates the created appointment {designated[0]} (answered {update.status})"


# -- hostile platforms -----------------------------------------------------------------------------------


def require_control_delivered(control: ExchangeLike | None) -> str:
    if control is None:
        raise VerdictUnavailable("no positive control was run for this client")
    delivered = requests(control)
    if not delivered:
        raise VerdictUnavailable(
            f"positive control failed: the same client delivered no request to the normal mock platform "
            f"({control.label}), so its silence towards a hostile platform proves nothing"
        )
    return f"positive control delivered {len(delivered)} request(s) to the normal mock platform"


def require_no_request(exchange: ExchangeLike, control: ExchangeLike | None) -> str:
    """A negative: the client talked to the hostile platform (a handshake began) and sent it nothing."""
    control_note = require_control_delivered(control)
    received = requests(exchange)
    if received:
        lines = ", ".join(p.request.line() for p in received if p.request is not None)
        raise AssertionError(
            f"the client sent {len(received)} request(s) to the hostile platform ({exchange.label}): {lines}"
        )
    if not exchange.presentations:
        raise VerdictUnavailable(
            f"the client never connected to the hostile platform ({exchange.label}): no refusal observed"
        )
    how = "; ".join(
        dict.fromkeys(p.handshake_error or "closed without a request" for p in exchange.presentations)
    )
    return f"no request reached the hostile platform (client side: {how}); {control_note}"


# -- live -----------------------------------------------------------------------------------------------------


def require_live_acceptance(attempt: Attempt) -> str:
    """The real SAS platform completed the handshake and did not refuse the editor's certificate."""
    if attempt.outcome is Outcome.ACCEPTED:
        return f"handshake completed ({attempt.tls_negotiated}), HTTP {attempt.http_status}: not a certificate refusal"
    if attempt.outcome.is_refusal:
        what = f"alert {attempt.alert}" if attempt.alert else f"HTTP {attempt.http_status}"
        raise AssertionError(f"the SAS platform refused the editor's certificate ({what}: {attempt.reason})")
    raise VerdictUnavailable(f"no verdict on the live platform ({attempt.outcome.value}: {attempt.reason})")
