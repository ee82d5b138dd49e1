"""The layers of DESIGN.md hold: `make test` runs the import-linter contract, and a wrong
import (an engine reaching up into a surface, or into Flask's request) breaks it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=where, capture_output=True, text=True,
                          env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_the_code_keeps_its_layers() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "wrong"), [
    ("purl/links/codes.py", "from purl.console import bp"),  # an engine importing a surface
    ("purl/quiz/format.py", "from flask import request"),  # an engine reading the request
    ("purl/links/batch/rows.py", "import purl.links.batch.run"),  # a circle in a package
])
def test_a_wrong_import_breaks_the_contract(tmp_path: Path, module: str, wrong: str) -> None:
    shutil.copytree(ROOT / "purl", tmp_path / "purl",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{wrong}\n", encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
