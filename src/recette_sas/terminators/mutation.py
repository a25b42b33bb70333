"""The edit primitives of a mutant: small, checked changes to a rendered reference configuration.

Each primitive fails (``MutationError``) when it does not find exactly what it changes, so a template that
moves makes its mutants fail loudly instead of silently testing the reference again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from recette_sas.environments import Hierarchy, Mapping, accepted_subjects, trusted_hierarchy
from recette_sas.terminators.render import TemplateError, subject_dn, subject_rules

if TYPE_CHECKING:
    from recette_sas.pki.export import ExportLayout


class MutationError(TemplateError):
    """A mutant no longer finds what it changes in the reference configuration (the template moved)."""


@dataclass(frozen=True)
class MutationContext:
    """What a mutation may use besides the rendered text."""

    terminator: str
    env: str
    mapping: Mapping
    layout: ExportLayout
    work_dir: Path
    """Private folder of this run, for the extra files a mutation writes (a merged CA file…)."""

    @property
    def hierarchy(self) -> Hierarchy:
        return trusted_hierarchy(self.env, self.mapping)

    def exact_rules(self) -> str:
        return subject_rules(self.terminator, accepted_subjects(self.env, self.mapping))

    def cns(self) -> list[str]:
        return [s.cn for s in accepted_subjects(self.env, self.mapping)]

    def dns(self) -> list[str]:
        return [subject_dn(s) for s in accepted_subjects(self.env, self.mapping)]


Change = Callable[[str, MutationContext], str]


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def replace_once(text: str, old: str, new: str) -> str:
    """Replace ``old`` where it appears in a directive (comments, which quote directives, are left alone)."""
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if not _is_comment(line) and old in line]
    count = sum(lines[i].count(old) for i in hits)
    if count != 1:
        raise MutationError(f"expected exactly one {old!r} in the reference configuration, found {count}")
    lines[hits[0]] = lines[hits[0]].replace(old, new)
    return "\n".join(lines)


def drop_lines(text: str, pattern: str, *, count: int = 1) -> str:
    """Remove the ``count`` directive lines (or ``{…}`` blocks opened on them) matching ``pattern``."""
    lines = text.split("\n")
    out: list[str] = []
    found = 0
    depth = 0
    for line in lines:
        if depth:
            depth += line.count("{") - line.count("}")
            continue
        if not _is_comment(line) and re.search(pattern, line):
            found += 1
            depth = line.count("{") - line.count("}")
            continue
        out.append(line)
    if found != count:
        raise MutationError(f"expected {count} line(s) matching {pattern!r}, found {found}")
    return "\n".join(out)


def replace_argument(text: str, directive: str, value: str) -> str:
    """Set the argument that follows ``directive`` (a word of a directive line) to ``value``."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(directive)}(\s+)(\S+)")
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if not _is_comment(line) and pattern.search(line)]
    if len(hits) != 1:
        raise MutationError(
            f"expected one {directive!r} directive in the reference configuration, found {len(hits)}"
        )
    lines[hits[0]] = pattern.sub(lambda m: f"{directive}{m.group(1)}{value}", lines[hits[0]], count=1)
    return "\n".join(lines)


def chain(*changes: Change) -> Change:
    """Several changes, applied in order."""

    def apply(text: str, ctx: MutationContext) -> str:
        for change in changes:
            text = change(text, ctx)
        return text

    return apply


def replace(old: str, new: str) -> Change:
    return lambda text, _ctx: replace_once(text, old, new)


def drop(pattern: str, count: int = 1) -> Change:
    return lambda text, _ctx: drop_lines(text, pattern, count=count)


def subjects(rule: Callable[[MutationContext], str]) -> Change:
    """Swap the generated subject rule for a hand-written one."""
    return lambda text, ctx: replace_once(text, ctx.exact_rules(), rule(ctx))


def with_file(directive: str, name: str, content: Callable[[MutationContext], bytes]) -> Change:
    """Point ``directive``'s file argument (the CA or CRL file) at a file the mutation writes."""

    def apply(text: str, ctx: MutationContext) -> str:
        path = ctx.work_dir / name
        path.write_bytes(content(ctx))
        value = str(path) + (";" if ctx.terminator == "nginx" else "")
        return replace_argument(text, directive, value)

    return apply


def crls_of(hierarchies: tuple[Hierarchy, ...]) -> Callable[[MutationContext], bytes]:
    return lambda ctx: b"".join(ctx.layout.crls(h).read_bytes() for h in hierarchies)


def _intermediate_crl(ctx: MutationContext) -> bytes:
    from recette_sas.pki.catalogue import GENUINE

    return ctx.layout.crl(GENUINE[ctx.hierarchy][1].name).read_bytes()


SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def system_store(ctx: MutationContext) -> bytes:
    """The system store after an administrator added every IGC Santé CA to it (update-ca-certificates)."""
    system = SYSTEM_BUNDLE.read_bytes() if SYSTEM_BUNDLE.is_file() else b""
    return system + b"".join(ctx.layout.bundle(h).read_bytes() for h in Hierarchy)


def both_bundles(ctx: MutationContext) -> bytes:
    return b"".join(ctx.layout.bundle(h).read_bytes() for h in (ctx.hierarchy, ctx.hierarchy.other))


def _crl_file_directive(terminator: str) -> str:
    return {"nginx": "ssl_crl", "haproxy": "crl-file", "apache": "SSLCARevocationFile"}[terminator]


def _ca_file_directive(terminator: str) -> str:
    return {"nginx": "ssl_client_certificate", "haproxy": "ca-file", "apache": "SSLCACertificateFile"}[
        terminator
    ]


def intermediate_crl_only(terminator: str) -> Change:
    return with_file(_crl_file_directive(terminator), "crl-intermediaire.pem", _intermediate_crl)


def trust(terminator: str, bundle: Callable[[MutationContext], bytes], name: str) -> Change:
    both = (Hierarchy.TEST, Hierarchy.PRODUCTION)
    return chain(
        with_file(_ca_file_directive(terminator), name, bundle),
        with_file(_crl_file_directive(terminator), "crl-toutes.pem", crls_of(both)),
    )


__all__ = [
    "Change",
    "MutationContext",
    "MutationError",
    "both_bundles",
    "chain",
    "drop",
    "drop_lines",
    "intermediate_crl_only",
    "replace",
    "replace_argument",
    "replace_once",
    "subjects",
    "system_store",
    "trust",
    "with_file",
]
