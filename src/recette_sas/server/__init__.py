"""The server role: SAS calls the editor. ``flows`` are SAS's requests, ``targets`` what is tested and the
per-run state (positive controls, reachability), ``rules`` the verdicts; the embedded ``reference`` server
(``policy``, ``tls``) and its broken ``variants`` prove every rule can fail."""
