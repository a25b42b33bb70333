"""Make the editor's software call the mock SAS platform, and keep what it presented.

Three drivers, one contract (``Driver.run``): start nothing, just make the client send a creation
then an update to the mock it is given, within a bounded time.

- ``EmbeddedDriver``: the embedded reference client (or one of its broken variants): the default,
  so the suite runs end to end on a fresh machine.
- ``CommandDriver``: a command the editor configures, with the ``PLACEHOLDERS`` substituted in each
  argument (shlex-split, no shell, a timeout, its process group killed when the timeout passes; only
  those exact names are replaced, so a JSON body keeps its braces; helpers in ``_process.py``).
- ``WaitDriver``: the mock listens on a configured address and waits, bounded, for requests the
  operator triggers by hand.

``ClientSession`` runs each (ANS environment, platform mode) exchange once per run; a hostile
exchange always comes after, and carries, the positive control of the same client against the
normal platform (``Exchange.control``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from recette_sas import _proc as processes
from recette_sas.client._process import (
    _one_line,
    _Output,
    _stop_group,
    command_environment,
    mask_command,
)
from recette_sas.client.commands import _PLACEHOLDER, placeholders_in
from recette_sas.client.mock import MockSas
from recette_sas.client.presentation import MODE_DESCRIPTIONS, MockMode, Presentation
from recette_sas.client.reference import ClientConfig, run_exchange
from recette_sas.client.variants import ClientVariant
from recette_sas.environments import UsageError
from recette_sas.identity import Identity

SETTLE = 5.0
QUIET_BEFORE_STOP = 1.0
"""Once a command delivered what the exchange needs and nothing arrived for this long, it is stopped:
a client that sends everything and then never exits keeps its verdict, and costs no timeout."""


@dataclass(frozen=True)
class MockTarget:
    """What a driver is told about the mock platform."""

    mode: MockMode
    host: str
    address: str
    port: int
    ca_file: Path
    client: ClientFileSet | None = None

    @property
    def base_url(self) -> str:
        """FHIR's ``[base]``, without a trailing slash: ``{base_url}/Appointment``."""
        return f"https://{self.host}:{self.port}"

    @property
    def address_url(self) -> str:
        """The same base on the mock's address, for a client whose name resolution cannot be changed
        (the mock's certificate names the address too; no SNI can be sent to an IP address)."""
        shown = f"[{self.address}]" if ":" in self.address else self.address
        return f"https://{shown}:{self.port}"


@dataclass(frozen=True)
class ClientFileSet:
    """The client material the placeholders name (copies of the export's, in a private folder)."""

    cert_file: Path
    key_file: Path
    chain_file: Path
    fullchain_file: Path
    p12_file: Path | None = None


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
    by_address: bool = False  # the command was given {address_url}: no SNI can be expected

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
            shown = _one_line(self.output_head) + (
                f" […] {_one_line(self.output_tail)}" if self.output_tail else ""
            )
            parts.append(f"output: {shown}")
        elif self.command:
            parts.append("no output")
        return "; ".join(parts)


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


def substitute(argv: tuple[str, ...], target: MockTarget) -> list[str]:
    """``argv`` with each known placeholder replaced; one without a value is a ``UsageError``."""
    values: dict[str, str | None] = {
        "base_url": target.base_url,
        "ca_file": str(target.ca_file),
        "host": target.host,
        "port": str(target.port),
        "address": target.address,
        "address_url": target.address_url,
    }
    files = target.client
    for name in ("cert_file", "key_file", "chain_file", "fullchain_file", "p12_file"):
        path = getattr(files, name) if files is not None else None
        values[name] = str(path) if path is not None else None

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            return m.group(0)
        found = values[name]
        if found is None:
            raise UsageError(
                f"{{{name}}}: no file for it in this run"
                + (" (give --sas-client-p12-password-env NAME)" if name == "p12_file" else "")
            )
        return found

    return [_PLACEHOLDER.sub(value, arg) for arg in argv]


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
        by_address = "address_url" in placeholders_in(self._argv)
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
                by_address=by_address,
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
            by_address=by_address,
        )


def _enough(mode: MockMode) -> Callable[[tuple[Presentation, ...]], bool]:
    if mode is MockMode.NORMAL:
        return lambda seen: sum(p.request is not None for p in seen) >= 2
    return lambda seen: len(seen) >= 1


class WaitDriver:
    """Announces each exchange it expects, in order, and waits (bounded) for the operator to trigger it.

    The normal platform comes first (a creation then an update must arrive), then each hostile platform
    (the same action; the editor's software must refuse the platform, so nothing should arrive: the wait
    then lasts its whole bound). Each announcement says the step, the platform, what to do and what is
    expected; the end of each wait is announced too, with what arrived.
    """

    def __init__(self, *, timeout: float, announce: Callable[[str], None], quiet: float = 1.5) -> None:
        self._timeout = timeout
        self._announce = announce
        self._quiet = quiet
        self._steps: dict[str, int] = {}
        self.label = "hand-triggered exchange"

    def run(self, ans_env: str, target: MockTarget, mock: MockSas) -> DriverRun:
        started, began = _now(), time.perf_counter()
        step = self._steps[ans_env] = self._steps.get(ans_env, 0) + 1
        expected = (
            "une création puis une mise à jour doivent arriver"
            if target.mode is MockMode.NORMAL
            else "votre logiciel doit refuser cette plateforme : aucune requête ne doit arriver"
        )
        self._announce(
            f"[recette-sas] {ans_env}, échange {step}/{len(MockMode)} : plateforme SAS simulée "
            f"« {target.mode.value} » ({MODE_DESCRIPTIONS[target.mode]}), sur {target.address}:{target.port}, "
            f"nom {target.host}, AC serveur {target.ca_file}. Déclenchez une création puis une mise à jour de "
            f"rendez-vous vers {target.base_url} ({expected} ; attente {self._timeout:g} s au plus)."
        )
        held = mock.wait_for(_enough(target.mode), timeout=self._timeout, quiet=self._quiet)
        seen = mock.presentations
        detail = f"{len(seen)} connection(s), {sum(p.request is not None for p in seen)} request(s) received"
        self._announce(f"[recette-sas] {ans_env}, échange {step} terminé : {detail}.")
        return DriverRun(
            driver=self.label,
            started_at=started,
            duration_ms=round((time.perf_counter() - began) * 1000, 1),
            detail=detail if held else f"waited {self._timeout:g} s: {detail}",
            error=None if held or seen else f"nothing arrived within {self._timeout:g} s",
        )
