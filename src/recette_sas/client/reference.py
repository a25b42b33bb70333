"""The embedded reference client: an editor's software doing the client role right, or broken on purpose.

With the default ``ClientBehaviour`` it does what the spec asks of an editor calling SAS: HTTPS with
TLS 1.2 or later, SAS's host name as SNI and as the name it verifies, trust in the one CA it is
given and nothing from the environment (``trust_env=False``, no ``SSL_CERT_FILE``), its IGC Santé
AUTH_CLI certificate with its intermediate on every request, then a creation
(``POST [base]/Appointment``) and an update of the same appointment
(``PUT [base]/Appointment?identifier=system|value``).

Each ``VARIANTS`` entry gets exactly one thing wrong, so the project's tests can show that the
client scenarios catch it.

``connect_to`` plays curl's ``--resolve``: the URL keeps SAS's host name (so the Host header, SNI
and certificate check use it) while the TCP connection goes to a loopback address.

httpx 0.28 deprecates ``cert=``: the certificate chain is loaded into the ``ssl.SSLContext``
given as ``verify=``, which is what that deprecation asks for.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import time
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from recette_sas.client.variants import ClientBehaviour
from recette_sas.environments import UsageError

APPOINTMENT_SYSTEM = "https://editeur-exemple.fr/fhir/rendez-vous"
RPPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
RPPS_VALUE = "810000000001"
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class ClientConfig:
    """Where and how the client calls SAS.

    ``base_url`` is FHIR's ``[base]`` (``https://<SAS host>[:port]``); ``ca_file`` the only CA trusted
    for the server; ``certfile`` holds the certificate chain sent (leaf first), ``keyfile`` its key.
    """

    base_url: str
    ca_file: Path
    certfile: Path | None
    keyfile: Path | None = field(default=None, repr=False)
    connect_to: str | None = None
    timeout: float = 10.0
    behaviour: ClientBehaviour = ClientBehaviour()
    extra_trust: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ClientStep:
    """One request the client made, as the client saw it."""

    method: str
    url: str
    status: int | None
    location: str | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True)
class ClientRun:
    steps: tuple[ClientStep, ...]
    identifier: str | None

    def summary(self) -> str:
        if not self.steps:
            return "the client sent nothing"
        return "; ".join(
            f"{s.method} {s.url} -> {s.status if s.status is not None else s.error}" for s in self.steps
        )


def ssl_context(config: ClientConfig) -> ssl.SSLContext:
    """The client's TLS context, built from ``config`` only (nothing from the environment)."""
    behaviour = config.behaviour
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if behaviour.verify_server:
        ctx.load_verify_locations(cafile=str(config.ca_file))
        for extra in config.extra_trust:
            ctx.load_verify_locations(cafile=str(extra))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if behaviour.min_tls == "TLSv1.2":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    else:
        # The broken variant means it: OpenSSL 3 needs security level 0 to offer TLS 1.0/1.1.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion[behaviour.min_tls.replace(".", "_")]
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if behaviour.send_certificate and config.certfile is not None:
        ctx.load_cert_chain(
            certfile=str(config.certfile), keyfile=str(config.keyfile) if config.keyfile else None
        )
    return ctx


OPERATOR_URL = "http://interopsante.org/fhir/StructureDefinition/FrAppointmentOperator"
PROFILE_URL = "http://sas.fr/fhir/StructureDefinition/FrAppointmentSAS"
IDNPS_TYPE = {"coding": [{"system": "http://interopsante.org/fhir/CodeSystem/fr-v2-0203", "code": "IDNPS"}]}
REGULATOR_IDNPS = "810002673899"
"""The regulator who booked, as INT_R02 gave it (the IG's ExamplePractitionerRegul2)."""


def appointment(
    identifier_value: str,
    *,
    status: str,
    start: dt.datetime,
    operator: bool = True,
    participant_status: str = "accepted",
) -> dict[str, Any]:
    """An FrAppointmentSAS appointment modelled on the IG's ``example-appointmentpsindiv*.fsh``: the
    profile in ``meta``, the regulator who booked (operator extension), the editor's identifier, the
    practitioner identified by RPPS."""
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "meta": {"profile": [PROFILE_URL]},
        "extension": [
            {
                "url": OPERATOR_URL,
                "valueReference": {
                    "identifier": {"type": IDNPS_TYPE, "system": RPPS_SYSTEM, "value": REGULATOR_IDNPS}
                },
            }
        ],
        "identifier": [{"system": APPOINTMENT_SYSTEM, "value": identifier_value}],
        "status": status,
        "start": start.isoformat(timespec="seconds"),
        "end": (start + dt.timedelta(minutes=20)).isoformat(timespec="seconds"),
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(timespec="seconds"),
        "participant": [
            {
                "actor": {
                    "identifier": {"type": IDNPS_TYPE, "system": RPPS_SYSTEM, "value": RPPS_VALUE},
                    "display": "Dr RECETTE Exemple",
                },
                "status": participant_status,
            }
        ],
    }
    if not operator:
        del resource["extension"]
    return resource


def _target(config: ClientConfig, path: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """URL, extra headers and request extensions for ``path``, honouring ``connect_to``."""
    base = config.base_url.rstrip("/")
    if config.connect_to is None:
        return base + path, {}, {}
    parts = urlsplit(base)
    if parts.hostname is None:
        raise UsageError(f"reference client: base URL {config.base_url!r} has no host")
    port = parts.port or 443
    authority = parts.hostname if port == 443 else f"{parts.hostname}:{port}"
    url = f"https://{config.connect_to}:{port}{parts.path}{path}"
    return url, {"Host": authority}, {"sni_hostname": parts.hostname}


def run_exchange(config: ClientConfig) -> ClientRun:
    """Create an appointment, then update it; never raises for what the network or TLS does."""
    behaviour = config.behaviour
    if behaviour.send_nothing:
        return ClientRun(steps=(), identifier=None)
    value = str(uuid.uuid4())
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    steps: list[ClientStep] = []
    ctx = ssl_context(config)
    headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON}
    with httpx.Client(verify=ctx, trust_env=False, timeout=config.timeout, follow_redirects=False) as client:

        def send(method: str, path: str, resource: Mapping[str, Any]) -> ClientStep:
            url, extra, extensions = _target(config, path)
            began = time.perf_counter()
            status = location = error = None
            try:
                response = client.request(
                    method,
                    url,
                    headers={**headers, **extra},
                    content=json.dumps(resource).encode(),
                    extensions=extensions,
                )
                status, location = response.status_code, response.headers.get("location")
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            step = ClientStep(
                method,
                config.base_url.rstrip("/") + path,
                status,
                location,
                error,
                round((time.perf_counter() - began) * 1000, 1),
            )
            steps.append(step)
            return step

        operator, participant = behaviour.operator_extension, behaviour.participant_status
        booked = appointment(
            value, status="booked", start=start, operator=operator, participant_status=participant
        )
        created = send("POST", behaviour.creation_path, booked)
        if created.error is None:
            updated_value = value if behaviour.reuse_identifier else str(uuid.uuid4())
            token = quote(f"{APPOINTMENT_SYSTEM}|{updated_value}", safe="")
            send(
                behaviour.update_method,
                f"{behaviour.update_path}?identifier={token}",
                appointment(
                    updated_value,
                    status=behaviour.update_status,
                    start=start,
                    operator=operator,
                    participant_status=participant,
                ),
            )
    return ClientRun(steps=tuple(steps), identifier=f"{APPOINTMENT_SYSTEM}|{value}")
