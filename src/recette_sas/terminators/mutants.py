"""Misconfigured terminators: each mutant is one small change to a reference configuration.

Every mutant names the mistake an editor makes in their own words (``description``), the change applied
to the rendered reference configuration, and the scenarios that must catch it. The project's tests run
the whole server matrix of one environment against each mutant on the real terminator and assert the
EXACT sets of scenarios that fail (blocking), warn (advisory) and cannot be judged (broken): a mutant
that no scenario catches, or that makes a negative pass for a wrong reason, fails the test.

Scenario keys are the test function name without ``test_`` plus the example value, environment and
flow stripped: ``un_certificat_igc_santé_qui_nest_pas_celui_de_sas_est_refusé[mauvais-ou]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from recette_sas.environments import Hierarchy, Mapping, accepted_subjects, trusted_hierarchy
from recette_sas.terminators.render import TemplateError, pcre_literal, subject_dn, subject_rules

if TYPE_CHECKING:
    from recette_sas.pki.export import ExportLayout

# --- scenario keys --------------------------------------------------------------------------------------

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
NO_CERT = "un_appel_sans_certificat_client_est_refusé"
SSL3 = "ssl_30_est_refusé"
POSITIVE = "le_certificat_valide_de_sas_envoyé_avec_son_autorité_intermédiaire_est_accepté"
POSITIVE_LEAF_ONLY = "le_certificat_valide_de_sas_envoyé_sans_son_autorité_intermédiaire_est_accepté"
TLS12 = "tls_12_est_accepté"
TLS13 = "tls_13_est_disponible"
UPDATE = "sas_met_à_jour_un_compte_régulateur_par_son_identifiant"


def _keys(scenario: str, *examples: str) -> frozenset[str]:
    return frozenset(f"{scenario}[{e}]" for e in examples)


NOT_IGC_ALL = _keys(NOT_IGC, "auto-signe", "ac-imposteur", "ac-etrangere")
NEGATIVES = frozenset(
    {
        NO_CERT,
        OTHER_H,
        REVOKED,
        REVOKED_OCSP,
        OTHER_ENV,
        HEADERS,
        *NOT_IGC_ALL,
        *_keys(VALIDITY, "expire", "pas-encore-valide"),
        *_keys(PROFILE, "eku-serveur", "sans-signature-numerique", "feuille-ca", "signe-par-feuille"),
        *_keys(CRYPTO, "rsa-1024", "sha1"),
        *_keys(OLD_TLS, "TLS 1.0", "TLS 1.1"),
        *_keys(
            IDENTITY,
            "mauvais-cn",
            "cn-prefixe",
            "cn-suffixe",
            "deux-cn",
            "nom-dans-san",
            "mauvais-ou",
            "cn-casse",
            "cn-espace-debut",
            "cn-espace-fin",
        ),
    }
)
"""Every scenario that expects a refusal: all of them become unjudgeable when the positive control fails."""
POSITIVES = frozenset({POSITIVE, POSITIVE_LEAF_ONLY, TLS12, TLS13, UPDATE})
SKIPPED = frozenset({SSL3})
"""SSL 3.0 cannot be offered by this OpenSSL: the probe says so and the scenario is skipped, not passed."""


@dataclass(frozen=True)
class Expected:
    """Scenarios that fail (blocking), warn (advisory) or cannot be judged (broken).

    For a mutant, the sets name what the MUTATION adds to its reference configuration's run (the
    reference's documented warnings come on top: ``full_expected``).
    """

    failed: frozenset[str] = frozenset()
    warning: frozenset[str] = frozenset()
    broken: frozenset[str] = frozenset()

    @property
    def caught(self) -> bool:
        return bool(self.failed or self.warning)


# --- reference limitations --------------------------------------------------------------------------

FEUILLE_CA = _keys(PROFILE, "feuille-ca")
"""OpenSSL (the TLS library of all three) accepts a client leaf marked CA:TRUE: only an application that
parses the forwarded certificate could refuse it. Advisory (REC-PROFIL)."""

REFERENCE_WARNINGS: dict[str, frozenset[str]] = {
    "nginx": FEUILLE_CA,
    "haproxy": FEUILLE_CA | {REVOKED_OCSP},  # HAProxy has no OCSP for client certificates
    "apache": FEUILLE_CA,
}
"""The documented advisory warnings of each reference configuration (everything else passes)."""


# --- mutations ----------------------------------------------------------------------------------------


class MutationError(TemplateError):
    """A mutant no longer finds what it changes in the reference configuration (the template moved)."""


@dataclass(frozen=True)
class MutationContext:
    """What a mutation may use besides the rendered text."""

    terminator: str
    env: str
    mapping: Mapping
    layout: ExportLayout
    work_dir: Path
    """Private folder of this run, for the extra files a mutation writes (a merged CA file…)."""

    @property
    def hierarchy(self) -> Hierarchy:
        return trusted_hierarchy(self.env, self.mapping)

    def exact_rules(self) -> str:
        return subject_rules(self.terminator, accepted_subjects(self.env, self.mapping))

    def cns(self) -> list[str]:
        return [s.cn for s in accepted_subjects(self.env, self.mapping)]

    def dns(self) -> list[str]:
        return [subject_dn(s) for s in accepted_subjects(self.env, self.mapping)]


Change = Callable[[str, MutationContext], str]


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def replace_once(text: str, old: str, new: str) -> str:
    """Replace ``old`` where it appears in a directive (comments, which quote directives, are left alone)."""
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if not _is_comment(line) and old in line]
    count = sum(lines[i].count(old) for i in hits)
    if count != 1:
        raise MutationError(f"expected exactly one {old!r} in the reference configuration, found {count}")
    lines[hits[0]] = lines[hits[0]].replace(old, new)
    return "\n".join(lines)


def drop_lines(text: str, pattern: str, *, count: int = 1) -> str:
    """Remove the ``count`` directive lines (or ``{…}`` blocks opened on them) matching ``pattern``."""
    lines = text.split("\n")
    out: list[str] = []
    found = 0
    depth = 0
    for line in lines:
        if depth:
            depth += line.count("{") - line.count("}")
            continue
        if not _is_comment(line) and re.search(pattern, line):
            found += 1
            depth = line.count("{") - line.count("}")
            continue
        out.append(line)
    if found != count:
        raise MutationError(f"expected {count} line(s) matching {pattern!r}, found {found}")
    return "\n".join(out)


def replace_argument(text: str, directive: str, value: str) -> str:
    """Set the argument that follows ``directive`` (a word of a directive line) to ``value``."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(directive)}(\s+)(\S+)")
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if not _is_comment(line) and pattern.search(line)]
    if len(hits) != 1:
        raise MutationError(
            f"expected one {directive!r} directive in the reference configuration, found {len(hits)}"
        )
    lines[hits[0]] = pattern.sub(lambda m: f"{directive}{m.group(1)}{value}", lines[hits[0]], count=1)
    return "\n".join(lines)


def _steps(*changes: Change) -> Change:
    def apply(text: str, ctx: MutationContext) -> str:
        for change in changes:
            text = change(text, ctx)
        return text

    return apply


def _replace(old: str, new: str) -> Change:
    return lambda text, _ctx: replace_once(text, old, new)


def _drop(pattern: str, count: int = 1) -> Change:
    return lambda text, _ctx: drop_lines(text, pattern, count=count)


def _subjects(rule: Callable[[MutationContext], str]) -> Change:
    """Swap the generated subject rule for a hand-written one."""
    return lambda text, ctx: replace_once(text, ctx.exact_rules(), rule(ctx))


def _with_file(directive: str, name: str, content: Callable[[MutationContext], bytes]) -> Change:
    """Point ``directive``'s file argument (the CA or CRL file) at a file the mutation writes."""

    def apply(text: str, ctx: MutationContext) -> str:
        path = ctx.work_dir / name
        path.write_bytes(content(ctx))
        value = str(path) + (";" if ctx.terminator == "nginx" else "")
        return replace_argument(text, directive, value)

    return apply


def _crls_of(hierarchies: tuple[Hierarchy, ...]) -> Callable[[MutationContext], bytes]:
    return lambda ctx: b"".join(ctx.layout.crls(h).read_bytes() for h in hierarchies)


def _intermediate_crl(ctx: MutationContext) -> bytes:
    from recette_sas.pki.catalogue import GENUINE

    return ctx.layout.crl(GENUINE[ctx.hierarchy][1].name).read_bytes()


SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _system_store(ctx: MutationContext) -> bytes:
    """The system store after an administrator added every IGC Santé CA to it (update-ca-certificates)."""
    system = SYSTEM_BUNDLE.read_bytes() if SYSTEM_BUNDLE.is_file() else b""
    return system + b"".join(ctx.layout.bundle(h).read_bytes() for h in Hierarchy)


def _both_bundles(ctx: MutationContext) -> bytes:
    return b"".join(ctx.layout.bundle(h).read_bytes() for h in (ctx.hierarchy, ctx.hierarchy.other))


def _crl_file_directive(terminator: str) -> str:
    return {"nginx": "ssl_crl", "haproxy": "crl-file", "apache": "SSLCARevocationFile"}[terminator]


def _ca_file_directive(terminator: str) -> str:
    return {"nginx": "ssl_client_certificate", "haproxy": "ca-file", "apache": "SSLCACertificateFile"}[
        terminator
    ]


def _intermediate_crl_only(terminator: str) -> Change:
    return _with_file(_crl_file_directive(terminator), "crl-intermediaire.pem", _intermediate_crl)


def _trust(terminator: str, bundle: Callable[[MutationContext], bytes], name: str) -> Change:
    both = (Hierarchy.TEST, Hierarchy.PRODUCTION)
    return _steps(
        _with_file(_ca_file_directive(terminator), name, bundle),
        _with_file(_crl_file_directive(terminator), "crl-toutes.pem", _crls_of(both)),
    )


# --- the catalogue ----------------------------------------------------------------------------------


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
        warning=frozenset({POSITIVE_LEAF_ONLY, TLS13}),
        broken=NEGATIVES,
    )


_SUBSTRING_CN = _keys(IDENTITY, "mauvais-ou", "cn-prefixe", "cn-suffixe", "deux-cn")
_CN_ONLY = _keys(IDENTITY, "mauvais-ou")
_CASE = _keys(IDENTITY, "cn-casse")
_NO_REVOCATION = Expected(failed=frozenset({REVOKED}), warning=frozenset({REVOKED_OCSP}))
_TLS10_CRYPTO = _keys(CRYPTO, "rsa-1024", "sha1")
_TLS10 = _keys(OLD_TLS, "TLS 1.0", "TLS 1.1")


def _nginx() -> list[Mutant]:
    t = "nginx"
    return [
        Mutant(
            "verification-optionnelle",
            t,
            "`ssl_verify_client optional_no_ca` sans contrôle de `$ssl_client_verify` ; nginx exige alors de retirer `ssl_ocsp`",
            _steps(
                _replace("ssl_verify_client on;", "ssl_verify_client optional_no_ca;"),
                _drop(r"if \(\$ssl_client_verify != SUCCESS\)"),
                _drop(r"^\s*ssl_ocsp", count=3),  # nginx refuses ssl_ocsp with optional_no_ca
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
            _steps(
                _replace("ssl_verify_client on;", "ssl_verify_client optional_no_ca;"),
                _drop(r"if \(\$ssl_client_verify != SUCCESS\)"),
                _drop(r"^\s*ssl_(crl|ocsp)", count=4),
            ),
            _DEBRAYAGE,
        ),
        Mutant(
            "cn-non-ancre",
            t,
            "clé de `map` `~CN=<cn>` sans ancres ni OU : un autre OU, un préfixe, un suffixe, un second CN passent",
            _subjects(lambda ctx: "\n".join(f'        "~CN={pcre_literal(cn)}" 1;' for cn in ctx.cns())),
            Expected(
                failed=_keys(IDENTITY, "mauvais-ou", "cn-suffixe", "deux-cn"),
                warning=_keys(IDENTITY, "cn-espace-fin"),
            ),
        ),
        Mutant(
            "cn-insensible-casse",
            t,
            "clé de `map` en chaîne simple (sans `~`) : nginx la compare sans tenir compte de la casse",
            _steps(
                _subjects(lambda ctx: "\n".join(f'        "{dn}" 1;' for dn in ctx.dns())),
                # a DN this long needs bigger hash buckets, which nginx says as soon as it starts
                _replace(
                    "    map $ssl_client_s_dn", "    map_hash_bucket_size 128;\n    map $ssl_client_s_dn"
                ),
            ),
            Expected(warning=_CASE),
        ),
        Mutant(
            "ou-non-verifie",
            t,
            "clé de `map` `~^CN=<cn>,` : le CN est exact mais l'OU n'est pas vérifié",
            _subjects(lambda ctx: "\n".join(f'        "~^CN={pcre_literal(cn)}," 1;' for cn in ctx.cns())),
            Expected(failed=_CN_ONLY),
        ),
        Mutant(
            "sans-revocation",
            t,
            "ni `ssl_crl` ni `ssl_ocsp` : un certificat révoqué est accepté",
            _drop(r"^\s*ssl_(crl|ocsp)", count=4),
            _NO_REVOCATION,
        ),
        Mutant(
            "sans-ocsp",
            t,
            "`ssl_crl` sans `ssl_ocsp` : une révocation postérieure à la dernière CRL passe",
            _drop(r"^\s*ssl_ocsp", count=3),
            Expected(warning=frozenset({REVOKED_OCSP})),
        ),
        Mutant(
            "crl-intermediaire-seule",
            t,
            "`ssl_crl` avec la seule CRL de l'AC intermédiaire : nginx refuse tout le monde, SAS compris",
            _intermediate_crl_only(t),
            _everyone_refused(),
            refuses_everyone=True,
        ),
        Mutant(
            "tls10",
            t,
            "`ssl_protocols TLSv1 TLSv1.1 …` et `@SECLEVEL=0` pour un vieux client : TLS 1.0/1.1 et la cryptographie faible passent",
            _steps(
                _replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;"),
                _replace("ssl_ciphers HIGH:!aNULL:!MD5;", "ssl_ciphers DEFAULT:@SECLEVEL=0;"),
            ),
            Expected(failed=_TLS10, warning=_TLS10_CRYPTO),
        ),
        Mutant(
            "deux-hierarchies",
            t,
            "production : AC et CRL des deux hiérarchies IGC Santé (TEST et production)",
            _trust(t, _both_bundles, "deux-hierarchies.pem"),
            Expected(failed=frozenset({OTHER_H})),
            env="production",
        ),
        Mutant(
            "ca-systeme",
            t,
            "`ssl_client_certificate` = magasin du système, où l'on a ajouté toutes les AC IGC Santé",
            _trust(t, _system_store, "ca-certificates.crt"),
            Expected(failed=frozenset({OTHER_H})),
        ),
        Mutant(
            "en-tetes-identite",
            t,
            "contrôle du sujet laissé à l'application, qui croit l'en-tête `X-SSL-Client-CN` que nginx ne supprime pas",
            _steps(
                _drop(r"if \(\$sas_client_autorise != 1\)"), _drop(r'proxy_set_header X-SSL-Client-CN ""')
            ),
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
            _steps(
                _replace(
                    "verify required ca-file", "verify optional ca-ignore-err all crt-ignore-err all ca-file"
                ),
                _drop(r"unless \{ ssl_c_used \} \{ ssl_c_verify 0 \}"),
            ),
            Expected(
                failed=NOT_IGC_ALL | _keys(VALIDITY, "expire", "pas-encore-valide") | {OTHER_H, REVOKED},
                warning=_keys(PROFILE, "eku-serveur", "sans-signature-numerique") | _TLS10_CRYPTO,
            ),
        ),
        Mutant(
            "cn-non-ancre",
            t,
            "`ssl_c_s_dn(CN) -m sub <cn>` : sous-chaîne du CN, OU non vérifié",
            _subjects(lambda ctx: "    acl sas_sujet ssl_c_s_dn(CN) -m sub " + " ".join(ctx.cns())),
            Expected(failed=_SUBSTRING_CN, warning=_keys(IDENTITY, "cn-espace-debut", "cn-espace-fin")),
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
            _subjects(lambda ctx: "    acl sas_sujet ssl_c_s_dn(CN) -m str " + " ".join(ctx.cns())),
            Expected(failed=_CN_ONLY | _keys(IDENTITY, "deux-cn")),
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
            _intermediate_crl_only(t),
            _everyone_refused(),
            refuses_everyone=True,
        ),
        Mutant(
            "tls10",
            t,
            "`ssl-min-ver TLSv1.0` et `@SECLEVEL=0` pour un vieux client : TLS 1.0/1.1 et la cryptographie faible passent",
            _replace("ssl-min-ver TLSv1.2 verify", "ssl-min-ver TLSv1.0 ciphers DEFAULT:@SECLEVEL=0 verify"),
            Expected(failed=_TLS10, warning=_TLS10_CRYPTO),
        ),
        Mutant(
            "deux-hierarchies",
            t,
            "production : AC et CRL des deux hiérarchies IGC Santé (TEST et production)",
            _trust(t, _both_bundles, "deux-hierarchies.pem"),
            Expected(failed=frozenset({OTHER_H})),
            env="production",
        ),
        Mutant(
            "en-tetes-identite",
            t,
            "contrôle du sujet laissé à l'application, qui croit l'en-tête `X-SSL-Client-CN` que HAProxy ne supprime pas",
            _steps(_drop(r"deny deny_status 403 unless sas_sujet"), _drop(r"del-header X-SSL-Client-CN")),
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
            _steps(
                _replace("SSLVerifyClient require", "SSLVerifyClient optional_no_ca"),
                _drop(r"Require expr %\{SSL_CLIENT_VERIFY\} == 'SUCCESS'"),
                _drop(r"^\s*(SSLCARevocation|SSLOCSP)", count=7),
            ),
            _DEBRAYAGE,
        ),
        Mutant(
            "cn-non-ancre",
            t,
            "`%{SSL_CLIENT_S_DN_CN} =~ /<cn>/` : expression régulière sans ancres, OU non vérifié",
            _subjects(
                lambda ctx: (
                    "            Require expr "
                    + " || ".join(f"%{{SSL_CLIENT_S_DN_CN}} =~ /{pcre_literal(cn)}/" for cn in ctx.cns())
                )
            ),
            Expected(failed=_SUBSTRING_CN, warning=_keys(IDENTITY, "cn-espace-debut", "cn-espace-fin")),
        ),
        Mutant(
            "cn-insensible-casse",
            t,
            "`%{SSL_CLIENT_S_DN} =~ m#^…$#i` : le sujet est comparé sans tenir compte de la casse",
            _subjects(
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
            _subjects(
                lambda ctx: (
                    "            Require expr %{SSL_CLIENT_S_DN_CN} in { "
                    + ", ".join(f'"{cn}"' for cn in ctx.cns())
                    + " }"
                )
            ),
            Expected(failed=_CN_ONLY | _keys(IDENTITY, "deux-cn")),
        ),
        Mutant(
            "sans-revocation",
            t,
            "ni `SSLCARevocationFile` ni `SSLOCSPEnable` : un certificat révoqué est accepté",
            _drop(r"^\s*(SSLCARevocation|SSLOCSP)", count=7),
            _NO_REVOCATION,
        ),
        Mutant(
            "sans-ocsp",
            t,
            "CRL sans `SSLOCSPEnable` : une révocation postérieure à la dernière CRL passe",
            _drop(r"^\s*SSLOCSP", count=5),
            Expected(warning=frozenset({REVOKED_OCSP})),
        ),
        Mutant(
            "crl-intermediaire-seule",
            t,
            "`SSLCARevocationFile` avec la seule CRL de l'AC intermédiaire (`SSLCARevocationCheck chain`) : tout le monde est refusé",
            _intermediate_crl_only(t),
            _everyone_refused(),
            refuses_everyone=True,
        ),
        Mutant(
            "profondeur-1",
            t,
            "`SSLVerifyDepth 1` : la racine est trop loin, tout le monde est refusé",
            _replace("SSLVerifyDepth 2", "SSLVerifyDepth 1"),
            _everyone_refused(),
            refuses_everyone=True,
        ),
        Mutant(
            "tls10",
            t,
            "`SSLProtocol` avec TLSv1 et TLSv1.1 et `@SECLEVEL=0` pour un vieux client : TLS 1.0/1.1 et la cryptographie faible passent",
            _steps(
                _replace(
                    "SSLProtocol -all +TLSv1.2 +TLSv1.3", "SSLProtocol -all +TLSv1 +TLSv1.1 +TLSv1.2 +TLSv1.3"
                ),
                _replace("SSLCipherSuite HIGH:!aNULL:!MD5", "SSLCipherSuite DEFAULT:@SECLEVEL=0"),
            ),
            Expected(failed=_TLS10, warning=_TLS10_CRYPTO),
        ),
        Mutant(
            "deux-hierarchies",
            t,
            "production : AC et CRL des deux hiérarchies IGC Santé (TEST et production)",
            _steps(
                _trust(t, _both_bundles, "deux-hierarchies.pem"),
                _with_file("SSLOCSPResponderCertificateFile", "deux-hierarchies.pem", _both_bundles),
            ),
            Expected(failed=frozenset({OTHER_H})),
            env="production",
        ),
        Mutant(
            "en-tetes-identite",
            t,
            "contrôle du sujet laissé à l'application, qui croit l'en-tête `X-SSL-Client-CN` qu'Apache ne supprime pas",
            _steps(
                _drop(r"Require expr %\{SSL_CLIENT_S_DN\} in"), _drop(r"RequestHeader unset X-SSL-Client-CN")
            ),
            Expected(failed=frozenset({HEADERS})),
            upstream_trusts_client_cn=True,
        ),
    ]


MUTANTS: dict[str, Mutant] = {m.key: m for m in (*_nginx(), *_haproxy(), *_apache())}


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


# --- the README an editor reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """The non-passing scenarios of one measured run (one ANS environment)."""

    failed: frozenset[str]
    warning: frozenset[str]
    broken: frozenset[str]

    @classmethod
    def of(cls, by_status: dict[str, set[str]]) -> RunSummary:
        return cls(
            failed=frozenset(by_status.get("failed", ())),
            warning=frozenset(by_status.get("warning", ())),
            broken=frozenset(by_status.get("broken", ())),
        )


@dataclass(frozen=True)
class ScenarioInfo:
    """How the README names a scenario: its title, its example value, its requirement id."""

    title: str
    example: str
    requirement: str


_ALERT_PREFIXES = ("SSLV3_ALERT_", "TLSV13_ALERT_", "TLSV1_ALERT_", "TLSV1_")


def describe_attempt(attempt: dict[str, object]) -> str:
    """What the probe saw, in the words an editor finds in their terminator's documentation."""
    outcome = attempt.get("outcome")
    status = attempt.get("http_status")
    if outcome == "refuse_tls":
        alert = str(attempt.get("alert") or "")
        for prefix in _ALERT_PREFIXES:
            if alert.startswith(prefix):
                return f"alerte TLS `{alert[len(prefix) :].lower()}`"
        return "connexion fermée pendant la poignée de main"
    if outcome == "refuse_http":
        return f"HTTP {status} (poignée de main aboutie)"
    if outcome == "accepte":
        return f"**accepté** (HTTP {status})"
    if outcome == "defaut_sonde":
        return "non testable ici (la sonde n'a pas pu proposer ce qu'il fallait)"
    return f"{outcome}"


def _scenario_sort(key: str, infos: dict[str, ScenarioInfo]) -> tuple[str, str, str]:
    info = infos.get(key)
    return (info.requirement, info.title, info.example) if info else ("~", key, "")


def _grouped(keys: frozenset[str], infos: dict[str, ScenarioInfo]) -> str:
    """``SRV-CN (cn-prefixe, cn-suffixe)`` groups, by requirement."""
    groups: dict[str, list[str]] = {}
    for key in sorted(keys, key=lambda k: _scenario_sort(k, infos)):
        info = infos.get(key)
        requirement = info.requirement if info else key
        examples = groups.setdefault(requirement, [])
        if info and info.example:
            examples.append(info.example)
    return ", ".join(f"{req} ({', '.join(ex)})" if ex else req for req, ex in groups.items())


TERMINATOR_LABELS = {"nginx": "nginx", "haproxy": "HAProxy", "apache": "Apache httpd"}
TEMPLATES = {
    "nginx": "nginx/sas.conf.tmpl",
    "haproxy": "haproxy/sas.cfg.tmpl",
    "apache": "apache/sas.conf.tmpl",
}


def render_readme(
    *,
    reference: dict[str, RunSummary],
    refusals: dict[str, dict[str, str]],
    mutants: list[tuple[Mutant, RunSummary]],
    infos: dict[str, ScenarioInfo],
    environments: tuple[str, ...],
) -> str:
    """``terminators/README.md``: the reference configurations and the mutant table, from measured runs."""
    terminators = list(reference)
    out: list[str] = [
        "# Terminateurs HTTPS de référence : nginx, HAProxy, Apache httpd",
        "",
        "<!-- Généré par tests/test_terminators.py à partir d'une exécution réelle des trois terminateurs :",
        "     ne pas modifier à la main (le test échoue si ce fichier ne correspond plus à ce qu'il mesure). -->",
        "",
        "La plupart des éditeurs terminent TLS dans nginx, HAProxy ou Apache httpd. Ce dossier contient, pour",
        "chacun, une configuration de référence du rôle **serveur** de SAS, commentée pour être adaptée :",
        "TLS 1.2 minimum, certificat client obligatoire, confiance limitée à la hiérarchie IGC Santé de",
        "l'environnement, CRL de toute la chaîne, OCSP quand le terminateur sait le faire, CN **et** OU comparés",
        "exactement aux sujets SAS, en-têtes d'identité du client supprimés, identité transmise à l'application",
        "par le seul terminateur.",
        "",
        "## Les configurations",
        "",
        "| terminateur | modèle commenté | OCSP du certificat client | résultat mesuré |",
        "|---|---|---|---|",
    ]
    envs = ", ".join(environments)
    for name in terminators:
        summary = reference[name]
        ocsp = (
            "oui (`ssl_ocsp`)"
            if name == "nginx"
            else ("oui (`SSLOCSPEnable`)" if name == "apache" else "**non**")
        )
        verdict = f"toute la matrice serveur passe ({envs})"
        if summary.failed or summary.broken:
            verdict = f"ÉCHEC : {_grouped(summary.failed | summary.broken, infos)}"
        if summary.warning:
            verdict += f" ; avertissements : {_grouped(summary.warning, infos)}"
        out.append(
            f"| {TERMINATOR_LABELS[name]} | [`{TEMPLATES[name]}`]({TEMPLATES[name]}) | {ocsp} | {verdict} |"
        )
    out += [
        "",
        "SSL 3.0 n'est pas testable avec l'OpenSSL de la suite : le scénario est ignoré, avec sa raison.",
        "",
        "Pour partir d'une configuration qui passe :",
        "",
        "1. `recette-sas pki export staging-pki --responder-url http://<adresse que le terminateur joint>:47600`",
        "   écrit la PKI de test et, dans `staging-pki/snippets/`, ces configurations remplies pour chaque",
        "   environnement (`nginx-preproduction.conf`, `haproxy-preproduction.cfg`, `apache-preproduction.conf`…) ;",
        "2. démarrez l'application sur `127.0.0.1:8080` (ou `recette-sas serve-upstream --port 8080`, l'application",
        "   FHIR de référence), puis le terminateur au premier plan :",
        "   `nginx -p staging-pki/run/nginx-preproduction -c $PWD/staging-pki/snippets/nginx-preproduction.conf -g 'daemon off;'`,",
        "   `haproxy -db -f staging-pki/snippets/haproxy-preproduction.cfg` ou",
        "   `apache2 -DFOREGROUND -f $PWD/staging-pki/snippets/apache-preproduction.conf` ;",
        "3. `pytest features -m serveur --sas-config editeur.toml --sas-env preproduction` (voir",
        "   `config/editeur.example.toml` : `[pki] responder_url`/`responder_bind` à l'adresse de l'export).",
        "",
        "Pour la production, remplacez la PKI de test par les vraies AC et CRL IGC Santé de la hiérarchie de",
        "l'environnement, et le répondeur OCSP par `http://ocsp.esante.gouv.fr`.",
        "",
        "## Comment chaque terminateur refuse",
        "",
        "Ce que la sonde a vu, mesuré sur la pré-production, flux d'agrégation des créneaux :",
        "",
        "| scénario | " + " | ".join(TERMINATOR_LABELS[t] for t in terminators) + " |",
        "|---|" + "---|" * len(terminators),
    ]
    keys = sorted({k for seen in refusals.values() for k in seen}, key=lambda k: _scenario_sort(k, infos))
    for key in keys:
        info = infos.get(key)
        label = (
            f"{info.requirement} {info.title}" + (f" — `{info.example}`" if info.example else "")
            if info
            else key
        )
        cells = [refusals[t].get(key, "—") for t in terminators]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out += [
        "",
        "nginx termine la poignée de main puis répond **HTTP 400** à un certificat invalide, révoqué ou absent",
        "(`$ssl_client_verify` en donne la raison) ; HAProxy et Apache httpd refusent **pendant** la poignée de",
        "main, par une alerte TLS. Les trois répondent HTTP 403 quand seul le sujet n'est pas celui de SAS.",
        "recette-sas compte les deux formes comme des refus, jamais une erreur de la sonde elle-même.",
        "",
        "## Erreurs de configuration et scénarios qui les détectent",
        "",
        "Chaque ligne est une petite modification d'une configuration de référence, jouée sur le vrai",
        "terminateur contre toute la matrice serveur d'un environnement. La dernière colonne est mesurée : les",
        "scénarios **bloquants** qui échouent et les recommandations (*avertissements*) qui signalent l'erreur ;",
        "tous les autres scénarios passent, et aucun refus n'est crédité sans contrôle positif réussi.",
        "",
        "| mutant | terminateur | environnement | ce qu'il fait de travers | scénarios qui le détectent |",
        "|---|---|---|---|---|",
    ]
    for mutant, measured in mutants:
        own_warnings = measured.warning - (
            frozenset() if mutant.refuses_everyone else REFERENCE_WARNINGS[mutant.terminator]
        )
        if mutant.refuses_everyone:
            caught = (
                f"contrôle positif en échec : **bloquants** {_grouped(measured.failed, infos)} ; "
                f"*avertissements* {_grouped(own_warnings, infos)} ; les {len(measured.broken)} refus attendus "
                "sont « non jugés », aucun n'est compté comme réussi"
            )
        else:
            parts = []
            if measured.failed:
                parts.append(f"**bloquants** {_grouped(measured.failed, infos)}")
            if own_warnings:
                parts.append(f"*avertissements* {_grouped(own_warnings, infos)}")
            if measured.broken:
                parts.append(f"non jugés {_grouped(measured.broken, infos)}")
            caught = " ; ".join(parts) or "**aucun**"
        description = mutant.description + "".join(f" ({note})" for note in mutant.notes)
        out.append(
            f"| `{mutant.name}` | {TERMINATOR_LABELS[mutant.terminator]} | {mutant.env} | {description} | {caught} |"
        )
    requirements: dict[str, set[str]] = {}
    for info in infos.values():
        requirements.setdefault(info.requirement, set()).add(info.title)
    out += [
        "",
        "## Limites connues",
        "",
        "- **HAProxy n'interroge pas d'OCSP pour un certificat client** (son OCSP ne sert qu'à agrafer la",
        "  réponse de son propre certificat) : seule la CRL, mise à jour chaque jour, protège d'un certificat",
        "  révoqué ; la recommandation REC-OCSP reste en avertissement.",
        "- **Un certificat client marqué CA:TRUE est accepté par les trois** (OpenSSL ne le refuse pas pour",
        "  l'authentification client) : seule une application qui relit le certificat transmis pourrait le",
        "  refuser ; la recommandation REC-PROFIL (`feuille-ca`) reste en avertissement.",
        "- **Les CRL doivent couvrir toute la chaîne** : avec la seule CRL de l'AC intermédiaire, les trois",
        "  terminateurs refusent tout le monde (mutants `crl-intermediaire-seule`). Une CRL expirée fait de même.",
        "- nginx refuse `ssl_ocsp` avec `ssl_verify_client optional_no_ca`, interroge le répondeur lui-même",
        "  (directive `resolver` nécessaire pour un nom d'hôte) et refuse le client si le répondeur ne répond pas.",
        "- Apache httpd ne vérifie une réponse OCSP signée directement par l'AC, sans certificat joint, que si",
        "  `SSLOCSPResponderCertificateFile` désigne cette AC.",
        "- nginx (OpenSSL) compte la profondeur en AC intermédiaires (`ssl_verify_depth 1` suffit pour l'IGC",
        "  Santé) ; Apache httpd compte aussi la racine (`SSLVerifyDepth 1` refuse tout le monde).",
        "- Les sujets sont comparés sur le DN complet (CN, OU, O, ST, C), dans l'ordre RFC 2253 ; si l'ANS",
        "  renouvelle le certificat de SAS avec un autre O ou ST, régénérez les configurations.",
        "",
        "## Exigences citées",
        "",
        "| exigence | scénario |",
        "|---|---|",
    ]
    for requirement in sorted(requirements):
        out.append(f"| {requirement} | {' ; '.join(sorted(requirements[requirement]))} |")
    return "\n".join(out) + "\n"


__all__ = [
    "MUTANTS",
    "NEGATIVES",
    "POSITIVES",
    "REFERENCE_WARNINGS",
    "SKIPPED",
    "Expected",
    "Mutant",
    "MutationContext",
    "MutationError",
    "RunSummary",
    "ScenarioInfo",
    "apply",
    "describe_attempt",
    "full_expected",
    "render_readme",
]
