"""ruff (the whole tree) and mypy (services/ and models/) find nothing: run here so the one test command runs them.

Their settings are in pyproject.toml ([tool.ruff], [tool.mypy]).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f'{name} is not installed: pip install -e ".[test]"')
    return path


def test_ruff_finds_nothing() -> None:
    result = subprocess.run([_tool('ruff'), 'check', '--no-cache', '.'], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_services_and_models() -> None:
    result = subprocess.run([_tool('mypy')], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
