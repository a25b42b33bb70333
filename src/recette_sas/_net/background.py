"""A ``socketserver`` served from a daemon thread: started once, then shut down, joined and closed once.

The suite's two plain-HTTP loopback servers use it: the CRL/OCSP publisher (``recette_sas.pki.publisher``)
and the FHIR application behind the reference terminators (``recette_sas.terminators.upstream``).
"""

from __future__ import annotations

import socketserver
import threading

POLL_SECONDS = 0.2
"""How often ``serve_forever`` looks for a shutdown request."""
JOIN_SECONDS = 5.0


class BackgroundServer:
    def __init__(self, server: socketserver.BaseServer, *, name: str) -> None:
        self._server = server
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve from a daemon thread; a second call does nothing."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": POLL_SECONDS},
                name=self._name,
                daemon=True,
            )
            self._thread.start()

    def close(self) -> None:
        """Stop serving (if started) and release the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=JOIN_SECONDS)
        self._server.server_close()
