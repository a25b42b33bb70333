"""What the mock SAS platform writes down: its modes, and one ``Presentation`` per connection.

The mock is a recorder, not a gatekeeper: whatever a client presents and asks is frozen here and judged
afterwards by the client rules. These records, and the modes that scenarios name, are what steps, drivers
and rules share with the server, so they live apart from it and import no TLS library (the certificate
type is for annotations only).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from recette_sas.environments import UsageError
from recette_sas.identity import certificate_summary

if TYPE_CHECKING:
    from cryptography import x509

WRONG_HOST_NAME: Final = "plateforme-usurpee.invalid"


class MockMode(enum.StrEnum):
    """How the mock platform behaves; the values are what scenarios name."""

    NORMAL = "normale"
    EXPIRED = "expire"
    WRONG_HOST = "mauvais-nom"
    UNTRUSTED = "non-reconnu"
    OTHER_HIERARCHY = "autre-hierarchie"
    LEGACY_TLS = "tls-ancien"

    @classmethod
    def parse(cls, value: str) -> MockMode:
        try:
            return cls(value.strip())
        except ValueError:
            raise UsageError(
                f"unknown mock platform mode {value!r} (expected one of: {', '.join(m.value for m in cls)})"
            ) from None

    @property
    def hostile(self) -> bool:
        return self is not MockMode.NORMAL


MODE_DESCRIPTIONS: Final[Mapping[MockMode, str]] = {
    MockMode.NORMAL: "normale, certificat serveur valide",
    MockMode.EXPIRED: "certificat serveur expiré (émis par l'AC de confiance, bon nom)",
    MockMode.WRONG_HOST: f"certificat serveur valide pour un autre nom ({WRONG_HOST_NAME})",
    MockMode.UNTRUSTED: "certificat serveur auto-signé au nom de la plateforme SAS",
    MockMode.OTHER_HIERARCHY: "certificat serveur au nom de la plateforme SAS émis par l'autre hiérarchie IGC Santé",
    MockMode.LEGACY_TLS: "serveur qui ne parle que TLS 1.0 et TLS 1.1",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as it arrived (the target split into path and decoded query)."""

    method: str
    target: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def query_values(self, name: str) -> tuple[str, ...]:
        return tuple(v for k, v in self.query if k == name)

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def line(self) -> str:
        return f"{self.method} {self.target}"

    def summary(self) -> dict[str, Any]:
        """Public facts for reports: the request line, the media type, and only the judged fields of
        the body (an editor's real appointment may name a patient)."""
        body = self.json()
        shape: dict[str, Any] | None = None
        if isinstance(body, dict):
            shape = {
                "resourceType": body.get("resourceType"),
                "identifier": body.get("identifier"),
                "status": body.get("status"),
                "start": body.get("start"),
                "end": body.get("end"),
                "participants": len(body["participant"])
                if isinstance(body.get("participant"), list)
                else None,
            }
        return {
            "request": self.line(),
            "content_type": self.header("content-type"),
            "user_agent": self.header("user-agent"),
            "host": self.header("host"),
            "body_bytes": len(self.body),
            "body_shape": shape,
        }


@dataclass(frozen=True)
class Presentation:
    """What a client presented on one connection to the mock, and what it asked.

    ``chain`` is what went on the wire: the leaf first, then whatever the client sent after it
    (empty when no certificate was presented). ``handshake_error`` is set when the handshake did not
    complete (a client refusing the mock's certificate aborts with an alert, recorded here).
    """

    mode: MockMode
    peer: str
    at: str
    sni: str | None = None
    tls_version: str | None = None
    cipher: str | None = None
    chain: tuple[x509.Certificate, ...] = ()
    verify_errors: tuple[str, ...] = ()
    handshake_error: str | None = None
    request: RecordedRequest | None = None
    status: int | None = None
    answer_excerpt: str = ""

    @property
    def leaf(self) -> x509.Certificate | None:
        return self.chain[0] if self.chain else None

    @property
    def handshake_completed(self) -> bool:
        return self.tls_version is not None

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "peer": self.peer,
            "at": self.at,
            "sni": self.sni,
            "tls_version": self.tls_version,
            "cipher": self.cipher,
            "chain_sent": [certificate_summary(c) for c in self.chain],
            "verify_errors": list(self.verify_errors),
            "handshake_error": self.handshake_error,
            "request": self.request.summary() if self.request is not None else None,
            "status": self.status,
            "answer_excerpt": self.answer_excerpt,
        }
