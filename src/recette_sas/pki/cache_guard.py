"""What keeps the PKI cache whole: a lock between runs, a digest of every file, a check that every cached
leaf and CRL chains to the cached CA keys, and key-generation workers that die with the build.

Why each one (issue 15): two cold runs sharing a new cache built two CA generations in the same second and
kept leaves signed by the losing keys, so every later run reported the correct reference non-conforme
until the cache expired; a truncated key or CRL made every test fail with a PEM traceback naming nothing;
a SIGTERM during a cold build left the pool's workers running for minutes and a ``.material-*`` folder.

- ``cache_lock``: runs sharing a cache take turns to check and build it (``flock``, released by the kernel
  even after SIGKILL, so a dead run never blocks the next one).
- ``files_digest`` / ``verify_material`` / ``verify_issued``: each manifest lists the SHA-256 of every file
  built with it and the generation id (a random id, one per material build, copied into each issued set);
  on load every file is compared, every CA key must match its certificate, every certificate and CRL must
  verify under the cached CA that the manifest says signed it. Any difference is ``CacheCorrupt`` naming
  the file, which ``Pki.load_or_build`` answers by rebuilding with one line saying so.
- ``sweep_work_dirs``: a build killed mid-way (SIGKILL) leaves its work folder; the next run, holding the
  lock, removes it (nobody else can be building then).
- ``terminating_pool``: key-generation workers terminated, not drained, on any interruption.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import multiprocessing.pool
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from recette_sas.environments import UsageError
from recette_sas.pki.catalogue import ALL_CAS, Defect

MISSIGNED_BY_DESIGN = frozenset({Defect.SIGNATURE_CORROMPUE.value, Defect.AUTRE_CLE_DN_INTERMEDIAIRE.value})
"""Leaves whose one defect is their signature (corrupted, or made by another key under the intermediate's
exact DN): no cached key verifies them, by design; the manifest's digest still proves them unchanged."""

LOCK_NAME = ".lock"
LOCK_WAIT = 900.0  # a cold build on a slow shared machine takes minutes; beyond this, say so


class CacheCorrupt(Exception):
    """A file of the PKI cache is not what was built (``path``), for ``problem``."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@contextlib.contextmanager
def cache_lock(cache_dir: Path, *, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold the cache's lock (exclusive) for the block, waiting at most ``wait`` seconds for it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: builds stay atomic by rename, unserialised
        yield
        return
    with open(cache_dir / LOCK_NAME, "a+b") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise UsageError(
                        f"PKI cache {cache_dir}: still locked by another run after {wait:.0f} s"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def sweep_work_dirs(cache_dir: Path) -> list[Path]:
    """Remove build folders a killed run left (``.material-*``, ``issued/.<profile>-*``); lock held."""
    removed: list[Path] = []
    for parent in (cache_dir, cache_dir / "issued"):
        if not parent.is_dir():
            continue
        for entry in parent.iterdir():
            if entry.name.startswith(".") and entry.name != LOCK_NAME and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith("."))


def files_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (relative POSIX path → hex), dot-files aside."""
    return {p.relative_to(root).as_posix(): _digest(p) for p in _files(root)}


def _check_files(root: Path, manifest_name: str, listed: Any) -> None:
    if not isinstance(listed, dict):
        raise CacheCorrupt(root / manifest_name, "manifest lists no files")
    for rel, digest in listed.items():
        path = root / rel
        try:
            actual = _digest(path)
        except FileNotFoundError:
            raise CacheCorrupt(path, "missing") from None
        except OSError as exc:
            raise CacheCorrupt(path, f"unreadable ({exc.strerror or exc})") from None
        if actual != digest:
            raise CacheCorrupt(path, "changed since it was built (truncated, edited or replaced)")
    for path in _files(root):
        rel = path.relative_to(root).as_posix()
        if rel != manifest_name and rel not in listed:
            raise CacheCorrupt(path, "not part of this cache (added after it was built)")


def read_manifest(path: Path) -> dict[str, Any] | None:
    """A cache manifest: None when absent (never built), ``CacheCorrupt`` when unreadable."""
    try:
        return _read(path)
    except CacheCorrupt as exc:
        if exc.problem == "missing":
            return None
        raise


def _read(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise CacheCorrupt(path, "missing") from None
    except (OSError, ValueError) as exc:
        raise CacheCorrupt(path, f"unreadable manifest ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict):
        raise CacheCorrupt(path, "unreadable manifest (not an object)")
    return meta


def _signed(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``cert`` names ``issuer`` and carries its RSA signature (any hash: the SHA-1 leaf must verify too,
    which ``verify_directly_issued_by`` refuses)."""
    public = issuer.public_key()
    algorithm = cert.signature_hash_algorithm
    if cert.issuer != issuer.subject or not isinstance(public, rsa.RSAPublicKey) or algorithm is None:
        return False
    try:
        public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


def _load_cert(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CacheCorrupt(path, f"not a certificate ({exc.__class__.__name__})") from None


def verify_material(
    material: Path,
) -> tuple[str, dict[str, x509.Certificate], dict[str, rsa.RSAPrivateKey]]:
    """(generation, CA certificates, CA keys) of a whole, self-consistent material folder."""
    meta = _read(material / "material.json")
    generation = meta.get("generation")
    if not isinstance(generation, str):
        raise CacheCorrupt(material / "material.json", "manifest has no generation id")
    _check_files(material, "material.json", meta.get("files"))
    certs: dict[str, x509.Certificate] = {}
    keys: dict[str, rsa.RSAPrivateKey] = {}
    for spec in ALL_CAS:  # roots before the intermediates they sign
        cert_path = material / "ca" / f"{spec.name}.pem"
        key_path = material / "keys" / f"{spec.name}.key.pem"
        cert = _load_cert(cert_path)
        try:
            key = serialization.load_pem_private_key(
                key_path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
            )
        except (OSError, ValueError, TypeError) as exc:
            raise CacheCorrupt(key_path, f"not a private key ({exc.__class__.__name__})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CacheCorrupt(key_path, "not an RSA private key")
        cert_key = cert.public_key()
        if (
            not isinstance(cert_key, rsa.RSAPublicKey)
            or cert_key.public_numbers() != key.public_key().public_numbers()
        ):
            raise CacheCorrupt(key_path, f"does not match {cert_path.name}")
        issuer = certs[spec.issuer] if spec.issuer else cert
        if not _signed(cert, issuer):
            raise CacheCorrupt(cert_path, f"not signed by {spec.issuer or 'its own key'}")
        certs[spec.name], keys[spec.name] = cert, key
    return generation, certs, keys


def verify_issued(issued: Path, certs: dict[str, x509.Certificate], generation: str) -> dict[str, Any]:
    """The manifest of an issued set whose every file is as built and whose every leaf, chain and CRL
    verifies under the cached CA keys of ``generation``."""
    manifest_path = issued / "issued.json"
    meta = _read(manifest_path)
    if meta.get("generation") != generation:
        raise CacheCorrupt(manifest_path, "issued from another CA generation than the cached CAs")
    _check_files(issued, "issued.json", meta.get("files"))
    issuers = meta.get("issuers")
    if not isinstance(issuers, dict) or not issuers:
        raise CacheCorrupt(manifest_path, "manifest lists no leaves")
    cached = list(certs.values())
    for leaf_id, issuer_name in issuers.items():
        folder = issued / "leaves" / leaf_id
        leaf = _load_cert(folder / "leaf.pem")
        try:
            chain = (
                x509.load_pem_x509_certificates(chain_bytes)
                if (chain_bytes := (folder / "chain.pem").read_bytes())
                else []
            )
        except (OSError, ValueError) as exc:
            raise CacheCorrupt(folder / "chain.pem", f"not a chain ({exc.__class__.__name__})") from None
        for extra in chain:
            if extra not in cached and not any(_signed(extra, ca) for ca in cached):
                raise CacheCorrupt(folder / "chain.pem", "carries a certificate no cached CA signed")
        if leaf_id.rsplit("/", 1)[-1] in MISSIGNED_BY_DESIGN:
            continue
        signer = {"self": leaf, "leaf-signer": chain[0] if chain else None}.get(
            issuer_name, certs.get(issuer_name)
        )
        if signer is None or not _signed(leaf, signer):
            raise CacheCorrupt(folder / "leaf.pem", f"not signed by the cached {issuer_name} key")
    for spec in ALL_CAS:
        crl_path = issued / "crl" / f"{spec.name}.crl.pem"
        try:
            crl = x509.load_pem_x509_crl(crl_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise CacheCorrupt(crl_path, f"not a CRL ({exc.__class__.__name__})") from None
        ca_key = certs[spec.name].public_key()
        assert isinstance(ca_key, rsa.RSAPublicKey)
        if crl.issuer != certs[spec.name].subject or not crl.is_signature_valid(ca_key):
            raise CacheCorrupt(crl_path, f"not signed by the cached {spec.name} key")
    return meta


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _quiet_worker() -> None:
    """A worker leaves Ctrl-C to the build (which terminates it) and, its build killed, exits without
    a BrokenPipe traceback on the terminal: a task's own error still reaches the build as its result."""
    import os
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the worker's whole life


@contextlib.contextmanager
def terminating_pool(workers: int) -> Iterator[multiprocessing.pool.Pool]:
    """A spawn pool whose workers are terminated, not drained, when the block is interrupted; while it
    runs, a SIGTERM nobody handles becomes KeyboardInterrupt here so the workers die with the build."""
    previous: Any = None
    main = threading.current_thread() is threading.main_thread()
    if main and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        previous = signal.signal(signal.SIGTERM, _interrupt)
    # spawn, not fork: forking a process that runs threads (a test session) is unsafe.
    pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_quiet_worker)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        pool.join()
        raise
    else:
        pool.close()
        pool.join()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
