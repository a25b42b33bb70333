"""Verdict rules of the revocation faults and of the daily CRL refresh (advisory checks).

A fault scenario observes one target four times: the positive control (fault off, SAS's valid
certificate), a revoked certificate with the fault off (what the target does normally), then, with the
publisher's fault on, the valid certificate and the revoked one. What the target did under the fault is
one ``FaultBehaviour``; the verdict fails (advisory) only when the revoked certificate got in. Refusing
everyone (hard fail) and refusing only the revoked certificate (another source still answered, or a
cached CRL) both pass; the report says which, and whether OCSP was asked or a CRL fetched at all.

Nothing is judged on an attempt that proves nothing: a control that did not pass, a call without an
answer or a probe fault make the scenario "no verdict" (``rules.require_control`` / ``require_usable``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from recette_sas.server.rules import require_control, require_usable
from recette_sas.verdict import Attempt, Outcome


class FaultBehaviour(enum.StrEnum):
    REFUSES_EVERYONE = "refuse tout le monde"
    REFUSES_ONLY_REVOKED = "refuse seulement le certificat révoqué"
    ACCEPTS_EVERYONE = "accepte tout le monde, y compris le certificat révoqué"
    ACCEPTS_ONLY_REVOKED = "refuse le certificat valide mais accepte le certificat révoqué"


@dataclass(frozen=True)
class FaultObservation:
    """The attempts of one fault scenario and what the publisher was asked during the fault."""

    fault: str
    control: Attempt
    revoked_before: Attempt
    valid: Attempt
    revoked: Attempt
    valid_serial: int
    revoked_serial: int
    consultations: dict[str, dict[str, int]] = field(default_factory=dict)
    consultations_before: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultReport:
    """What the report and ``summary.json`` say about one fault on one target."""

    fault: str
    target: str
    behaviour: FaultBehaviour
    revoked_refused_without_fault: bool
    consulted_ocsp: bool
    fetched_crl: bool
    ocsp_requests: dict[str, int]
    crl_downloads: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "target": self.target,
            "behaviour": self.behaviour.name.lower(),
            "behaviour_words": self.behaviour.value,
            "revoked_refused_without_fault": self.revoked_refused_without_fault,
            "consulted_ocsp": self.consulted_ocsp,
            "fetched_crl": self.fetched_crl,
            "ocsp_requests": self.ocsp_requests,
            "crl_downloads": self.crl_downloads,
        }

    def sentence(self) -> str:
        consulted = "a interrogé l'OCSP" if self.consulted_ocsp else "n'a pas interrogé l'OCSP"
        fetched = "a téléchargé une CRL" if self.fetched_crl else "n'a téléchargé aucune CRL"
        return f"panne de révocation « {self.fault} » : le serveur {self.behaviour.value} ; il {consulted} et {fetched}"


def _refused(attempt: Attempt) -> bool:
    require_usable(attempt)
    return attempt.outcome.is_refusal


def observe_fault(observation: FaultObservation) -> FaultReport:
    """The target's behaviour under the fault; ``VerdictUnavailable`` when the attempts prove nothing."""
    require_control(observation.control)
    valid_refused = _refused(observation.valid)
    revoked_refused = _refused(observation.revoked)
    if valid_refused and revoked_refused:
        behaviour = FaultBehaviour.REFUSES_EVERYONE
    elif revoked_refused:
        behaviour = FaultBehaviour.REFUSES_ONLY_REVOKED
    elif valid_refused:
        behaviour = FaultBehaviour.ACCEPTS_ONLY_REVOKED
    else:
        behaviour = FaultBehaviour.ACCEPTS_EVERYONE
    before = observation.revoked_before
    serials = {f"{observation.valid_serial:x}", f"{observation.revoked_serial:x}"}
    ocsp = {s: n for s, n in observation.consultations.get("ocsp_requests", {}).items() if s in serials}
    crls = dict(observation.consultations.get("crl_downloads", {}))
    return FaultReport(
        fault=observation.fault,
        target=observation.valid.target,
        behaviour=behaviour,
        revoked_refused_without_fault=before.outcome.is_refusal,
        consulted_ocsp=bool(ocsp),
        fetched_crl=bool(crls),
        ocsp_requests=ocsp,
        crl_downloads=crls,
    )


def require_revoked_kept_out(report: FaultReport) -> str:
    """The advisory claim: whatever the fault, the revoked certificate did not get in."""
    if report.behaviour in (FaultBehaviour.ACCEPTS_EVERYONE, FaultBehaviour.ACCEPTS_ONLY_REVOKED):
        extra = (
            ""
            if report.revoked_refused_without_fault
            else " (il l'accepte aussi sans panne : il ne vérifie pas la révocation)"
        )
        raise AssertionError(f"{report.sentence()}{extra}")
    return report.sentence()


def require_sentinel_refused(attempt: Attempt, *, control: Attempt, revoked_at: str) -> str:
    """The daily refresh: a certificate revoked at the previous run is refused at this one."""
    require_control(control)
    require_usable(attempt)
    if attempt.outcome is Outcome.ACCEPTED or not attempt.outcome.is_refusal:
        raise AssertionError(
            f"le certificat sentinelle révoqué le {revoked_at} (exécution précédente) est encore accepté : "
            f"la CRL n'a pas été rafraîchie depuis ({attempt.reason})"
        )
    return (
        f"certificat sentinelle révoqué le {revoked_at} refusé : la CRL a été rafraîchie ({attempt.reason})"
    )
