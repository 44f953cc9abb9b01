"""Every stop reason the API can give is handled, and the history stays valid."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from rho_agent import Agent, AgentConfig, Session
from rho_agent.backends import LocalWorkspace
from rho_agent.permissions.profile import UNRESTRICTED
from rho_agent.testing import FakeAnthropic, assert_valid_history, reply, text, tool_call
from rho_agent.tool_calls import ToolCallRunner
from rho_agent.tools import Tool, ToolContext, ToolResult


def agent_for(fake: FakeAnthropic, project: Path, **config: Any) -> Agent:
    return Agent(
        AgentConfig(
            base_url=fake.base_url,
            api_key="k",
            working_dir=str(project),
            profile="developer",
            **config,
        )
    )


async def test_refusal_ends_the_run_with_its_status(project: Path) -> None:
    script = [
        reply(
            text("I can't help with that."),
            stop_reason="refusal",
            stop_details={"type": "refusal", "category": "cyber", "explanation": None},
        )
    ]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project)) as session:
            result = await session.run("something bad")
    assert result.status == "refused" and "cyber" in result.error
    assert_valid_history(session.history)


async def test_max_tokens_drops_a_cut_off_tool_call_and_continues(project: Path) -> None:
    script = [
        reply(
            text("Writing a big file"),
            tool_call("write", {"path": "big.txt", "content": "partial"}),
            stop_reason="max_tokens",
        ),
        reply(text("Done in smaller steps.")),
    ]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project)) as session:
            result = await session.run("write it")
    assert result.status == "completed"
    assert not (project / "big.txt").exists(), "a truncated tool call must never run"
    sent = fake.requests[1].body["messages"]
    assert_valid_history(sent)
    assert all(b["type"] != "tool_use" for b in sent[1]["content"])
    assert "cut off" in sent[2]["content"][0]["text"]


async def test_pause_turn_sends_the_content_back_and_continues(project: Path) -> None:
    script = [reply(text("Searching..."), stop_reason="pause_turn"), reply(text("Found it."))]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project)) as session:
            result = await session.run("search")
    assert result.text == "Found it." and result.turns == 2
    sent = fake.requests[1].body["messages"]
    assert sent[-1]["role"] == "assistant" and sent[-1]["content"][0]["text"] == "Searching..."


async def test_context_window_exceeded_is_reported(project: Path) -> None:
    script = [reply(text("..."), stop_reason="model_context_window_exceeded")]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project)) as session:
            result = await session.run("go")
    assert result.status == "truncated" and "context window" in result.error


class _Barrier(BaseModel):
    name: str


class BarrierTool(Tool):
    """Finishes only once `expected` calls are running at the same time."""

    name = "barrier"
    description = "test tool"
    Params = _Barrier
    read_only = True
    running: ClassVar[int] = 0
    expected: ClassVar[int] = 3
    everyone_in: ClassVar[asyncio.Event]

    async def run(self, params: _Barrier, ctx: ToolContext) -> ToolResult:
        type(self).running += 1
        if type(self).running == self.expected:
            self.everyone_in.set()
        await asyncio.wait_for(self.everyone_in.wait(), timeout=5)
        return ToolResult(params.name)


async def test_read_only_calls_of_one_turn_run_concurrently(tmp_path: Path) -> None:
    BarrierTool.running, BarrierTool.everyone_in = 0, asyncio.Event()
    ctx = ToolContext(workspace=LocalWorkspace(tmp_path), profile=UNRESTRICTED)
    runner = ToolCallRunner([BarrierTool()], ctx, emit=_ignore, auto_approve=True, approver=None)
    calls = [
        {"type": "tool_use", "id": f"t{i}", "name": "barrier", "input": {"name": str(i)}}
        for i in range(3)
    ]
    results: dict[str, dict[str, Any]] = {}
    await runner.run_all(calls, results)  # would time out if run one after another
    assert [results[f"t{i}"]["content"] for i in range(3)] == ["0", "1", "2"]


async def _ignore(event: Any) -> None:
    return None
