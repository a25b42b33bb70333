"""Non-blocking pyOpenSSL I/O against one deadline, shared by the suite's two TLS servers
(the reference editor server and the mock SAS platform).

pyOpenSSL raises ``WantReadError``/``WantWriteError`` on a non-blocking socket instead of waiting;
every call here waits with a selector until the single deadline of the connection, so a client that
stalls cannot hold a worker longer than that.
"""

from __future__ import annotations

import functools
import selectors
import socket
import time
from collections.abc import Callable
from typing import TypeVar

from OpenSSL import SSL

_T = TypeVar("_T")


class ClientGone(Exception):
    """The client closed or stalled before a whole request arrived."""


def describe(exc: BaseException) -> str:
    """OpenSSL's own reasons when it gave any, else the exception."""
    if isinstance(exc, SSL.Error) and exc.args and isinstance(exc.args[0], list):
        reasons = [str(item[-1]) for item in exc.args[0] if isinstance(item, tuple) and item]
        if reasons:
            return "; ".join(reasons)
    return f"{type(exc).__name__}: {exc}"


def wait(sock: socket.socket, deadline: float, *, write: bool) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("deadline exceeded")
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_WRITE if write else selectors.EVENT_READ)
        if not selector.select(remaining):
            raise TimeoutError("deadline exceeded")


def retry(operation: Callable[[], _T], sock: socket.socket, deadline: float) -> _T:
    """Run a pyOpenSSL call on a non-blocking socket until it completes or the deadline passes."""
    while True:
        try:
            return operation()
        except SSL.WantReadError:
            wait(sock, deadline, write=False)
        except SSL.WantWriteError:
            wait(sock, deadline, write=True)


def recv(conn: SSL.Connection, sock: socket.socket, deadline: float) -> bytes:
    """Up to 64 KiB; ``b""`` on a clean close; ``ClientGone`` on a stall or a broken connection."""
    try:
        return retry(functools.partial(conn.recv, 65536), sock, deadline)
    except SSL.ZeroReturnError:
        return b""
    except TimeoutError:
        raise ClientGone("nothing more arrived before the deadline") from None
    except (SSL.Error, OSError) as exc:
        raise ClientGone(describe(exc)) from exc


def send_all(conn: SSL.Connection, sock: socket.socket, data: bytes, deadline: float) -> None:
    offset = 0
    while offset < len(data):
        chunk = data[offset : offset + 16384]
        offset += retry(functools.partial(conn.send, chunk), sock, deadline)


def linger_close(sock: socket.socket, *, linger: float) -> None:
    """Send our FIN, then read until the client closes (bounded), so the close is never a RST
    (a RST can destroy the alert a TLS 1.3 client has not read yet)."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return
    deadline = time.monotonic() + linger
    try:
        while True:
            wait(sock, deadline, write=False)
            if not sock.recv(65536):
                return
    except (OSError, TimeoutError):
        return
