"""Every negative scenario is shown to fail against a reference server that has the matching defect.

Each broken variant of the embedded reference server gets one thing wrong. The features run against it
in a separate pytest process; the test asserts the EXACT set of scenarios that fail (blocking), that
warn (advisory) and that cannot be judged (broken). Every other scenario must pass, which is how we show
that no negative passes for the wrong reason and no positive control silently breaks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import collected

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

# Check keys: the ``check`` field of each summary result (docs/requirements.toml ``checks``, plus the first
# Examples column for an outline); nothing here depends on a scenario's title.
CN = "SRV-CN-01"
OU = "SRV-OU-01"
CN_CASE = "REC-CN-CASSE-01"
NOT_IGC = "SRV-AC-IGC-01"
VALIDITY = "SRV-VALIDITE-01"
PROFILE = "REC-PROFIL-01"
CRYPTO = "REC-CRYPTO-01"
OLD_TLS = "SRV-TLS-02"
OTHER_ENV = "SRV-CORRESPONDANCE-01"  # refused where the editor environment does not serve the other one
OTHER_ENV_SERVED = "SRV-CORRESPONDANCE-02"  # accepted where it does (simplified mapping only)
HEADERS = "SRV-IDENTITE-TLS-01"
HEADERS_NO_CERT = "SRV-IDENTITE-TLS-02"
HEADER_FORMS = {f"SRV-IDENTITE-TLS-03[{f}]" for f in ("minuscules", "soulignes", "doubles")}
OU_CONTAINS = {f"SRV-OU-02[{d}]" for d in ("ou-contient", "ou-prefixe", "ou-suffixe", "deux-ou")}
OU_SPACES = {f"REC-OU-ESPACE-01[{d}]" for d in ("ou-espace-debut", "ou-espace-fin")}
CHAIN_CA = {
    f"SRV-CHAINE-VALIDE-01[{d}]"
    for d in (
        "intermediaire-expire",
        "intermediaire-pas-encore-valide",
        "intermediaire-revoque",
        "intermediaire-non-ca",
        "intermediaire-sans-keycertsign",
        "longueur-chemin",
    )
}
CHAIN_SIGNATURE = {
    f"SRV-CHAINE-VALIDE-02[{d}]" for d in ("signature-corrompue", "autre-cle-dn-intermediaire")
}
CRITICAL_EXT = "REC-EXTENSION-CRITIQUE-01[extension-critique-inconnue]"
WHOLE_SUBJECT = {f"REC-SUJET-EXACT-01[{d}]" for d in ("mauvais-o", "ordre-rdn")}
OTHER_H = "SRV-HIERARCHIE-01"
REVOKED = "SRV-REVOCATION-01"
REVOKED_OCSP = "REC-OCSP-01"

IGC_CN = "SRV-CN-02"
IGC_FORGED = {f"SRV-AC-IGC-02[{d}]" for d in ("auto-signe", "ac-imposteur")}
IGC_OTHER_H = "SRV-HIERARCHIE-03"
IGC_REVOKED = "SRV-REVOCATION-02"
IGC_CA_NAMES = "SRV-HIERARCHIE-02"
IGC_TLS = {f"SRV-TLS-03[TLS 1.{n}]" for n in (0, 1)}
SSL3 = "REC-SSL3-01"
FAULT = "REC-REVOCATION-PANNE-01"
CRL_FAULTS = {f"{FAULT}[{f}]" for f in ("crl-perimee", "crl-injoignable")}
OCSP_FAULTS = {
    f"{FAULT}[{f}]"
    for f in (
        "ocsp-hors-service",
        "ocsp-plus-tard",
        "ocsp-non-autorise",
        "ocsp-signataire-inconnu",
        "ocsp-perime",
    )
}
ALL_FAULTS = (
    CRL_FAULTS | OCSP_FAULTS
)  # a server that checks no revocation lets the revoked one in whatever fails
REFRESH = "REC-CRL-RAFRAICHIE-01"
NOT_TESTABLE_HERE = {  # SSL 3.0 left this set: the tlslite-ng probe offers it, so it is judged
    REFRESH,  # each pytester run starts without reports/crl-sentinel.json: a first run, judged next time
    "SRV-IP-01",  # no allow-list on the embedded targets
    "REC-IP-01",
    # read-back of regulator accounts: only where reads are exposed (read_back = true)
    *(f"REC-REGUL-RELECTURE-0{n}" for n in (1, 2, 3)),
}

CN_BLOCKING = {f"{CN}[{d}]" for d in ("mauvais-cn", "cn-prefixe", "cn-suffixe", "deux-cn", "nom-dans-san")}
CN_ADVISORY = {f"{CN_CASE}[{d}]" for d in ("cn-casse", "cn-espace-debut", "cn-espace-fin")}

# variant -> (blocking failures, advisory warnings)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "accepte-tout": (
        CN_BLOCKING
        | {f"{OU}[mauvais-ou]", OTHER_ENV, HEADERS, OTHER_H, REVOKED}
        | {f"{NOT_IGC}[{d}]" for d in ("auto-signe", "ac-imposteur", "ac-etrangere")}
        | {f"{VALIDITY}[{d}]" for d in ("expire", "pas-encore-valide")}
        | {IGC_CN, IGC_OTHER_H, IGC_REVOKED}
        | IGC_FORGED
        | OU_CONTAINS
        | HEADER_FORMS
        | CHAIN_CA
        | CHAIN_SIGNATURE,
        CN_ADVISORY
        | {CRITICAL_EXT}
        | OU_SPACES
        | WHOLE_SUBJECT
        | {REVOKED_OCSP}
        | ALL_FAULTS
        | {
            f"{PROFILE}[{d}]"
            for d in ("eku-serveur", "sans-signature-numerique", "feuille-ca", "signe-par-feuille")
        }
        | {f"{CRYPTO}[{d}]" for d in ("rsa-1024", "sha1")},
    ),
    "ignore-cn": (CN_BLOCKING | {HEADERS} | HEADER_FORMS, CN_ADVISORY),
    "ignore-ou": ({f"{OU}[mauvais-ou]"} | OU_CONTAINS, OU_SPACES),
    "sans-controle-sujet": (
        CN_BLOCKING | {f"{OU}[mauvais-ou]", OTHER_ENV, HEADERS, IGC_CN} | OU_CONTAINS | HEADER_FORMS,
        CN_ADVISORY | OU_SPACES | WHOLE_SUBJECT,
    ),
    "cn-sous-chaine": (
        {f"{CN}[cn-prefixe]", f"{CN}[cn-suffixe]"},
        CN_ADVISORY - {f"{CN_CASE}[cn-casse]"},
    ),
    "cn-insensible-casse": (set(), {f"{CN_CASE}[cn-casse]"}),
    "sans-revocation": (
        {REVOKED, IGC_REVOKED, "SRV-CHAINE-VALIDE-01[intermediaire-revoque]"},
        {REVOKED_OCSP} | ALL_FAULTS,
    ),
    "sans-ocsp": (set(), {REVOKED_OCSP}),
    "sans-profil": (set(), {f"{PROFILE}[feuille-ca]"}),
    "tls10": ({f"{OLD_TLS}[TLS 1.0]", f"{OLD_TLS}[TLS 1.1]"} | IGC_TLS, set()),
    "deux-hierarchies": ({OTHER_H, IGC_CA_NAMES, IGC_OTHER_H}, set()),
    "en-tetes-identite": (
        {HEADERS, "SRV-IDENTITE-TLS-03[minuscules]", "SRV-IDENTITE-TLS-03[soulignes]"},
        set(),
    ),
    "ou-sous-chaine": (OU_CONTAINS - {"SRV-OU-02[deux-ou]"}, OU_SPACES),
    "ou-sans-espaces": (set(), OU_SPACES),
    "ou-multiple": ({"SRV-OU-02[deux-ou]"}, set()),
    "cn-ou-seulement": (set(), WHOLE_SUBJECT),
    "en-tetes-sans-certificat": ({HEADERS_NO_CERT}, set()),
    "en-tetes-soulignes": ({"SRV-IDENTITE-TLS-03[soulignes]"}, set()),
    "en-tetes-premiere-occurrence": ({HEADERS} | HEADER_FORMS, set()),
    "chaine-ac-non-verifiee": (CHAIN_CA, set()),
    "signature-non-verifiee": ({"SRV-CHAINE-VALIDE-02[signature-corrompue]"}, set()),
    "extension-critique-ignoree": (set(), {CRITICAL_EXT}),
    "ssl3": (set(), {SSL3}),
    # CRL only and lets everyone in without one: the OCSP-only revocation and the CRL faults warn.
    "crl-seule-souple": (set(), {REVOKED_OCSP} | CRL_FAULTS),
    # OCSP only (no CRL at TLS level: the real-chain revocation is refused by the application only,
    # which proves nothing about the chain check) and lets everyone in without an OCSP answer.
    # With no CRL at all, the intermediate revoked in the root's CRL passes too (OCSP is asked for leaves).
    "ocsp-seul-souple": ({IGC_REVOKED, "SRV-CHAINE-VALIDE-01[intermediaire-revoque]"}, OCSP_FAULTS),
    # Its frozen CRL shows only across two runs (tests/test_crl_refresh.py); in one run it is "sans-ocsp".
    "crl-figee": (set(), {REVOKED_OCSP}),
}


def ans_env_of(result: dict[str, Any]) -> str:
    """The ANS environment parameter of a summary result (its identity is the ``check`` field)."""
    match = re.fullmatch(r".*::test_[^\[]+\[(?P<env>[a-z]+)-.*\]", result["test"])
    assert match, result["test"]
    return match["env"]


def run_suite(pytester: pytest.Pytester, pki_cache_dir: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    results = pytester.path / "reports" / "allure-results"
    outcome = pytester.runpytest_subprocess(
        str(ROOT / "features"),
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        f"--pki-cache={pki_cache_dir}",
        f"--alluredir={results}",
        "-q",
        "--tb=no",
        *args,
        timeout=600,
    )
    summary = json.loads((results.parent / "summary.json").read_text())
    return outcome, summary


def by_status(summary: dict[str, Any]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for result in summary["results"]:
        assert result["check"], result
        grouped.setdefault(result["status"], set()).add(result["check"])
    return grouped


@pytest.fixture(scope="module")
def warm_cache(pki_cache_dir: Path, pki: object) -> Path:
    return pki_cache_dir


def test_reference_passes_the_whole_server_matrix(pytester: pytest.Pytester, warm_cache: Path) -> None:
    outcome, summary = run_suite(pytester, warm_cache, "-m", "serveur")
    assert outcome.ret == 0, outcome.stdout.str()[-3000:]
    assert summary["verdict"] == "conforme"
    statuses = by_status(summary)
    assert set(statuses) == {"passed", "skipped"}
    assert statuses["skipped"] == NOT_TESTABLE_HERE
    # The whole server matrix ran: every collected scenario passed but those not testable here.
    assert summary["totals"]["passed"] == collected("-m", "serveur") - summary["totals"]["skipped"]
    assert {ans_env_of(r) for r in summary["results"]} == {
        "recette",
        "preproduction",
        "production",
    }


@pytest.mark.parametrize("variant", sorted(EXPECTED))
def test_each_broken_variant_is_caught_by_its_scenarios(
    pytester: pytest.Pytester, warm_cache: Path, variant: str
) -> None:
    outcome, summary = run_suite(
        pytester, warm_cache, "-m", "serveur and preproduction", f"--sas-reference-variant={variant}"
    )
    blocking, advisory = EXPECTED[variant]
    statuses = by_status(summary)
    assert statuses.get("failed", set()) == blocking
    assert statuses.get("warning", set()) == advisory
    assert statuses.get("broken", set()) == set()
    assert statuses.get("skipped", set()) == NOT_TESTABLE_HERE
    assert outcome.ret == (1 if blocking else 0)
    assert summary["verdict"] == ("non-conforme" if blocking else "conforme")


def test_advisory_failures_fail_the_run_only_in_strict_mode(
    pytester: pytest.Pytester, warm_cache: Path
) -> None:
    args = ("-m", "serveur and preproduction", "--sas-reference-variant=cn-insensible-casse")
    outcome, summary = run_suite(pytester, warm_cache, *args)
    assert outcome.ret == 0
    assert len(summary["warnings"]) == 2  # one per affected scenario: both flows of the CN-case check
    outcome, summary = run_suite(pytester, warm_cache, *args, "--sas-strict")
    assert outcome.ret == 1
    assert by_status(summary)["failed"] == {f"{CN_CASE}[cn-casse]"}


@pytest.mark.parametrize("variant", ["hors-service", "muet"])
def test_a_down_target_errors_everywhere_and_costs_one_timeout(
    pytester: pytest.Pytester, warm_cache: Path, variant: str
) -> None:
    outcome, summary = run_suite(
        pytester,
        warm_cache,
        "-m",
        "serveur and preproduction",
        f"--sas-reference-variant={variant}",
        "--sas-timeout=0.5",
    )
    statuses = by_status(summary)
    assert set(statuses) == {"broken", "skipped"}, statuses.keys()  # nothing passes, nothing non-conformant
    assert statuses["skipped"] == NOT_TESTABLE_HERE - {REFRESH}  # the IP checks never dial
    assert summary["verdict"] == "injoignable"
    assert outcome.ret == 3  # ExitCode.UNREACHABLE, from pytest itself
    assert [u["target"] for u in summary["unreachable_targets"]] == [
        f"serveur de référence (preproduction, chaîne IGC injectée, variante {variant})",
        f"serveur de référence (preproduction, variante {variant})",
    ]
    text = outcome.stdout.str()
    # One attempt dialled each target; every other scenario was refused a dial, not timed out again.
    assert len(summary["results"]) == collected("-m", "serveur and preproduction")
    assert float(re.search(r"in ([0-9.]+)s", text)[1]) < 30  # type: ignore[index]


def test_simplified_mapping_accepts_the_other_test_subject_in_preproduction(
    pytester: pytest.Pytester, warm_cache: Path
) -> None:
    outcome, summary = run_suite(
        pytester, warm_cache, "-m", "serveur and SRV-CORRESPONDANCE", "--sas-mapping=simplifie"
    )
    assert outcome.ret == 0
    assert by_status(summary) == {"passed": {OTHER_ENV, OTHER_ENV_SERVED}}
    assert summary["totals"]["passed"] == 6
    # Each claim exists only where it applies: acceptance where the editor's pre-production serves both
    # ANS test environments, refusal for production; neither is generated (nor skipped) elsewhere.
    where: dict[str, set[str]] = {}
    for result in summary["results"]:
        where.setdefault(result["check"], set()).add(ans_env_of(result))
    assert where == {OTHER_ENV_SERVED: {"recette", "preproduction"}, OTHER_ENV: {"production"}}


def test_one_to_one_mapping_has_no_acceptance_of_another_environment(pytester: pytest.Pytester) -> None:
    """In one-to-one mapping no editor environment serves two ANS environments: the acceptance check is
    not generated at all (not skipped), the refusal runs everywhere."""
    collected = {}
    for marker in ("SRV-CORRESPONDANCE", "SRV-CORRESPONDANCE-01"):
        outcome = pytester.runpytest_subprocess(
            str(ROOT / "features"),
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--collect-only",
            "-q",
            "-m",
            marker,
        )
        collected[marker] = sorted(line for line in outcome.stdout.lines if "::" in line)
    assert len(collected["SRV-CORRESPONDANCE"]) == 6  # three environments × two flows
    assert collected["SRV-CORRESPONDANCE-01"] == collected["SRV-CORRESPONDANCE"]


def test_collect_only_selects_one_environment_matrix(pytester: pytest.Pytester) -> None:
    for env in ("recette", "preproduction", "production"):
        outcome = pytester.runpytest_subprocess(
            str(ROOT / "features"),
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--collect-only",
            "-q",
            "-m",
            f"{env} and serveur",
        )
        ids = [line for line in outcome.stdout.lines if "::" in line]
        assert len(ids) == collected("-m", "serveur and preproduction")  # the same count in each environment
        assert all(f"[{env}-" in line for line in ids)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--sas-env=integration", "--sas-env: unknown environment 'integration'"),
        ("--sas-mapping=double", "--sas-mapping: unknown mapping 'double'"),
        ("--sas-timeout=abc", "--sas-timeout: 'abc' is not a number of seconds"),
        ("--sas-reference-variant=nope", "--sas-reference-variant: unknown variant 'nope'"),
    ],
)
def test_bad_options_are_one_line_errors(pytester: pytest.Pytester, option: str, message: str) -> None:
    outcome = pytester.runpytest_subprocess(
        str(ROOT / "features"), f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), option
    )
    assert outcome.ret == pytest.ExitCode.USAGE_ERROR
    err = outcome.stderr.str()
    assert f"ERROR: {message}" in err
    assert "Traceback" not in err + outcome.stdout.str()


def test_unwritable_cache_is_a_one_line_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    outcome = pytester.runpytest_subprocess(
        str(ROOT / "features"),
        f"--rootdir={ROOT}",
        "-c",
        str(ROOT / "pyproject.toml"),
        f"--pki-cache={blocker / 'cache'}",
    )
    assert outcome.ret == pytest.ExitCode.USAGE_ERROR
    assert "PKI cache directory" in outcome.stderr.str()
    assert "Traceback" not in outcome.stderr.str() + outcome.stdout.str()
