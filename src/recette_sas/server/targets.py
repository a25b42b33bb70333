"""What the suite tests, and the per-run state that keeps verdicts honest.

``TargetSession`` is the only way steps reach a target. Before the first attempt on a (target, flow,
ANS environment) it runs the positive control. Reachability is judged per target, once: a target is
unreachable only when its TCP connection or its first TLS bytes fail *before any positive control
passed on it*; it is then not dialled again, so a down target costs one connect timeout per run. Once a
control passed, a call that stalls is that scenario's "no answer" and the rest of the matrix still runs:
one stalled kind of call costs one read timeout per scenario that makes it, never the other verdicts.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from recette_sas.errors import TargetUnreachable
from recette_sas.identity import Identity
from recette_sas.probe.attempt import attempt
from recette_sas.probe.certrequest import CertificateRequestInfo, read_certificate_request
from recette_sas.probe.endpoint import Endpoint, HttpRequest, TlsVersion
from recette_sas.server.flows import flow_request
from recette_sas.verdict import Attempt, Outcome, silent


@dataclass(frozen=True)
class Reachability:
    """The control that stands in for an accepted call where only SAS holds SAS's key (real IGC chain):
    what the server asked of a client presenting nothing, and what it answered to such a call."""

    request: CertificateRequestInfo
    bare: Attempt


@dataclass(frozen=True)
class Target:
    """One editor endpoint under test."""

    key: str
    label: str
    editor_env: str
    endpoint: Endpoint
    base_path: str = ""
    kind: str = "reference"  # "reference" (embedded) | "configured"
    trust: str = "look-alike"  # "look-alike" | "igc"
    practitioners: tuple[str, ...] = ()  # RPPS of the test practitioners (empty: the reference's seeded ones)
    use_case: str = "ps-indiv"  # "ps-indiv" | "cpts" | "sos": the slot search SAS sends (server/flows.py)
    structures: tuple[str, ...] = ()  # SIRET of the test SOS Médecins associations (empty: the reference's)

    @property
    def identifiers(self) -> tuple[str, ...]:
        """The test identifiers of the target's use case (SIRET for ``sos``, else RPPS); empty: the reference's."""
        return self.structures if self.use_case == "sos" else self.practitioners


AttemptFn = Callable[..., Attempt]


class TargetSession:
    """Positive controls and reachability for one run."""

    def __init__(
        self,
        *,
        control_identity: Callable[[str], Identity],
        attempt_fn: AttemptFn = attempt,
        on_unreachable: Callable[[str, str], None] | None = None,
        on_stall: Callable[[str, float], None] | None = None,
    ) -> None:
        self._control_identity = control_identity
        self._attempt = attempt_fn
        self._on_unreachable = on_unreachable
        self._on_stall = on_stall
        self._controls: dict[tuple[str, str, str], Attempt] = {}
        self._down: dict[str, Attempt] = {}
        self._answered: set[str] = set()
        self.stalled: list[tuple[str, float]] = []
        self._reach: dict[str, Reachability] = {}
        self._lock = threading.Lock()
        self.handshakes = 0
        self.dialled: list[tuple[Target, HttpRequest, Identity | None, TlsVersion | None]] = []

    def control(self, target: Target, flow: str, ans_env: str) -> Attempt:
        """The positive control for (target, flow, ANS environment), run once per run."""
        key = (target.key, flow, ans_env)
        with self._lock:
            if key in self._controls:
                return self._controls[key]
        result = self._dial(
            target,
            flow_request(
                flow, base_path=target.base_path, identifiers=target.identifiers, use_case=target.use_case
            ),
            self._control_identity(ans_env),
        )
        with self._lock:
            self._controls.setdefault(key, result)
            return self._controls[key]

    def reachability(self, target: Target) -> Reachability:
        """The reachability control for ``target``, run once per run."""
        with self._lock:
            if target.key in self._reach:
                return self._reach[target.key]
        bare = self._dial(target, HttpRequest(method="GET", path=f"{target.base_path}/metadata"), None)
        info = read_certificate_request(target.endpoint, timeout=target.endpoint.connect_timeout)
        with self._lock:
            self.handshakes += 1
            self._reach.setdefault(target.key, Reachability(request=info, bare=bare))
            return self._reach[target.key]

    def attempt(
        self,
        target: Target,
        flow: str,
        ans_env: str,
        request: HttpRequest,
        *,
        identity: Identity | None,
        tls_version: TlsVersion | None = None,
    ) -> Attempt:
        """One attempt, after the positive control; never dials a target already found unreachable."""
        if target.trust == "igc":
            self.reachability(target)
        else:
            self.control(target, flow, ans_env)
        return self._dial(target, request, identity, tls_version)

    def answered(self, target: Target) -> bool:
        """Whether a positive or reachability control already got an answer from ``target``."""
        with self._lock:
            return target.key in self._answered

    def _dial(
        self,
        target: Target,
        request: HttpRequest,
        identity: Identity | None,
        tls_version: TlsVersion | None = None,
    ) -> Attempt:
        down = self._down.get(target.key)
        if down is not None:
            raise TargetUnreachable(
                f"target {target.label} was unreachable earlier in this run ({down.reason}); not dialled again",
                target=target.label,
                why=down.reason,
            )
        result = self._attempt(target.endpoint, request, identity=identity, tls_version=tls_version)
        newly_down = False
        with self._lock:
            self.handshakes += 1
            self.dialled.append((target, request, identity, tls_version))
            if not silent(result):
                self._answered.add(target.key)
            elif target.key not in self._answered and target.key not in self._down:
                self._down[target.key] = result
                newly_down = True
            stalled = result.outcome is Outcome.NO_ANSWER and target.key in self._answered
            if stalled:
                self.stalled.append((target.label, result.duration_ms / 1000))
        if newly_down and self._on_unreachable is not None:
            self._on_unreachable(target.label, result.reason)
        if stalled and self._on_stall is not None:
            self._on_stall(target.label, result.duration_ms / 1000)
        return result


def closed_port(host: str = "127.0.0.1") -> int:
    """A loopback port with nothing listening (a target that is down)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class SilentListener:
    """A loopback port that accepts TCP connections and never says a word (a hung terminator)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._sock = socket.socket()
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="recette-sas-silent", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            if len(self._held) < 256:
                self._held.append(conn)
            else:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self._sock.close()

    def __enter__(self) -> SilentListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
