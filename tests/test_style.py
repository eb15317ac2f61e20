"""One code style for the whole repository: ruff, configured in pyproject.toml
(79 columns everywhere, the width of the book's code cells).

``ruff check`` lints the Python files and the notebooks; ``ruff format
--check`` fails when a Python file is not formatted as ``ruff format`` would
write it (the notebooks keep their hand-made layout). Fix with
``.venv/bin/ruff format . && .venv/bin/ruff check --fix .``.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def ruff() -> str:
    exe = Path(sys.executable).with_name("ruff")
    found = str(exe) if exe.exists() else shutil.which("ruff")
    assert found, "ruff is not installed: scripts/setup.sh installs it"
    return found


@pytest.mark.parametrize(
    "args",
    [["check", "--output-format", "concise"], ["format", "--check"]],
    ids=["check", "format"],
)
def test_ruff(args):
    run = subprocess.run(
        [ruff(), *args, "."], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, (
        f"ruff {' '.join(args)} found problems:\n{run.stdout}{run.stderr}"
    )
