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

from recette_sas import _proc as processes
from recette_sas.client.mock import MockSas
from recette_sas.client.presentation import MODE_DESCRIPTIONS, MockMode, Presentation
from recette_sas.client.reference import ClientConfig, ClientVariant, run_exchange
from recette_sas.environments import UsageError
from recette_sas.errors import ClientDidNotRun
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
OUTPUT_HEAD = 1500
OUTPUT_TAIL = 1500
SETTLE = 5.0
QUIET_BEFORE_STOP = 1.0
"""Once a command delivered what the exchange needs and nothing arrived for this long, it is stopped:
a client that sends everything and then never exits keeps its verdict, and costs no timeout."""
_SECRET_OPTION = re.compile(r"^--?(?:pass(?:word|phrase|wd|in)?|secret|token|key-?pass(?:word)?|storepass)$", re.I)
_SECRET_INLINE = re.compile(
    r"(?i)((?:pass(?:word|phrase|wd)?|secret|token|storepass|keypass)[=:])[^\s&]+|(://[^:/@\s]+:)[^@/\s]+(@)"
)


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
    """What the driver did (never a secret: the command line is masked, the output bounded)."""

    driver: str
    started_at: str
    duration_ms: float
    detail: str
    error: str | None = None
    command: str | None = None
    exit_code: int | None = None
    output_head: str = ""
    output_tail: str = ""
    stopped_after_requests: bool = False
    skipped: str | None = None

    def describe(self) -> str:
        """One paragraph for a no-verdict message: what ran, how it ended, what it printed."""
        parts = [self.driver]
        if self.command:
            parts.append(f"command: {self.command}")
        if self.error:
            parts.append(self.error)
        if self.exit_code is not None:
            parts.append(f"exit code {self.exit_code}")
        if self.output_head or self.output_tail:
            shown = _one_line(self.output_head) + (f" […] {_one_line(self.output_tail)}" if self.output_tail else "")
            parts.append(f"output: {shown}")
        elif self.command:
            parts.append("no output")
        return "; ".join(parts)


def mask_command(argv: list[str]) -> str:
    """The command line as a report may show it: values of password-like options and URL passwords
    masked as ``***`` (passwords belong in environment variables, but a command line may still carry one)."""
    shown: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            shown.append("***")
            hide_next = False
            continue
        hide_next = bool(_SECRET_OPTION.match(arg))
        masked = _SECRET_INLINE.sub(lambda m: (m.group(1) or m.group(2)) + "\0" + (m.group(3) or ""), arg)
        shown.append(shlex.quote(masked).replace("\0", "***"))
    return " ".join(shown)


def _one_line(text: str) -> str:
    return " ⏎ ".join(line.strip() for line in text.splitlines() if line.strip())


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


class _Output:
    """A command's output, read in a thread and kept bounded: its head and its tail."""

    def __init__(self, stream: Any) -> None:
        self._head = bytearray()
        self._tail = bytearray()
        self._stream = stream
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: stream.read1(4096), b""):
                room = OUTPUT_HEAD - len(self._head)
                if room > 0:
                    self._head += chunk[:room]
                    chunk = chunk[room:]
                self._tail = (self._tail + chunk)[-OUTPUT_TAIL:]

    def texts(self, *, timeout: float = 2.0) -> tuple[str, str]:
        self._thread.join(timeout=timeout)
        with contextlib.suppress(OSError):
            self._stream.close()
        return (
            self._head.decode("utf-8", "replace").strip(),
            self._tail.decode("utf-8", "replace").strip(),
        )


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """End the command's whole process group: politely first, then for good."""
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class CommandDriver:
    """Runs the editor's command once per exchange, bounded by ``timeout`` seconds.

    The run ends when the command exits, when the platform received what the exchange needs and then
    nothing for ``QUIET_BEFORE_STOP`` seconds (the command is then stopped: its verdict stands), or at
    the timeout (stopped, and said).
    """

    def __init__(self, argv: tuple[str, ...], *, timeout: float) -> None:
        self._argv = argv
        self._timeout = timeout
        self.label = f"command {Path(argv[0]).name}"

    def run(self, ans_env: str, target: MockTarget, mock: MockSas | None) -> DriverRun:
        """``mock`` None: nothing to watch, the run ends at the command's exit or at the timeout."""
        started, began = _now(), time.perf_counter()
        argv = substitute(self._argv, target)
        shown = mask_command(argv)
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=command_environment(),
                start_new_session=True,  # its own process group: a stop ends the whole of it
            )
            processes.register_group(process.pid)  # a SIGKILLed run's group is stopped by the next
        except OSError as exc:
            return DriverRun(
                self.label,
                started,
                0.0,
                "",
                error=f"cannot start {argv[0]}: {exc.strerror or exc}",
                command=shown,
            )
        output = _Output(process.stdout)
        enough = _enough(target.mode)
        deadline = time.monotonic() + self._timeout
        error: str | None = None
        stopped = False
        try:
            while process.poll() is None:
                if (
                    mock is not None
                    and enough(mock.presentations)
                    and mock.wait_for(enough, timeout=0.05, quiet=QUIET_BEFORE_STOP)
                ):
                    if process.poll() is None:
                        _stop_group(process)
                        stopped = True
                    break
                if time.monotonic() >= deadline:
                    _stop_group(process)
                    error = f"the command did not finish within {self._timeout:g} s and was stopped"
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.1)
        finally:
            if process.poll() is None:
                _stop_group(process)
            processes.release_group(process.pid)  # what the command left running in its group
            head, tail = output.texts()
        code = process.returncode
        note = "; stopped after delivering its requests" if stopped else ""
        return DriverRun(
            driver=self.label,
            started_at=started,
            duration_ms=round((time.perf_counter() - began) * 1000, 1),
            detail=f"exit code {code}{note}",
            error=error,
            command=shown,
            exit_code=None if stopped or error else code,
            output_head=head,
            output_tail=tail,
            stopped_after_requests=stopped,
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
            error=None if held or seen else f"nothing arrived within {self._timeout:g} s",
        )


# -- one run ---------------------------------------------------------------------------------------------------


def require_client_ran(control: Exchange) -> None:
    """Raise ``ClientDidNotRun`` when no request reached the normal platform in the control exchange."""
    requests = sum(p.request is not None for p in control.presentations)
    if requests:
        return
    run = control.run
    if run.error:
        how = run.error
    elif run.exit_code not in (None, 0):
        how = f"it exited with code {run.exit_code} having sent nothing"
    else:
        how = f"it sent no request to the platform ({len(control.presentations)} connection(s) seen)"
    raise ClientDidNotRun(
        f"the editor's client did not run against the normal platform ({control.ans_env}): {how}; no verdict "
        f"for this environment, and the hostile platforms were not tried. {run.describe()}"
    )

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
        """The exchange of ``mode``, after (and carrying) the normal platform's positive control.

        A client that delivered nothing to the normal platform never ran as far as the suite can tell:
        every scenario of that environment is "no verdict" (``ClientDidNotRun``, with the command, its
        exit code and output), and the hostile platforms are not tried — a dead or hanging client costs
        one timeout per run, not one per platform.
        """
        with self._lock:
            control = self._run(ans_env, MockMode.NORMAL, control=None)
            require_client_ran(control)
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
