"""Certificates: the look-alike IGC Santé PKI (``catalogue`` of CAs and one-defect leaves, ``store`` the cache,
``profile`` the AUTH_CLI profile, ``revocation`` CRL/OCSP checks, ``publisher`` the loopback responder), the
real IGC chains (``igc``), the editor's certificates (``editor``, ``credential_files``, ``certcheck``), the
staging export (``export``) and the one private-key writer (``keys``). Imports no role."""
