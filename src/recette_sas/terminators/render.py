"""Reference configurations of real HTTPS terminators (nginx, HAProxy, Apache httpd), and running them.

Most editors terminate TLS in nginx, HAProxy or Apache httpd. The reference configurations live as
commented templates in ``terminators/`` at the repository root, for an editor to copy; this module fills
them in for one editor environment. The subject check is the part editors most often get wrong, so it is
generated, never hand-written: the full subject DN in RFC 2253 order (CN and OU therefore both exact),
compared exactly and case-sensitively (nginx: an anchored, escaped ``~`` regex key of a ``map``).

``Running`` starts one terminator in the foreground with its own configuration, pid file and log
directory on a loopback port, and stops it by the PID it started (never by name).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from recette_sas.environments import (
    Mapping,
    SasSubject,
    accepted_subjects,
    editor_environments,
    trusted_hierarchy,
)
from recette_sas.errors import RecetteSasError

if TYPE_CHECKING:
    from recette_sas.pki.export import ExportLayout

TEMPLATE_ROOT = Path(__file__).resolve().parents[3] / "terminators"
"""The commented templates (repository root, next to the README an editor reads)."""

APACHE_MODULES = "/usr/lib/apache2/modules"
"""Where Debian's apache2 package puts its modules (RHEL: /usr/lib64/httpd/modules)."""

EXPORT_PORTS = {"recette": 8443, "preproduction": 8444, "production": 8445}
"""Listening ports of the exported configurations, one per editor environment so they can run side by side."""
EXPORT_UPSTREAM = "127.0.0.1:8080"

_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_PCRE_META = frozenset("\\^$.|?*+()[]{}")
_FORBIDDEN_DN_CHARS = frozenset('"\\%$\n\r\t\0')


class TemplateError(RecetteSasError):
    """A template names a placeholder nobody fills, or a value cannot be written safely."""


@dataclass(frozen=True)
class Terminator:
    """One kind of HTTPS terminator: where its template is, how it is started, what it can check."""

    name: str
    label: str
    template: str
    suffix: str
    binaries: tuple[str, ...]
    package: str
    client_ocsp: bool
    refusal: str

    def template_path(self) -> Path:
        return TEMPLATE_ROOT / self.template

    def find_binary(self) -> str | None:
        """The terminator's executable, looked up in PATH and in the sbin directories (often not in PATH)."""
        search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
        for name in self.binaries:
            found = shutil.which(name, path=search)
            if found:
                return found
        return None

    def command(self, binary: str, config: Path, run_dir: Path) -> list[str]:
        """The foreground command line (its PID is the master process)."""
        if self.name == "nginx":
            return [
                binary,
                "-p",
                str(run_dir),
                "-c",
                str(config),
                "-e",
                str(run_dir / "error.log"),
                "-g",
                "daemon off;",
            ]
        if self.name == "haproxy":
            return [binary, "-db", "-f", str(config)]
        return [binary, "-DFOREGROUND", "-f", str(config)]

    def check_command(self, binary: str, config: Path, run_dir: Path) -> list[str]:
        """Syntax check of ``config`` without starting anything."""
        if self.name == "nginx":
            return [
                binary,
                "-t",
                "-q",
                "-p",
                str(run_dir),
                "-c",
                str(config),
                "-e",
                str(run_dir / "error.log"),
            ]
        if self.name == "haproxy":
            return [binary, "-c", "-q", "-f", str(config)]
        return [binary, "-t", "-f", str(config)]


TERMINATORS: dict[str, Terminator] = {
    t.name: t
    for t in (
        Terminator(
            name="nginx",
            label="nginx",
            template="nginx/sas.conf.tmpl",
            suffix=".conf",
            binaries=("nginx",),
            package="nginx-light",
            client_ocsp=True,
            refusal="HTTP 400 after a completed handshake (certificate), HTTP 403 (subject)",
        ),
        Terminator(
            name="haproxy",
            label="HAProxy",
            template="haproxy/sas.cfg.tmpl",
            suffix=".cfg",
            binaries=("haproxy",),
            package="haproxy",
            client_ocsp=False,
            refusal="TLS alert during the handshake (certificate), HTTP 403 (subject)",
        ),
        Terminator(
            name="apache",
            label="Apache httpd (mod_ssl)",
            template="apache/sas.conf.tmpl",
            suffix=".conf",
            binaries=("apache2", "httpd"),
            package="apache2",
            client_ocsp=True,
            refusal="TLS alert during the handshake (certificate), HTTP 403 (subject)",
        ),
    )
}


# --- subject rules ------------------------------------------------------------------------------------


def subject_dn(subject: SasSubject) -> str:
    """The DN as the terminators print it (RFC 2253: CN first), refusing characters we would have to quote.

    None of SAS's subjects contains them; a future one that does must make this fail loudly rather than
    produce a pattern that silently matches something else.
    """
    dn = subject.rfc4514()
    bad = sorted(set(dn) & _FORBIDDEN_DN_CHARS)
    if bad:
        raise TemplateError(f"subject {dn!r} contains {bad!r}: the generated rules do not quote these")
    return dn


def pcre_literal(text: str) -> str:
    """``text`` as a PCRE pattern matching exactly it (only real metacharacters escaped, so it stays legible)."""
    return "".join(f"\\{c}" if c in _PCRE_META else c for c in text)


def nginx_map_key(dn: str, *, anchored: bool = True, case_sensitive: bool = True, regex: bool = True) -> str:
    """One ``map $ssl_client_s_dn`` key. The defaults are the only right ones: ``~^…$``, escaped.

    ``regex=False`` is a plain string key, which nginx compares case-insensitively.
    """
    if not regex:
        return f'"{dn}"'
    body = pcre_literal(dn)
    if anchored:
        body = f"^{body}$"
    return f'"{"~" if case_sensitive else "~*"}{body}"'


def _haproxy_quoted(value: str) -> str:
    return '"' + value + '"'


def subject_rules(terminator: str, subjects: Iterable[SasSubject]) -> str:
    """The generated subject check of ``terminator`` for ``subjects`` (indented for its template)."""
    dns = [subject_dn(s) for s in subjects]
    if not dns:
        raise TemplateError("no SAS subject to accept")
    if terminator == "nginx":
        return "\n".join(f"        {nginx_map_key(dn)} 1;" for dn in dns)
    if terminator == "haproxy":
        values = " ".join(_haproxy_quoted(dn) for dn in dns)
        return f"    acl sas_sujet ssl_c_s_dn(,0,rfc2253) -m str {values}"
    if terminator == "apache":
        values = ", ".join(f'"{dn}"' for dn in dns)
        return f"            Require expr %{{SSL_CLIENT_S_DN}} in {{ {values} }}"
    raise TemplateError(f"unknown terminator {terminator!r}")


# --- rendering ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where one rendered configuration listens, what it proxies to, and where it keeps its run files."""

    listen: str
    upstream: str
    run_dir: Path
    server_name: str = "localhost"
    run_as: tuple[str, str] | None = None
    """(user, group) the workers drop to when started as root; ``None`` leaves the line commented out."""


def _user_line(terminator: str, run_as: tuple[str, str] | None) -> str:
    default = {
        "nginx": ("www-data", "www-data"),
        "haproxy": ("haproxy", "haproxy"),
        "apache": ("www-data", "www-data"),
    }
    user, group = run_as or default[terminator]
    prefix = "" if run_as else "# (démarré en root seulement) "
    if terminator == "nginx":
        return f"{prefix}user {user} {group};"
    if terminator == "haproxy":
        return f"    {prefix}user {user}\n    {prefix}group {group}"
    return f"{prefix}User {user}\n{prefix}Group {group}"


def fill(template: str, values: dict[str, str], *, where: str, optional: Iterable[str] = ()) -> str:
    """Replace every ``{{name}}``; an unknown placeholder, or an unused value not in ``optional``, is an error."""
    used: set[str] = set()

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise TemplateError(f"{where}: placeholder {{{{{key}}}}} has no value")
        used.add(key)
        return values[key]

    text = _PLACEHOLDER.sub(one, template)
    unused = sorted(set(values) - used - set(optional))
    if unused:
        raise TemplateError(f"{where}: values {unused} are not used by the template")
    return text


def render(
    terminator: str,
    layout: ExportLayout,
    *,
    env: str,
    mapping: Mapping,
    responder_url: str,
    placement: Placement,
) -> str:
    """The reference configuration of ``terminator`` for the editor's ``env``, from an export's files."""
    spec = TERMINATORS[terminator]
    hierarchy = trusted_hierarchy(env, mapping)
    values = {
        "generated": (
            f"recette-sas : {spec.label}, environnement éditeur {env} (hiérarchie IGC Santé "
            f"{hierarchy.value}, correspondance {mapping.value})."
        ),
        "env": env,
        "hierarchy": hierarchy.value,
        "mapping": mapping.value,
        "listen": placement.listen,
        "server_name": placement.server_name,
        "upstream": placement.upstream,
        "run_dir": str(placement.run_dir),
        "user": _user_line(terminator, placement.run_as),
        "ca_bundle": str(layout.bundle(hierarchy)),
        "crl_bundle": str(layout.crls(hierarchy)),
        "ocsp_responder": f"{responder_url.rstrip('/')}/ocsp",
        "subjects": subject_rules(terminator, accepted_subjects(env, mapping)),
    }
    if terminator == "haproxy":
        values["server_pem"] = str(layout.server_pem)
    else:
        values["server_cert"] = str(layout.server_fullchain)
        values["server_key"] = str(layout.server_key)
    if terminator == "apache":
        values["apache_modules"] = APACHE_MODULES
    return fill(
        spec.template_path().read_text(encoding="utf-8"),
        values,
        where=spec.template,
        optional=("server_name",),
    )


def export_placement(layout: ExportLayout, terminator: str, env: str) -> Placement:
    return Placement(
        listen=f"127.0.0.1:{EXPORT_PORTS[env]}",
        upstream=EXPORT_UPSTREAM,
        run_dir=layout.root / "run" / f"{terminator}-{env}",
    )


def render_snippets(layout: ExportLayout, *, mapping: Mapping, responder_url: str) -> dict[str, str]:
    """The three reference configurations per editor environment of ``mapping``, for ``pki export``."""
    out: dict[str, str] = {}
    for env in editor_environments(mapping):
        for name, spec in TERMINATORS.items():
            out[f"{name}-{env}{spec.suffix}"] = render(
                name,
                layout,
                env=env,
                mapping=mapping,
                responder_url=responder_url,
                placement=export_placement(layout, name, env),
            )
    return out


# --- running ------------------------------------------------------------------------------------------


class TerminatorError(RecetteSasError):
    """The terminator refused its configuration or did not come up; the message carries its own words."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:].strip()
    except OSError:
        return ""


class Running:
    """One terminator process in the foreground: started, checked up, stopped by its own PID.

    The process gets its own session, so that if it does not stop on SIGTERM its process group (which it
    leads: the group id is its PID) can be killed without touching anything else on the machine.
    """

    def __init__(
        self,
        spec: Terminator,
        binary: str,
        config: Path,
        run_dir: Path,
        *,
        host: str,
        port: int,
        startup_timeout: float = 20.0,
    ) -> None:
        self.spec = spec
        self.binary = binary
        self.config = config
        self.run_dir = run_dir
        self.host = host
        self.port = port
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._output = run_dir / "foreground.log"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def check(self) -> None:
        """Syntax check first: a refused configuration is reported in the terminator's own words."""
        result = subprocess.run(
            self.spec.check_command(self.binary, self.config, self.run_dir),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            words = (result.stderr + result.stdout).strip()[-2000:]
            raise TerminatorError(f"{self.spec.label} refuses {self.config}: {words}")

    def start(self) -> Running:
        self.check()
        with self._output.open("wb") as out:
            self.proc = subprocess.Popen(
                self.spec.command(self.binary, self.config, self.run_dir),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while not _listening(self.host, self.port):
            if self.proc.poll() is not None:
                raise TerminatorError(
                    f"{self.spec.label} exited with status {self.proc.returncode}: {self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TerminatorError(
                    f"{self.spec.label} did not listen on {self.host}:{self.port}: {self.log_tail()}"
                )
            time.sleep(0.05)
        return self

    def log_tail(self) -> str:
        parts = [_tail(self._output), _tail(self.run_dir / "error.log")]
        return " | ".join(p for p in parts if p) or "(no output)"

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group this process leads, nothing else
            proc.wait(timeout=timeout)

    def __enter__(self) -> Running:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_as_for_current_user() -> tuple[str, str] | None:
    """Started as root, the workers drop to ``nobody``; otherwise they keep the current user."""
    return ("nobody", "nogroup") if hasattr(os, "geteuid") and os.geteuid() == 0 else None


Change = Callable[[str], str]

__all__ = [
    "TERMINATORS",
    "Placement",
    "Running",
    "TemplateError",
    "Terminator",
    "TerminatorError",
    "free_port",
    "nginx_map_key",
    "render",
    "render_snippets",
    "subject_rules",
]
