"""Private network helpers shared by the suite's two loopback TLS servers, not an API.

- ``tlsio``: non-blocking pyOpenSSL I/O against one connection deadline (handshake, recv, send, a
  lingering close) and the wording of OpenSSL's errors, for the reference editor server
  (``recette_sas.server.reference``) and the mock SAS platform (``recette_sas.client.mock``);
- ``background``: a ``socketserver`` served from a daemon thread, for the CRL/OCSP publisher and the
  terminators' upstream FHIR application.

Nothing here imports the rest of the package, so every layer above may use it.
"""
