"""The ``[pki]`` addresses of a configuration, checked at load (issue 15): ``responder_url`` (where the
staging server fetches OCSP and CRLs: plain ``http``, a host, a port in 1–65535, an optional path) and
``responder_bind`` (``HOST:PORT`` the suite's publisher listens on; port 0 lets the OS choose).

Each function returns the problem as a phrase (the loader adds file and key), or None when the value is
good, so ``responder_url = "http://"`` or ``responder_bind = "127.0.0.1:99999"`` stop the run at load
with one line instead of a traceback in every test.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

_URL_FORM = "expected http://HOST[:PORT][/PATH]"
_BIND_FORM = "expected HOST:PORT, e.g. 127.0.0.1:47600 (port 0: chosen by the system)"
_DNS_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def _host_problem(host: str) -> str | None:
    if not host:
        return "no host"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _DNS_NAME.fullmatch(host) or len(host) > 253:
            return f"{host!r} is not a host name or an IP address"
    return None


def _port_problem(port: str, *, zero: bool) -> str | None:
    low = 0 if zero else 1
    if not re.fullmatch(r"[0-9]{1,5}", port) or not low <= int(port) <= 65535:
        return f"port {port!r} is not a number in {low}–65535"
    return None


def responder_url_problem(value: str) -> str | None:
    """Why ``value`` is not a URL a staging server can fetch OCSP/CRLs from, or None."""
    if not value or any(c.isspace() or not c.isprintable() for c in value):
        return f"{value!r} is not a URL ({_URL_FORM})"
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return f"{value!r} is not a URL ({_URL_FORM})"
    if parts.scheme != "http":
        return f"{value!r}: scheme {parts.scheme or 'missing'}, not http (OCSP and CRLs are plain HTTP)"
    if "@" in parts.netloc:
        return f"{value!r}: user information (user@) is not allowed"
    if "?" in value or "#" in value:
        return f"{value!r}: a query (?…) or fragment (#…) is not allowed"
    problem = _host_problem(parts.hostname or "")
    if problem:
        return f"{value!r}: {problem} ({_URL_FORM})"
    after_host = parts.netloc.rsplit("]", 1)[-1]
    if ":" in after_host:
        problem = _port_problem(after_host.split(":", 1)[1], zero=False)
        if problem:
            return f"{value!r}: {problem}"
    return None


def parse_bind(value: str) -> tuple[str, int] | str:
    """(host, port) of a ``HOST:PORT`` listening address, or the problem as a phrase."""
    host, sep, port = value.rpartition(":")
    if not sep:
        return f"{value!r} has no port ({_BIND_FORM})"
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    problem = _host_problem(host) or _port_problem(port, zero=True)
    if problem:
        return f"{value!r}: {problem} ({_BIND_FORM})"
    return host, int(port)
