"""What a probe is told before it dials: where to connect, what to ask, which TLS version to offer.

Plain data, no network and no TLS library, so that steps and fixtures can name an endpoint, a request
or a version at collection time without importing what the probe needs to run. The one function,
``system_trust``, is here because it decides what an ``Endpoint`` without a ``ca_file`` trusts, for
both kinds of probe (``attempt`` and ``read_certificate_request``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from recette_sas.errors import RecetteSasError


class TlsVersion(enum.StrEnum):
    SSLv3 = "SSLv3"
    TLSv1 = "TLSv1"
    TLSv1_1 = "TLSv1.1"
    TLSv1_2 = "TLSv1.2"
    TLSv1_3 = "TLSv1.3"


LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"
"""OpenSSL 3 refuses to offer anything below TLS 1.2 at the default security level (the handshake
then fails locally with NO_CIPHERS_AVAILABLE, sending nothing): legacy probes need level 0."""

LEGACY_VERSIONS = frozenset({TlsVersion.SSLv3, TlsVersion.TLSv1, TlsVersion.TLSv1_1})
"""The versions that need ``LEGACY_CIPHERS`` to be offered at all."""


class ProbeSetupError(RecetteSasError):
    """The probe cannot be configured as asked: the attempt is a PROBE_FAULT, never a refusal."""


@dataclass(frozen=True)
class Endpoint:
    """Where to connect, and which server the probe expects to find there."""

    host: str
    port: int
    server_name: str
    ca_file: Path | None = None
    label: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 10.0

    @property
    def name(self) -> str:
        return self.label or f"{self.server_name}:{self.port}"

    @property
    def authority(self) -> str:
        """``server_name[:port]`` as the Host header and the URL carry it."""
        host = f"[{self.server_name}]" if ":" in self.server_name else self.server_name
        return host if self.port == 443 else f"{host}:{self.port}"


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP/1.1 request. ``path`` includes the query string; the probe adds Host,
    ``Connection: close`` and, with a body, ``Content-Length``."""

    method: str = "GET"
    path: str = "/metadata"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None

    def encode(self, authority: str) -> bytes:
        """The bytes sent. Raises ``ValueError`` on anything that could split the request."""
        if not self.method.isascii() or not self.method.isalpha():
            raise ValueError(f"HTTP method {self.method!r} is not a token")
        if not self.path.startswith("/") or any(c.isspace() for c in self.path):
            raise ValueError(f"HTTP path {self.path!r} must start with '/' and contain no whitespace")
        managed = {"host", "connection", "content-length", "transfer-encoding"}
        lines = [f"{self.method} {self.path} HTTP/1.1"]
        given = {name.lower() for name, _ in self.headers}
        lines.append(f"Host: {dict((n.lower(), v) for n, v in self.headers).get('host', authority)}")
        if "user-agent" not in given:
            lines.append("User-Agent: recette-sas")
        for name, value in self.headers:
            if any(c in name + value for c in "\r\n\0") or not name or ":" in name:
                raise ValueError(f"HTTP header {name!r} is not a single well-formed line")
            if name.lower() not in managed:
                lines.append(f"{name}: {value}")
        lines.append("Connection: close")
        if self.body is not None:
            lines.append(f"Content-Length: {len(self.body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + (self.body or b"")


def system_trust() -> tuple[str | None, str | None]:
    """OpenSSL's compiled-in CA file and directory, deliberately not SSL_CERT_FILE/SSL_CERT_DIR."""
    import ssl

    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if paths.openssl_cafile and Path(paths.openssl_cafile).is_file() else None
    capath = paths.openssl_capath if paths.openssl_capath and Path(paths.openssl_capath).is_dir() else None
    if cafile is None and capath is None:
        raise ProbeSetupError("no system CA store found; give the endpoint a ca_file")
    return cafile, capath
