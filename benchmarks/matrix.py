"""Benchmark: the embedded server matrix versus a bare loop doing the same handshakes.

Runs ``pytest features -m serveur`` in-process against the embedded reference servers (the cache warmed by
a first run of the same selection in its own process, as a developer's previous run leaves it),
records every attempt the suite dialled, then replays exactly those attempts in a tight loop against the
same, still-running servers. Also times cold PKI builds. Prints figures; asserts nothing (these machines
are noisy: targets are read from the numbers, see the README).

    python benchmarks/matrix.py [--cold-builds 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


FIGURES: dict[str, Any] = {}


# Plugin hooks and fixture, at module level: pytest.main(plugins=[this module]) registers them.
@pytest.fixture(scope="session", autouse=True)
def _bench_replay(request: pytest.FixtureRequest) -> Any:
    """After the matrix, replay its handshakes while the servers still run, each in the conditions it was made
    in: a handshake dialled while a revocation-fault scenario had the publisher failing is replayed with the
    same fault on. (Measured: it changes the bare loop by less than the noise, the servers having their
    revocation answers cached by then; it keeps the comparison fair should a fault ever make them wait.)"""
    import contextlib

    session = request.getfixturevalue("target_session")
    request.getfixturevalue("targets")
    publisher = request.getfixturevalue("publisher")
    windows: list[tuple[int, int, Any]] = []  # [start, end) indices of session.dialled, and the fault then on
    faulty = publisher.faulty

    @contextlib.contextmanager
    def recording(fault: Any) -> Any:
        first = len(session.dialled)
        try:
            with faulty(fault) as seen:
                yield seen
        finally:
            windows.append((first, len(session.dialled), fault))

    publisher.faulty = recording
    yield
    FIGURES["matrix_end"] = time.perf_counter()  # the last scenario is done; the replay is not the matrix
    publisher.faulty = faulty
    from recette_sas.probe.attempt import attempt

    dialled = list(session.dialled)
    fault_at = {i: fault for first, end, fault in windows for i in range(first, end)}
    start = time.perf_counter()
    for i, (target, http_request, identity, tls_version) in enumerate(dialled):
        with faulty(fault_at[i]) if i in fault_at else contextlib.nullcontext():
            attempt(target.endpoint, http_request, identity=identity, tls_version=tls_version)
    FIGURES["bare_seconds"] = time.perf_counter() - start
    FIGURES["handshakes"] = len(dialled)
    FIGURES["under_fault"] = len(fault_at)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    FIGURES["scenarios"] = len(session.items)
    FIGURES["collected"] = time.perf_counter()


def cold_builds(n: int) -> list[float]:
    from recette_sas.pki.store import Pki

    times = []
    for _ in range(n):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            Pki.load_or_build(Path(tmp), responder_url="http://127.0.0.1:47600")
            times.append(time.perf_counter() - start)
    return times


def collect_only(runs: int) -> list[float]:
    """Wall time of ``pytest features --collect-only`` in a fresh interpreter (start-up: imports, plugins,
    parsing the features), bytecode cache warm as on a developer's machine."""
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "features"),
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)  # warm .pyc
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-builds", type=int, default=3)
    parser.add_argument("--collect-runs", type=int, default=7)
    parser.add_argument(
        "--marker",
        default="serveur",
        help='scenarios to run (default "serveur"; "serveur and not fhir": mTLS only)',
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as results:
        pytest_args = [
            str(ROOT / "features"),
            "-m",
            args.marker,
            "-q",
            "--pki-cache",
            cache,
            "--alluredir",
            str(Path(results) / "allure-results"),  # the run's summary and record go beside it, in the temp folder
            "-p",
            "no:cacheprovider",
        ]
        # Warm the cache as a developer's previous run does: the same selection once, in its own process
        # (PKI material, the leaves issued for the responder port it remembers, the editor's certificates).
        import subprocess

        warm = [sys.executable, "-m", "pytest", *pytest_args]
        subprocess.run(warm, cwd=ROOT, capture_output=True, timeout=900, check=False)
        wall = time.perf_counter()
        code = pytest.main(pytest_args, plugins=[sys.modules[__name__]])
        wall = time.perf_counter() - wall
    f = FIGURES
    matrix = f["matrix_end"] - f["collected"]
    print(f"scenarios              {f['scenarios']} (-m {args.marker!r})")
    print(
        f"handshakes             {f['handshakes']} (scenarios + one positive control per target, flow, environment;"
        f" {f['under_fault']} with the publisher failing, replayed so)"
    )
    print(f"matrix wall time       {matrix:.2f} s (pytest run of the scenarios; whole session {wall:.2f} s)")
    print(
        f"ms per handshake       {1000 * matrix / f['handshakes']:.1f} in the suite, "
        f"{1000 * f['bare_seconds'] / f['handshakes']:.1f} in a bare loop"
    )
    print(
        f"bare loop              {f['bare_seconds']:.2f} s for the same handshakes against the same servers"
    )
    print(
        f"ratio                  {matrix / f['bare_seconds']:.2f}x (targets: at most 2.1x for the mTLS matrix, "
        "2.5x with the functional checks)"
    )
    if args.cold_builds:
        times = cold_builds(args.cold_builds)
        print(
            f"cold PKI build         median {statistics.median(times):.2f} s, max {max(times):.2f} s "
            f"over {len(times)} builds (target: under 5 s)"
        )
    if args.collect_runs:
        times = collect_only(args.collect_runs)
        print(
            f"collect-only           median {statistics.median(times):.2f} s, min {min(times):.2f} s over "
            f"{len(times)} runs (pytest features --collect-only; target: under 0.5 s)"
        )
    print(f"peak RSS               {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"pytest exit status     {int(code)}")
    return 0 if int(code) == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
