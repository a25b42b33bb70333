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

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent

# Scenario keys: test function name (without "test_") and the Examples value, environment and flow stripped.
IDENTITY = "un_certificat_igc_santé_qui_nest_pas_celui_de_sas_est_refusé"
NOT_IGC = "un_certificat_au_sujet_de_sas_qui_nest_pas_signé_par_ligc_santé_est_refusé"
VALIDITY = "un_certificat_hors_de_sa_période_de_validité_est_refusé"
PROFILE = "un_certificat_qui_na_pas_le_profil_auth_cli_est_refusé"
CRYPTO = "un_certificat_à_la_cryptographie_faible_est_refusé"
OLD_TLS = "une_version_de_tls_antérieure_à_12_est_refusée"
OTHER_ENV = "le_certificat_sas_dun_autre_environnement_nest_accepté_que_si_la_correspondance_lexige"
HEADERS = "des_entêtes_didentité_forgés_ne_remplacent_pas_le_certificat"
OTHER_H = "le_sujet_de_sas_signé_par_lautre_hiérarchie_igc_santé_est_refusé"
REVOKED = "un_certificat_révoqué_dans_la_crl_et_pour_locsp_est_refusé"
REVOKED_OCSP = "un_certificat_révoqué_depuis_la_dernière_crl_est_refusé"

IGC_CN = "le_certificat_igc_santé_authentique_de_léditeur_qui_nest_pas_celui_de_sas_est_refusé"
IGC_FORGED = {
    f"un_certificat_forgé_au_sujet_exact_de_sas_est_refusé[{d}]" for d in ("auto-signe", "ac-imposteur")
}
IGC_OTHER_H = "un_certificat_igc_santé_de_lautre_hiérarchie_est_refusé"
IGC_REVOKED = "un_certificat_igc_santé_de_test_révoqué_est_refusé"
IGC_CA_NAMES = "le_serveur_annonce_lautorité_igc_santé_de_lenvironnement_et_aucune_de_lautre_hiérarchie"
IGC_TLS = {f"une_version_de_tls_antérieure_à_12_est_refusée_par_le_serveur_réel[TLS 1.{n}]" for n in (0, 1)}
NOT_TESTABLE_HERE = {
    "ssl_30_est_refusé",  # this OpenSSL has no SSL 3.0: said, not passed
    "ladresse_ip_sortante_de_sas_figure_dans_la_liste_déclarée",  # no allow-list on the embedded targets
    "le_serveur_ne_répond_pas_à_une_adresse_absente_de_la_liste_déclarée",
}

CN_BLOCKING = {
    f"{IDENTITY}[{d}]" for d in ("mauvais-cn", "cn-prefixe", "cn-suffixe", "deux-cn", "nom-dans-san")
}
CN_ADVISORY = {f"{IDENTITY}[{d}]" for d in ("cn-casse", "cn-espace-debut", "cn-espace-fin")}

# variant -> (blocking failures, advisory warnings)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "accepte-tout": (
        CN_BLOCKING
        | {f"{IDENTITY}[mauvais-ou]", OTHER_ENV, HEADERS, OTHER_H, REVOKED}
        | {f"{NOT_IGC}[{d}]" for d in ("auto-signe", "ac-imposteur", "ac-etrangere")}
        | {f"{VALIDITY}[{d}]" for d in ("expire", "pas-encore-valide")}
        | {IGC_CN, IGC_OTHER_H, IGC_REVOKED}
        | IGC_FORGED,
        CN_ADVISORY
        | {REVOKED_OCSP}
        | {
            f"{PROFILE}[{d}]"
            for d in ("eku-serveur", "sans-signature-numerique", "feuille-ca", "signe-par-feuille")
        }
        | {f"{CRYPTO}[{d}]" for d in ("rsa-1024", "sha1")},
    ),
    "ignore-cn": (CN_BLOCKING | {HEADERS}, CN_ADVISORY),
    "ignore-ou": ({f"{IDENTITY}[mauvais-ou]"}, set()),
    "sans-controle-sujet": (
        CN_BLOCKING | {f"{IDENTITY}[mauvais-ou]", OTHER_ENV, HEADERS, IGC_CN},
        CN_ADVISORY,
    ),
    "cn-sous-chaine": (
        {f"{IDENTITY}[cn-prefixe]", f"{IDENTITY}[cn-suffixe]"},
        CN_ADVISORY - {f"{IDENTITY}[cn-casse]"},
    ),
    "cn-insensible-casse": (set(), {f"{IDENTITY}[cn-casse]"}),
    "sans-revocation": ({REVOKED, IGC_REVOKED}, {REVOKED_OCSP}),
    "sans-ocsp": (set(), {REVOKED_OCSP}),
    "sans-profil": (set(), {f"{PROFILE}[feuille-ca]"}),
    "tls10": ({f"{OLD_TLS}[TLS 1.0]", f"{OLD_TLS}[TLS 1.1]"} | IGC_TLS, set()),
    "deux-hierarchies": ({OTHER_H, IGC_CA_NAMES, IGC_OTHER_H}, set()),
    "en-tetes-identite": ({HEADERS}, set()),
}


def scenario_key(nodeid: str) -> str:
    """``features/test_serveur.py::test_x[preproduction-agregation-mauvais-cn]`` -> ``x[mauvais-cn]``."""
    match = re.fullmatch(r".*::test_(?P<name>[^\[]+)\[(?P<params>.*)\]", nodeid)
    assert match, nodeid
    rest = match["params"].split("-", 2)[2:]  # drop the environment and the flow
    return f"{match['name']}[{rest[0]}]" if rest else match["name"]


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
        grouped.setdefault(result["status"], set()).add(scenario_key(result["test"]))
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
    assert summary["totals"]["passed"] == 195 + 36  # look-alike matrix + real-chain scenarios
    assert {r["test"].split("[")[1].split("-")[0] for r in summary["results"]} == {
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
    assert by_status(summary)["failed"] == {f"{IDENTITY}[cn-casse]"}


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
    assert statuses["skipped"] == NOT_TESTABLE_HERE - {"ssl_30_est_refusé"}  # the IP checks never dial
    assert summary["verdict"] == "injoignable"
    assert outcome.ret == 3  # ExitCode.UNREACHABLE, from pytest itself
    assert [u["target"] for u in summary["unreachable_targets"]] == [
        f"serveur de référence (preproduction, chaîne IGC injectée, variante {variant})",
        f"serveur de référence (preproduction, variante {variant})",
    ]
    text = outcome.stdout.str()
    # One attempt dialled each target; every other scenario was refused a dial, not timed out again.
    assert len(summary["results"]) == 81
    assert float(re.search(r"in ([0-9.]+)s", text)[1]) < 30  # type: ignore[index]


def test_simplified_mapping_accepts_the_other_test_subject_in_preproduction(
    pytester: pytest.Pytester, warm_cache: Path
) -> None:
    outcome, summary = run_suite(
        pytester, warm_cache, "-m", "serveur", "--sas-mapping=simplifie", "-k", "autre_env"
    )
    assert outcome.ret == 0
    assert by_status(summary) == {"passed": {OTHER_ENV}}
    assert summary["totals"]["passed"] == 6


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
        assert len(ids) == 81  # 67 look-alike, 12 real-chain, 2 IP filtering
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
