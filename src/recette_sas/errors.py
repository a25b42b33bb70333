"""Every error the suite raises on purpose, and the exit code each one leads to.

Two branches, and the run verdict is decided from these *types*, never from a message's words::

    RecetteSasError
    ├── UsageError ......................... the user can fix it; one line naming file, key and problem
    │   ├── ConfigError .................... a value of the editor's configuration file
    │   ├── OptionError .................... a command-line option
    │   └── CertificateFileError ........... a certificate, key or PKCS#12 file the user named
    │       └── pki.credential_files.CredentialError
    ├── NotVerifiable ...................... the check cannot be verified from here (a genuine IGC
    │                                        certificate's revocation with no IGC OCSP/CRL reachable, no
    │                                        SNI to an IP address): neither passed nor broken; the run is
    │                                        "conforme sous réserve" (exit 0) with the reservation listed
    ├── (never reaches the user as such)
    │   ├── probe.endpoint.ProbeSetupError . the probe cannot be built: the attempt is a PROBE_FAULT
    │   ├── pki.revocation.RevocationProblem a CRL or OCSP answer that proves nothing
    │   ├── terminators.render.TemplateError a terminator configuration cannot be rendered
    │   │   └── terminators.mutants.MutationError
    │   └── terminators.render.TerminatorError a terminator did not start
    └── VerdictUnavailable ................. the run could not judge this scenario (Allure: broken)
        ├── TargetUnreachable .............. no TCP connection, or no TLS byte, before the target's
        │                                    positive control passed: nothing is known of the target
        ├── ProbeFault ..................... the probe could not send what it meant to send
        ├── ControlNotPassed ............... the positive (or reachability) control did not pass, so no
        │                                    refusal on that target can be trusted
        ├── NoAnswer ....................... after a passed control, this call stalled (no HTTP answer
        │                                    within the read timeout): this scenario only
        ├── WrongCause ..................... the target refused, but the refusal names another cause than
        │                                    the one the scenario claims (an expired certificate refused
        │                                    proves nothing about the CN check)
        └── ClientDidNotRun ................ the editor's client exited, hung or sent nothing: nothing is
                                             known of its behaviour

A non-conformance is an ``AssertionError`` (Allure: failed), outside this tree on purpose: pytest and
every report already treat it as a failed check. The servers' private control-flow exceptions (a client
gone, a refusal being answered) stay private to their module.

``ExitCode`` is the one table of exit codes, for ``pytest features`` (embedded run, ``--sas-config`` run,
CI) and for the ``recette-sas`` commands alike.
"""

from __future__ import annotations

import enum


class RecetteSasError(Exception):
    """Base of every error the suite raises on purpose."""


class UsageError(RecetteSasError):
    """A mistake the user can fix: the message is one line naming the file, the key and the problem."""


class ConfigError(UsageError):
    """A value of the editor's configuration file."""


class OptionError(UsageError):
    """A command-line option."""


class CertificateFileError(UsageError):
    """A certificate, key or PKCS#12 file the user named."""


class NotVerifiable(RecetteSasError):
    """This check cannot be verified from this machine, and says why; the rest of the run stands.

    Not a ``VerdictUnavailable``: nothing went wrong with the target, the probe or the client; what the
    check needs is out of reach by design (the real IGC Santé's OCSP and CRLs offline, an SNI a client
    addressing an IP cannot send). Reported apart (status ``non-verifiable``, Allure *skipped* with a
    ``NON VERIFIABLE ICI`` reason), and the run verdict becomes "conforme sous réserve", exit 0.
    """

    kind = "non-verifiable"


class VerdictUnavailable(RecetteSasError):
    """No verdict can be given for this scenario.

    Deliberately not an ``AssertionError``: Allure reports it as *broken*, junit as an *error*.
    """

    kind = "sans-verdict"


class TargetUnreachable(VerdictUnavailable):
    """The target never answered (TCP or the first TLS bytes) before its positive control passed."""

    kind = "injoignable"

    def __init__(self, message: str, *, target: str = "", why: str = "") -> None:
        super().__init__(message)
        self.target = target
        self.why = why or message


class ProbeFault(VerdictUnavailable):
    """The probe could not send what it meant to send."""

    kind = "defaut-sonde"


class ControlNotPassed(VerdictUnavailable):
    """The positive or reachability control did not pass on this target."""

    kind = "controle-non-passe"


class NoAnswer(VerdictUnavailable):
    """After a passed control, this call stalled: no answer within the read timeout."""

    kind = "sans-reponse"


class WrongCause(VerdictUnavailable):
    """A refusal whose stated cause is not the one the scenario claims."""

    kind = "autre-cause"


class ClientDidNotRun(VerdictUnavailable):
    """The editor's client exited, hung or sent nothing."""

    kind = "client-absent"


class ExitCode(enum.IntEnum):
    """What ``pytest features …`` and ``recette-sas …`` exit with (the README has this table once)."""

    CONFORME = 0
    """Every blocking requirement verified (advisory warnings do not count unless --sas-strict), or
    verified but for checks not verifiable here ("conforme sous réserve", the reservations listed)."""
    NON_CONFORME = 1
    """At least one blocking requirement failed on the target."""
    NO_VERDICT = 2
    """The run could not judge: a scenario broken, the run interrupted, nothing selected."""
    UNREACHABLE = 3
    """A target never answered: no conformance verdict for it."""
    USAGE = 4
    """A mistake in an option, the configuration or a file: one line says which."""
    SECRET_IN_REPORTS = 6
    """A private key or a password reached a file the run writes: the file is removed."""


__all__ = [
    "CertificateFileError",
    "ClientDidNotRun",
    "ConfigError",
    "ControlNotPassed",
    "ExitCode",
    "NoAnswer",
    "NotVerifiable",
    "OptionError",
    "ProbeFault",
    "RecetteSasError",
    "TargetUnreachable",
    "UsageError",
    "VerdictUnavailable",
    "WrongCause",
]
