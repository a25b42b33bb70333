"""The reference server's TLS layer: the pyOpenSSL context a ``Policy`` asks for.

What OpenSSL enforces before the application sees anything: the protocol floor, a client certificate
requested (and required), its chain to ``trusted_cas``, the CRLs of every CA of the chain when
``check_crl`` (OpenSSL's own CRL checks: issuer, signature, thisUpdate/nextUpdate, the same rules as
``pki/revocation.py``, which the agreement test holds them to), and the CA names of the
CertificateRequest. A failure aborts the handshake with OpenSSL's alert.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Final

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from OpenSSL import SSL, crypto

from recette_sas.environments import UsageError
from recette_sas.server.policy import TLS_VERSIONS, Policy

VerifyCallback = Callable[[SSL.Connection, crypto.X509, int, int, int], bool]

VERIFY_ERRORS: Final[Mapping[int, str]] = {
    2: "unable to get issuer certificate",
    3: "unable to get certificate CRL",
    7: "certificate signature failure",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    11: "CRL is not yet valid",
    12: "CRL has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
    23: "certificate revoked",
    24: "invalid CA certificate",
    25: "path length constraint exceeded",
    26: "unsupported certificate purpose",
    32: "key usage does not include certificate signing",
    34: "unhandled critical extension",
    35: "key usage does not include CRL signing",
    79: "invalid certificate verification context",
    66: "EE certificate key too weak",
    67: "CA certificate key too weak",
    68: "CA signature digest algorithm too weak",
}


def server_identity(
    host: str, server_name: str, cert: trustme.LeafCert | None, ca: trustme.CA | None
) -> tuple[trustme.LeafCert, bytes]:
    """(server leaf, PEM of its CA): the given ones, or a fresh trustme pair for ``server_name``, 127.0.0.1
    and ``host``."""
    if cert is not None and ca is not None:
        return cert, ca.cert_pem.bytes()
    fresh = trustme.CA()
    identities = [server_name, "127.0.0.1"]
    try:
        if not ipaddress.ip_address(host).is_unspecified:
            identities.append(host)
    except ValueError:
        identities.append(host)
    return fresh.issue_cert(*dict.fromkeys(identities)), fresh.cert_pem.bytes()


def make_context(policy: Policy, leaf: trustme.LeafCert, verify_callback: VerifyCallback) -> SSL.Context:
    """The server context for ``policy``, presenting ``leaf``; ``verify_callback`` sees every chain error."""
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    version = TLS_VERSIONS[policy.min_tls]
    ctx.set_min_proto_version(version)
    if version < SSL.TLS1_2_VERSION:
        # Without security level 0, OpenSSL 3+ has no cipher suite TLS 1.0/1.1 can use.
        ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    # Every attempt must be a full handshake: a resumed session would skip the client checks.
    ctx.set_options(SSL.OP_NO_TICKET)
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    ctx.set_session_id(b"recette-sas-reference")

    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise UsageError("ReferenceServer: server key must be RSA or EC")
    ctx.use_privatekey(key)
    pems = [blob.bytes() for blob in leaf.cert_chain_pems]
    ctx.use_certificate(x509.load_pem_x509_certificate(pems[0]))
    for pem in pems[1:]:
        ctx.add_extra_chain_cert(x509.load_pem_x509_certificate(pem))
    ctx.check_privatekey()

    mode = SSL.VERIFY_PEER
    if policy.require_client_cert:
        mode |= SSL.VERIFY_FAIL_IF_NO_PEER_CERT
    ctx.set_verify(mode, verify_callback)
    ctx.set_verify_depth(5)
    store = ctx.get_cert_store()
    if store is None:
        raise RuntimeError("pyOpenSSL context has no certificate store")
    for ca in policy.trusted_cas:
        store.add_cert(crypto.X509.from_cryptography(ca))
    if policy.check_crl:
        for crl in policy.crls:
            store.add_crl(crl)
        store.set_flags(crypto.X509StoreFlags.CRL_CHECK | crypto.X509StoreFlags.CRL_CHECK_ALL)
    if policy.client_ca_names is None:
        for ca in policy.trusted_cas:
            ctx.add_client_ca(ca)
    else:
        for name in policy.client_ca_names:
            ctx.add_client_ca(name_carrier(name))
    return ctx


@functools.cache
def _carrier_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def name_carrier(name: x509.Name) -> x509.Certificate:
    """A throwaway certificate whose only use is to carry ``name`` into the CA-names list.

    pyOpenSSL deprecates its ``X509Name`` type (so ``set_client_ca_list``), and
    ``add_client_ca`` takes certificates only; OpenSSL copies just the subject.
    """
    key = _carrier_key()
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
