"""The restricted-shell table through the real `bash` tool on the daytona backend: the same
verdicts as on a local workspace, nothing denied runs, nothing allowed changes the files."""

from __future__ import annotations

from pathlib import Path

import _daytona
import pytest
from _fixtures import make_shell_fixture, snapshot

from rho_agent.backends import LocalWorkspace, OpenRequest
from rho_agent.permissions.profile import READONLY
from rho_agent.permissions.shell_policy import check_command
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.tools import BashTool, ToolContext
from rho_agent.tools.handlers.daytona import DaytonaBackend

shell_cases = pytest.importorskip("shell_cases")

daytona_server = _daytona.daytona_server  # fixtures
daytona = _daytona.daytona

REPO = "/home/daytona/repo"


async def verdicts(ctx: ToolContext, commands: list[str]) -> dict[str, tuple[bool, str]]:
    """command → (denied by the policy?, text the model saw)."""
    tool = BashTool()
    out = {}
    for command in commands:
        result = await tool({"command": command}, ctx)
        denied = (
            result.is_error
            and result.text == check_command(command).reason
            and not check_command(command).allowed
        )
        out[command] = (denied, result.text)
    return out


async def test_restricted_shell_table_gives_the_same_verdicts(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    local_repo = make_shell_fixture(tmp_path / "repo")
    denied = [c for c, _ in shell_cases.DENIED]
    allowed = list(shell_cases.ALLOWED)

    local_ctx = ToolContext(workspace=LocalWorkspace(local_repo), profile=READONLY, bash_timeout=10)
    local = await verdicts(local_ctx, denied + allowed)

    backend = DaytonaBackend(
        uploads=[f"{local_repo}:{REPO}", f"{local_repo}/.git:{REPO}/.git"], working_dir=REPO
    )
    workspace = await backend.open(OpenRequest(session_id="shell-table", working_dir=None))
    try:
        await workspace.ready()
        (box,) = daytona.sandboxes()
        remote_root = box.root / REPO.lstrip("/")
        assert (await workspace.exec("git log --oneline | wc -l")).output.strip() == "1"
        before = snapshot(remote_root)
        remote = await verdicts(
            ToolContext(workspace=workspace, profile=READONLY, bash_timeout=10), denied + allowed
        )
        assert snapshot(remote_root) == before, "a command changed the sandbox's files"
    finally:
        await workspace.close()

    different = {c: (local[c], remote[c]) for c in local if local[c][0] != remote[c][0]}
    assert different == {}
    assert all(remote[c][0] for c in denied), [c for c in denied if not remote[c][0]]
    assert not any(remote[c][0] for c in allowed), [c for c in allowed if remote[c][0]]
    ran_ok = [c for c in allowed if "[exit code" not in remote[c][1]]
    assert len(ran_ok) >= len(allowed) * 0.8, "allowed commands really run in the sandbox"
