"""Private network helpers shared by the suite's two loopback TLS servers, not an API.

- ``tlsio``: non-blocking pyOpenSSL I/O against one connection deadline (handshake, recv, send, a
  lingering close) and the wording of OpenSSL's errors, for the reference editor server
  (``recette_sas.server.reference``) and the mock SAS platform (``recette_sas.client.mock``).
"""
