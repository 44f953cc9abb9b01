"""The restricted-shell table through the real `bash` tool on a local workspace.

A denied command must come back as the policy's error and change nothing; an allowed one
must really run (no denial) and change nothing either.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _fixtures import make_shell_fixture, snapshot
from shell_cases import ALLOWED, DENIED

from rho_agent.backends.local import LocalWorkspace
from rho_agent.permissions.profile import READONLY
from rho_agent.permissions.shell_policy import check_command
from rho_agent.tools.base import ToolContext
from rho_agent.tools.bash import BashTool


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shell_fixture(tmp_path_factory.mktemp("shell") / "repo")


@pytest.fixture(scope="module")
def readonly_ctx(repo: Path) -> ToolContext:
    return ToolContext(workspace=LocalWorkspace(repo), profile=READONLY, bash_timeout=10)


@pytest.mark.parametrize(("command", "technique"), DENIED, ids=[c for c, _ in DENIED])
async def test_denied_through_the_bash_tool(command: str, technique: str, repo: Path, readonly_ctx: ToolContext) -> None:
    before = snapshot(repo)
    result = await BashTool()({"command": command}, readonly_ctx)
    assert result.is_error, technique
    assert result.text == check_command(command).reason
    assert snapshot(repo) == before, f"{technique}: the command changed the workspace"


@pytest.mark.parametrize("command", ALLOWED)
async def test_allowed_through_the_bash_tool(command: str, repo: Path, readonly_ctx: ToolContext) -> None:
    before = snapshot(repo)
    result = await BashTool()({"command": command}, readonly_ctx)
    assert "read-only mode" not in result.text, result.text
    assert snapshot(repo) == before, "an allowed command changed the workspace"
