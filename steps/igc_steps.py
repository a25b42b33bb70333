"""Steps of the real-chain scenarios (trust mode ``igc``) and of the IP-filtering checks."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from pytest_bdd import given, then, when

from fixtures.options import Settings
from fixtures.targets import ConfiguredTargets, EmbeddedTargets
from recette_sas.environments import ENVIRONMENTS, get_environment
from recette_sas.server.rules import Cause

from .evidence import attach_attempt, attach_text, attach_verdict
from .serveur_steps import Presentation

if TYPE_CHECKING:  # loaded when a step runs, not when pytest collects the features
    from recette_sas.pki.store import Pki
    from recette_sas.server.targets import Reachability, Target, TargetSession


_SUBJECT = frozenset({Cause.SUBJECT})

WHY_NO_POSITIVE_CONTROL = (
    "Seul SAS détient la clé de son certificat : sur une chaîne IGC réelle, le contrôle positif est un "
    "contrôle d'accessibilité (le serveur répond en TLS, demande un certificat client et annonce l'IGC)."
)


@dataclass
class EditorCertificates:
    """The editor's genuine IGC certificates: look-alike ones for the embedded run, the configured ones else."""

    pki: Pki
    settings: Settings
    directory: str

    def genuine(self, editor_env: str) -> Presentation | None:
        from recette_sas.config.credentials import load_credential, write_identity
        from recette_sas.pki.editor import EditorPki

        if self.settings.config is None:
            return Presentation(identity=EditorPki(self.pki).identity(editor_env), defects=_SUBJECT)
        env = self.settings.config.environments[editor_env]
        if env.certificate is None:
            return None
        where = f"{self.settings.config.path}: environments.{editor_env}.certificate"
        cred = load_credential(env.certificate, where=where)
        return Presentation(
            identity=write_identity(cred, label=f"editeur-{editor_env}", directory=self._dir()),
            defects=_SUBJECT,  # proven valid on every other count at load (recette_sas.config.genuine)
        )

    def other_hierarchy(self, editor_env: str) -> Presentation | None:
        from recette_sas.pki.editor import EditorPki
        from recette_sas.pki.editor_defects import EditorDefect

        if self.settings.config is None:
            return Presentation(
                identity=EditorPki(self.pki).identity(editor_env, EditorDefect.AUTRE_HIERARCHIE),
                defects=frozenset({Cause.ISSUER, Cause.SUBJECT}),
            )
        mine = get_environment(editor_env).hierarchy
        for key, env in self.settings.config.environments.items():
            if ENVIRONMENTS[key].hierarchy is not mine and env.certificate is not None:
                genuine = self.genuine(key)
                assert genuine is not None
                return dataclasses.replace(genuine, defects=frozenset({Cause.ISSUER, Cause.SUBJECT}))
        return None

    def revoked(self, editor_env: str, ans_env: str) -> Presentation | None:
        from recette_sas.config.credentials import load_credential, write_identity
        from recette_sas.pki.catalogue import Defect

        if self.settings.config is None:
            return Presentation(
                identity=self.pki.identity(ans_env, Defect.REVOQUE), defects=frozenset({Cause.REVOCATION})
            )
        files = self.settings.config.environments[editor_env].extra_certificates.get("revoked")
        if files is None:
            return None
        where = f"{self.settings.config.path}: environments.{editor_env}.extra_certificates.revoked"
        cred = load_credential(files, where=where)
        return Presentation(
            identity=write_identity(cred, label=f"revoque-{editor_env}", directory=self._dir()),
            defects=frozenset({Cause.REVOCATION, Cause.SUBJECT}),
        )

    def _dir(self) -> Path:
        return Path(self.directory)


@pytest.fixture(scope="session")
def editor_certificates(pki: Pki, settings: Settings) -> Iterator[EditorCertificates]:
    from recette_sas.config.private_dirs import private_directory

    with private_directory() as directory:
        yield EditorCertificates(pki=pki, settings=settings, directory=directory)


@given("le serveur réel de l'éditeur qui répond à l'environnement ANS", target_fixture="cible")
def _(ans_env: str, targets: EmbeddedTargets | ConfiguredTargets) -> Target:
    target = targets.for_ans_env(ans_env, trust="igc")
    if target.trust != "igc":
        pytest.skip(
            f"{target.label} is a staging server trusting the suite's look-alike PKI: the full matrix applies "
            'there; these scenarios are for servers trusting the real IGC Santé chain (trust = "igc")'
        )
    attach_text("contrôle positif", WHY_NO_POSITIVE_CONTROL)
    return target


def _need(presentation: Presentation | None, what: str) -> Presentation:
    if presentation is None:
        pytest.skip(f"no {what} in the configuration: scenario not testable on this target")
    return presentation


@given(
    "la plateforme SAS présente le certificat IGC Santé authentique de l'éditeur",
    target_fixture="presentation",
)
def _(editor_certificates: EditorCertificates, cible: Target) -> Presentation:
    return _need(editor_certificates.genuine(cible.editor_env), "editor certificate ([…certificate])")


@given(
    "la plateforme SAS présente un certificat IGC Santé authentique de l'autre hiérarchie",
    target_fixture="presentation",
)
def _(editor_certificates: EditorCertificates, cible: Target) -> Presentation:
    return _need(
        editor_certificates.other_hierarchy(cible.editor_env),
        "editor certificate of the other hierarchy (an environment of the other hierarchy with a certificate)",
    )


@given("la plateforme SAS présente un certificat IGC Santé révoqué", target_fixture="presentation")
def _(editor_certificates: EditorCertificates, cible: Target, ans_env: str) -> Presentation:
    return _need(
        editor_certificates.revoked(cible.editor_env, ans_env),
        "revoked certificate (extra_certificates.revoked)",
    )


@when("la plateforme SAS ouvre une connexion sans certificat", target_fixture="accessibilite")
def _(target_session: TargetSession, cible: Target) -> Reachability:
    reach = target_session.reachability(cible)
    attach_attempt(reach.bare, name="connexion sans certificat")
    attach_text(
        "demande de certificat",
        f"{reach.request.evidence}\nAC annoncées :\n" + "\n".join(reach.request.ca_names),
    )
    return reach


@then("le serveur demande un certificat client")
def _(accessibilite: Reachability) -> None:
    from recette_sas.server import rules

    attach_verdict(rules.require_certificate_request(accessibilite))


@then("les autorités annoncées comprennent l'intermédiaire IGC Santé de l'environnement")
def _(accessibilite: Reachability, ans_env: str) -> None:
    from recette_sas.pki.igc import HIERARCHIES
    from recette_sas.server import rules

    _root, inter = HIERARCHIES[get_environment(ans_env).hierarchy]
    verdict = rules.require_ca_names(
        accessibilite, intermediate_name=inter.name, intermediate_subject=inter.subject
    )
    attach_verdict(verdict)


@then("aucune autorité de l'autre hiérarchie n'est annoncée")
def _(accessibilite: Reachability, ans_env: str) -> None:
    from recette_sas.pki.igc import HIERARCHIES
    from recette_sas.server import rules

    other = HIERARCHIES[get_environment(ans_env).hierarchy.other]
    attach_verdict(rules.require_no_ca_names_of(accessibilite, {ca.name: ca.subject for ca in other}))


@then("le certificat serveur de l'éditeur est valide pour son nom d'hôte et servi avec sa chaîne")
def _(accessibilite: Reachability) -> None:
    from recette_sas.server import rules

    attach_verdict(rules.require_server_certificate(accessibilite.bare))


@then("le certificat serveur de l'éditeur expire dans plus de 30 jours")
def _(accessibilite: Reachability) -> None:
    from recette_sas.server import rules

    attach_verdict(rules.require_server_certificate_lifetime(accessibilite.bare, days=30))


@dataclass(frozen=True)
class AllowList:
    editor_env: str
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    host: str
    port: int


@given("la liste d'adresses autorisées déclarée pour l'environnement éditeur", target_fixture="liste_ip")
def _(settings: Settings, ans_env: str) -> AllowList:
    from recette_sas.environments import editor_environment_for

    if settings.config is None:
        pytest.skip("no IP allow-list: the embedded reference targets do not filter by IP")
    editor_env = editor_environment_for(ans_env, settings.mapping)
    env = settings.config.environments[editor_env]
    if env.ip_allow_list is None:
        pytest.skip(f"no ip_allow_list declared for {editor_env} in {settings.config.path}")
    networks = tuple(ipaddress.ip_network(a, strict=False) for a in env.ip_allow_list)
    return AllowList(editor_env=editor_env, networks=networks, host=env.host, port=env.port)


@then("l'adresse IP sortante de SAS pour l'environnement ANS y figure")
def _(liste_ip: AllowList, settings: Settings, ans_env: str) -> None:
    from recette_sas.server import rules

    overrides = settings.config.sas_egress_ips if settings.config else {}
    egress = ipaddress.ip_address(overrides.get(ans_env, get_environment(ans_env).egress_ip))
    attach_text(
        "adresse de SAS",
        f"{ans_env}: {egress}"
        + (" (valeur de la configuration)" if ans_env in overrides else " (spécification)"),
    )
    attach_verdict(rules.require_ip_allowed(
            str(egress), liste_ip.networks, editor_env=liste_ip.editor_env, ans_env=ans_env
        ),
    )


@when("la suite ouvre une connexion TCP vers le serveur de l'éditeur", target_fixture="connexion_ip")
def _(liste_ip: AllowList, settings: Settings) -> tuple[str | None, str]:
    try:
        with socket.create_connection(
            (liste_ip.host, liste_ip.port), timeout=settings.connect_timeout
        ) as sock:
            return str(sock.getsockname()[0]), "answered"
    except OSError as exc:
        return None, f"no answer ({exc.strerror or exc})"


@then("le serveur ne répond pas si l'adresse de la suite n'est pas dans la liste")
def _(liste_ip: AllowList, connexion_ip: tuple[str | None, str]) -> None:
    from recette_sas.server import rules

    local, result = connexion_ip
    reason = rules.require_ip_filter_enforced(local, result, liste_ip.networks)
    pytest.skip(reason)
