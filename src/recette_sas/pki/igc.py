"""The real IGC Santé CA certificates: pinned, downloaded once, cached, verified on every load.

ANS publishes the four CA certificates of the two IGC Santé hierarchies over plain HTTP. What we trust is
the SHA-256 of the DER pinned here, not the transport: from any source, a file is accepted only when it
hashes to its pin. The publication host rate-limits hard (403 after a few downloads, ``domain-notes.md``
§3), hence:

- a certificate is downloaded only when the cache lacks it, verified *before* it is written, and written
  atomically (temporary file + rename): the cache only ever receives pinned bytes, and the cache is not
  keyed by ``base_url`` since the pins make every mirror equivalent;
- a cached file is re-verified on every load, and a mismatch is *reported, not repaired*: the suite never
  writes such a file, so something else changed it and a human should look (deleting it downloads it
  again); silent repair would hide tampering and spend the rate-limited quota on every run;
- 403/429 is never retried (it is the rate limit), other HTTP/network failures are retried once.

``ca_dir`` replaces both cache and network: the editor may keep the files itself (``<NAME>.cer`` in DER or
``<NAME>.pem``). Local "igc mode" runs inject a look-alike chain (same names, same DNs, keys of our own,
e.g. the ``material/ca`` folder of :mod:`recette_sas.pki.store`) with ``allow_unpinned=True``: fingerprints are
then reported, not enforced, and ``IgcChains.pinned`` is False so reports can say so. Subject DNs, CA
basic constraints and the root → intermediate signatures are checked whatever the source.

Every expected failure is a :class:`~recette_sas.environments.UsageError` of one line naming the file or
URL and the problem.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from recette_sas.environments import Hierarchy, UsageError
from recette_sas.pki.cachefs import ensure_writable

OFFICIAL_BASE = "http://igc-sante.esante.gouv.fr"
CACHE_SUBDIR = "igc"
USER_AGENT = "recette-sas (IGC Santé CA certificates, cached)"
MAX_CERT_BYTES = 64 * 1024
RETRY_DELAY = 0.5
"""Seconds before the one retry of a transient failure (never for 403/429)."""

CA_DIR_OPTION = "--igc-ca-dir"

Source = Literal["dir", "cache", "download"]

_ASIP = "OU=0002 187512751,O=ASIP-SANTE,C=FR"


@dataclass(frozen=True)
class IgcCa:
    """One published IGC Santé CA certificate: where ANS publishes it and what it must be."""

    name: str
    hierarchy: Hierarchy
    is_root: bool
    path: str
    """Relative to the publication base, percent-encoded exactly as ANS publishes it."""
    sha256: str
    """SHA-256 of the DER, lowercase hex."""
    subject: str
    """RFC 4514, as ``x509.Name.rfc4514_string()`` prints it (CN first)."""

    def url(self, base_url: str = OFFICIAL_BASE) -> str:
        return f"{base_url.rstrip('/')}/{self.path}"


ACR_EL = IgcCa(
    name="ACR-EL",
    hierarchy=Hierarchy.PRODUCTION,
    is_root=True,
    path="AC/ACR-EL.cer",
    sha256="2d9e22ca19f777c6b745257c723ecb8df3c35fa6f1f6ec36b83600c97346967f",
    subject=f"CN=AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE,{_ASIP}",
)
ACI_EL_ORG = IgcCa(
    name="ACI-EL-ORG",
    hierarchy=Hierarchy.PRODUCTION,
    is_root=False,
    path="AC/ACI-EL-ORG.cer",
    sha256="d834ee5b40686b73573f60547bf6052c6d404d942a5665cdb2c0b9137b5d27b2",
    subject=f"CN=AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE,{_ASIP}",
)
ACR_EL_TEST = IgcCa(
    name="ACR-EL-TEST",
    hierarchy=Hierarchy.TEST,
    is_root=True,
    path="AC%20TEST/ACR-EL-TEST.cer",
    sha256="01325aeb193871eec90fa89556804e4185cb362e0ca87a3d79939c71186da805",
    subject=f"CN=TEST AC RACINE IGC-SANTE ELEMENTAIRE,OU=IGC-SANTE TEST,{_ASIP}",
)
ACI_EL_ORG_TEST = IgcCa(
    name="ACI-EL-ORG-TEST",
    hierarchy=Hierarchy.TEST,
    is_root=False,
    path="AC%20TEST/ACI-EL-ORG-TEST.cer",
    sha256="dc528e3788691b3f7950164076f95b02c64334c68662bdede5750b4e0e5338f6",
    subject=f"CN=TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS,OU=IGC-SANTE TEST,{_ASIP}",
)

IGC_CAS: tuple[IgcCa, ...] = (ACR_EL, ACI_EL_ORG, ACR_EL_TEST, ACI_EL_ORG_TEST)
IGC_CA_BY_NAME: dict[str, IgcCa] = {ca.name: ca for ca in IGC_CAS}
HIERARCHIES: dict[Hierarchy, tuple[IgcCa, IgcCa]] = {
    Hierarchy.PRODUCTION: (ACR_EL, ACI_EL_ORG),
    Hierarchy.TEST: (ACR_EL_TEST, ACI_EL_ORG_TEST),
}
"""(root, intermediate) of each hierarchy."""


@dataclass(frozen=True)
class IgcCertificate:
    """One loaded CA certificate, with where it came from (for reports)."""

    ca: IgcCa
    certificate: x509.Certificate
    sha256: str
    source: Source
    path: Path

    @property
    def pinned(self) -> bool:
        return self.sha256 == self.ca.sha256


@dataclass(frozen=True)
class IgcChains:
    """The four IGC Santé CA certificates, checked as two chains (construct with :meth:`load`)."""

    certificates: tuple[IgcCertificate, ...]
    """In ``IGC_CAS`` order."""

    def __post_init__(self) -> None:
        names = tuple(c.ca.name for c in self.certificates)
        if names != tuple(ca.name for ca in IGC_CAS):
            raise ValueError(f"IgcChains needs {[ca.name for ca in IGC_CAS]}, got {list(names)}")
        _check_structure(self)

    @classmethod
    def load(
        cls,
        *,
        cache_dir: Path,
        ca_dir: Path | None = None,
        base_url: str = OFFICIAL_BASE,
        offline: bool = False,
        timeout: float = 10.0,
        allow_unpinned: bool = False,
    ) -> IgcChains:
        """From ``ca_dir`` if given (alone), else from the cache, downloading only what it lacks.

        ``allow_unpinned`` (only with ``ca_dir``) accepts certificates that are not the pinned ones: the
        look-alike chain of local runs.
        """
        if ca_dir is not None:
            return cls(_from_dir(Path(ca_dir), allow_unpinned=allow_unpinned))
        if allow_unpinned:
            raise UsageError(
                f"allow_unpinned applies to {CA_DIR_OPTION} only: the cache and downloads are always pinned"
            )
        if not timeout > 0:
            raise UsageError(f"IGC Santé download timeout must be positive seconds (got {timeout})")
        _check_base_url(base_url)
        return cls(_from_cache_or_download(Path(cache_dir), base_url, offline=offline, timeout=timeout))

    def get(self, name: str) -> IgcCertificate:
        for c in self.certificates:
            if c.ca.name == name:
                return c
        raise KeyError(name)

    def hierarchy(self, h: Hierarchy) -> tuple[x509.Certificate, x509.Certificate]:
        """(root, intermediate) of one hierarchy."""
        root, inter = HIERARCHIES[h]
        return self.get(root.name).certificate, self.get(inter.name).certificate

    def bundle_pem(self, h: Hierarchy) -> bytes:
        """Intermediate then root, in PEM: a CA file for one hierarchy (and nothing of the other)."""
        root, inter = self.hierarchy(h)
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (inter, root))

    @property
    def sources(self) -> dict[str, Source]:
        return {c.ca.name: c.source for c in self.certificates}

    def fingerprints(self) -> dict[str, str]:
        """SHA-256 of each DER as loaded (equal to the pins when ``pinned``)."""
        return {c.ca.name: c.sha256 for c in self.certificates}

    @property
    def pinned(self) -> bool:
        """True when every certificate is the real one ANS publishes (False for a look-alike chain)."""
        return all(c.pinned for c in self.certificates)


def _from_dir(ca_dir: Path, *, allow_unpinned: bool) -> tuple[IgcCertificate, ...]:
    if not ca_dir.is_dir():
        raise UsageError(f"{ca_dir}: not a readable directory ({CA_DIR_OPTION})")
    candidates: dict[str, list[Path]] = {}
    for ca in IGC_CAS:
        candidates[ca.name] = [
            p for p in (ca_dir / f"{ca.name}.cer", ca_dir / f"{ca.name}.pem") if p.is_file()
        ]
    missing = [name for name, paths in candidates.items() if not paths]
    if missing:
        wanted = ", ".join(f"{n}.cer or {n}.pem" for n in missing)
        raise UsageError(
            f"{ca_dir}: missing {wanted} ({CA_DIR_OPTION} needs the four IGC Santé CA certificates)"
        )
    loaded: list[IgcCertificate] = []
    for ca in IGC_CAS:
        path, *others = candidates[ca.name]
        cert = _parse(path, _read(path))
        for other in others:
            if _parse(other, _read(other)) != cert:
                raise UsageError(f"{path}: {other.name} holds a different certificate (one {ca.name} only)")
        fingerprint = _sha256(cert.public_bytes(serialization.Encoding.DER))
        if fingerprint != ca.sha256 and not allow_unpinned:
            raise UsageError(_mismatch(str(path), fingerprint, ca))
        loaded.append(IgcCertificate(ca, cert, fingerprint, "dir", path))
    return tuple(loaded)


def _from_cache_or_download(
    cache_dir: Path, base_url: str, *, offline: bool, timeout: float
) -> tuple[IgcCertificate, ...]:
    folder = cache_dir / CACHE_SUBDIR
    found: dict[str, IgcCertificate] = {}
    for ca in IGC_CAS:
        cached = _from_cache(folder / f"{ca.name}.cer", ca)
        if cached is not None:
            found[ca.name] = cached
    missing = [ca for ca in IGC_CAS if ca.name not in found]
    if missing and offline:
        names = ", ".join(ca.name for ca in missing)
        raise UsageError(
            f"{folder}: {names} not cached and offline (no download); run `recette-sas igc fetch` where "
            f"the IGC Santé site is reachable, or pass {CA_DIR_OPTION} DIR"
        )
    if missing:
        _ensure_writable(folder)  # before any download: the quota is too scarce to spend on nothing
    for ca in missing:
        url = ca.url(base_url)
        data = _download(url, timeout=timeout)
        fingerprint = _sha256(data)
        if fingerprint != ca.sha256:
            raise UsageError(_mismatch(url, fingerprint, ca) + " (not cached)")
        cert = _parse_der(url, data)
        path = folder / f"{ca.name}.cer"
        _write_atomic(path, data)
        found[ca.name] = IgcCertificate(ca, cert, fingerprint, "download", path)
    return tuple(found[ca.name] for ca in IGC_CAS)


def _from_cache(path: Path, ca: IgcCa) -> IgcCertificate | None:
    if not path.exists():
        return None
    data = _read(path)
    fingerprint = _sha256(data)
    if fingerprint != ca.sha256:
        raise UsageError(
            _mismatch(str(path), fingerprint, ca)
            + " (the cache only receives verified files, so it changed since: inspect it, delete it to"
            " download again)"
        )
    return IgcCertificate(ca, _parse_der(str(path), data), fingerprint, "cache", path)


def _check_base_url(base_url: str) -> None:
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--base-url: {base_url!r} is not an http(s) URL with a host")


def _fetch(url: str, *, timeout: float) -> bytes:
    """One GET; the one place that opens a connection (tests guard it)."""
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body: bytes = response.read(MAX_CERT_BYTES + 1)
    return body


def _download(url: str, *, timeout: float) -> bytes:
    import http.client
    import urllib.error

    problem = ""
    for attempt in (1, 2):
        try:
            data = _fetch(url, timeout=timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in (403, 429):
                raise UsageError(
                    f"{url}: HTTP {exc.code}: the IGC Santé host rate-limits downloads (403 after a few); "
                    f"do not retry now: download the four certificates once by hand and pass "
                    f"{CA_DIR_OPTION} DIR, or retry later into a persistent --cache"
                ) from None
            if exc.code < 500:
                raise UsageError(
                    f"{url}: HTTP {exc.code} {_one_line(str(exc.reason))}; check --base-url or pass "
                    f"{CA_DIR_OPTION} DIR"
                ) from None
            problem = f"HTTP {exc.code} {_one_line(str(exc.reason))}"
        except urllib.error.URLError as exc:
            reason = exc.reason
            problem = _one_line(getattr(reason, "strerror", None) or str(reason))
        except (OSError, http.client.HTTPException) as exc:
            problem = _one_line(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)
        except ValueError as exc:  # http.client.InvalidURL: a URL urlsplit let through
            raise UsageError(f"{url}: invalid URL ({_one_line(str(exc))})") from None
        else:
            if len(data) > MAX_CERT_BYTES:
                raise UsageError(f"{url}: more than {MAX_CERT_BYTES} bytes, not a CA certificate")
            return data
        if attempt == 1:
            time.sleep(RETRY_DELAY)
    raise UsageError(
        f"{url}: download failed twice ({problem}); check the network or pass {CA_DIR_OPTION} DIR"
    )


def _ensure_writable(folder: Path) -> None:
    ensure_writable(
        folder,
        what=f"{folder}: IGC Santé cache",
        hint=f"; choose another --cache or pass {CA_DIR_OPTION} DIR",
    )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # public certificates
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write to the IGC Santé cache ({exc.strerror or exc})") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _parse(path: Path, data: bytes) -> x509.Certificate:
    """DER or PEM whatever the extension (``.cer`` files in PEM exist in the wild)."""
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise UsageError(f"{path}: not a PEM certificate ({_one_line(str(exc))})") from None
        if len(certs) != 1:
            raise UsageError(f"{path}: {len(certs)} certificates, expected exactly one")
        return certs[0]
    return _parse_der(str(path), data)


def _parse_der(where: str, data: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise UsageError(f"{where}: not a DER certificate ({_one_line(str(exc))})") from None


def _check_structure(chains: IgcChains) -> None:
    """DNs, CA flags and signatures: pinned files pass trivially; a look-alike chain must too."""
    for c in chains.certificates:
        subject = c.certificate.subject.rfc4514_string()
        if subject != c.ca.subject:
            raise UsageError(
                f"{c.path}: subject {subject!r} is not the IGC Santé DN {c.ca.subject!r} of {c.ca.name}"
            )
        try:
            is_ca = c.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (x509.ExtensionNotFound, ValueError):
            is_ca = False
        if not is_ca:
            raise UsageError(
                f"{c.path}: {c.ca.name} is not a CA certificate (basicConstraints CA:TRUE missing)"
            )
    for root_ca, inter_ca in HIERARCHIES.values():
        root = chains.get(root_ca.name)
        for child in (root, chains.get(inter_ca.name)):
            try:
                child.certificate.verify_directly_issued_by(root.certificate)
            except (ValueError, TypeError, InvalidSignature) as exc:
                detail = _one_line(str(exc)) or "bad signature"
                raise UsageError(
                    f"{child.path}: {child.ca.name} is not signed by {root_ca.name} ({detail})"
                ) from None


def _mismatch(where: str, got: str, ca: IgcCa) -> str:
    return f"{where}: SHA-256 {got} does not match the pinned IGC Santé fingerprint {ca.sha256} for {ca.name}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _one_line(text: str) -> str:
    return " ".join(text.split())


__all__ = [
    "ACI_EL_ORG",
    "ACI_EL_ORG_TEST",
    "ACR_EL",
    "ACR_EL_TEST",
    "HIERARCHIES",
    "IGC_CAS",
    "IGC_CA_BY_NAME",
    "OFFICIAL_BASE",
    "IgcCa",
    "IgcCertificate",
    "IgcChains",
    "Source",
]
