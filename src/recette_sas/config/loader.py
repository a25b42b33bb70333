"""The editor's configuration file (TOML), validated on load.

Every mistake is one ``UsageError`` line that names the file, the key and the problem, raised before
anything is written. Secrets never live in the file: a PKCS#12 or encrypted-key password is read from
the environment variable the file names. Opening the certificates themselves is
``config/credentials.py``'s (``validate_credentials``), which builds on this module, never the reverse.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recette_sas.config.addresses import parse_bind, responder_url_problem
from recette_sas.environments import (
    ENVIRONMENT_KEYS,
    Mapping,
    UsageError,
    editor_environments,
)
from recette_sas.errors import ConfigError

TRUST_MODES = ("look-alike", "igc")


@dataclass(frozen=True)
class CertificateFiles:
    """An IGC certificate the editor provides: PEM files, or PKCS#12, and the NAME of the variable holding
    the password (of the PKCS#12, or of an encrypted PEM key)."""

    cert: Path | None = None
    key: Path | None = None
    chain: Path | None = None
    pkcs12: Path | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class ClientTrigger:
    mode: str = "reference"  # "reference" | "command" | "wait"
    command: str | None = field(default=None, repr=False)  # may carry a secret: reports show it masked
    listen: str | None = None
    wait_seconds: float = 120.0
    command_timeout: float | None = None  # seconds per command run; None: --sas-client-command-timeout


@dataclass(frozen=True)
class EditorEnvironment:
    key: str
    base_url: str
    trust: str
    server_ca: Path | None
    server_name: str | None
    connect_timeout: float
    read_timeout: float
    certificate: CertificateFiles | None
    extra_certificates: dict[str, CertificateFiles]
    client: ClientTrigger
    ip_allow_list: tuple[str, ...] | None
    practitioners: tuple[str, ...] = ()
    """RPPS (``8`` + 11 digits) of the test practitioners SAS searches the slots of (1 to 25)."""
    use_case: str = "ps-indiv"
    """The slot search SAS sends this environment: ``ps-indiv``, ``cpts`` or ``sos`` (SOS Médecins)."""
    structures: tuple[str, ...] = ()
    """SIRET (``3`` + 14 digits, as SAS sends it) of the test SOS Médecins associations (1 to 25; ``sos`` only)."""
    read_back: bool = False  # the editor exposes GET [base]/Practitioner?identifier= (regulator read-back)

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int:
        return urllib.parse.urlsplit(self.base_url).port or 443

    @property
    def base_path(self) -> str:
        return urllib.parse.urlsplit(self.base_url).path.rstrip("/")


@dataclass(frozen=True)
class ExpectedDeviation:
    test: str
    reason: str
    expires: dt.date


@dataclass(frozen=True)
class PkiSettings:
    responder_url: str | None = None
    responder_bind: str | None = None
    export_dir: Path | None = None


@dataclass(frozen=True)
class EditorConfig:
    path: Path
    editor: str
    mapping: Mapping
    environments: dict[str, EditorEnvironment]
    expected_deviations: tuple[ExpectedDeviation, ...] = ()
    sas_egress_ips: dict[str, str] = field(default_factory=dict)
    pki: PkiSettings = PkiSettings()
    igc_ca_dir: Path | None = None


class _Reader:
    """Typed access to a TOML table with errors that name the file and the dotted key."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.path = path
        self.data = data
        self.prefix = prefix

    def where(self, key: str) -> str:
        return f"{self.path}: {self.prefix}{key}"

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {problem}")

    def table(self, key: str, *, required: bool = False) -> _Reader | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise self.fail(key, "missing")
            return None
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return _Reader(self.path, value, f"{self.prefix}{key}.")

    def string(self, key: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.data.get(key, default)
        if value is None:
            if required:
                raise self.fail(key, "missing")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string")
        return value

    def number(self, key: str, *, default: float, low: float, high: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "must be a number")
        if not low < value <= high:
            raise self.fail(key, f"{value} is out of range ({low} to {high})")
        return float(value)

    def file(self, key: str, *, required: bool = False) -> Path | None:
        raw = self.string(key, required=required)
        if raw is None:
            return None
        path = Path(raw)
        if not path.is_absolute():
            path = self.path.parent / path
        try:
            with path.open("rb") as fh:
                fh.read(1)
        except OSError as exc:
            raise self.fail(key, f"cannot read {raw} ({exc.strerror or exc})") from None
        return path

    def unknown_keys(self, allowed: set[str]) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.fail(key, f"unknown key (expected one of: {', '.join(sorted(allowed))})")


def _certificate(reader: _Reader) -> CertificateFiles:
    reader.unknown_keys({"cert", "key", "chain", "pkcs12", "password_env"})
    pkcs12 = reader.file("pkcs12")
    if pkcs12 is not None:
        if "cert" in reader.data or "key" in reader.data:
            raise reader.fail("pkcs12", "give either pkcs12 or cert/key, not both")
        password_env = reader.string("password_env", required=True)
        assert password_env is not None
        if password_env not in os.environ:
            raise reader.fail("password_env", f"environment variable {password_env} is not set")
        return CertificateFiles(pkcs12=pkcs12, password_env=password_env)
    password_env = reader.string("password_env")  # for an encrypted PEM key
    if password_env is not None and password_env not in os.environ:
        raise reader.fail("password_env", f"environment variable {password_env} is not set")
    return CertificateFiles(
        cert=reader.file("cert", required=True),
        key=reader.file("key", required=True),
        chain=reader.file("chain"),
        password_env=password_env,
    )


def _environment(reader: _Reader, key: str) -> EditorEnvironment:
    reader.unknown_keys(
        {
            "base_url",
            "trust",
            "server_ca",
            "server_name",
            "connect_timeout",
            "read_timeout",
            "certificate",
            "extra_certificates",
            "client",
            "ip_allow_list",
            "practitioners",
            "structures",
            "use_case",
            "read_back",
        }
    )
    base_url = reader.string("base_url", required=True)
    assert base_url is not None
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme != "https" or not parts.hostname:
        raise reader.fail("base_url", f"{base_url!r} is not an https:// URL")
    try:
        _ = parts.port
    except ValueError:
        raise reader.fail("base_url", f"{base_url!r} has an invalid port") from None
    trust = reader.string("trust", default="look-alike")
    if trust not in TRUST_MODES:
        raise reader.fail(
            "trust", f"unknown trust mode {trust!r} (expected one of: {', '.join(TRUST_MODES)})"
        )
    cert_table = reader.table("certificate")
    extras: dict[str, CertificateFiles] = {}
    extras_table = reader.table("extra_certificates")
    if extras_table is not None:
        for name in extras_table.data:
            if name not in ("revoked", "other_cn"):
                raise extras_table.fail(name, "unknown extra certificate (expected revoked or other_cn)")
            sub = extras_table.table(name)
            assert sub is not None
            extras[name] = _certificate(sub)
    client_table = reader.table("client")
    client = ClientTrigger()
    if client_table is not None:
        client_table.unknown_keys({"mode", "command", "listen", "wait_seconds", "command_timeout"})
        mode = client_table.string("mode", default="reference")
        if mode not in ("reference", "command", "wait"):
            raise client_table.fail(
                "mode", f"unknown client mode {mode!r} (expected reference, command or wait)"
            )
        command = client_table.string("command", required=mode == "command")
        listen = client_table.string("listen", required=mode == "wait")
        client = ClientTrigger(
            mode=str(mode),
            command=command,
            listen=listen,
            wait_seconds=client_table.number("wait_seconds", default=120, low=0, high=3600),
            command_timeout=(
                client_table.number("command_timeout", default=60, low=0, high=3600)
                if "command_timeout" in client_table.data
                else None
            ),
        )
    allow = reader.data.get("ip_allow_list")
    allow_list: tuple[str, ...] | None = None
    if allow is not None:
        if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
            raise reader.fail("ip_allow_list", "must be a list of IP addresses or networks")
        for entry in allow:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise reader.fail("ip_allow_list", f"{entry!r} is not an IP address or network") from None
        allow_list = tuple(allow)
    practitioners = _practitioners(reader)
    use_case = reader.string("use_case", default="ps-indiv")
    if use_case not in USE_CASES:
        raise reader.fail("use_case", f"unknown use case {use_case!r} (expected {', '.join(USE_CASES)})")
    structures = _structures(reader)
    if use_case == "sos" and practitioners:
        raise reader.fail("practitioners", "SAS searches SOS Médecins associations by SIRET: list them under structures")
    if use_case != "sos" and structures:
        raise reader.fail("structures", f"only for use_case = \"sos\" (this environment is {use_case})")
    return EditorEnvironment(
        practitioners=practitioners,
        use_case=str(use_case),
        structures=structures,
        key=key,
        base_url=base_url,
        trust=str(trust),
        server_ca=reader.file("server_ca"),
        server_name=reader.string("server_name"),
        connect_timeout=reader.number("connect_timeout", default=5, low=0, high=120),
        read_timeout=reader.number("read_timeout", default=10, low=0, high=300),
        certificate=_certificate(cert_table) if cert_table is not None else None,
        extra_certificates=extras,
        client=client,
        ip_allow_list=allow_list,
        read_back=_read_back(reader),
    )


USE_CASES = ("ps-indiv", "cpts", "sos")
"""The slot-search use cases of the IG, the one list of their names (``server.flows.slot_search`` builds their
requests, ``fhir.profiles.USE_CASES`` holds their profiles)."""
_RPPS = re.compile(r"8[0-9]{11}")
_SIRET = re.compile(r"3[0-9]{14}")


def _practitioners(reader: _Reader) -> tuple[str, ...]:
    raw = reader.data.get("practitioners")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise reader.fail("practitioners", "must be a list of RPPS strings (\"8\" + 11 digits)")
    if not 1 <= len(raw) <= 25:
        raise reader.fail("practitioners", f"{len(raw)} practitioners: SAS searches 1 to 25 at once")
    for rpps in raw:
        if not _RPPS.fullmatch(rpps):
            raise reader.fail("practitioners", f"{rpps!r} is not an RPPS as SAS sends it (\"8\" + 11 digits)")
    if len(set(raw)) != len(raw):
        raise reader.fail("practitioners", "the same RPPS is listed twice")
    return tuple(raw)


def _structures(reader: _Reader) -> tuple[str, ...]:
    raw = reader.data.get("structures")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise reader.fail("structures", "must be a list of SIRET strings (\"3\" + 14 digits)")
    if not 1 <= len(raw) <= 25:
        raise reader.fail("structures", f"{len(raw)} associations: SAS searches 1 to 25 at once")
    for siret in raw:
        if not _SIRET.fullmatch(siret):
            raise reader.fail("structures", f"{siret!r} is not a SIRET as SAS sends it (\"3\" + 14 digits)")
    if len(set(raw)) != len(raw):
        raise reader.fail("structures", "the same SIRET is listed twice")
    return tuple(raw)


def _read_back(reader: _Reader) -> bool:
    value = reader.data.get("read_back", False)
    if not isinstance(value, bool):
        raise reader.fail("read_back", f"must be true or false, not {value!r}")
    return value


def load_config(path: Path) -> EditorConfig:
    """Read and validate ``path``; raise a one-line ``UsageError`` on the first problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    reader = _Reader(path, data)
    reader.unknown_keys(
        {"editor", "mapping", "environments", "expected_deviations", "sas_egress_ips", "pki", "igc_ca_dir"}
    )
    editor = reader.string("editor", required=True)
    assert editor is not None
    mapping_raw = reader.string("mapping", default="un-pour-un")
    assert mapping_raw is not None
    try:
        mapping = Mapping.parse(mapping_raw, where=reader.where("mapping"))
    except UsageError:
        raise reader.fail(
            "mapping", f"unknown mapping {mapping_raw!r} (expected un-pour-un or simplifie)"
        ) from None
    envs_table = reader.table("environments", required=True)
    assert envs_table is not None
    environments: dict[str, EditorEnvironment] = {}
    allowed_envs = editor_environments(mapping)
    for key in envs_table.data:
        if key not in ENVIRONMENT_KEYS:
            raise envs_table.fail(key, f"unknown environment (expected one of: {', '.join(allowed_envs)})")
        if key not in allowed_envs:
            raise envs_table.fail(key, f"environment {key!r} does not exist in mapping {mapping.value}")
        sub = envs_table.table(key)
        assert sub is not None
        environments[key] = _environment(sub, key)
    if not environments:
        raise envs_table.fail("", "no environment configured")
    deviations: list[ExpectedDeviation] = []
    raw_devs = data.get("expected_deviations", [])
    if not isinstance(raw_devs, list):
        raise reader.fail("expected_deviations", "must be an array of tables ([[expected_deviations]])")
    today = dt.date.today()
    for index, entry in enumerate(raw_devs):
        if not isinstance(entry, dict):
            raise reader.fail(f"expected_deviations[{index}]", "must be a table")
        sub = _Reader(path, entry, f"expected_deviations[{index}].")
        sub.unknown_keys({"test", "reason", "expires"})
        test = sub.string("test", required=True)
        reason = sub.string("reason", required=True)
        expires = entry.get("expires")
        if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
            raise sub.fail("expires", "must be a date (YYYY-MM-DD)")
        if expires < today:
            raise sub.fail(
                "expires", f"this expected deviation lapsed on {expires.isoformat()}: fix or renew it"
            )
        assert test is not None and reason is not None
        deviations.append(ExpectedDeviation(test=test, reason=reason, expires=expires))
    ips: dict[str, str] = {}
    ip_table = reader.table("sas_egress_ips")
    if ip_table is not None:
        for env_key, value in ip_table.data.items():
            if env_key not in ENVIRONMENT_KEYS:
                raise ip_table.fail(env_key, "unknown ANS environment")
            try:
                ipaddress.ip_address(str(value))
            except ValueError:
                raise ip_table.fail(env_key, f"{value!r} is not an IP address") from None
            ips[env_key] = str(value)
    pki_table = reader.table("pki")
    pki = PkiSettings()
    if pki_table is not None:
        pki_table.unknown_keys({"responder_url", "responder_bind", "export_dir"})
        responder = pki_table.string("responder_url")
        if responder is not None and (problem := responder_url_problem(responder)):
            raise pki_table.fail("responder_url", problem)
        bind = pki_table.string("responder_bind")
        if bind is not None and isinstance(parsed := parse_bind(bind), str):
            raise pki_table.fail("responder_bind", parsed)
        export = pki_table.string("export_dir")
        pki = PkiSettings(
            responder_url=responder.rstrip("/") if responder else None,
            responder_bind=bind,
            export_dir=(path.parent / export) if export else None,
        )
    igc_dir = reader.string("igc_ca_dir")
    igc_ca_dir = (path.parent / igc_dir) if igc_dir else None
    if igc_ca_dir is not None and not igc_ca_dir.is_dir():
        raise reader.fail("igc_ca_dir", f"{igc_dir} is not a directory")
    return EditorConfig(
        path=path,
        editor=editor,
        mapping=mapping,
        environments=environments,
        expected_deviations=tuple(deviations),
        sas_egress_ips=ips,
        pki=pki,
        igc_ca_dir=igc_ca_dir,
    )
