"""File tools see paths as they really are and never hang on what they read.

A write is asked about when its real path (`..` and symlinks resolved) leaves the working
dir, however the model spells it. `read` refuses FIFOs and devices at once, loads at most
MAX_READ_BYTES of any file, and a cancelled read does not hold anything up. Every test
bounds its own wait, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import errno
import os
import resource
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import _daytona
import pytest
from _fixtures import run_cli

from rho_agent import Agent, AgentConfig, Session
from rho_agent.backends import LocalWorkspace, OpenRequest
from rho_agent.backends.daytona._workspace import STALL_SECONDS
from rho_agent.events import ApprovalRequested, Event, ToolCallStarted, ToolDenied
from rho_agent.permissions.profile import DEVELOPER, FileWriteMode, Profile, ShellMode
from rho_agent.testing import FakeAnthropic, reply, text, tool_call
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.tools import EditTool, ReadTool, ToolContext, ToolResult
from rho_agent.tools._read import MAX_READ_BYTES

daytona_server = _daytona.daytona_server  # fixtures
daytona = _daytona.daytona

#: Seconds a test waits for something that should be at once, before calling it a hang.
HANG = 20.0
NEEDS_APPROVAL = "needs the user's approval"


# --- writes outside the working dir: asked about, whatever the spelling ----------------


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """tmp/work (the working dir) beside tmp/outside, with links from one to the other."""
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    (outside / "existing.txt").write_text("keep\n")
    (work / "escape.txt").symlink_to(outside / "target.txt")  # dangling: its target is new
    (work / "linkdir").symlink_to(outside)  # a symlink in a parent directory
    (work / "linked.txt").symlink_to(outside / "existing.txt")
    return tmp_path


async def run_calls(
    work: Path | str, calls: list[tuple[str, dict[str, Any]]], profile: Any = "developer"
) -> tuple[list[Event], FakeAnthropic]:
    """A session (developer profile) with no approver, the model making `calls` in turn."""
    script = [reply(tool_call(name, tool_input)) for name, tool_input in calls]
    events: list[Event] = []
    with FakeAnthropic([*script, reply(text("done"))]) as fake:
        config = AgentConfig(
            base_url=fake.base_url, api_key="test-key", profile=profile, working_dir=str(work)
        )
        async with Session(Agent(config), on_event=events.append, persist=False) as session:
            result = await asyncio.wait_for(session.run("go"), HANG)
        fake.assert_done()
    assert result.status == "completed", result.error
    return events, fake


def asked(events: list[Event]) -> list[ApprovalRequested]:
    return [e for e in events if isinstance(e, ApprovalRequested)]


@pytest.mark.parametrize(
    ("spelling", "lands_at"),
    [
        ("../outside.txt", "outside.txt"),
        ("{work}/../outside.txt", "outside.txt"),
        ("escape.txt", "outside/target.txt"),
        ("linkdir/new.txt", "outside/new.txt"),
    ],
    ids=["dot-dot", "absolute-dot-dot", "dangling-symlink", "symlinked-parent"],
)
async def test_a_write_that_leaves_the_working_dir_is_asked_about(
    layout: Path, spelling: str, lands_at: str
) -> None:
    work = layout / "work"
    path = spelling.format(work=work)
    events, fake = await run_calls(work, [("write", {"path": path, "content": "escaped\n"})])

    [request] = asked(events)
    assert request.name == "write" and "outside the working directory" in request.reason
    assert os.path.realpath(layout / lands_at) in request.reason
    assert any(isinstance(e, ToolDenied) for e in events)
    assert not any(isinstance(e, ToolCallStarted) for e in events)
    assert not (layout / lands_at).exists()
    assert NEEDS_APPROVAL in fake.requests[1].tool_results[0]["content"]


async def test_an_edit_through_a_symlink_that_leads_outside_is_asked_about(layout: Path) -> None:
    edit = {"path": "linked.txt", "old_string": "keep", "new_string": "changed"}
    events, _ = await run_calls(layout / "work", [("edit", edit)])
    assert [e.name for e in asked(events)] == ["edit"]
    assert (layout / "outside" / "existing.txt").read_text() == "keep\n"


async def test_writes_inside_the_working_dir_are_not_asked_about(layout: Path) -> None:
    """Also when the working dir is reached through a symlink (macOS's /tmp is one): it is
    compared by its real path too."""
    work = layout / "work"
    (layout / "work-link").symlink_to(work)
    calls = [
        ("write", {"path": "inside/new.txt", "content": "a\n"}),
        ("write", {"path": str(layout / "work-link" / "via-link.txt"), "content": "b\n"}),
        ("write", {"path": str(work / "real.txt"), "content": "c\n"}),
    ]
    events, _ = await run_calls(layout / "work-link", calls)
    assert asked(events) == []
    written = [work / "inside/new.txt", work / "via-link.txt", work / "real.txt"]
    assert [p.read_text() for p in written] == ["a\n", "b\n", "c\n"]


async def test_create_only_sees_existing_files_where_the_write_goes(layout: Path) -> None:
    """Checked outside any OS sandbox, like the write itself: a sandbox's private /tmp (this
    test's files are under /tmp) would hide the file and let it be overwritten."""
    create_only = Profile(
        name="create-only", shell=ShellMode.off, file_write=FileWriteMode.create_only
    )
    existing = layout / "outside" / "existing.txt"
    calls = [
        ("write", {"path": str(existing), "content": "overwritten\n"}),
        ("write", {"path": "linked.txt", "content": "overwritten\n"}),
        ("write", {"path": "fresh.txt", "content": "new\n"}),
    ]
    _, fake = await run_calls(layout / "work", calls, profile=create_only)
    refusals = [r.tool_results[0] for r in fake.requests[1:3]]
    assert all(r.get("is_error") and "only allows creating" in r["content"] for r in refusals)
    assert existing.read_text() == "keep\n"
    assert (layout / "work" / "fresh.txt").read_text() == "new\n"


def test_the_cli_without_a_terminal_refuses_a_write_outside(layout: Path) -> None:
    work = layout / "work"
    script = [
        reply(tool_call("write", {"path": "../outside.txt", "content": "x\n"})),
        reply(text("ok")),
    ]
    with FakeAnthropic(script) as fake:
        proc = run_cli(
            "main", "--profile", "developer", "--working-dir", str(work), "go", env=fake.env()
        )
        fake.assert_done()
    assert proc.returncode == 0, proc.stderr
    assert not (layout / "outside.txt").exists()
    assert NEEDS_APPROVAL in fake.requests[1].tool_results[0]["content"]


# --- read: FIFOs and devices refused at once, every file bounded ----------------------


def release(fifo: Path) -> None:
    """Let a reader blocked opening `fifo` go (it then reads end of file): what a broken
    read leaves behind must not hang the event loop's shutdown."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: no reader, nothing to release
            raise


async def call(tool: Any, ctx: ToolContext, **tool_input: Any) -> ToolResult:
    return await asyncio.wait_for(tool(tool_input, ctx), HANG)


@pytest.fixture
def address_space_cap() -> Iterator[None]:
    """Cap this process's memory for the test, so a read that loads /dev/zero whole fails
    with MemoryError instead of starving the machine."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as status:
        size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    cap = size_kb * 1024 + (2 << 30)
    resource.setrlimit(
        resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard)
    )
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


async def test_read_refuses_a_fifo_at_once(workdir: Path, ctx: ToolContext) -> None:
    fifo = workdir / "pipe"
    os.mkfifo(fifo)
    try:
        result = await call(ReadTool(), ctx, path="pipe")
    finally:
        release(fifo)
    assert result.is_error
    assert "named pipe (FIFO)" in result.text and "regular files only" in result.text


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
async def test_read_refuses_dev_zero(ctx: ToolContext, address_space_cap: None) -> None:
    result = await call(ReadTool(), ctx, path="/dev/zero")
    assert result.is_error and "character device" in result.text


def test_a_cancelled_read_holds_up_neither_the_task_nor_the_loop(workdir: Path) -> None:
    """Cancel a read of a FIFO mid-way, then let asyncio.run shut its loop down: both end."""
    fifo = workdir / "pipe"
    os.mkfifo(fifo)
    ctx = ToolContext(workspace=LocalWorkspace(workdir), profile=DEVELOPER)

    async def cancel_a_read() -> None:
        task = asyncio.ensure_future(ReadTool()({"path": "pipe"}, ctx))
        await asyncio.wait({task}, timeout=0.5)
        task.cancel()
        await asyncio.wait({task})

    runner = threading.Thread(target=asyncio.run, args=(cancel_a_read(),), daemon=True)
    runner.start()
    runner.join(HANG)
    try:
        assert not runner.is_alive(), "the read's event loop did not finish"
    finally:
        release(fifo)
        runner.join(HANG)


def write_lines(path: Path, size: int) -> int:
    """A text file of numbered lines, at least `size` bytes; returns how many lines."""
    lines = (size // 16) + 1
    path.write_text("".join(f"line {n:010d}\n" for n in range(1, lines + 1)))  # 16 bytes a line
    return lines


async def test_read_of_a_big_file_is_bounded_and_says_how_to_see_the_rest(
    workdir: Path, workspace: LocalWorkspace, ctx: ToolContext
) -> None:
    big = workdir / "big.log"
    write_lines(big, MAX_READ_BYTES + 3 * 1024 * 1024)
    size = big.stat().st_size
    loaded = MAX_READ_BYTES // 16  # whole lines within the bound

    first = await call(ReadTool(), ctx, path="big.log")
    assert not first.is_error and first.text.startswith("     1\tline 0000000001\n")
    assert f"{size:,} bytes" in first.text and "sed -n" in first.text and "tail -c" in first.text
    assert len(await workspace.read_bytes(str(big), limit=100)) == 100
    last = await call(ReadTool(), ctx, path="big.log", offset=loaded, limit=1)
    assert last.text.startswith(f"{loaded:>6}\tline {loaded:010d}\n")
    past = await call(ReadTool(), ctx, path="big.log", offset=loaded + 1)
    assert past.is_error and f"sed -n '{loaded + 1}," in past.text


async def test_edit_refuses_a_file_larger_than_the_bound(workdir: Path, ctx: ToolContext) -> None:
    big = workdir / "big.log"
    write_lines(big, MAX_READ_BYTES + 1024)
    before = big.stat().st_size
    result = await call(
        EditTool(), ctx, path="big.log", old_string="line 0000000001", new_string="x"
    )
    assert result.is_error and "larger than" in result.text
    assert big.stat().st_size == before


# --- the same on Daytona (LocalDaytona) ---------------------------------------------


@pytest.fixture
async def sandbox(daytona: LocalDaytona) -> Any:
    from rho_agent.tools.handlers.daytona import DaytonaBackend

    workspace = await DaytonaBackend().open(OpenRequest(session_id="files", working_dir=None))
    try:
        await workspace.ready()
        yield workspace
    finally:
        await workspace.close()


async def test_daytona_read_refuses_a_fifo_at_once(sandbox: Any) -> None:
    ctx = ToolContext(workspace=sandbox, profile=DEVELOPER)
    await sandbox.exec("mkfifo pipe", confined=False)
    try:
        result = await call(ReadTool(), ctx, path="pipe")
    finally:
        await sandbox.exec(": <> pipe", confined=False)  # release a server blocked opening it
    assert result.is_error and "named pipe (FIFO)" in result.text


async def test_daytona_read_refuses_a_fifo_the_daemon_blocks_on(
    daytona: LocalDaytona, sandbox: Any
) -> None:
    """The real daemon opens what it is asked for, and blocks opening a FIFO."""
    ctx = ToolContext(workspace=sandbox, profile=DEVELOPER)
    await sandbox.exec("mkfifo pipe", confined=False)
    daytona.inject("POST /files/bulk-download", timeout=True)
    result = await call(ReadTool(), ctx, path="pipe")
    assert result.is_error and "named pipe (FIFO)" in result.text


async def test_daytona_read_is_bounded_and_small_files_still_read(sandbox: Any) -> None:
    ctx = ToolContext(workspace=sandbox, profile=DEVELOPER)
    await sandbox.exec("seq -w 1 1400000 > big.log && : > empty.txt && mkdir -p d", confined=False)
    size = 1400000 * 8

    big = await call(ReadTool(), ctx, path="big.log")
    assert not big.is_error and big.text.startswith("     1\t0000001\n")
    assert f"{size:,} bytes" in big.text and "sed -n" in big.text
    assert len(await sandbox.read_bytes("big.log", limit=100)) == 100
    edit = await call(EditTool(), ctx, path="big.log", old_string="0000001\n", new_string="x\n")
    assert edit.is_error and "larger than" in edit.text
    assert (await call(ReadTool(), ctx, path="empty.txt")).text.startswith("(empty file")
    assert "is a directory" in (await call(ReadTool(), ctx, path="d")).text
    assert "File not found" in (await call(ReadTool(), ctx, path="missing.txt")).text


async def test_daytona_a_cancelled_slow_read_ends_promptly(
    daytona: LocalDaytona, sandbox: Any
) -> None:
    ctx = ToolContext(workspace=sandbox, profile=DEVELOPER)
    await sandbox.exec("echo hello > notes.txt", confined=False)
    daytona.inject("POST /files/bulk-download", delay=10 * HANG, times=1)
    task = asyncio.ensure_future(ReadTool()({"path": "notes.txt"}, ctx))
    await asyncio.wait({task}, timeout=STALL_SECONDS + 0.5)  # both requests have been made
    assert not task.done()
    task.cancel()
    await asyncio.wait_for(asyncio.wait({task}), HANG)
    assert task.cancelled()
    before = len(daytona.requests)
    assert (await call(ReadTool(), ctx, path="notes.txt")).text == "     1\thello"
    [request] = _daytona.toolbox_calls(daytona, before)  # one round trip, as ever
    assert request.endswith("/files/bulk-download")


async def test_daytona_writes_outside_the_working_dir_are_asked_about(
    daytona: LocalDaytona,
) -> None:
    calls = [
        ("write", {"path": "../outside.txt", "content": "x\n"}),
        ("write", {"path": "linkdir/new.txt", "content": "x\n"}),
        ("write", {"path": "inside.txt", "content": "x\n"}),
    ]
    files = ("/home/outside.txt", "/tmp/out/new.txt", "/home/daytona/inside.txt")
    check = "; ".join(f"[ -e {f} ] && echo 'yes {f}' || echo 'no {f}'" for f in files)
    events: list[Event] = []
    script = [reply(tool_call(name, tool_input)) for name, tool_input in calls]
    with FakeAnthropic([*script, reply(text("done"))]) as fake:
        agent = _daytona.agent_for(fake, auto_approve=False)
        async with Session(agent, on_event=events.append, persist=False) as session:
            await session.workspace.ready()
            await session.workspace.exec(
                "mkdir -p /tmp/out && ln -s /tmp/out linkdir", confined=False
            )
            result = await asyncio.wait_for(session.run("go"), 3 * HANG)
            found = (await session.workspace.exec(check, confined=False)).output.split("\n")
    assert result.status == "completed", result.error
    assert [(e.name, e.input["path"]) for e in asked(events)] == [
        ("write", "../outside.txt"),
        ("write", "linkdir/new.txt"),
    ]
    assert found[:3] == [f"no {files[0]}", f"no {files[1]}", f"yes {files[2]}"]
