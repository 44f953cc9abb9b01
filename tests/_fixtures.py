"""Fixtures shared by the whole suite (imported by conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Variables that change rho-agent's or the SDKs' behaviour: never inherited by a test.
_BEHAVIOUR_ENV = ("RHO_AGENT_", "ANTHROPIC_", "DAYTONA_")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each test gets its own RHO_AGENT_HOME and none of the user's rho/Anthropic/Daytona settings."""
    for name in list(os.environ):
        if name.startswith(_BEHAVIOUR_ENV):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("rho-home")
    monkeypatch.setenv("RHO_AGENT_HOME", str(home))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return home


@pytest.fixture
def rho_home(clean_environ: Path) -> Path:
    return clean_environ


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project directory to point an agent at."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("# demo\n")
    return root


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, input: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`rho-agent ARGS` in a real subprocess, with the test's environment plus `env`."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rho_agent", *args],
        env=full_env,
        cwd=cwd,
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )
