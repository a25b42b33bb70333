"""A configured command as the client-role drivers run it: its environment, its bounded output, its stop.

Kept apart from ``drivers.py`` so that each stays small; nothing here knows about the mock platform.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import threading
from collections.abc import Mapping
from typing import Any

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
_SECRET_OPTION = re.compile(r"^--?(?:pass(?:word|phrase|wd|in)?|secret|token|key-?pass(?:word)?|storepass)$", re.I)
_SECRET_INLINE = re.compile(
    r"(?i)((?:pass(?:word|phrase|wd)?|secret|token|storepass|keypass)[=:])[^\s&]+|(://[^:/@\s]+:)[^@/\s]+(@)"
)


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


