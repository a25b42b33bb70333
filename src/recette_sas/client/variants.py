"""The embedded reference client's variants: what each does, as data (``recette_sas.client.reference`` runs them).

Light on purpose (no httpx, no cryptography): ``--sas-client-variant`` is checked against ``VARIANTS`` when
pytest starts. Each entry gets exactly one thing wrong, so the project's tests can show that the client
scenarios catch it.
"""

from __future__ import annotations

from dataclasses import dataclass

from recette_sas.environments import UsageError
from recette_sas.pki.editor_defects import EditorDefect


@dataclass(frozen=True)
class ClientBehaviour:
    """What the client does; every default is right."""

    send_certificate: bool = True
    verify_server: bool = True
    trust_igc_for_servers: bool = False
    min_tls: str = "TLSv1.2"
    creation_path: str = "/Appointment"
    update_path: str = "/Appointment"
    update_method: str = "PUT"
    reuse_identifier: bool = True
    send_nothing: bool = False
    operator_extension: bool = True
    participant_status: str = "accepted"
    update_status: str = "cancelled"


@dataclass(frozen=True)
class ClientVariant:
    """A named reference client: its behaviour and the certificate it holds."""

    name: str
    description: str
    behaviour: ClientBehaviour = ClientBehaviour()
    certificate: EditorDefect = EditorDefect.VALIDE
    send_chain: bool = True
    presents_another: bool = False  # presents a valid certificate other than the one it is configured with


REFERENCE = "reference"

VARIANTS: dict[str, ClientVariant] = {
    v.name: v
    for v in (
        ClientVariant(REFERENCE, "correct client"),
        ClientVariant(
            "sans-certificat", "sends no client certificate", ClientBehaviour(send_certificate=False)
        ),
        ClientVariant("feuille-seule", "sends its leaf without the intermediate", send_chain=False),
        ClientVariant(
            "autre-hierarchie",
            "holds a certificate of the other IGC hierarchy",
            certificate=EditorDefect.AUTRE_HIERARCHIE,
        ),
        ClientVariant(
            "expire-bientot",
            "holds a certificate expiring within 30 days",
            certificate=EditorDefect.EXPIRE_BIENTOT,
        ),
        ClientVariant("accepte-tout", "accepts any server certificate", ClientBehaviour(verify_server=False)),
        ClientVariant(
            "fait-confiance-igc",
            "also trusts the IGC Santé hierarchies for server certificates",
            ClientBehaviour(trust_igc_for_servers=True),
        ),
        ClientVariant("tls10", "accepts TLS 1.0 and 1.1", ClientBehaviour(min_tls="TLSv1")),
        ClientVariant(
            "mauvais-chemin",
            "sends to /Appointments instead of /Appointment",
            ClientBehaviour(creation_path="/Appointments", update_path="/Appointments"),
        ),
        ClientVariant(
            "mauvaise-methode",
            "sends the update with POST instead of PUT",
            ClientBehaviour(update_method="POST"),
        ),
        ClientVariant(
            "sans-identifiant",
            "updates an identifier other than the creation's",
            ClientBehaviour(reuse_identifier=False),
        ),
        ClientVariant("silencieux", "sends nothing at all", ClientBehaviour(send_nothing=True)),
        ClientVariant(
            "autre-certificat",
            "presents another valid look-alike certificate (the exported one) than its configured one",
            presents_another=True,
        ),
        ClientVariant(
            "rdv-sans-operateur",
            "sends Appointments without the regulator (FrAppointmentOperator extension)",
            ClientBehaviour(operator_extension=False),
        ),
        ClientVariant(
            "rdv-participant-refuse",
            "sends the practitioner participant with status declined (SAS takes accepted only)",
            ClientBehaviour(participant_status="declined"),
        ),
        ClientVariant(
            "rdv-participant-en-attente",
            "sends the practitioner participant with status needs-action (the page says accepted)",
            ClientBehaviour(participant_status="needs-action"),
        ),
        ClientVariant(
            "rdv-maj-sans-changement",
            "sends an update that changes nothing (status still booked)",
            ClientBehaviour(update_status="booked"),
        ),
    )
}


def get_variant(name: str) -> ClientVariant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise UsageError(
            f"--sas-client-variant: unknown variant {name!r} (expected one of: {', '.join(VARIANTS)})"
        ) from None
