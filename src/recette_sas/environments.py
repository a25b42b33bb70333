"""What SAS looks like in each ANS environment, and which editor environment answers it.

The values come from the user's spec (``sas-securisation-echanges.md``); the spelling
``agregateur`` (recette) versus ``aggregator`` (pre-production, production) is SAS's own and
must be kept letter for letter: the editor's CN check compares exact strings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recette_sas.errors import UsageError as UsageError  # re-exported until every importer names errors

if TYPE_CHECKING:
    from cryptography import x509


class Hierarchy(enum.StrEnum):
    """An IGC Santé hierarchy: TEST signs recette and pre-production, PRODUCTION signs production."""

    TEST = "test"
    PRODUCTION = "production"

    @property
    def other(self) -> Hierarchy:
        return Hierarchy.PRODUCTION if self is Hierarchy.TEST else Hierarchy.TEST


class Mapping(enum.StrEnum):
    """How ANS environments map onto the editor's (spec, "Correspondance des environnements")."""

    ONE_TO_ONE = "un-pour-un"
    SIMPLIFIED = "simplifie"

    @classmethod
    def parse(cls, value: str, *, where: str = "--sas-mapping") -> Mapping:
        aliases = {
            "un-pour-un": cls.ONE_TO_ONE,
            "one-to-one": cls.ONE_TO_ONE,
            "simplifie": cls.SIMPLIFIED,
            "simplifié": cls.SIMPLIFIED,
            "simplified": cls.SIMPLIFIED,
        }
        try:
            return aliases[value.strip().lower()]
        except KeyError:
            raise UsageError(
                f"{where}: unknown mapping {value!r} (expected one of: un-pour-un, simplifie)"
            ) from None


@dataclass(frozen=True)
class SasSubject:
    """The exact subject DN of SAS's client certificate in one environment."""

    c: str
    st: str
    o: str
    ou: str
    cn: str

    def to_name(self) -> x509.Name:
        """The DN in the attribute order the IGC uses (C, ST, O, OU, CN)."""
        from cryptography import x509  # here: collecting the features must not pay for cryptography
        from cryptography.x509.oid import NameOID

        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, self.c),
                x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, self.st),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.o),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, self.ou),
                x509.NameAttribute(NameOID.COMMON_NAME, self.cn),
            ]
        )

    def rfc4514(self) -> str:
        return self.to_name().rfc4514_string()


@dataclass(frozen=True)
class SasEnvironment:
    """One ANS environment of the SAS platform."""

    key: str
    label: str
    base_url: str
    egress_ip: str
    subject: SasSubject
    hierarchy: Hierarchy

    @property
    def host(self) -> str:
        return self.base_url.split("//", 1)[1].split("/", 1)[0]


_ST = "Paris (75)"

RECETTE = SasEnvironment(
    key="recette",
    label="Recette",
    base_url="https://sas-agregateur.integration.santefr.esante.gouv.fr/",
    egress_ip="193.41.222.248",
    subject=SasSubject(
        c="FR",
        st=_ST,
        o="CABINET MLLE DENTISTE0023419",
        ou="499700234190004",
        cn="sas-agregateur-recette",
    ),
    hierarchy=Hierarchy.TEST,
)

PREPRODUCTION = SasEnvironment(
    key="preproduction",
    label="Pré-production",
    base_url="https://sas-agregateur.preproduction.santefr.esante.gouv.fr/",
    egress_ip="31.15.27.36",
    subject=SasSubject(
        c="FR",
        st=_ST,
        o="CABINET M. MASSEUR0034394",
        ou="499700343942006",
        cn="sas-aggregator-preproduction",
    ),
    hierarchy=Hierarchy.TEST,
)

PRODUCTION = SasEnvironment(
    key="production",
    label="Production",
    base_url="https://sas-agregateur.production.santefr.esante.gouv.fr/",
    egress_ip="31.15.27.13",
    subject=SasSubject(
        c="FR",
        st=_ST,
        o="AGENCE DES SYSTEMES D'INFORMATION PARTAG",
        ou="318751275100020",
        cn="sas-aggregator-production",
    ),
    hierarchy=Hierarchy.PRODUCTION,
)

ENVIRONMENTS: dict[str, SasEnvironment] = {e.key: e for e in (RECETTE, PREPRODUCTION, PRODUCTION)}
ENVIRONMENT_KEYS: tuple[str, ...] = tuple(ENVIRONMENTS)


def get_environment(key: str, *, where: str = "--sas-env") -> SasEnvironment:
    try:
        return ENVIRONMENTS[key.strip().lower()]
    except KeyError:
        raise UsageError(
            f"{where}: unknown environment {key!r} (expected one of: {', '.join(ENVIRONMENT_KEYS)})"
        ) from None


def editor_environments(mapping: Mapping) -> tuple[str, ...]:
    """The editor environments that exist under a mapping."""
    if mapping is Mapping.SIMPLIFIED:
        return ("preproduction", "production")
    return ENVIRONMENT_KEYS


def editor_environment_for(ans_env: str, mapping: Mapping) -> str:
    """The editor environment that SAS's ``ans_env`` calls."""
    get_environment(ans_env)
    if mapping is Mapping.SIMPLIFIED and ans_env == "recette":
        return "preproduction"
    return ans_env


def ans_environments_served_by(editor_env: str, mapping: Mapping) -> tuple[SasEnvironment, ...]:
    """The ANS environments whose SAS calls the editor's ``editor_env``."""
    if editor_env not in editor_environments(mapping):
        raise UsageError(
            f"--sas-env: editor environment {editor_env!r} does not exist in mapping {mapping.value}"
        )
    return tuple(e for e in ENVIRONMENTS.values() if editor_environment_for(e.key, mapping) == editor_env)


def accepted_subjects(editor_env: str, mapping: Mapping) -> tuple[SasSubject, ...]:
    """The SAS subjects the editor's ``editor_env`` must accept (and no other)."""
    return tuple(e.subject for e in ans_environments_served_by(editor_env, mapping))


def trusted_hierarchy(editor_env: str, mapping: Mapping) -> Hierarchy:
    """The one IGC hierarchy the editor's ``editor_env`` must trust."""
    hierarchies = {e.hierarchy for e in ans_environments_served_by(editor_env, mapping)}
    (only,) = hierarchies  # the spec never mixes hierarchies in one editor environment
    return only


def other_environment(ans_env: str) -> SasEnvironment:
    """A different ANS environment whose SAS subject ``ans_env``'s target must tell apart.

    Recette and pre-production swap with each other; production is compared with pre-production.
    """
    return {"recette": PREPRODUCTION, "preproduction": RECETTE, "production": PREPRODUCTION}[ans_env]
