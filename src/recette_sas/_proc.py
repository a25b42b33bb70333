"""Processes and private folders a run leaves behind only if it was killed, and how the next run proves
they are its own before removing them (issue 15).

A process is named by its pid *and its start time* (``/proc/<pid>/stat``, field 22): a pid alone may
have been reused by anything since, a name (``pkill -f``) may match someone else's program. So:

- ``register_group`` writes, for the client trigger command's process group, a pid file holding the
  group id, its leader's start time and the owning run's pid and start time; ``release_group`` ends
  whatever is left in the group (a trigger command's own children outlive its exit otherwise) and removes
  the file. After a SIGKILL of the run the file stays; ``sweep_groups`` at the next start stops only a
  group whose owner is dead and whose leader is the very process recorded (same pid, same start time),
  or, the leader gone, members of that group started after it and owned by this user.
- ``owner_marker`` / ``marker_is_orphan`` do the same for a folder (the editor's decrypted key): the
  folder carries the marker, and the next run removes it only if the marker's run is provably dead.

Where ``/proc`` is absent (not Linux) nothing can be proved, so nothing is swept.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it does not exist (or no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of stat(5); fields here start at field 3
    except (IndexError, ValueError):
        return None


def _process_group(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rfind(")") + 2 :].split()[2])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int, started: int | None) -> bool:
    """The process ``pid`` that started at ``started`` still runs (a reused pid is not it)."""
    return started is not None and start_time(pid) == started


def owner_marker() -> dict[str, Any]:
    """Who this run is: what a marker or a pid file records."""
    return {"pid": os.getpid(), "start_time": start_time(os.getpid())}


def marker_is_orphan(marker: Any) -> bool:
    """True only if the marker is well formed, names a start time and that process is gone."""
    if not isinstance(marker, dict):
        return False
    pid, started = marker.get("pid"), marker.get("start_time")
    if not isinstance(pid, int) or not isinstance(started, int):
        return False
    return not alive(pid, started)


def runtime_dir() -> Path:
    """A folder private to this user under the temporary directory (mode 0700)."""
    folder = Path(tempfile.gettempdir()) / f"recette-sas-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.is_symlink() or folder.stat().st_uid != os.getuid():
        raise OSError(f"{folder}: not owned by this user")
    os.chmod(folder, 0o700)
    return folder


def _groups_dir() -> Path:
    folder = runtime_dir() / "groups"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def register_group(pgid: int) -> None:
    """Record a process group this run started (its leader is ``pgid``)."""
    with contextlib.suppress(OSError):
        record = {"pgid": pgid, "leader_start": start_time(pgid), "owner": owner_marker()}
        (_groups_dir() / f"{pgid}.json").write_text(json.dumps(record))


def _members(pgid: int, *, since: int | None) -> list[int]:
    uid = os.getuid()
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != uid or _process_group(pid) != pgid:
                continue
            started = start_time(pid)
            if since is not None and started is not None and started >= since:
                found.append(pid)
    return found


def _end(pgid: int, *, wait: float = 2.0) -> None:
    """SIGTERM the group, then SIGKILL what is left after ``wait`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.05)


def release_group(pgid: int) -> None:
    """End whatever of the group still runs (the leader was waited for already) and forget it."""
    _end(pgid)
    with contextlib.suppress(OSError):
        (_groups_dir() / f"{pgid}.json").unlink(missing_ok=True)


def sweep_groups() -> list[int]:
    """Stop the groups a killed run left, only those provably its own; returns their ids."""
    stopped: list[int] = []
    try:
        files = sorted(_groups_dir().glob("*.json"))
    except OSError:
        return stopped
    for path in files:
        try:
            record = json.loads(path.read_text())
            pgid, leader_start = int(record["pgid"]), record["leader_start"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if pgid <= 1 or pgid == os.getpgrp():
            path.unlink(missing_ok=True)  # never init, never our own group, whatever a file says
            continue
        if not marker_is_orphan(record.get("owner")) or not isinstance(leader_start, int):
            continue  # its run still goes on (or cannot be proved dead): not ours to stop
        leader_ours = alive(pgid, leader_start)
        if leader_ours or (start_time(pgid) is None and _members(pgid, since=leader_start)):
            if leader_ours:
                _end(pgid)
            else:
                for pid in _members(pgid, since=leader_start):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
            stopped.append(pgid)
        path.unlink(missing_ok=True)
    return stopped
