"""The one way the suite writes private key material to disk.

Every key file (the look-alike CAs' and leaves' keys, the editor's look-alike keys, the staging server
key of an export, a key handed to OpenSSL for the editor's own certificate) goes through
``write_private``, so none can be written world-readable by one module that forgot a flag.

Why a temporary file and a rename rather than ``open(path, "w")`` followed by ``chmod``: the file
must be mode 0600 from the instant it exists (a ``chmod`` after the write leaves a window in which it is
readable under the umask), ``O_CREAT``'s mode only applies to a file that did not exist (re-writing an
existing 0644 file with ``O_TRUNC`` keeps it 0644), and a reader must never find half a key (a crash or a
full disk mid-write). ``O_EXCL`` on a fresh name in the same directory, then ``os.replace``, gives all
three.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

PRIVATE_MODE = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, mode 0600 from creation, replacing any file there atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            # The umask can only remove bits; this makes a umask of 0 or an ACL default harmless too.
            os.fchmod(fh.fileno(), PRIVATE_MODE)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def key_pem(key: PrivateKeyTypes) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM: what OpenSSL loads without asking for a password."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_rsa_key(path: Path) -> rsa.RSAPrivateKey:
    """One of the suite's own RSA keys (the PKI cache's): the slow (~120 ms a key) RSA consistency check
    guards against hostile keys, which these are not, and the cache's digests prove them unchanged."""
    key = serialization.load_pem_private_key(
        path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key
