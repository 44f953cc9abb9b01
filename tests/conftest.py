from __future__ import annotations

from pathlib import Path

import pytest
from _fixtures import clean_environ, project, rho_home  # noqa: F401  (fixtures)

from rho_agent.backends import LocalWorkspace
from rho_agent.permissions.profile import UNRESTRICTED
from rho_agent.tools import ToolContext


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty working directory for a local workspace."""
    root = tmp_path / "work"
    root.mkdir()
    return root


@pytest.fixture
def workspace(workdir: Path) -> LocalWorkspace:
    return LocalWorkspace(workdir)


@pytest.fixture
def ctx(workspace: LocalWorkspace) -> ToolContext:
    """A tool context on the local workspace with the unrestricted profile."""
    return ToolContext(workspace=workspace, profile=UNRESTRICTED)
