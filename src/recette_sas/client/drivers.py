"""Make the editor's software call the mock SAS platform, and keep what it presented.

Three drivers, one contract (``Driver.run``): start nothing, just make the client send a creation
then an update to the mock it is given, within a bounded time.

- ``EmbeddedDriver``: the embedded reference client (or one of its broken variants): the default,
  so the suite runs end to end on a fresh machine.
- ``CommandDriver``: a command the editor configures, with ``{base_url}``, ``{ca_file}``, ``{host}``,
  ``{port}`` and ``{address}`` substituted in each argument (shlex-split, no shell, a timeout, and
  its process group killed when the timeout passes). Only those exact placeholders are replaced, so
  a JSON body in the command keeps its braces.
- ``WaitDriver``: the mock listens on a configured address and waits, bounded, for requests the
  operator triggers by hand.

``ClientSession`` runs each (ANS environment, platform mode) exchange once per run; a hostile
exchange always comes after, and carries, the positive control of the same client against the
normal platform (``Exchange.control``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from recette_sas.client.mock import MockSas
from recette_sas.client.presentation import MODE_DESCRIPTIONS, MockMode, Presentation
from recette_sas.client.reference import ClientConfig, ClientVariant, run_exchange
from recette_sas.environments import UsageError
from recette_sas.identity import Identity

PLACEHOLDERS = ("base_url", "ca_file", "host", "port", "address")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
SCRUBBED_ENVIRONMENT = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSLKEYLOGFILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)
"""Removed from a command's environment: a proxy would carry the exchange elsewhere, a CA bundle
would replace the ``{ca_file}`` the command is told to trust."""
OUTPUT_TAIL = 600
SETTLE = 5.0


@dataclass(frozen=True)
class MockTarget:
    """What a driver is told about the mock platform."""

    mode: MockMode
    host: str
    address: str
    port: int
    ca_file: Path

    @property
    def base_url(self) -> str:
        """FHIR's ``[base]``, without a trailing slash: ``{base_url}/Appointment``."""
        return f"https://{self.host}:{self.port}"


@dataclass(frozen=True)
class DriverRun:
    """What the driver did (never a secret: no command line, a short output tail)."""

    driver: str
    started_at: str
    duration_ms: float
    detail: str
    error: str | None = None


@dataclass(frozen=True)
class Exchange:
    """One client run against one mock platform, as the mock recorded it."""

    ans_env: str
    target: MockTarget
    presentations: tuple[Presentation, ...]
    run: DriverRun
    control: Exchange | None = None

    @property
    def mode(self) -> MockMode:
        return self.target.mode

    @property
    def label(self) -> str:
        return f"{self.ans_env}, platform {self.mode.value}, {self.run.driver}"

    def summary(self) -> dict[str, Any]:
        """Public data for the report: what arrived, and what the driver said."""
        return {
            "ans_env": self.ans_env,
            "mode": self.mode.value,
            "mode_description": MODE_DESCRIPTIONS[self.mode],
            "mock": f"{self.target.address}:{self.target.port} as {self.target.host}",
            "driver": dataclasses.asdict(self.run),
            "presentations": [p.summary() for p in self.presentations],
            "control": None
            if self.control is None
            else {
                "requests": [p.request.line() for p in self.control.presentations if p.request is not None]
            },
        }


class Driver(Protocol):
    label: str

    def run(self, ans_env: str, target: MockTarget, mock: MockSas) -> DriverRun: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# -- embedded reference client ---------------------------------------------------------------------------


class EmbeddedDriver:
    """The embedded reference client, in ``variant``; ``identity_for(ans_env)`` gives its certificate."""

    def __init__(
        self,
        variant: ClientVariant,
        *,
        identity_for: Callable[[str], Identity],
        extra_trust: tuple[Path, ...] = (),
        timeout: float = 10.0,
    ) -> None:
        self.variant = variant
        self.label = "reference client" + (
            "" if variant.name == "reference" else f" (variant {variant.name})"
        )
        self._identity_for = identity_for
        self._extra_trust = extra_trust
        self._timeout = timeout

    def run(self, ans_env: str, target: MockTarget, mock: MockSas) -> DriverRun:
        started, began = _now(), time.perf_counter()
        identity = self._identity_for(ans_env)
        config = ClientConfig(
            base_url=target.base_url,
            ca_file=target.ca_file,
            certfile=identity.certfile,
            keyfile=identity.keyfile,
            connect_to=target.address,
            timeout=self._timeout,
            behaviour=self.variant.behaviour,
            extra_trust=self._extra_trust if self.variant.behaviour.trust_igc_for_servers else (),
        )
        result = run_exchange(config)
        return DriverRun(
            driver=self.label,
            started_at=started,
            duration_ms=round((time.perf_counter() - began) * 1000, 1),
            detail=f"certificate {identity.label}; {result.summary()}",
        )


# -- configured command ----------------------------------------------------------------------------------


def parse_command(template: str, *, where: str = "--sas-client-command") -> tuple[str, ...]:
    """Split ``template`` (no shell) and check its placeholders and program; a bad one is a ``UsageError``."""
    try:
        argv = tuple(shlex.split(template))
    except ValueError as exc:
        raise UsageError(f"{where}: cannot split the command ({exc})") from None
    if not argv:
        raise UsageError(f"{where}: empty command")
    for arg in argv:
        for name in _PLACEHOLDER.findall(arg):
            if name not in PLACEHOLDERS:
                raise UsageError(
                    f"{where}: unknown placeholder {{{name}}} (known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
                )
    program = argv[0]
    if shutil.which(program) is None:
        raise UsageError(f"{where}: program {program!r} not found or not executable")
    return argv


def substitute(argv: tuple[str, ...], target: MockTarget) -> list[str]:
    values = {
        "base_url": target.base_url,
        "ca_file": str(target.ca_file),
        "host": target.host,
        "port": str(target.port),
        "address": target.address,
    }
    return [_PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), arg) for arg in argv]


def command_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    for name in SCRUBBED_ENVIRONMENT:
        env.pop(name, None)
    return env


class CommandDriver:
    """Runs the editor's command once per exchange, bounded by ``timeout`` seconds."""

    def __init__(self, argv: tuple[str, ...], *, timeout: float) -> None:
        self._argv = argv
        self._timeout = timeout
        self.label = f"command {Path(argv[0]).name}"

    def run(self, ans_env: str, target: MockTarget, mock: MockSas) -> DriverRun:
        started, began = _now(), time.perf_counter()
        argv = substitute(self._argv, target)
        error: str | None = None
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=command_environment(),
                start_new_session=True,  # its own process group: a timeout ends the whole of it
            )
        except OSError as exc:
            return DriverRun(
                self.label, started, 0.0, "", error=f"cannot start {argv[0]}: {exc.strerror or exc}"
            )
        try:
            output, _ = process.communicate(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate(timeout=5)
            error = f"the command did not finish within {self._timeout:g} s and was stopped"
        text = output.decode("utf-8", "replace").strip()
        tail = text[-OUTPUT_TAIL:] if len(text) > OUTPUT_TAIL else text
        return DriverRun(
            driver=self.label,
            started_at=started,
            duration_ms=round((time.perf_counter() - began) * 1000, 1),
            detail=f"exit code {process.returncode}; output: {tail or '(none)'}",
            error=error,
        )


# -- waiting for a hand-triggered exchange ---------------------------------------------------------------


def _enough(mode: MockMode) -> Callable[[tuple[Presentation, ...]], bool]:
    if mode is MockMode.NORMAL:
        return lambda seen: sum(p.request is not None for p in seen) >= 2
    return lambda seen: len(seen) >= 1


class WaitDriver:
    """Announces the mock and waits (bounded) for the operator to trigger a creation then an update."""

    def __init__(self, *, timeout: float, announce: Callable[[str], None], quiet: float = 1.5) -> None:
        self._timeout = timeout
        self._announce = announce
        self._quiet = quiet
        self.label = "hand-triggered exchange"

    def run(self, ans_env: str, target: MockTarget, mock: MockSas) -> DriverRun:
        started, began = _now(), time.perf_counter()
        self._announce(
            f"[recette-sas] {ans_env} : plateforme SAS simulée « {target.mode.value} » "
            f"({MODE_DESCRIPTIONS[target.mode]}), sur {target.address}:{target.port}, nom {target.host}, "
            f"AC serveur {target.ca_file}. Déclenchez une création puis une mise à jour de rendez-vous vers "
            f"{target.base_url} (attente {self._timeout:g} s au plus)."
        )
        held = mock.wait_for(_enough(target.mode), timeout=self._timeout, quiet=self._quiet)
        seen = mock.presentations
        detail = f"{len(seen)} connection(s), {sum(p.request is not None for p in seen)} request(s) received"
        return DriverRun(
            driver=self.label,
            started_at=started,
            duration_ms=round((time.perf_counter() - began) * 1000, 1),
            detail=detail if held else f"waited {self._timeout:g} s: {detail}",
        )


# -- one run ---------------------------------------------------------------------------------------------------

MockFactory = Callable[[str, MockMode], MockSas]


class ClientSession:
    """Each (ANS environment, mode) exchange once per run, hostile ones after their positive control.

    ``driver_for(ans_env)`` is the driver of the editor environment that calls SAS's ``ans_env``.
    """

    def __init__(
        self,
        *,
        driver_for: Callable[[str], Driver],
        mock_factory: MockFactory,
        ca_file: Path,
        settle: float = SETTLE,
    ) -> None:
        self.driver_for = driver_for
        self._factory = mock_factory
        self._ca_file = ca_file
        self._settle = settle
        self._exchanges: dict[tuple[str, MockMode], Exchange] = {}
        self._lock = threading.RLock()

    def exchange(self, ans_env: str, mode: MockMode) -> Exchange:
        with self._lock:
            control = self._run(ans_env, MockMode.NORMAL, control=None)
            if mode is MockMode.NORMAL:
                return control
            return self._run(ans_env, mode, control=control)

    def _run(self, ans_env: str, mode: MockMode, *, control: Exchange | None) -> Exchange:
        key = (ans_env, mode)
        if key in self._exchanges:
            return self._exchanges[key]
        driver = self.driver_for(ans_env)
        with self._factory(ans_env, mode) as mock:
            target = MockTarget(
                mode=mode, host=mock.host_name, address=mock.address, port=mock.port, ca_file=self._ca_file
            )
            try:
                run = driver.run(ans_env, target, mock)
            except Exception as exc:  # a driver failure is evidence, not a crash of the run
                run = DriverRun(driver.label, _now(), 0.0, "", error=f"{type(exc).__name__}: {exc}")
            mock.wait_idle(timeout=self._settle)
            presentations = mock.presentations
        exchange = Exchange(
            ans_env=ans_env, target=target, presentations=presentations, run=run, control=control
        )
        self._exchanges[key] = exchange
        return exchange
