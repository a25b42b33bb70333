"""The layout keeps its promises: small modules, the import contract, and no cycle (import-linter)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "recette_sas"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_LINES = 500


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def _lint_imports(src_parent: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src_parent)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        cwd=src_parent,
        timeout=120,
    )


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install -e .[dev])")
def test_the_import_contract_holds() -> None:
    result = _lint_imports(SRC.parent)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install -e .[dev])")
@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("server/flows.py", "import recette_sas.client.rules", "server and client never import each other"),
        ("pki/keys.py", "import recette_sas.server.rules", "import no role"),
        ("verdict.py", "import recette_sas.server.targets", "No import cycle"),
    ],
)
def test_the_import_contract_fails_on_a_forbidden_import(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    copy = tmp_path / "recette_sas"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert broken in result.stdout and "BROKEN" in result.stdout


def test_every_module_is_in_the_architecture_table() -> None:
    """docs/ARCHITECTURE.md names every module (or the folder holding it): a newcomer finds each one there."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        rel = path.relative_to(SRC)
        shown = {f"`{rel.as_posix()}`", f"`{rel.parent.as_posix()}/`"} if rel.parent.parts else {f"`{rel.name}`"}
        if not any(s in text for s in shown):
            missing.append(rel.as_posix())
    assert missing == []
