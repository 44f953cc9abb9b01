"""The model seam: `Agent(config, model=...)`, the in-process ScriptedModel, the loop's stop
table and the event bus."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from rho_agent import Agent, AgentConfig, Session
from rho_agent._bus import EventBus
from rho_agent._loop import ON_STOP
from rho_agent.errors import ConfigError
from rho_agent.events import Event, Notice, TextDelta
from rho_agent.model import AnthropicModel, Model
from rho_agent.testing import (
    FakeAnthropic,
    ScriptedModel,
    assert_valid_history,
    fault,
    reply,
    text,
    thinking,
    tool_call,
)
from rho_agent.testing._fake_script import STOP_REASONS

PRICED = "claude-sonnet-5-5"


def scripted_agent(project: Path, model: Model, **config: Any) -> Agent:
    config.setdefault("profile", "developer")
    return Agent(AgentConfig(working_dir=str(project), **config), model=model)


async def test_a_session_runs_a_real_tool_on_a_scripted_model(project: Path) -> None:
    model = ScriptedModel(
        [
            reply(
                text("Writing it."),
                tool_call("write", {"path": "hello.txt", "content": "hi\n"}),
            ),
            reply(text("Wrote hello.txt.")),
        ]
    )
    events: list[Event] = []
    async with Session(scripted_agent(project, model), on_event=events.append) as session:
        result = await session.run("write hello.txt")
    model.assert_done()

    assert result.status == "completed" and result.text == "Wrote hello.txt."
    assert result.turns == 2 and result.usage.output_tokens > 0
    assert result.cost_usd == 0.0  # "scripted" has no price
    assert (project / "hello.txt").read_text() == "hi\n"
    kinds = [e.type for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("model_call") == 2 and "tool_started" in kinds and "tool_finished" in kinds
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert streamed == "Writing it.Wrote hello.txt."
    # What the model was asked, as FakeAnthropic records it.
    first, second = model.requests
    assert isinstance(first.system, list) and str(project) in first.system[0]["text"]
    assert {t["name"] for t in first.tools} >= {"bash", "write", "read"}
    assert first.last_user_text() == "write hello.txt"
    assert second.tool_results[0]["tool_use_id"] == session.history[1]["content"][1]["id"]
    assert_valid_history(session.history)
    assert session.usage == result.usage


def _comparable(events: list[Event]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        data = e.model_dump(exclude={"time", "duration_s", "session_id"})
        if e.type == "tool_finished":
            data.pop("duration_s", None)
        out.append(data)
    return out


async def test_one_script_gives_the_same_run_over_http_and_in_process(project: Path) -> None:
    def script() -> list[Any]:
        return [
            reply(
                thinking("Let me write it."),
                text("Writing."),
                tool_call("write", {"path": "a.txt", "content": "one\n"}, id="toolu_a"),
                tool_call("bash", {"command": "cat a.txt"}, id="toolu_b"),
            ),
            lambda request: reply(text(f"It says {request.tool_results[1]['content'].strip()}.")),
        ]

    async def run(agent: Agent) -> tuple[Any, list[Event], list[dict[str, Any]]]:
        events: list[Event] = []
        async with Session(agent, on_event=events.append, persist=False) as session:
            result = await session.run("write a.txt")
        (project / "a.txt").unlink()
        return result, events, session.history

    with FakeAnthropic(script()) as fake:
        config = AgentConfig(
            base_url=fake.base_url,
            api_key="k",
            profile="developer",
            working_dir=str(project),
            model=PRICED,
        )
        over_http = await run(Agent(config))
        fake.assert_done()
    model = ScriptedModel(script(), name=PRICED)
    in_process = await run(scripted_agent(project, model))
    model.assert_done()

    (http_result, http_events, http_history), (mem_result, mem_events, mem_history) = (
        over_http,
        in_process,
    )
    assert mem_result.text == http_result.text == "It says one."
    assert mem_result.model_dump(exclude={"session_id"}) == http_result.model_dump(
        exclude={"session_id"}
    )
    assert mem_result.cost_usd > 0
    assert mem_history == http_history
    assert _comparable(mem_events) == _comparable(http_events)
    assert [r.body["messages"] for r in model.requests] == [
        r.body["messages"] for r in fake.requests
    ]


async def test_a_turn_past_the_script_is_a_clear_error(project: Path) -> None:
    model = ScriptedModel([reply(tool_call("bash", {"command": "true"}))])
    async with Session(scripted_agent(project, model), persist=False) as session:
        result = await session.run("go")
    assert result.status == "error"
    assert result.error == "ScriptedModel: unexpected model call #2 (script has 1 steps)"
    assert_valid_history(session.history)
    with pytest.raises(AssertionError, match="unexpected model call #2"):
        model.assert_done()


def test_unused_steps_are_reported() -> None:
    model = ScriptedModel([reply(text("a")), reply(text("b"))])
    with pytest.raises(AssertionError, match=r"step 0 was never used: reply\(text\('a'\)"):
        model.assert_done()


async def test_a_function_answers_every_turn(project: Path) -> None:
    seen: list[int] = []

    def answer(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
        seen.append(len(tools))
        if messages[-1]["content"][0].get("type") == "tool_result":
            return reply(text(f"{len(messages)} messages"))
        return reply(tool_call("bash", {"command": "echo hi"}))

    model = ScriptedModel(function=answer)
    async with Session(scripted_agent(project, model), persist=False) as session:
        result = await session.run("go")
    assert result.text == "3 messages" and len(seen) == 2 and seen[0] > 0


async def test_faults_run_as_the_anthropic_model_handles_them(project: Path) -> None:
    model = ScriptedModel(
        [fault.overloaded(), fault.stream_error(), reply(text("fine"))], name=PRICED
    )
    events: list[Event] = []
    async with Session(
        scripted_agent(project, model), on_event=events.append, persist=False
    ) as session:
        result = await session.run("go")
    model.assert_done()
    assert result.text == "fine" and result.turns == 1
    # One retry policy, the model's: the HTTP error and the broken stream are each announced.
    assert [e.type for e in events].count("model_retry") == 2

    model = ScriptedModel([fault.unauthorized()])
    async with Session(scripted_agent(project, model), persist=False) as session:
        result = await session.run("go")
    assert result.status == "error" and "401" in (result.error or "")


async def test_cancel_mid_stream_is_accounted(project: Path) -> None:
    model = ScriptedModel([reply(text("a long answer " * 20), delay=0.1)], name=PRICED)
    events: list[Event] = []
    async with Session(
        scripted_agent(project, model), on_event=events.append, persist=False
    ) as session:
        task = asyncio.create_task(session.run("talk"))
        while not any(e.type == "text" for e in events):
            await asyncio.sleep(0.01)
        session.cancel()
        result = await task
    assert result.status == "cancelled" and result.cost_usd > 0
    assert [e.stop_reason for e in events if e.type == "model_call"] == ["cancelled"]


def test_agent_model_is_an_id_or_a_model_object(project: Path) -> None:
    by_id = Agent(AgentConfig(working_dir=str(project)), model="claude-haiku-4-5")
    assert by_id.model == "claude-haiku-4-5" and by_id.config.model == "claude-haiku-4-5"
    made = by_id.make_model()
    assert isinstance(made, AnthropicModel) and made.name == "claude-haiku-4-5"
    assert isinstance(made, Model)

    scripted = ScriptedModel(name="my-model")
    agent = Agent(AgentConfig(working_dir=str(project), model="ignored"), model=scripted)
    assert agent.model == "my-model" and agent.make_model() is scripted
    assert isinstance(scripted, Model)

    with pytest.raises(ConfigError, match="model id"):
        Agent(model=42)  # type: ignore[arg-type]


async def test_a_given_model_is_shared_and_not_closed_by_sessions(project: Path) -> None:
    closed: list[bool] = []

    class Tracking(ScriptedModel):
        async def close(self) -> None:
            closed.append(True)

    model = Tracking([reply(text("one")), reply(text("two"))])
    agent = scripted_agent(project, model)
    for expected in ("one", "two"):
        async with Session(agent, persist=False) as session:
            assert (await session.run("go")).text == expected
    assert closed == []


def test_every_stop_reason_in_the_table_is_one_the_api_gives() -> None:
    assert set(ON_STOP) <= set(STOP_REASONS)
    assert {"end_turn", "stop_sequence"}.isdisjoint(ON_STOP)  # these end the run


async def test_the_bus_delivers_to_trace_callbacks_and_queues_in_order() -> None:
    seen: list[str] = []

    class Trace:
        def write(self, event: Event) -> None:
            seen.append(f"trace:{event.type}")

        def close(self) -> None:
            seen.append("trace closed")

    async def slow(event: Event) -> None:
        await asyncio.sleep(0)
        seen.append(f"async:{event.type}")

    bus = EventBus(Trace())
    bus.subscribe(lambda e: seen.append(f"sync:{e.type}"))
    bus.subscribe(slow)
    queue = bus.queue()
    await bus.emit(Notice(message="hi"))
    bus.close()
    assert seen == ["trace:notice", "sync:notice", "async:notice", "trace closed"]
    assert isinstance(await queue.get(), Notice) and await queue.get() is None


def test_scripted_model_needs_no_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import asyncio, sys, tempfile\n"
        "from rho_agent import Agent, AgentConfig, Session\n"
        "from rho_agent.testing import ScriptedModel, reply, text\n"
        "async def main():\n"
        "    with tempfile.TemporaryDirectory() as work:\n"
        "        agent = Agent(AgentConfig(working_dir=work), model=ScriptedModel([reply(text('hi'))]))\n"
        "        async with Session(agent, persist=False) as s:\n"
        "            assert (await s.run('x')).text == 'hi'\n"
        "asyncio.run(main())\n"
        "print('anthropic' in sys.modules)\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("ANTHROPIC_")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
