"""Real HTTPS terminators (nginx, HAProxy, Apache httpd): reference configurations rendered from
``terminators/*.tmpl`` (``render``), the FHIR ``upstream`` behind them, and the ``mutants`` that prove the
server matrix catches each misconfiguration (``mutation``, ``expected``, ``readme``)."""
