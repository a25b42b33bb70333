"""The reference server as a revocation-fault target: it fetches revocation data on every call.

The everyday reference loads its CRLs once (as nginx loads ``ssl_crl``) and caches good OCSP answers, so
a fault switched on at the publisher would change nothing it does. The revocation-fault scenarios need
a server that consults the publication point for each call: this one downloads the leaf's CRL from its
distribution point and asks the OCSP responder named in its AIA, every time, without a cache, and
decides as ``RevocationHabits`` say. The defaults are the right behaviour (both sources, hard fail: no
answer, no access); ``soft_fail`` is the "débrayage" a broken editor turned into a permanent bypass.

How a CRL or an OCSP answer is judged is ``pki/revocation.py``'s, as for every other check.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from recette_sas.identity import ocsp_url
from recette_sas.pki import revocation
from recette_sas.server.policy import OcspChecker, Policy
from recette_sas.server.reference import ReferenceServer

FETCH_TIMEOUT = 3.0


@dataclass(frozen=True)
class RevocationHabits:
    """What the fault target consults, and what it does when a source gives no usable answer."""

    crl: bool = True
    ocsp: bool = True
    soft_fail: bool = False

    @classmethod
    def of(cls, policy: Policy, *, soft_fail: bool = False) -> RevocationHabits:
        """The habits matching a reference policy: a variant that checks no CRL fetches none."""
        return cls(crl=policy.check_crl, ocsp=policy.check_ocsp, soft_fail=soft_fail)


_UNAVAILABLE = (OSError, http.client.HTTPException, ValueError, revocation.RevocationProblem)


class FetchingChecker(OcspChecker):
    """Plugs into the reference's application layer where its OCSP checker sits (``problem``)."""

    def __init__(self, habits: RevocationHabits, *, timeout: float = FETCH_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.habits = habits

    def problem(self, cert: x509.Certificate, issuer: x509.Certificate | None) -> str | None:
        if issuer is None:
            return "revocation: the issuing CA of the client certificate is unknown"
        unavailable: list[str] = []
        for source, check in (("CRL", self._crl), ("OCSP", self._ocsp)):
            try:
                state = check(cert, issuer)
            except _UNAVAILABLE as exc:
                unavailable.append(f"{source}: {exc or type(exc).__name__}")
                continue
            if state == "revoked":
                return f"{source}: client certificate status is revoked"
            if state not in ("good", "skipped"):
                unavailable.append(f"{source}: status {state}")
        if unavailable and not self.habits.soft_fail:
            return "revocation status unavailable, access refused (hard fail): " + "; ".join(unavailable)
        return None

    def _crl(self, cert: x509.Certificate, issuer: x509.Certificate) -> str:
        if not self.habits.crl:
            return "skipped"
        urls = revocation.crl_urls(cert)
        if not urls:
            raise ValueError("the client certificate names no CRL distribution point")
        crl = revocation.parse_crl(revocation.fetch(urls[0], timeout=self._timeout))
        return revocation.crl_status(cert, issuer, crl).state

    def _ocsp(self, cert: x509.Certificate, issuer: x509.Certificate) -> str:
        if not self.habits.ocsp:
            return "skipped"
        url = ocsp_url(cert)
        if url is None:
            raise ValueError("the client certificate names no OCSP responder")
        return revocation.query_ocsp(url, cert, issuer, timeout=self._timeout).state


class FetchingReferenceServer(ReferenceServer):
    """The reference with ``FetchingChecker`` in its application layer and no CRL loaded at TLS level."""

    def __init__(self, policy: Policy, habits: RevocationHabits, **kwargs: Any) -> None:
        import dataclasses

        # check_ocsp on: it is what makes the application layer ask the checker; the checker decides.
        fetching = dataclasses.replace(policy, check_crl=False, check_ocsp=True)
        super().__init__(fetching, **kwargs)
        self._ocsp = FetchingChecker(habits)
        self.habits = habits
