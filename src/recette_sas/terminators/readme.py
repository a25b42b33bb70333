"""``terminators/README.md``: the reference configurations and the mutant table, rendered from measured runs.

Scenarios are named by check key (``SRV-CN-01[cn-prefixe]``, see ``recette_sas.terminators.expected``), so
the table an editor reads quotes the same id they would put in ``expected_deviations``.
"""

from __future__ import annotations

from dataclasses import dataclass

from recette_sas.terminators.expected import REFERENCE_WARNINGS
from recette_sas.terminators.mutants import Mutant


@dataclass(frozen=True)
class RunSummary:
    """The non-passing checks of one measured run (one ANS environment), by check key."""

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
    """How the README names a check key: its check id, example value, requirement id and scenario title."""

    check: str
    example: str
    requirement: str
    title: str


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


def _split(key: str) -> tuple[str, str]:
    """``SRV-CN-01[cn-prefixe]`` -> (``SRV-CN-01``, ``cn-prefixe``); ``SRV-MTLS-01`` -> (``SRV-MTLS-01``, ``""``)."""
    check, _, example = key.partition("[")
    return check, example.removesuffix("]")


def _grouped(keys: frozenset[str]) -> str:
    """``SRV-CN-01 (cn-prefixe, cn-suffixe)`` groups, by check id."""
    groups: dict[str, list[str]] = {}
    for key in sorted(keys, key=_split):
        check, example = _split(key)
        examples = groups.setdefault(check, [])
        if example:
            examples.append(example)
    return ", ".join(f"{check} ({', '.join(ex)})" if ex else check for check, ex in groups.items())


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
            verdict = f"ÉCHEC : {_grouped(summary.failed | summary.broken)}"
        if summary.warning:
            verdict += f" ; avertissements : {_grouped(summary.warning)}"
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
        "| contrôle | scénario | " + " | ".join(TERMINATOR_LABELS[t] for t in terminators) + " |",
        "|---|---|" + "---|" * len(terminators),
    ]
    for key in sorted({k for seen in refusals.values() for k in seen}, key=_split):
        info = infos.get(key)
        cells = [refusals[t].get(key, "—") for t in terminators]
        out.append(f"| `{key}` | {info.title if info else ''} | " + " | ".join(cells) + " |")
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
        "scénarios **bloquants** qui échouent et les recommandations (*avertissements*) qui signalent l'erreur,",
        "nommés par leur identifiant de contrôle (et la valeur d'exemple) ; tous les autres scénarios passent,",
        "et aucun refus n'est crédité sans contrôle positif réussi.",
        "",
        "| mutant | terminateur | environnement | ce qu'il fait de travers | contrôles qui le détectent |",
        "|---|---|---|---|---|",
    ]
    for mutant, measured in mutants:
        own_warnings = measured.warning - (
            frozenset() if mutant.refuses_everyone else REFERENCE_WARNINGS[mutant.terminator]
        )
        if mutant.refuses_everyone:
            caught = (
                f"contrôle positif en échec : **bloquants** {_grouped(measured.failed)} ; "
                f"*avertissements* {_grouped(own_warnings)} ; les {len(measured.broken)} refus attendus "
                "sont « non jugés », aucun n'est compté comme réussi"
            )
        else:
            parts = []
            if measured.failed:
                parts.append(f"**bloquants** {_grouped(measured.failed)}")
            if own_warnings:
                parts.append(f"*avertissements* {_grouped(own_warnings)}")
            if measured.broken:
                parts.append(f"non jugés {_grouped(measured.broken)}")
            caught = " ; ".join(parts) or "**aucun**"
        description = mutant.description + "".join(f" ({note})" for note in mutant.notes)
        out.append(
            f"| `{mutant.name}` | {TERMINATOR_LABELS[mutant.terminator]} | {mutant.env} | {description} | {caught} |"
        )
    checks = {info.check: info for info in infos.values()}
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
        "## Contrôles cités",
        "",
        "Un identifiant de contrôle ne change pas quand le titre d'un scénario est reformulé : c'est lui",
        "qu'on cite (avec la valeur d'exemple entre crochets) dans `expected_deviations`.",
        "",
        "| contrôle | exigence | scénario |",
        "|---|---|---|",
    ]
    for check in sorted(checks):
        out.append(f"| {check} | {checks[check].requirement} | {checks[check].title} |")
    return "\n".join(out) + "\n"


__all__ = ["RunSummary", "ScenarioInfo", "describe_attempt", "render_readme"]
