"""What goes over the wire: one Daytona round trip per tool call, one archive per upload,
and transient faults or slow answers that end in a finished run or a clear error, never a hang."""

from __future__ import annotations

import time
from pathlib import Path

import _daytona
import pytest
from _daytona import agent_for, tool_output, toolbox_calls

from rho_agent import Session
from rho_agent.backends import OpenRequest
from rho_agent.permissions.profile import DEVELOPER, READONLY
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call
from rho_agent.tools import ToolContext, build_tools
from rho_agent.tools.handlers.daytona import DaytonaBackend

DONE = reply(text("Done."))

CALLS = [
    (
        "bash",
        {"command": "echo hello > notes.txt && mkdir -p src && echo 'def f(): pass' > src/m.py"},
        1,
    ),
    ("read", {"path": "notes.txt"}, 1),
    ("glob", {"pattern": "**/*.py"}, 1),
    ("grep", {"pattern": "def f"}, 1),
    ("list", {}, 1),
    ("write", {"path": "new.txt", "content": "x\n"}, 2),
    ("edit", {"path": "notes.txt", "old_string": "hello", "new_string": "bye"}, 2),
]

daytona_server = _daytona.daytona_server  # fixtures
daytona = _daytona.daytona


async def test_one_round_trip_per_tool_call(daytona: LocalDaytona) -> None:
    workspace = await DaytonaBackend().open(OpenRequest(session_id="trips", working_dir=None))
    try:
        await workspace.ready()
        tools = {t.name: t for t in build_tools(DEVELOPER)}
        ctx = ToolContext(workspace=workspace, profile=DEVELOPER)
        for name, tool_input, most in CALLS:
            before = len(daytona.requests)
            result = await tools[name](tool_input, ctx)
            assert not result.is_error, (name, result.text)
            calls = toolbox_calls(daytona, before)
            assert 1 <= len(calls) <= most, f"{name} took {len(calls)} requests: {calls}"
            assert all("/toolbox/" in c for c in calls), calls
        assert (await workspace.read_bytes("notes.txt")) == b"bye\n"
    finally:
        await workspace.close()


async def test_readonly_profile_is_as_read_only_as_local(daytona: LocalDaytona) -> None:
    workspace = await DaytonaBackend().open(OpenRequest(session_id="ro", working_dir=None))
    try:
        await workspace.ready()
        tools = {t.name: t for t in build_tools(READONLY)}
        assert "write" not in tools and "edit" not in tools
        ctx = ToolContext(workspace=workspace, profile=READONLY)
        denied = await tools["bash"]({"command": "touch victim"}, ctx)
        assert denied.is_error and "read-only" in denied.text
        allowed = await tools["bash"]({"command": "ls -la"}, ctx)
        assert not allowed.is_error
        assert "victim" not in (await workspace.exec("ls")).output
    finally:
        await workspace.close()


async def test_one_archive_and_one_extract_for_a_big_tree(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    for i in range(300):
        (tree / f"d{i % 10}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 10}" / f"f{i}.txt").write_text(f"file {i}\n" * 20)
    before = len(daytona.requests)
    backend = DaytonaBackend(uploads=[f"{tree}:/work/tree"])
    workspace = await backend.open(OpenRequest(session_id="big", working_dir=None))
    try:
        await workspace.ready()
        calls = toolbox_calls(daytona, before)
        assert calls.count(f"POST /toolbox/{workspace.sandbox.id}/files/bulk-upload") == 1
        result = await workspace.exec(
            "find /work/tree -type f | wc -l; cat /work/tree/d7/f297.txt | head -1"
        )
        assert result.output.split() == ["300", "file", "297"]
    finally:
        await workspace.close()


async def test_large_uploads_report_progress(daytona: LocalDaytona, tmp_path: Path) -> None:
    import os

    big = tmp_path / "big"
    big.mkdir()
    (big / "weights.bin").write_bytes(os.urandom(10 * 1024 * 1024))
    said: list[str] = []

    async def note(message: str) -> None:
        said.append(message)

    backend = DaytonaBackend(uploads=[f"{big}:/work/big"])
    workspace = await backend.open(
        OpenRequest(session_id="progress", working_dir=None, notify=note)
    )
    try:
        await workspace.ready()
        assert (await workspace.exec("stat -c %s /work/big/weights.bin")).output.strip() == str(
            10 * 1024 * 1024
        )
    finally:
        await workspace.close()
    bars = [m for m in said if m.startswith("Uploading [")]
    percents = [int(m.split("]")[1].split("%")[0]) for m in bars]
    assert len(bars) >= 5 and percents == sorted(set(percents)) and percents[-1] == 100, bars
    assert (
        bars[-1] == "Uploading [##########] 100% of 10 MB"
    )  # the archive, as format_size gives it


async def test_transient_5xx_are_retried(daytona: LocalDaytona) -> None:
    script = [
        reply(tool_call("bash", {"command": "echo made > f.txt"})),
        reply(tool_call("read", {"path": "f.txt"})),
        reply(tool_call("write", {"path": "g.txt", "content": "g\n"})),
        DONE,
    ]
    daytona.inject("POST /api/sandbox", status=503, times=1)
    daytona.inject("POST /process/execute", status=502, times=2)
    daytona.inject("POST /files/bulk-download", status=500, times=2)
    daytona.inject("POST /files/bulk-upload", status=503, times=1, retry_after=0.1)
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake)) as session:
            result = await session.run("go")
    assert result.ok, result.error
    assert tool_output(fake, 2).endswith("made")


async def test_slow_answers_complete(daytona: LocalDaytona) -> None:
    daytona.inject("*", delay=0.3, times=6)
    script = [reply(tool_call("bash", {"command": "echo slow but fine"})), DONE]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake)) as session:
            result = await session.run("go")
    assert result.ok and tool_output(fake, 1) == "slow but fine"


async def test_a_lasting_failure_ends_the_run_with_a_clear_message(daytona: LocalDaytona) -> None:
    daytona.inject("POST /process/execute", status=500, message="daemon exploded")
    script = [reply(tool_call("bash", {"command": "echo never"})), DONE]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake)) as session:
            started = time.monotonic()
            result = await session.run("go")
    assert time.monotonic() - started < 5
    assert result.status == "error"
    assert (
        result.error.startswith("Could not run a command in the Daytona sandbox")
        and "daemon exploded" in result.error
    )


async def test_a_hung_request_fails_within_its_timeout(daytona: LocalDaytona) -> None:
    backend = DaytonaBackend(request_timeout=2)
    script = [reply(tool_call("read", {"path": "/etc/hostname"})), DONE]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, backend)) as session:
            await session.workspace.ready()
            daytona.inject("POST /files/bulk-download", timeout=True)
            started = time.monotonic()
            result = await session.run("go")
            elapsed = time.monotonic() - started
    assert elapsed < 10, elapsed
    assert result.status == "error" and "read /etc/hostname" in result.error


async def test_a_hung_create_fails_within_create_timeout(daytona: LocalDaytona) -> None:
    daytona.inject("POST /api/sandbox", timeout=True)
    with FakeAnthropic([reply(tool_call("bash", {"command": "true"}))]) as fake:
        async with Session(agent_for(fake, DaytonaBackend(create_timeout=2))) as session:
            started = time.monotonic()
            result = await session.run("go")
            elapsed = time.monotonic() - started
        daytona.clear_faults()
    assert elapsed < 12, elapsed
    assert result.status == "error" and "within 2s" in result.error


@pytest.mark.parametrize("profile", ["readonly", "developer"])
async def test_tool_schemas_are_the_same_as_local(
    daytona: LocalDaytona, tmp_path: Path, profile: str
) -> None:
    bodies = []
    for backend, extra in [("local", {"working_dir": str(tmp_path)}), ("daytona", {})]:
        with FakeAnthropic([DONE]) as fake:
            async with Session(agent_for(fake, backend, profile=profile, **extra)) as session:
                await session.run("hi")
            bodies.append(fake.requests[0].body["tools"])
    assert bodies[0] == bodies[1]
