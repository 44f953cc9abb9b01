"""The agent loop through the public Python API, against FakeAnthropic over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from _fixtures import pids_running

from rho_agent import Agent, AgentConfig, Session
from rho_agent.events import parse_event
from rho_agent.testing.fake_anthropic import FakeAnthropic, fault, reply, text, thinking, tool_call
from rho_agent.testing.history import assert_valid_history


def agent_for(fake: FakeAnthropic, project: Path, **config) -> Agent:
    config.setdefault("profile", "developer")
    config.setdefault("auto_approve", True)
    return Agent(
        AgentConfig(base_url=fake.base_url, api_key="test-key", working_dir=str(project), **config)
    )


WRITE_RUN_EDIT = [
    reply(
        text("Creating the file."),
        tool_call("write", {"path": "hello.py", "content": "print('hello')\n"}),
    ),
    reply(tool_call("bash", {"command": "python3 hello.py"})),
    reply(tool_call("edit", {"path": "hello.py", "old_string": "hello", "new_string": "goodbye"})),
    reply(text("Done: hello.py now prints goodbye.")),
]


async def test_scripted_run_writes_runs_edits_and_answers(project: Path) -> None:
    with FakeAnthropic(WRITE_RUN_EDIT) as fake:
        async with Session(agent_for(fake, project)) as session:
            result = await session.run("make hello.py")
        fake.assert_done()

    assert result.status == "completed"
    assert result.text == "Done: hello.py now prints goodbye."
    assert result.turns == 4
    assert (project / "hello.py").read_text() == "print('goodbye')\n"
    # The bash result the model saw is the real output of the command.
    bash_result = fake.requests[2].body["messages"][-1]["content"][0]
    assert bash_result["type"] == "tool_result" and "hello" in bash_result["content"]
    for request in fake.requests:
        assert_valid_history(request.body["messages"])

    # RunResult and the trace agree on tokens and cost.
    trace = [
        parse_event(line)
        for line in Path(session.directory, "trace.jsonl").read_text().splitlines()
    ]
    calls = [e for e in trace if e.type == "model_call"]
    finished = [e for e in trace if e.type == "run_finished"][-1]
    assert len(calls) == 4
    assert (
        sum(c.usage.input_tokens for c in calls)
        == result.usage.input_tokens
        == finished.usage.input_tokens
    )
    assert sum(c.usage.output_tokens for c in calls) == result.usage.output_tokens
    assert sum(c.usage.cache_read_tokens for c in calls) == result.usage.cache_read_tokens
    assert result.usage.output_tokens > 0 and result.cost_usd > 0
    assert finished.cost_usd == pytest.approx(result.cost_usd)
    assert sum(c.cost_usd for c in calls) == pytest.approx(result.cost_usd)


async def test_requests_carry_cache_breakpoints_and_stable_tools(project: Path) -> None:
    with FakeAnthropic(WRITE_RUN_EDIT) as fake:
        async with Session(agent_for(fake, project)) as session:
            await session.run("make hello.py")
    first, second = fake.requests[0].body, fake.requests[1].body
    assert first["tools"] == second["tools"], "tool definitions must not change between turns"
    assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert second["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    # Only the newest message carries the moving breakpoint.
    assert "cache_control" not in json.dumps(second["messages"][:-1])
    # The prefix was cached on the second call.
    assert fake.requests[1].body and session.usage.cache_read_tokens > 0


async def test_thinking_blocks_pass_back_unchanged(project: Path) -> None:
    script = [
        reply(thinking("I should list files.", signature="sig-123"), tool_call("list", {})),
        reply(text("There is a README.")),
    ]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project)) as session:
            result = await session.run("what is here?")
    assistant = fake.requests[1].body["messages"][1]
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": "I should list files.",
        "signature": "sig-123",
    }
    assert result.text == "There is a README."


async def test_several_tool_calls_in_one_turn(project: Path) -> None:
    (project / "a.txt").write_text("alpha\n")
    (project / "b.txt").write_text("beta\n")
    script = [
        reply(
            tool_call("read", {"path": "a.txt"}),
            tool_call("read", {"path": "b.txt"}),
            tool_call("grep", {"pattern": "beta"}),
        ),
        reply(text("Read both.")),
    ]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project)) as session:
            await session.run("read them")
    results = fake.requests[1].body["messages"][-1]["content"]
    assert [r["type"] for r in results] == ["tool_result"] * 3
    assert (
        "alpha" in results[0]["content"]
        and "beta" in results[1]["content"]
        and "b.txt" in results[2]["content"]
    )


@pytest.mark.parametrize(
    "failure",
    [
        fault.rate_limited(),
        fault.overloaded(),
        fault.stream_error(after_events=3),
        fault.drop_connection(after_events=3),
    ],
    ids=["429", "529", "mid-stream-error", "dropped-connection"],
)
async def test_faults_then_success_keep_history_valid(project: Path, failure) -> None:
    script = [
        reply(tool_call("bash", {"command": "echo one"})),
        failure,
        reply(text("All good.")),
    ]
    events = []
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project), on_event=events.append) as session:
            result = await session.run("go")
        fake.assert_done()
    assert result.status == "completed" and result.text == "All good."
    # The request after the failure is a full, valid history.
    retried = fake.requests[-1].body["messages"]
    assert_valid_history(retried)
    assert retried == fake.requests[1].body["messages"]
    # One retry policy: the harness retries HTTP errors and broken streams alike, announced.
    retries = [e for e in events if e.type == "model_retry"]
    assert len(retries) == 1 and retries[0].attempt == 1
    assert len(fake.requests) == 3


async def test_permanent_401_is_a_clear_error(project: Path) -> None:
    with FakeAnthropic([fault.unauthorized(times=None)]) as fake:
        async with Session(agent_for(fake, project)) as session:
            result = await session.run("go")
    assert result.status == "error"
    assert "401" in result.error and "ANTHROPIC_API_KEY" in result.error
    assert len(fake.requests) == 1, "a 401 is not retried"
    assert_valid_history(session.history)


async def test_cancel_during_long_bash_kills_it_and_keeps_history_valid(project: Path) -> None:
    pid_file = project / "pid"
    token = f"60.{time.monotonic_ns()}"  # `sleep 60.<n>`: findable on the host from its arguments
    script = [
        reply(tool_call("bash", {"command": f"echo $$ > {pid_file}; sleep {token}"})),
        reply(text("unused")),
    ]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project)) as session:
            task = asyncio.create_task(session.run("wait"))
            for _ in range(200):
                if pids_running(token):
                    break
                await asyncio.sleep(0.05)
            assert pids_running(token)
            session.cancel()
            result = await task
            assert result.status == "cancelled"
            assert_valid_history(session.history)
            last = session.history[-1]["content"][0]
            assert (
                last["type"] == "tool_result" and last["is_error"] and "cancel" in last["content"]
            )
            for _ in range(50):
                if not pids_running(token):
                    break
                time.sleep(0.05)
            assert pids_running(token) == [], "the bash command must be killed on cancel"


async def test_max_cost_stops_a_run(project: Path) -> None:
    script = [reply(tool_call("bash", {"command": "echo step"})) for _ in range(5)]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project, max_cost_usd=0.0001)) as session:
            result = await session.run("loop forever")
    assert result.status == "max_cost"
    assert "limit" in result.error
    assert len(fake.requests) == 1
    assert_valid_history(session.history)


async def test_max_turns_stops_a_run(project: Path) -> None:
    script = [reply(tool_call("bash", {"command": "echo step"})) for _ in range(3)]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project, max_turns=2)) as session:
            result = await session.run("loop")
    assert result.status == "max_turns" and result.turns == 2
    assert_valid_history(session.history)


async def test_resume_restores_history_usage_and_status(project: Path) -> None:
    with FakeAnthropic([reply(text("first answer"))]) as fake:
        async with Session(agent_for(fake, project)) as first:
            await first.run("hello")
    with FakeAnthropic([reply(text("second answer"))]) as fake:
        async with Session(agent_for(fake, project), resume="latest") as second:
            assert second.id == first.id
            assert second.usage == first.usage and second.status == "completed"
            await second.run("again")
        sent = fake.requests[0].body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"][0]["text"] == "first answer"


async def test_stream_yields_events_in_order(project: Path) -> None:
    with FakeAnthropic([reply(text("Hi there"))]) as fake:
        async with Session(agent_for(fake, project)) as session:
            kinds = [e.type async for e in session.stream("hi")]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert "text" in kinds and "model_call" in kinds


def test_run_sync_in_a_plain_script(project: Path) -> None:
    with (
        FakeAnthropic([reply(text("sync works"))]) as fake,
        Session(agent_for(fake, project)) as session,
    ):
        assert session.run_sync("hi").text == "sync works"


async def test_run_sync_refuses_a_running_loop(project: Path) -> None:
    from rho_agent.errors import RhoError

    with FakeAnthropic([]) as fake:
        session = Session(agent_for(fake, project))
        with pytest.raises(RhoError, match=r"await session\.run"):
            session.run_sync("hi")


async def test_denied_call_is_an_error_result_and_an_event(project: Path) -> None:
    script = [reply(tool_call("bash", {"command": "rm -rf ./victim"})), reply(text("ok"))]
    (project / "victim").mkdir()
    events = []
    with FakeAnthropic(script) as fake:
        async with Session(
            agent_for(fake, project, profile="readonly"), on_event=events.append
        ) as session:
            await session.run("delete it")
    assert (project / "victim").exists()
    result = fake.requests[1].body["messages"][-1]["content"][0]
    assert result["is_error"] and "rm" in result["content"]


async def test_approval_callback_decides_dangerous_calls(project: Path) -> None:
    (project / "victim").mkdir()
    asked = []

    async def approver(name, tool_input):
        asked.append((name, tool_input["command"]))
        return False

    script = [reply(tool_call("bash", {"command": "rm -rf ./victim"})), reply(text("ok"))]
    with FakeAnthropic(script) as fake:
        agent = agent_for(fake, project, auto_approve=False)
        async with Session(agent, approver=approver) as session:
            await session.run("delete it")
    assert asked == [("bash", "rm -rf ./victim")]
    assert (project / "victim").exists()
    assert "declined" in fake.requests[1].body["messages"][-1]["content"][0]["content"]


async def test_secrets_stay_out_of_tools_and_traces(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-very-secret-123")
    script = [
        reply(tool_call("bash", {"command": "env; echo tok-very-secret-123"})),
        reply(text("done")),
    ]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project)) as session:
            await session.run("show env")
    output = fake.requests[1].body["messages"][-1]["content"][0]["content"]
    assert "MY_SERVICE_TOKEN" not in output and "ANTHROPIC_API_KEY" not in output
    trace = Path(session.directory, "trace.jsonl").read_text()
    assert "tok-very-secret-123" not in trace and "[REDACTED]" in trace


async def test_databases_from_config_are_offered_and_readonly_stays_readonly(
    project: Path, tmp_path: Path
) -> None:
    import sqlite3

    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table users (id integer primary key, name text)")
        conn.execute("insert into users (name) values ('ada')")
    script = [
        reply(tool_call("sql_query", {"sql": "insert into users (name) values ('eve')"})),
        reply(tool_call("sql_query", {"sql": "select name from users"})),
        reply(text("one user")),
    ]
    with FakeAnthropic(script) as fake:
        agent = agent_for(fake, project, profile="readonly", databases={"app": str(db)})
        async with Session(agent) as session:
            await session.run("count users")
    assert f"app ({db})" in fake.requests[0].body["system"][0]["text"]
    insert_result = fake.requests[1].body["messages"][-1]["content"][0]
    assert insert_result["is_error"] and "read-only" in insert_result["content"]
    assert "ada" in fake.requests[2].body["messages"][-1]["content"][0]["content"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from users").fetchone() == (1,)


async def test_a_model_call_cut_short_by_cancel_is_still_accounted(project: Path) -> None:
    script = [reply(text("a long answer " * 20), delay=0.2)]  # streams slowly
    events: list = []
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, project), on_event=events.append) as session:
            task = asyncio.create_task(session.run("talk"))
            while not any(e.type == "text" for e in events):
                await asyncio.sleep(0.02)
            session.cancel()
            result = await task
    assert result.status == "cancelled"
    assert result.usage.input_tokens + result.usage.cache_write_tokens > 0 and result.cost_usd > 0
    calls = [e for e in events if e.type == "model_call"]
    assert [c.stop_reason for c in calls] == ["cancelled"]
    assert session.usage == result.usage
