"""Verdict rules of the functional slot-aggregation checks: what the editor's answer to SAS's search says.

Every rule is gated like ``server.rules``: the positive control for the same target, flow and ANS
environment must have been accepted (``rules.require_control``), and the attempt must be usable (a
target down or stalling is no verdict). Then the answer is judged: ``AssertionError`` names each
finding with its profile's canonical URL, its element path and the entry's ``fullUrl``; an engine that
raised on the answer is ``ProbeFault`` (no verdict), never a pass.

Findings are split into groups (``GROUPS``), one scenario each, so that one defect fails exactly the
scenarios about it: the profile scenarios take what is left of their profile's findings once the
dedicated groups (status, window, references…) have taken theirs.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from recette_sas.errors import ProbeFault
from recette_sas.fhir.findings import Finding
from recette_sas.fhir.profiles import ALL, PROFILES
from recette_sas.fhir.validation import bundle_self_link_matches, validate_bundle
from recette_sas.server.flows import SlotSearch
from recette_sas.server.rules import FHIR_MEDIA_TYPES, require_control, require_usable
from recette_sas.verdict import Attempt

PROFILE_URLS = {p.name: p.url for p in ALL if p.resource_type != "Appointment" and p.name != "FrPractitionerRegul"}
"""Profile name (as the scenarios write it) -> canonical URL, for every slot-search profile of the three use cases."""

GROUPS: dict[str, frozenset[str]] = {
    "statut": frozenset({"FHIR-SLOT-STATUS", "FHIR-SLOT-CPTS-STATUS", "FHIR-SLOT-SOS-STATUS"}),
    "début avant fin": frozenset({"FHIR-SLOT-START-END"}),
    "fenêtre": frozenset({"FHIR-SLOT-WINDOW"}),
    "passé": frozenset({"FHIR-SLOT-PAST"}),
    "URL de prise de RDV": frozenset({"FHIR-SLOT-BOOKING-URL"}),
    "type de créneau": frozenset({"FHIR-SLOT-SECURITY", "FHIR-SLOT-CPTS-SECURITY", "FHIR-SLOT-SOS-SECURITY"}),
    "type de consultation": frozenset(
        {"FHIR-SLOT-SERVICETYPE", "FHIR-SLOT-CPTS-SERVICETYPE", "FHIR-SLOT-SOS-SERVICETYPE"}
    ),
    "format des dates": frozenset({"FHIR-SLOT-DATE-FORMAT"}),
    "références": frozenset(
        {
            "FHIR-BUNDLE-SLOT-SCHEDULE",
            "FHIR-BUNDLE-SCHEDULE-ACTOR",
            "FHIR-BUNDLE-SCHEDULE-ACTORS",
            "FHIR-BUNDLE-ROLE-PRACTITIONER",
            "FHIR-BUNDLE-SOS-SLOT-SCHEDULE",
            "FHIR-BUNDLE-SOS-SCHEDULE-LOCATION",
            "FHIR-BUNDLE-SOS-LOCATION-ORGANIZATION",
        }
    ),
    "entrées orphelines": frozenset({"FHIR-BUNDLE-UNREFERENCED"}),
    "lien self": frozenset({"FHIR-BUNDLE-SELF-LINK"}),
    "HealthcareService inclus": frozenset({"FHIR-BUNDLE-CPTS-SERVICE-INCLUDED"}),
    "Organization incluse": frozenset({"FHIR-BUNDLE-CPTS-ORGANIZATION-INCLUDED"}),
    "créneaux des agendas": frozenset({"FHIR-BUNDLE-SOS-SCHEDULE-SLOTS"}),
}
SLOT_GROUPS = frozenset(
    {
        "statut", "début avant fin", "fenêtre", "passé", "URL de prise de RDV", "type de créneau",
        "type de consultation", "format des dates",
    }
)  # fmt: skip
"""Groups about the Slots: an answer to the standard search without any Slot cannot pass them (nothing judged)."""
SEARCHSET = frozenset({"FHIR-BUNDLE-TYPE", "FHIR-BUNDLE-TOTAL"})
"""Judged by ``require_searchset`` (SRV-FHIR-REPONSE-01), not again by the Bundle profile scenario."""
DEDICATED = frozenset().union(*GROUPS.values(), SEARCHSET)


@dataclass(frozen=True)
class SearchAnswer:
    """One slot search and what came back, parsed and validated once."""

    search: SlotSearch
    attempt: Attempt
    use_case: str = "ps-indiv"

    @property
    def text(self) -> str | None:
        try:
            return self.attempt.body.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def bundle(self) -> dict[str, Any]:
        """The Bundle, or ``AssertionError`` saying why the answer is not one."""
        if self.attempt.http_status != 200:
            raise AssertionError(
                f"HTTP {self.attempt.http_status} to SAS's slot search (200 expected): {self.attempt.body_excerpt}"
            )
        text = self.text
        if text is None:
            raise AssertionError("the body is not UTF-8: no FHIR JSON reader can take it")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise AssertionError(f"the body is not valid JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
            found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
            raise AssertionError(f"the answer is a {found!r}, not a Bundle")
        return data

    def findings(self) -> list[Finding]:
        cached: list[Finding] | None = self.__dict__.get("_findings")
        if cached is None:
            bundle = self.bundle()
            try:
                cached = validate_bundle(
                    bundle, use_case=self.use_case, window=self.search.window, now=self.search.window[0]
                )
            except Exception as exc:  # the engine could not judge: no verdict
                raise ProbeFault(f"the FHIR validation engine failed on this answer: {exc!r}") from exc
            object.__setattr__(self, "_findings", cached)
        return cached


def _gate(control: Attempt, answer: SearchAnswer) -> None:
    require_control(control)
    require_usable(answer.attempt)


def describe(findings: Iterable[Finding]) -> str:
    """One line per finding: profile URL, element path, fullUrl, rule id, message."""
    return "\n".join(
        f"- [{f.rule_id}] {f.profile} · {f.path} · {f.full_url or '(pas de fullUrl)'} : {f.message}"
        for f in findings
    )


def _fail_on(findings: list[Finding], what: str) -> str:
    if findings:
        raise AssertionError(f"{len(findings)} constat(s) {what} :\n{describe(findings)}")
    return f"aucun constat {what}"


def require_searchset(answer: SearchAnswer, *, control: Attempt, total: int | None = None) -> str:
    """200, a ``searchset`` Bundle with an integer ``total`` (and that total when given)."""
    _gate(control, answer)
    bundle = answer.bundle()
    if bundle.get("type") != "searchset":
        raise AssertionError(f"Bundle.type is {bundle.get('type')!r}, not 'searchset'")
    if not isinstance(bundle.get("total"), int) or isinstance(bundle.get("total"), bool):
        raise AssertionError("Bundle.total is missing (the IG: 'Le service indique le total trouvé')")
    if total is not None and bundle["total"] != total:
        raise AssertionError(f"Bundle.total is {bundle['total']}, {total} expected")
    return f"searchset Bundle, total {bundle['total']}"


def require_fhir_content_type(answer: SearchAnswer, *, control: Attempt) -> str:
    """A FHIR JSON media type, and no charset other than UTF-8."""
    _gate(control, answer)
    value = answer.attempt.content_type or ""
    media, _, params = value.partition(";")
    if media.strip().lower() not in FHIR_MEDIA_TYPES:
        raise AssertionError(f"Content-Type {value!r} is not FHIR JSON ({' or '.join(FHIR_MEDIA_TYPES)})")
    charset = re.search(r"charset\s*=\s*\"?([^;\" ]+)", params, re.I)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise AssertionError(f"Content-Type {value!r} declares charset {charset.group(1)}: FHIR JSON is UTF-8")
    return f"Content-Type {value}"


_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]")


def require_utf8(answer: SearchAnswer, *, control: Attempt) -> str:
    """The body is UTF-8 and its accents survive (no double encoding)."""
    _gate(control, answer)
    text = answer.text
    if text is None:
        raise AssertionError("the body is not valid UTF-8 (ANS's kit crashed on such bodies)")
    found = _MOJIBAKE.search(text)
    if found:
        raise AssertionError(f"the body's accents were encoded twice: {found.group(0)!r} near offset {found.start()}")
    accents = sum(1 for c in text if ord(c) > 127)
    return f"UTF-8 body, {accents} non-ASCII character(s) intact"


def require_structure(answer: SearchAnswer, *, control: Attempt) -> str:
    _gate(control, answer)
    found = [f for f in answer.findings() if f.rule_id.startswith("FHIR-BASE-") and f.blocking]
    return _fail_on(found, "de structure FHIR R4")


def _of_type(bundle: dict[str, Any], resource_type: str) -> int:
    """How many resources of ``resource_type`` the Bundle carries (entries and their contained resources)."""
    count = 0
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        count += resource.get("resourceType") == resource_type
        contained = resource.get("contained")
        count += sum(
            1 for c in (contained if isinstance(contained, list) else []) if isinstance(c, dict) and c.get("resourceType") == resource_type
        )
    return count


def require_profile(answer: SearchAnswer, profile: str, *, control: Attempt) -> str:
    """The blocking findings of one profile, but those a dedicated scenario judges.

    A profile none of whose resources is in the answer fails, in every use case: the answer to the standard
    search must carry each ("every Schedule conforms" is no verdict when there is none, e.g. an editor that
    ignores ``_include``)."""
    _gate(control, answer)
    url = PROFILE_URLS[profile]
    found = [
        f
        for f in answer.findings()
        if f.profile == url and f.blocking and f.rule_id not in DEDICATED and not f.rule_id.startswith("FHIR-BASE-")
    ]
    resource_type = PROFILES[url].resource_type
    if resource_type != "Bundle" and not _of_type(answer.bundle(), resource_type):
        raise AssertionError(
            f"aucune ressource {resource_type} dans la réponse : le profil {url} ne peut pas être tenu pour respecté "
            "(la recherche des identifiants de test doit en ramener)"
        )
    return _fail_on(found, f"du profil {url}")


def require_no_group(answer: SearchAnswer, group: str, *, control: Attempt) -> str:
    _gate(control, answer)
    found = [f for f in answer.findings() if f.rule_id in GROUPS[group]]
    if not found and group in SLOT_GROUPS and not _of_type(answer.bundle(), "Slot"):
        raise AssertionError(
            f"aucun Slot dans la réponse : « {group} » ne peut pas être tenu pour respecté "
            "(chaque identifiant de test doit avoir des créneaux libres dans les 72 h)"
        )
    return _fail_on(found, f"« {group} »")


def require_hygiene(answer: SearchAnswer, *, control: Attempt) -> str:
    """The advisory findings no dedicated scenario judges (preferred bindings, hygiene)."""
    _gate(control, answer)
    found = [f for f in answer.findings() if not f.blocking and f.rule_id not in DEDICATED]
    return _fail_on(found, "recommandé")


def require_self_link(answer: SearchAnswer, *, control: Attempt) -> str:
    _gate(control, answer)
    finding = bundle_self_link_matches(answer.bundle(), answer.search.request.path)
    if finding is not None and finding.blocking:
        raise AssertionError(describe([finding]))
    return "the self link carries the request's parameters"


def _identified(bundle: dict[str, Any], use_case: str) -> dict[str, set[str]]:
    """Identifier value -> ids of the entries carrying it: Practitioners (RPPS), or for SOS the associations'
    Organizations (SIRET)."""
    resource_type = "Organization" if use_case == "sos" else "Practitioner"
    found: dict[str, set[str]] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == resource_type:
            for ident in resource.get("identifier") or []:
                if isinstance(ident, dict) and isinstance(ident.get("value"), str):
                    found.setdefault(ident["value"], set()).add(str(resource.get("id")))
    return found


def _noun(use_case: str) -> str:
    """What the use case's test identifiers name: SOS Médecins associations, else practitioners."""
    return "association" if use_case == "sos" else "practitioner"


def require_each_answered(answer: SearchAnswer, wanted: Sequence[str], *, control: Attempt) -> str:
    """Every practitioner (SOS: association) asked for, who has slots in the window, is in the answer."""
    _gate(control, answer)
    present = _identified(answer.bundle(), answer.use_case)
    missing = [ident for ident in wanted if ident not in present]
    if missing:
        raise AssertionError(
            f"{len(missing)} {_noun(answer.use_case)}(s) asked for are not in the answer: {', '.join(missing)} "
            f"(each test {_noun(answer.use_case)} needs free slots in the next 72 h)"
        )
    return f"{len(wanted)} {_noun(answer.use_case)}(s) answered"


def require_only(answer: SearchAnswer, wanted: Sequence[str], *, control: Attempt) -> str:
    """No practitioner (SOS: association) but those asked for: the identifiers filter the search."""
    _gate(control, answer)
    others = sorted(set(_identified(answer.bundle(), answer.use_case)) - set(wanted))
    if others:
        raise AssertionError(f"the answer carries {_noun(answer.use_case)}(s) not asked for: {', '.join(others)}")
    return f"only {', '.join(wanted)} answered"


def require_fast(answers: Sequence[SearchAnswer], *, control: Attempt, limit_ms: float = 1000.0) -> str:
    """ANS's performance test: the median of several searches is under 1 s."""
    for answer in answers:
        _gate(control, answer)
        if answer.attempt.http_status != 200:
            raise AssertionError(f"HTTP {answer.attempt.http_status} to SAS's slot search (200 expected)")
    times = [a.attempt.duration_ms for a in answers]
    median = statistics.median(times)
    shown = ", ".join(f"{t:.0f}" for t in times)
    if median >= limit_ms:
        raise AssertionError(f"median {median:.0f} ms over {len(times)} searches ({shown} ms): 1 s at most")
    return f"median {median:.0f} ms over {len(times)} searches ({shown} ms)"


def require_bad_request(answer: SearchAnswer, *, control: Attempt) -> str:
    """A malformed search gets 400 and an OperationOutcome (HTTP 400 counts as usable here)."""
    require_control(control)
    require_usable(answer.attempt)
    status = answer.attempt.http_status
    if status != 400:
        raise AssertionError(f"HTTP {status} to a malformed search (400 with an OperationOutcome expected)")
    try:
        data = json.loads(answer.attempt.body.decode("utf-8"))
    except ValueError:
        raise AssertionError("HTTP 400 without a JSON OperationOutcome") from None
    if not isinstance(data, dict) or data.get("resourceType") != "OperationOutcome":
        raise AssertionError("HTTP 400 without an OperationOutcome")
    return "HTTP 400 with an OperationOutcome"
