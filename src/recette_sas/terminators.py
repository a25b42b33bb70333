"""Configuration snippets for HTTPS terminators (nginx, HAProxy, Apache httpd) from a PKI export.

The subject check is the part editors most often get wrong, so it is generated, not hand-written:
exact, anchored, escaped, case-sensitive patterns on the full RFC 2253 DN (CN and OU together).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .environments import Mapping, accepted_subjects, editor_environments, trusted_hierarchy

if TYPE_CHECKING:
    from .export import ExportLayout


def nginx_dn_regex(rfc4514: str) -> str:
    """An anchored, escaped nginx regex for ``$ssl_client_s_dn`` (RFC 2253 order, as nginx prints it)."""
    return "~^" + re.sub(r"([.\\\\+*?\[^\]$(){}=!<>|:#'\"\- ])", r"\\\1", rfc4514).replace("\\ ", " ") + "$"


def render_snippets(layout: ExportLayout, *, mapping: Mapping, responder_url: str) -> dict[str, str]:
    """One nginx, HAProxy and Apache snippet per editor environment of ``mapping``."""
    out: dict[str, str] = {}
    for env in editor_environments(mapping):
        h = trusted_hierarchy(env, mapping)
        subjects = [s.rfc4514() for s in accepted_subjects(env, mapping)]
        map_lines = "\n".join(f'    "{nginx_dn_regex(s)}" 1;' for s in subjects)
        out[
            f"nginx-{env}.conf"
        ] = f"""# recette-sas: staging terminator for the editor's {env} ({h.value} hierarchy, mapping {mapping.value}).
# Adapt listen/server_name/upstream. Requires nginx >= 1.19 for ssl_ocsp.
map $ssl_client_s_dn $sas_client_{env} {{
    default 0;
{map_lines}
}}
server {{
    listen 8443 ssl;
    ssl_certificate     {layout.server_fullchain};
    ssl_certificate_key {layout.server_key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_verify_client on;
    ssl_verify_depth 2;
    ssl_client_certificate {layout.bundle(h)};
    ssl_crl {layout.crls(h)};
    ssl_ocsp on;
    ssl_ocsp_responder {responder_url}/ocsp;
    location / {{
        if ($ssl_client_verify != SUCCESS) {{ return 403; }}
        if ($sas_client_{env} != 1) {{ return 403; }}
        proxy_set_header X-SSL-Client-S-DN $ssl_client_s_dn;
        proxy_set_header X-SSL-Client-CN "";
        proxy_set_header X-Client-Cert "";
        proxy_set_header X-Forwarded-Client-Cert "";
        proxy_pass http://127.0.0.1:8080;
    }}
}}
"""
        acl_lines = "\n".join(
            f"    acl sas_subject_{env} ssl_c_s_dn(CN) -m str {s.cn}\n"
            f"    acl sas_ou_{env}_{i} ssl_c_s_dn(OU) -m str {s.ou}"
            for i, s in enumerate(accepted_subjects(env, mapping))
        )
        out[
            f"haproxy-{env}.cfg"
        ] = f"""# recette-sas: staging terminator for the editor's {env} ({h.value} hierarchy).
frontend sas_{env}
    bind :8443 ssl crt {layout.root / "server" / "haproxy.pem"} ca-file {layout.bundle(h)} crl-file {layout.crls(h)} verify required ssl-min-ver TLSv1.2
{acl_lines}
    http-request deny unless sas_subject_{env}
    http-request del-header X-SSL-Client-S-DN
    default_backend editor_app
"""
        out[
            f"apache-{env}.conf"
        ] = f"""# recette-sas: staging terminator for the editor's {env} ({h.value} hierarchy).
<VirtualHost *:8443>
    SSLEngine on
    SSLProtocol -all +TLSv1.2 +TLSv1.3
    SSLCertificateFile {layout.server_fullchain}
    SSLCertificateKeyFile {layout.server_key}
    SSLCACertificateFile {layout.bundle(h)}
    SSLCARevocationFile {layout.crls(h)}
    SSLCARevocationCheck chain
    SSLVerifyClient require
    SSLVerifyDepth 2
    <Location />
        Require expr {" || ".join(f'(%{{SSL_CLIENT_S_DN_CN}} == "{s.cn}" && %{{SSL_CLIENT_S_DN_OU}} == "{s.ou}")' for s in accepted_subjects(env, mapping))}
    </Location>
    RequestHeader unset X-SSL-Client-S-DN
</VirtualHost>
"""
    return out
