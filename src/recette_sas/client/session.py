"""One run of the client role: each (ANS environment, platform) exchange once, hostile ones after their
positive control, and no verdict at all for a client that never reached the normal platform.

``ClientSession`` is the only way steps reach the editor's client, as ``server.targets.TargetSession`` is
for the server role: the mirror image, one module each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from recette_sas.client.drivers import SETTLE, ClientFileSet, Driver, DriverRun, Exchange, MockTarget, _now
from recette_sas.client.mock import MockSas
from recette_sas.client.presentation import MockMode
from recette_sas.errors import ClientDidNotRun


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
        client_files_for: Callable[[str], ClientFileSet | None] | None = None,
    ) -> None:
        self.driver_for = driver_for
        self._factory = mock_factory
        self._ca_file = ca_file
        self._client_files_for = client_files_for
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
                mode=mode,
                host=mock.host_name,
                address=mock.address,
                port=mock.port,
                ca_file=self._ca_file,
                client=self._client_files_for(ans_env) if self._client_files_for else None,
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
