"""Zero sandboxes left after 50 runs, however they end: normal return, an exception in a tool,
a model error, `cancel()`, closing while the sandbox is still being created, and SIGINT to
the CLI process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import _daytona
import pytest
from _daytona import agent_for, wait_for_no_sandboxes

from rho_agent import Session
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, fault, reply, text, tool_call

DONE = reply(text("Done."))

daytona = _daytona.daytona  # fixture
daytona_server = _daytona.daytona_server  # fixture


async def normal_return(server: LocalDaytona) -> str:
    with FakeAnthropic([reply(tool_call("bash", {"command": "echo ok"})), DONE]) as fake:
        async with Session(agent_for(fake)) as session:
            return (await session.run("go")).status


async def exception_in_a_tool(server: LocalDaytona) -> str:
    with FakeAnthropic([reply(tool_call("bash", {"command": "echo never"})), DONE]) as fake:
        async with Session(agent_for(fake)) as session:
            await session.workspace.ready()
            server.inject("POST /process/execute", status=500, times=1)  # the tool's call fails
            return (await session.run("go")).status


async def model_error(server: LocalDaytona) -> str:
    with FakeAnthropic([fault.unauthorized()]) as fake:
        async with Session(agent_for(fake)) as session:
            return (await session.run("go")).status


async def cancelled(server: LocalDaytona) -> str:
    with FakeAnthropic([reply(tool_call("bash", {"command": "sleep 30"}))]) as fake:
        async with Session(agent_for(fake)) as session:
            run = asyncio.ensure_future(session.run("go"))
            events_seen = len(server.requests)
            while not any(
                r.path.endswith("/process/execute") for r in server.requests[events_seen:]
            ):
                await asyncio.sleep(0.01)
            session.cancel()
            return (await run).status


async def closed_while_provisioning(server: LocalDaytona) -> str:
    server.create_delay = 3.0
    try:
        with FakeAnthropic([]) as fake:
            session = Session(agent_for(fake))
            await session.start()
            while not server.sandboxes():
                await asyncio.sleep(0.01)
            await session.close()
        return "closed"
    finally:
        server.create_delay = 0.0


KINDS = {
    normal_return: "completed",
    exception_in_a_tool: "error",
    model_error: "error",
    cancelled: "cancelled",
    closed_while_provisioning: "closed",
}


async def test_46_runs_in_process_leave_no_sandbox(daytona: LocalDaytona) -> None:
    from daytona import AsyncDaytona  # noqa: F401  (import once, outside the runs)

    kinds = list(KINDS)
    for i in range(46):
        kind = kinds[i % len(kinds)]
        status = await kind(daytona)
        daytona.clear_faults()
        assert status == KINDS[kind], (i, kind.__name__, status)
        assert daytona.sandboxes() == [], f"run {i} ({kind.__name__}) left a sandbox"


@pytest.mark.parametrize("run", range(4))
def test_sigint_to_the_cli_leaves_no_sandbox(
    daytona: LocalDaytona, tmp_path: Path, run: int
) -> None:
    """SIGINT at different moments: while provisioning, and during a tool call."""
    provisioning = run % 2 == 0
    daytona.create_delay = 5.0 if provisioning else 0.0
    script = (
        [fault.slow_first_byte(30, then=DONE)]
        if provisioning
        else [reply(tool_call("bash", {"command": "sleep 60"}))]
    )
    start = len(daytona.requests)
    with FakeAnthropic(script) as fake:
        env = {**os.environ, **daytona.env(), **fake.env()}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rho_agent",
                "main",
                "--backend",
                "daytona",
                "--profile",
                "developer",
                "go",
            ],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            calls = [r.path for r in daytona.requests[start:]]
            if (provisioning and "/api/sandbox" in calls) or sum(
                c.endswith("/process/execute") for c in calls
            ) >= 2:
                break
            time.sleep(0.02)
        time.sleep(0.1 * run)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert wait_for_no_sandboxes(daytona, 5) == []


def test_a_second_sigint_does_not_interrupt_the_deletion(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    """The SDK's socket.io client would install a SIGINT handler that cancels every task."""
    daytona.inject("DELETE /api/sandbox/*", delay=1.5)
    start = len(daytona.requests)
    with FakeAnthropic([reply(tool_call("bash", {"command": "sleep 60"}))]) as fake:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rho_agent",
                "main",
                "--backend",
                "daytona",
                "--profile",
                "developer",
                "go",
            ],
            env={**os.environ, **daytona.env(), **fake.env()},
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline
            and sum(r.path.endswith("/process/execute") for r in daytona.requests[start:]) < 2
        ):
            time.sleep(0.02)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        while not any(r.method == "DELETE" for r in daytona.requests[start:]):
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)  # while the sandbox is being deleted
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert wait_for_no_sandboxes(daytona, 5) == []
