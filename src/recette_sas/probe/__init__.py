"""The probe: the suite's own TLS client, which dials a target once and brings back evidence, never a verdict.

A probe connects, shakes hands presenting a chosen identity (or none), and records what really went
over the wire; ``recette_sas.verdict`` alone turns that record into an outcome.

- ``endpoint``: what a probe is told (``Endpoint``, ``HttpRequest``, ``TlsVersion``, ``ProbeSetupError``);
  plain data, cheap to import at collection time.
- ``attempt``: one TLS handshake and one HTTP/1.1 exchange (``attempt``, ``client_context``), an ``Attempt``.
- ``certrequest``: whether, and from which CAs, a server asks for a client certificate
  (``read_certificate_request``, ``CertificateRequestInfo``), with pyOpenSSL.
- ``_wire``: OpenSSL's message-callback recorder and the ClientHello/ServerHello/Certificate parsers.
"""
