"""The ``recette-sas`` command as a user runs it: one parser tree, one table of exit codes.

Every command's ``--help`` exits 0; a bad option or value exits ``ExitCode.USAGE`` (4) with exactly one
line on stderr naming the command, the option and the problem, no traceback; the tree holds exactly
the documented commands; ``pki export --responder-url`` refuses what a staging server could not reach,
before anything is written.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recette_sas.cli import _parser
from recette_sas.cli.main import COMMANDS, build_parser, main
from recette_sas.cli.pki import responder_url
from recette_sas.errors import ExitCode, OptionError

from .conftest import ROOT

EXPECTED_COMMANDS = {
    "pki build",
    "pki export",
    "serve-reference",
    "serve-upstream",
    "cert check",
    "igc fetch",
}
SCRIPT = Path(sys.executable).parent / "recette-sas"


def _script() -> list[str]:
    """The installed console script when there is one (it imports this checkout: PYTHONPATH), else -m."""
    return [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "recette_sas.cli"]


def run(*argv: str | Path, module: bool = False) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "recette_sas.cli"] if module else _script()
    return subprocess.run(
        [*command, *map(str, argv)], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def _walk(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield words
    for action in subcommands:
        for name, child in action.choices.items():
            yield from _walk(child, (*words, name))


def test_the_tree_holds_exactly_the_documented_commands() -> None:
    assert {" ".join(words) for words in _walk(build_parser())} == EXPECTED_COMMANDS
    assert {" ".join(words) for words in COMMANDS} == EXPECTED_COMMANDS


def test_values_spelt_out_for_a_light_parser_match_their_source() -> None:
    from recette_sas.environments import ENVIRONMENT_KEYS
    from recette_sas.pki.igc import CA_DIR_OPTION

    assert _parser.ENVIRONMENT_CHOICES == ENVIRONMENT_KEYS
    assert _parser.CA_DIR_OPTION == CA_DIR_OPTION


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys\nfrom recette_sas.cli.main import main\nassert main(['--help']) == 0\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cryptography', 'OpenSSL', 'trustme'}))"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "words",
    [(), ("pki",), ("cert",), ("igc",), *sorted(tuple(c.split()) for c in EXPECTED_COMMANDS)],
    ids=lambda words: " ".join(words) or "recette-sas",
)
def test_every_help_exits_0(words: tuple[str, ...]) -> None:
    done = run(*words, "--help")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"usage: {' '.join(('recette-sas', *words))} ")


def test_version_and_python_m_exit_0() -> None:
    done = run("--version")
    assert (done.returncode, done.stdout.split()[0]) == (0, "recette-sas")
    done = run("cert", "check", "--help", module=True)
    assert done.returncode == 0 and done.stdout.startswith("usage: recette-sas cert check ")


def _one_usage_line(done: subprocess.CompletedProcess[str], prog: str) -> str:
    assert done.returncode == ExitCode.USAGE, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{prog}: "), lines[0]
    return lines[0].removeprefix(f"{prog}: ")


# (command, its arguments, what the one stderr line says after "recette-sas COMMAND: ")
BAD_OPTIONS = [
    ("pki build", ("--bogus",), "unrecognized arguments: --bogus"),
    ("pki export", ("{tmp}/export", "--mapping", "nope"), "--mapping: unknown mapping 'nope'"),
    (
        "serve-reference",
        ("--pki-dir", "{tmp}", "--env", "staging"),
        "argument --env: invalid choice: 'staging'",
    ),
    ("serve-upstream", ("--port", "http"), "argument --port: invalid int value: 'http'"),
    ("cert check", ("{tmp}/absent.pem", "--env", "recette"), "{tmp}/absent.pem: cannot read"),
    ("igc fetch", ("--cache", "{tmp}", "--offline"), "--igc-ca-dir"),
    ("cert", ("{tmp}/editeur.pem",), "argument COMMAND: invalid choice: "),  # the verb is required
    ("", ("nope",), "argument COMMAND: invalid choice: 'nope'"),
]


@pytest.mark.parametrize(
    ("prog", "argv", "expected"), BAD_OPTIONS, ids=[row[0] or "recette-sas" for row in BAD_OPTIONS]
)
def test_a_bad_option_is_one_line_and_exit_4(
    tmp_path: Path, prog: str, argv: tuple[str, ...], expected: str
) -> None:
    done = run(*prog.split(), *(a.format(tmp=tmp_path) for a in argv))
    problem = _one_usage_line(done, " ".join(["recette-sas", *prog.split()]))
    assert expected.format(tmp=tmp_path) in problem
    assert not (tmp_path / "export").exists()


def test_an_os_error_on_a_given_path_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    problem = _one_usage_line(
        run("pki", "build", "--cache", tmp_path / "a-file" / "pki"), "recette-sas pki build"
    )
    assert str(tmp_path / "a-file" / "pki") in problem


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not a url", "not a URL"),
        ("ftp://192.0.2.10:47600", "scheme ftp, not http"),
        ("https://192.0.2.10:47600", "scheme https, not http"),
        ("http://192.0.2.10:99999", "port '99999' is not a number in 1–65535"),
    ],
)
def test_pki_export_refuses_a_responder_url_the_staging_server_cannot_reach(
    tmp_path: Path, value: str, problem: str
) -> None:
    cache, export = tmp_path / "cache", tmp_path / "export"
    done = run("pki", "export", export, "--cache", cache, "--responder-url", value)
    line = _one_usage_line(done, "recette-sas pki export")
    assert line.startswith(f"--responder-url: {value!r}: {problem}")
    assert done.stdout == ""
    assert not export.exists() and not cache.exists()  # nothing written, not even the PKI


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("http://user:secret@192.0.2.10:47600", "user information"),
        ("http://192.0.2.10:47600/?x=1", "query"),
        ("http://192.0.2.10:47600/#top", "fragment"),
        ("http://:47600", "no host"),
        ("http://192.0.2.10:0", "port '0'"),
        ("http://192.0.2.10:", "port ''"),
        ("http://bad_host!:80", "not a host name"),
        ("http://[::1", "not a URL"),
        ("", "not a URL"),
    ],
)
def test_responder_url_refusals(value: str, problem: str) -> None:
    with pytest.raises(OptionError) as info:
        responder_url(value)
    message = str(info.value)
    assert message.startswith("--responder-url: ") and problem in message and "\n" not in message


@pytest.mark.parametrize(
    "value",
    [
        "http://127.0.0.1:47600",
        "http://192.0.2.10:47600/",
        "http://recette-sas.editeur.example:8080/pki",
        "http://[2001:db8::1]:47600",
        "http://localhost",
        "http://127.0.0.1:65535",
        "http://127.0.0.1:1",
    ],
)
def test_responder_url_accepts_what_a_server_can_reach(value: str) -> None:
    assert responder_url(value) == value


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    help_, add_arguments, _ = COMMANDS[("igc", "fetch")]
    monkeypatch.setitem(COMMANDS, ("igc", "fetch"), (help_, add_arguments, interrupted))
    assert main(["igc", "fetch"]) == 130


def test_a_port_in_use_names_the_option_not_the_file_system() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "recette_sas.cli", "serve-upstream", "--port", str(port), "--max-seconds", "1"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 4
    assert proc.stderr.strip().splitlines() == [
        f"recette-sas serve-upstream: --host/--port: cannot listen on 127.0.0.1:{port} (Address already in use)"
    ]
