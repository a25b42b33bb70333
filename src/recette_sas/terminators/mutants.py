"""Misconfigured terminators: each mutant is one small change to a reference configuration.

Every mutant names the mistake an editor makes in their own words (``description``), the change applied
to the rendered reference configuration (``recette_sas.terminators.mutation``), and the checks that must
catch it (``recette_sas.terminators.expected``, by check key: ``SRV-CN-01[cn-prefixe]``). The project's
tests run the whole server matrix of one environment against each mutant on the real terminator and
assert the EXACT sets of checks that fail (blocking), warn (advisory) and cannot be judged (broken): a
mutant that no scenario catches, or that makes a negative pass for a wrong reason, fails the test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from recette_sas.terminators.expected import (
    CN,
    CN_CASE,
    CRYPTO,
    HEADERS,
    LATER_CATCHES,
    NEGATIVES,
    NOT_IGC_ALL,
    OLD_TLS,
    OTHER_H,
    OU,
    POSITIVE,
    POSITIVE_LEAF_ONLY,
    PROFILE,
    REFERENCE_WARNINGS,
    REVOKED,
    REVOKED_OCSP,
    TLS12,
    TLS13,
    TOLERANT_ALL,
    UPDATE,
    VALIDITY,
    Expected,
    keys,
)
from recette_sas.terminators.mutation import (
    Change,
    MutationContext,
    MutationError,
    both_bundles,
    chain,
    drop,
    intermediate_crl_only,
    replace,
    replace_once,
    subjects,
    system_store,
    trust,
    with_file,
)
from recette_sas.terminators.render import pcre_literal


@dataclass(frozen=True)
class Mutant:
    """One misconfiguration: what the editor wrote (``description``, one line), the change to the rendered
    reference configuration, and what the run must show (``expected``, beyond the reference's warnings)."""

    name: str
    terminator: str
    description: str
    change: Change
    expected: Expected
    env: str = "preproduction"
    upstream_trusts_client_cn: bool = False
    """The application behind decides on the subject from ``X-SSL-Client-CN`` (see ``upstream.py``)."""
    refuses_everyone: bool = False
    """The positive control must fail: every negative is then unjudgeable, never passed."""
    notes: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.terminator}:{self.name}"


# Expected sets, shared by the terminators that fail the same way.
_DEBRAYAGE = Expected(
    failed=NOT_IGC_ALL | {OTHER_H, REVOKED},
    warning=frozenset({REVOKED_OCSP}),
)
"""Verification made optional and revocation dropped: chains that do not lead to the IGC (or lead to the
other hierarchy) reach the subject check, which SAS's subject passes."""


def _everyone_refused() -> Expected:
    """The positive controls fail (the blocking ones fail the run, the advisory ones warn); every negative
    is unjudgeable: a terminator that refuses SAS proves nothing by refusing the others."""
    return Expected(
        failed=frozenset({POSITIVE, TLS12, UPDATE}),
        warning=frozenset({POSITIVE_LEAF_ONLY, TLS13}) | TOLERANT_ALL,
        broken=NEGATIVES,
    )


_SUBSTRING_CN = keys(OU, "mauvais-ou") | keys(CN, "cn-prefixe", "cn-suffixe", "deux-cn")
_CN_ONLY = keys(OU, "mauvais-ou")
_CASE = keys(CN_CASE, "cn-casse")
_NO_REVOCATION = Expected(failed=frozenset({REVOKED}), warning=frozenset({REVOKED_OCSP}))
_TLS10_CRYPTO = keys(CRYPTO, "rsa-1024", "sha1")
_TLS10 = keys(OLD_TLS, "TLS 1.0", "TLS 1.1")


def _nginx() -> list[Mutant]:
    t = "nginx"
    return [
        Mutant(
            "verification-optionnelle",
            t,
            "`ssl_verify_client optional_no_ca` sans contrôle de `$ssl_client_verify` ; nginx exige alors de retirer `ssl_ocsp`",
            chain(
                replace("ssl_verify_client on;", "ssl_verify_client optional_no_ca;"),
                drop(r"if \(\$ssl_client_verify != SUCCESS\)"),
                drop(r"^\s*ssl_ocsp", count=3),  # nginx refuses ssl_ocsp with optional_no_ca
            ),
            Expected(warning=frozenset({REVOKED_OCSP})),
            notes=(
                "la CRL de toute la chaîne refuse encore les AC inconnues, qui n'ont pas de CRL : seul l'OCSP est perdu",
            ),
        ),
        Mutant(
            "debrayage",
            t,
            "`ssl_verify_client optional_no_ca` sans contrôle de `$ssl_client_verify`, CRL et OCSP retirés « pour que ça marche »",
            chain(
                replace("ssl_verify_client on;", "ssl_verify_client optional_no_ca;"),
                drop(r"if \(\$ssl_client_verify != SUCCESS\)"),
                drop(r"^\s*ssl_(crl|ocsp)", count=4),
            ),
            _DEBRAYAGE,
        ),
        Mutant(
            "cn-non-ancre",
            t,
            "clé de `map` `~CN=<cn>` sans ancres ni OU : un autre OU, un préfixe, un suffixe, un second CN passent",
            subjects(lambda ctx: "\n".join(f'        "~CN={pcre_literal(cn)}" 1;' for cn in ctx.cns())),
            Expected(
                failed=keys(OU, "mauvais-ou") | keys(CN, "cn-suffixe", "deux-cn"),
                warning=keys(CN_CASE, "cn-espace-fin"),
            ),
        ),
        Mutant(
            "cn-insensible-casse",
            t,
            "clé de `map` en chaîne simple (sans `~`) : nginx la compare sans tenir compte de la casse",
            chain(
                subjects(lambda ctx: "\n".join(f'        "{dn}" 1;' for dn in ctx.dns())),
                # a DN this long needs bigger hash buckets, which nginx says as soon as it starts
                replace(
                    "    map $ssl_client_s_dn", "    map_hash_bucket_size 128;\n    map $ssl_client_s_dn"
                ),
            ),
            Expected(warning=_CASE),
        ),
        Mutant(
            "ou-non-verifie",
            t,
            "clé de `map` `~^CN=<cn>,` : le CN est exact mais l'OU n'est pas vérifié",
            subjects(lambda ctx: "\n".join(f'        "~^CN={pcre_literal(cn)}," 1;' for cn in ctx.cns())),
            Expected(failed=_CN_ONLY),
        ),
        Mutant(
            "sans-revocation",
            t,
            "ni `ssl_crl` ni `ssl_ocsp` : un certificat révoqué est accepté",
            drop(r"^\s*ssl_(crl|ocsp)", count=4),
            _NO_REVOCATION,
        ),
        Mutant(
            "sans-ocsp",
            t,
            "`ssl_crl` sans `ssl_ocsp` : une révocation postérieure à la dernière CRL passe",
            drop(r"^\s*ssl_ocsp", count=3),
            Expected(warning=frozenset({REVOKED_OCSP})),
        ),
        Mutant(
            "crl-intermediaire-seule",
            t,
            "`ssl_crl` avec la seule CRL de l'AC intermédiaire : nginx refuse tout le monde, SAS compris",
            intermediate_crl_only(t),
            _everyone_refused(),
            refuses_everyone=True,
        ),
        Mutant(
            "tls10",
            t,
            "`ssl_protocols TLSv1 TLSv1.1 …` et `@SECLEVEL=0` pour un vieux client : TLS 1.0/1.1 et la cryptographie faible passent",
            chain(
                replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;"),
                replace("ssl_ciphers HIGH:!aNULL:!MD5;", "ssl_ciphers DEFAULT:@SECLEVEL=0;"),
            ),
            Expected(failed=_TLS10, warning=_TLS10_CRYPTO),
        ),
        Mutant(
            "deux-hierarchies",
            t,
            "production : AC et CRL des deux hiérarchies IGC Santé (TEST et production)",
            trust(t, both_bundles, "deux-hierarchies.pem"),
            Expected(failed=frozenset({OTHER_H})),
            env="production",
        ),
        Mutant(
            "ca-systeme",
            t,
            "`ssl_client_certificate` = magasin du système, où l'on a ajouté toutes les AC IGC Santé",
            trust(t, system_store, "ca-certificates.crt"),
            Expected(failed=frozenset({OTHER_H})),
        ),
        Mutant(
            "en-tetes-identite",
            t,
            "contrôle du sujet laissé à l'application, qui croit l'en-tête `X-SSL-Client-CN` que nginx ne supprime pas",
            chain(drop(r"if \(\$sas_client_autorise != 1\)"), drop(r'proxy_set_header X-SSL-Client-CN ""')),
            Expected(failed=frozenset({HEADERS})),
            upstream_trusts_client_cn=True,
        ),
    ]


def _haproxy() -> list[Mutant]:
    t = "haproxy"
    return [
        Mutant(
            "verification-optionnelle",
            t,
            "`verify optional` avec `ca-ignore-err all crt-ignore-err all`, sans contrôle de `ssl_c_verify`",
            chain(
                replace(
                    "verify required ca-file", "verify optional ca-ignore-err all crt-ignore-err all ca-file"
                ),
                drop(r"unless \{ ssl_c_used \} \{ ssl_c_verify 0 \}"),
            ),
            Expected(
                failed=NOT_IGC_ALL | keys(VALIDITY, "expire", "pas-encore-valide") | {OTHER_H, REVOKED},
                warning=keys(PROFILE, "eku-serveur", "sans-signature-numerique") | _TLS10_CRYPTO,
            ),
        ),
        Mutant(
            "cn-non-ancre",
            t,
            "`ssl_c_s_dn(CN) -m sub <cn>` : sous-chaîne du CN, OU non vérifié",
            subjects(lambda ctx: "    acl sas_sujet ssl_c_s_dn(CN) -m sub " + " ".join(ctx.cns())),
            Expected(failed=_SUBSTRING_CN, warning=keys(CN_CASE, "cn-espace-debut", "cn-espace-fin")),
        ),
        Mutant(
            "cn-insensible-casse",
            t,
            "`-m str -i` : le sujet est comparé sans tenir compte de la casse",
            lambda text, ctx: replace_once(
                text, ctx.exact_rules(), ctx.exact_rules().replace("-m str ", "-m str -i ")
            ),
            Expected(warning=_CASE),
        ),
        Mutant(
            "ou-non-verifie",
            t,
            "`ssl_c_s_dn(CN) -m str <cn>` : le CN est exact mais l'OU n'est pas vérifié",
            subjects(lambda ctx: "    acl sas_sujet ssl_c_s_dn(CN) -m str " + " ".join(ctx.cns())),
            Expected(failed=_CN_ONLY | keys(CN, "deux-cn")),
        ),
        Mutant(
            "sans-crl",
            t,
            "`bind` sans `crl-file` : sans OCSP possible, un certificat révoqué est accepté",
            lambda text, ctx: replace_once(text, f" crl-file {ctx.layout.crls(ctx.hierarchy)}", ""),
            Expected(failed=frozenset({REVOKED})),
        ),
        Mutant(
            "crl-intermediaire-seule",
            t,
            "`crl-file` avec la seule CRL de l'AC intermédiaire : HAProxy refuse tout le monde, SAS compris",
            intermediate_crl_only(t),
            _everyone_refused(),
            refuses_everyone=True,
        ),
        Mutant(
            "tls10",
            t,
            "`ssl-min-ver TLSv1.0` et `@SECLEVEL=0` pour un vieux client : TLS 1.0/1.1 et la cryptographie faible passent",
            replace("ssl-min-ver TLSv1.2 verify", "ssl-min-ver TLSv1.0 ciphers DEFAULT:@SECLEVEL=0 verify"),
            Expected(failed=_TLS10, warning=_TLS10_CRYPTO),
        ),
        Mutant(
            "deux-hierarchies",
            t,
            "production : AC et CRL des deux hiérarchies IGC Santé (TEST et production)",
            trust(t, both_bundles, "deux-hierarchies.pem"),
            Expected(failed=frozenset({OTHER_H})),
            env="production",
        ),
        Mutant(
            "en-tetes-identite",
            t,
            "contrôle du sujet laissé à l'application, qui croit l'en-tête `X-SSL-Client-CN` que HAProxy ne supprime pas",
            chain(drop(r"deny deny_status 403 unless sas_sujet"), drop(r"del-header X-SSL-Client-CN")),
            Expected(failed=frozenset({HEADERS})),
            upstream_trusts_client_cn=True,
        ),
    ]


def _apache() -> list[Mutant]:
    t = "apache"
    return [
        Mutant(
            "debrayage",
            t,
            "`SSLVerifyClient optional_no_ca` sans contrôle de `SSL_CLIENT_VERIFY`, CRL et OCSP retirés « pour que ça marche »",
            chain(
                replace("SSLVerifyClient require", "SSLVerifyClient optional_no_ca"),
                drop(r"Require expr %\{SSL_CLIENT_VERIFY\} == 'SUCCESS'"),
                drop(r"^\s*(SSLCARevocation|SSLOCSP)", count=7),
            ),
            _DEBRAYAGE,
        ),
        Mutant(
            "cn-non-ancre",
            t,
            "`%{SSL_CLIENT_S_DN_CN} =~ /<cn>/` : expression régulière sans ancres, OU non vérifié",
            subjects(
                lambda ctx: (
                    "            Require expr "
                    + " || ".join(f"%{{SSL_CLIENT_S_DN_CN}} =~ /{pcre_literal(cn)}/" for cn in ctx.cns())
                )
            ),
            Expected(failed=_SUBSTRING_CN, warning=keys(CN_CASE, "cn-espace-debut", "cn-espace-fin")),
        ),
        Mutant(
            "cn-insensible-casse",
            t,
            "`%{SSL_CLIENT_S_DN} =~ m#^…$#i` : le sujet est comparé sans tenir compte de la casse",
            subjects(
                lambda ctx: (
                    "            Require expr "
                    + " || ".join(f"%{{SSL_CLIENT_S_DN}} =~ m#^{pcre_literal(dn)}$#i" for dn in ctx.dns())
                )
            ),
            Expected(warning=_CASE),
        ),
        Mutant(
            "ou-non-verifie",
            t,
            "`%{SSL_CLIENT_S_DN_CN} == \"<cn>\"` : le CN est exact mais l'OU n'est pas vérifié",
            subjects(
                lambda ctx: (
                    "            Require expr %{SSL_CLIENT_S_DN_CN} in { "
                    + ", ".join(f'"{cn}"' for cn in ctx.cns())
                    + " }"
                )
            ),
            Expected(failed=_CN_ONLY | keys(CN, "deux-cn")),
        ),
        Mutant(
            "sans-revocation",
            t,
            "ni `SSLCARevocationFile` ni `SSLOCSPEnable` : un certificat révoqué est accepté",
            drop(r"^\s*(SSLCARevocation|SSLOCSP)", count=7),
            _NO_REVOCATION,
        ),
        Mutant(
            "sans-ocsp",
            t,
            "CRL sans `SSLOCSPEnable` : une révocation postérieure à la dernière CRL passe",
            drop(r"^\s*SSLOCSP", count=5),
            Expected(warning=frozenset({REVOKED_OCSP})),
        ),
        Mutant(
            "crl-intermediaire-seule",
            t,
            "`SSLCARevocationFile` avec la seule CRL de l'AC intermédiaire (`SSLCARevocationCheck chain`) : tout le monde est refusé",
            intermediate_crl_only(t),
            _everyone_refused(),
            refuses_everyone=True,
        ),
        Mutant(
            "profondeur-1",
            t,
            "`SSLVerifyDepth 1` : la racine est trop loin, tout le monde est refusé",
            replace("SSLVerifyDepth 2", "SSLVerifyDepth 1"),
            _everyone_refused(),
            refuses_everyone=True,
        ),
        Mutant(
            "tls10",
            t,
            "`SSLProtocol` avec TLSv1 et TLSv1.1 et `@SECLEVEL=0` pour un vieux client : TLS 1.0/1.1 et la cryptographie faible passent",
            chain(
                replace(
                    "SSLProtocol -all +TLSv1.2 +TLSv1.3", "SSLProtocol -all +TLSv1 +TLSv1.1 +TLSv1.2 +TLSv1.3"
                ),
                replace("SSLCipherSuite HIGH:!aNULL:!MD5", "SSLCipherSuite DEFAULT:@SECLEVEL=0"),
            ),
            Expected(failed=_TLS10, warning=_TLS10_CRYPTO),
        ),
        Mutant(
            "deux-hierarchies",
            t,
            "production : AC et CRL des deux hiérarchies IGC Santé (TEST et production)",
            chain(
                trust(t, both_bundles, "deux-hierarchies.pem"),
                with_file("SSLOCSPResponderCertificateFile", "deux-hierarchies.pem", both_bundles),
            ),
            Expected(failed=frozenset({OTHER_H})),
            env="production",
        ),
        Mutant(
            "en-tetes-identite",
            t,
            "contrôle du sujet laissé à l'application, qui croit l'en-tête `X-SSL-Client-CN` qu'Apache ne supprime pas",
            chain(
                drop(r"Require expr %\{SSL_CLIENT_S_DN\} in"), drop(r"RequestHeader unset X-SSL-Client-CN")
            ),
            Expected(failed=frozenset({HEADERS})),
            upstream_trusts_client_cn=True,
        ),
    ]


def _with_new_catches(mutant: Mutant) -> Mutant:
    extra = LATER_CATCHES.get(mutant.key)
    if extra is None or mutant.refuses_everyone:
        return mutant
    exp = mutant.expected
    return dataclasses.replace(
        mutant,
        expected=Expected(
            failed=exp.failed | extra.failed,
            warning=exp.warning | extra.warning,
            broken=exp.broken | extra.broken,
        ),
    )


MUTANTS: dict[str, Mutant] = {m.key: _with_new_catches(m) for m in (*_nginx(), *_haproxy(), *_apache())}


def full_expected(mutant: Mutant) -> Expected:
    """What the whole run must show: the mutant's own catches plus the reference's documented warnings
    (unless the positive control fails, when every negative is unjudgeable instead)."""
    expected = mutant.expected
    if mutant.refuses_everyone:
        return expected
    return Expected(
        failed=expected.failed,
        warning=expected.warning | REFERENCE_WARNINGS[mutant.terminator],
        broken=expected.broken,
    )


def apply(mutant: Mutant, text: str, ctx: MutationContext) -> str:
    """The mutant's configuration; it must differ from the reference (a no-op mutant tests nothing)."""
    changed = mutant.change(text, ctx)
    if changed == text:
        raise MutationError(f"mutant {mutant.key} changes nothing")
    return changed


__all__ = ["MUTANTS", "Mutant", "apply", "full_expected"]
