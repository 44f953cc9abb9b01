"""A call the profile refuses (a tool raising `PermissionDenied`) is a `tool_denied` event,
as docs/profiles.md says; the model reads the same error result as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _fixtures import run_cli

from rho_agent import Agent, AgentConfig, Session
from rho_agent.events import Event, ToolCallFinished, ToolDenied
from rho_agent.permissions.profile import Profile
from rho_agent.testing import FakeAnthropic, ScriptedModel, reply, text, tool_call


async def _run(project: Path, command: str) -> tuple[list[Event], list[dict[str, Any]]]:
    """The events of a readonly session whose model calls `bash` once, and what it read back."""
    model = ScriptedModel([reply(tool_call("bash", {"command": command})), reply(text("ok"))])
    agent = Agent(AgentConfig(profile="readonly", working_dir=str(project)), model=model)
    async with Session(agent) as session:
        events = [event async for event in session.stream("go")]
    model.assert_done()
    return events, model.requests[-1].tool_results


async def test_a_restricted_shell_refusal_is_a_tool_denied_event(project: Path) -> None:
    events, results = await _run(project, "rm -rf x")
    denied = [e for e in events if isinstance(e, ToolDenied)]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert len(denied) == 1 and denied[0].name == "bash", [e.type for e in events]
    assert len(finished) == 1 and finished[0].is_error  # a started call still finishes
    assert denied[0].id == finished[0].id and denied[0].reason == finished[0].output
    assert "rm" in denied[0].reason
    # The model reads the refusal as the same error result as before.
    assert [(r["content"], r.get("is_error")) for r in results] == [(denied[0].reason, True)]


async def test_allowed_or_failing_commands_are_not_denied(project: Path) -> None:
    for command in ("ls", "cat no-such-file"):
        events, _ = await _run(project, command)
        assert not [e for e in events if isinstance(e, ToolDenied)], command


async def test_a_create_only_overwrite_is_denied(project: Path) -> None:
    profile = Profile(name="careful", shell="off", file_write="create-only")
    model = ScriptedModel(
        [
            reply(tool_call("write", {"path": "README.md", "content": "x"})),
            reply(tool_call("write", {"path": "new.md", "content": "x"})),
            reply(text("ok")),
        ]
    )
    agent = Agent(AgentConfig(profile=profile, working_dir=str(project)), model=model)
    async with Session(agent) as session:
        events = [event async for event in session.stream("go")]
    denied = [e for e in events if isinstance(e, ToolDenied)]
    assert [e.name for e in denied] == ["write"] and "only allows creating" in denied[0].reason
    assert (project / "README.md").read_text() == "# demo\n" and (project / "new.md").exists()


def test_the_terminal_shows_a_refusal_once(project: Path, rho_home: Path) -> None:
    script = [reply(tool_call("bash", {"command": "rm -rf build"})), reply(text("Could not."))]
    with FakeAnthropic(script) as fake:
        proc = run_cli("main", "--working-dir", str(project), "clean up", env=fake.env())
    assert proc.returncode == 0, proc.stderr
    refusals = [line for line in proc.stderr.splitlines() if line.strip().startswith("✗")]
    assert len(refusals) == 1 and "bash denied:" in refusals[0], proc.stderr
