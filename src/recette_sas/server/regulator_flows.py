"""What SAS sends to an editor to manage regulator accounts (INT_R02), as sequences of requests.

The resources are FrPractitionerRegul accounts modelled on the IG's ``example-practitioner-regul*.fsh``:
``meta.source`` SAS's OID, one identifier (the national IDNPS under ``urn:oid:1.2.250.1.71.4.2.1``, or the
internal SAS identifier, a UUID under ``urn:oid:1.2.250.1.213.3.6``) with its ``fr-v2-0203`` type,
``active``, one name and one e-mail. The headers are SAS's (``Accept: application/json+fhir``, as the page
writes it and ANS's kit sends it; ``Content-Type: application/fhir+json``).

Each scenario runs one ``Sequence``: fresh identifiers per call, so that scenarios never share an account
and the order in which they run changes nothing. The requests of a sequence do not depend on the answers:
a conditional update designates the account by the identifier SAS chose, as SAS does.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

from recette_sas.fhir.profiles.fr_practitioner_regul import RPPS_SYSTEM, SAS_SYSTEM, URL
from recette_sas.probe.endpoint import HttpRequest

TYPE_SYSTEM = "http://interopsante.org/fhir/CodeSystem/fr-v2-0203"
SAS_HEADERS: tuple[tuple[str, str], ...] = (
    ("Accept", "application/json+fhir"),
    ("Content-Type", "application/fhir+json"),
)


@dataclass(frozen=True)
class Account:
    """One regulator account as SAS knows it."""

    kind: str  # "national" | "sas"
    value: str
    family: str = "LORIDON"
    given: str = "Sébastien"
    email: str = "sebastien.loridon@test.com"
    active: bool = True

    @property
    def system(self) -> str:
        return RPPS_SYSTEM if self.kind == "national" else SAS_SYSTEM

    @property
    def token(self) -> str:
        return f"{self.system}|{self.value}"

    def resource(self) -> dict[str, Any]:
        code = "IDNPS" if self.kind == "national" else "INTRN"
        return {
            "resourceType": "Practitioner",
            "meta": {"profile": [URL], "source": SAS_SYSTEM},
            "identifier": [
                {
                    "type": {"coding": [{"system": TYPE_SYSTEM, "code": code}]},
                    "system": self.system,
                    "value": self.value,
                }
            ],
            "active": self.active,
            "name": [{"family": self.family, "given": [self.given]}],
            "telecom": [{"system": "email", "value": self.email}],
        }


def new_account(kind: str = "national") -> Account:
    """A fresh account: an IDNPS (``8`` then an 11-digit RPPS) or an internal SAS UUID."""
    if kind == "national":
        return Account("national", "8" + "".join(secrets.choice("0123456789") for _ in range(11)))
    return Account("sas", str(uuid.uuid4()), family="MARIUS", given="Jules", email="jules.marius@test.com")


def _body(resource: Any) -> bytes:
    return json.dumps(resource, ensure_ascii=False).encode("utf-8")


def create(account: Account, *, base_path: str = "") -> HttpRequest:
    """``POST [base]/Practitioner``."""
    return HttpRequest("POST", f"{base_path}/Practitioner", SAS_HEADERS, _body(account.resource()))


def _designate(token: str) -> str:
    return urllib.parse.quote(token, safe="")


def update(account: Account, *, base_path: str = "") -> HttpRequest:
    """``PUT [base]/Practitioner?identifier=system|value``, the account's own identifier."""
    path = f"{base_path}/Practitioner?identifier={_designate(account.token)}"
    return HttpRequest("PUT", path, SAS_HEADERS, _body(account.resource()))


def search(account: Account, *, base_path: str = "") -> HttpRequest:
    """``GET [base]/Practitioner?identifier=system|value`` (a read back, where the editor exposes it)."""
    headers = (SAS_HEADERS[0],)
    query = f"identifier={_designate(account.token)}&_elements=identifier,active,name,telecom"
    return HttpRequest("GET", f"{base_path}/Practitioner?{query}", headers)


def invalid_body(kind: str) -> bytes:
    """A body SAS's platform never sends, and that an editor must refuse."""
    if kind == "non-json":
        return b'{"resourceType": "Practitioner", "identifier": ['
    if kind == "autre-ressource":
        return _body({"resourceType": "Patient", "name": [{"family": "LORIDON"}]})
    account = new_account().resource()
    if kind == "sans-identifiant":
        return _body({k: v for k, v in account.items() if k != "identifier"})
    if kind == "actif-non-booleen":
        return _body({**account, "active": "oui"})
    raise ValueError(f"unknown invalid body {kind!r}")


INVALID_KINDS = ("non-json", "autre-ressource", "sans-identifiant", "actif-non-booleen")


@dataclass(frozen=True)
class Step:
    """One request of a sequence, named for the report, with the account state it sends."""

    name: str
    request: HttpRequest
    account: Account | None = None


def sequence(name: str, *, base_path: str = "") -> tuple[Step, ...]:
    """The requests of the sequence ``name`` (``SEQUENCES``), with fresh accounts."""
    national, sas = new_account("national"), new_account("sas")
    b = base_path

    def step(label: str, make: Any, account: Account) -> Step:
        return Step(label, make(account, base_path=b), account)

    off = _replace(national, active=False)
    if name == "creation-nationale":
        return (step("création", create, national),)
    if name == "creation-sas":
        return (step("création", create, sas),)
    if name == "maj-email":
        changed = _replace(national, email="s.loridon@exemple.fr")
        return (step("création", create, national), step("mise à jour", update, changed))
    if name == "maj-noms":
        changed = _replace(sas, family="MARIUS-DURAND", given="Jules-Henri")
        return (step("création", create, sas), step("mise à jour", update, changed))
    if name == "maj-inconnu":
        return (step("mise à jour", update, sas),)
    if name == "maj-repetee":
        return (step("mise à jour", update, sas), step("même mise à jour", update, sas))
    if name == "desactivation":
        return (step("création", create, national), step("désactivation", update, off))
    if name == "reactivation":
        return (
            step("création", create, national),
            step("désactivation", update, off),
            step("réactivation", update, national),
        )
    if name == "reattribution":
        other = _replace(national, family="DUPONT", given="Claire", email="claire.dupont@test.com")
        return (
            step("création", create, national),
            step("désactivation", update, off),
            step("création du nouveau titulaire", create, other),
        )
    if name == "doublon":
        return (step("création", create, national), step("seconde création", create, national))
    if name.startswith("invalide:"):
        kind = name.partition(":")[2]
        return (
            Step(
                f"création invalide ({kind})",
                HttpRequest("POST", f"{b}/Practitioner", SAS_HEADERS, invalid_body(kind)),
            ),
        )
    if name == "relecture-creation":
        return (step("création", create, national), step("relecture", search, national))
    if name == "relecture-email":
        changed = _replace(national, email="s.loridon@exemple.fr")
        return (
            step("création", create, national),
            step("mise à jour", update, changed),
            step("relecture", search, changed),
        )
    if name == "relecture-desactivation":
        return (
            step("création", create, national),
            step("désactivation", update, off),
            step("relecture", search, off),
        )
    raise ValueError(f"unknown regulator sequence {name!r}")


def _replace(account: Account, **changes: Any) -> Account:
    return dataclasses.replace(account, **changes)


__all__ = [
    "INVALID_KINDS",
    "SAS_HEADERS",
    "Account",
    "Step",
    "create",
    "new_account",
    "search",
    "sequence",
    "update",
]
