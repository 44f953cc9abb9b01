"""The sandbox's life: provisioning overlaps the first model call, the session deletes the
sandbox however it ends, failures say what went wrong and leave nothing behind."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import _daytona
import pytest
from _daytona import agent_for, tool_output

from rho_agent import Session
from rho_agent.errors import ConfigError, MissingCredentialsError, SandboxError, SetupError
from rho_agent.events import Notice
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, fault, reply, text, tool_call
from rho_agent.tools.handlers.daytona import DaytonaBackend

DONE = reply(text("Done."))

daytona = _daytona.daytona  # fixture
daytona_server = _daytona.daytona_server  # fixture


def notices(events: list) -> list[str]:
    return [e.message for e in events if isinstance(e, Notice)]


async def test_provisioning_overlaps_the_first_model_call(daytona: LocalDaytona) -> None:
    from daytona import AsyncDaytona  # noqa: F401  (the SDK's one-off import is not what is measured)

    daytona.create_delay = 1.0
    script = [
        fault.slow_first_byte(1.0, then=reply(tool_call("bash", {"command": "echo ready"}))),
        DONE,
    ]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake)) as session:
            result = await session.run("go")
            finished = time.time()
    assert result.ok and tool_output(fake, 1) == "ready"
    create = next(r for r in daytona.requests if r.method == "POST" and r.path == "/api/sandbox")
    first_call = fake.requests[0].time
    # Requested while the first model call (1 s) was still being answered, not at the first tool call.
    assert create.time < first_call + 0.5
    # So the run takes about max(model, sandbox) (~1 s plus the SDK's 1 s state polling), not the sum.
    assert finished - first_call < 2.9


async def test_close_while_provisioning_deletes_what_was_created(daytona: LocalDaytona) -> None:
    daytona.create_delay = 5.0
    with FakeAnthropic([]) as fake:
        session = Session(agent_for(fake))
        await session.start()
        for _ in range(100):
            if daytona.sandboxes():
                break
            await asyncio.sleep(0.02)
        assert daytona.sandboxes(), "the sandbox is being created"
        started = time.monotonic()
        await session.close()
    assert time.monotonic() - started < 3
    assert daytona.sandboxes() == []


async def test_cancel_during_a_tool_deletes_the_sandbox(daytona: LocalDaytona) -> None:
    with FakeAnthropic([reply(tool_call("bash", {"command": "sleep 30"}))]) as fake:
        async with Session(agent_for(fake)) as session:
            run = asyncio.ensure_future(session.run("wait"))
            while not any(r.path.endswith("/process/execute") for r in daytona.requests[-3:]):
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
            session.cancel()
            result = await run
    assert result.status == "cancelled"
    assert daytona.sandboxes() == []


async def test_cancel_kills_the_remote_command_while_the_sandbox_lives_on(
    daytona: LocalDaytona,
) -> None:
    """The daemon does not stop a command whose request was abandoned; the workspace does."""
    command = "touch started; sleep 3; touch finished"
    with FakeAnthropic(
        [reply(tool_call("bash", {"command": command})), reply(text("next"))]
    ) as fake:
        async with Session(agent_for(fake)) as session:
            run = asyncio.ensure_future(session.run("wait"))
            home = None
            for _ in range(500):
                boxes = daytona.sandboxes()
                home = boxes[0].root / "home/daytona" if boxes else None
                if home is not None and any(home.rglob("started")):
                    break
                await asyncio.sleep(0.02)
            session.cancel()
            assert (await run).status == "cancelled"
            await asyncio.sleep(3.5)  # longer than the command would have taken
            assert any(home.rglob("started")) and not any(home.rglob("finished"))
            assert (await session.run("go on")).text == "next"  # the session is still usable


async def test_failing_setup_command_stops_the_run_with_its_output(daytona: LocalDaytona) -> None:
    events: list = []
    backend = DaytonaBackend(
        setup=["echo first ok", "echo building...; echo boom >&2; exit 3", "echo never"]
    )
    with FakeAnthropic([fault.slow_first_byte(5.0, then=DONE)]) as fake:
        async with Session(agent_for(fake, backend), on_event=events.append) as session:
            started = time.monotonic()
            result = await session.run("go")
            failure = session.workspace.failure
    assert time.monotonic() - started < 4, (
        "the run stops when setup fails, without waiting for the model"
    )
    assert result.status == "error" and isinstance(failure, SetupError) and failure.exit_code == 4
    assert "echo building...; echo boom >&2; exit 3" in result.error
    assert (
        "exited with code 3" in result.error
        and "boom" in result.error
        and "building..." in result.error
    )
    assert "the sandbox was deleted" in result.error
    said = notices(events)
    assert "  first ok" in said and "  building..." in said and "  boom" in said
    assert not any("never" in line for line in said)
    assert daytona.sandboxes() == []


async def test_setup_runs_in_order_in_working_dir_with_sandbox_env(daytona: LocalDaytona) -> None:
    backend = DaytonaBackend(
        working_dir="/home/daytona/app/backend",
        env_vars={"GREETING": "hi"},
        setup=["echo $GREETING > step1", "cd .. && pwd > /tmp/where", "cat step1 > step2"],
    )
    script = [reply(tool_call("bash", {"command": "pwd; cat step2 /tmp/where"})), DONE]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, backend)) as session:
            await session.run("check")
    assert tool_output(fake, 1) == "/home/daytona/app/backend\nhi\n/home/daytona/app"


async def test_uv_is_installed_only_when_asked_for(daytona: LocalDaytona, tmp_path: Path) -> None:
    fake_uv = tmp_path / "uv"
    fake_uv.write_text('#!/bin/sh\necho "uv 0.6.6 (fake)"\n')
    fake_uv.chmod(0o755)
    upload = f"{fake_uv}:/home/daytona/.local/bin/uv"
    cases = [
        (DaytonaBackend(setup=["echo plain"]), False),
        (DaytonaBackend(setup=["uv --version"], uploads=[upload]), True),
        (DaytonaBackend(uv_version="0.6.6", uploads=[upload]), True),
    ]
    for backend, wants_uv in cases:
        events: list = []
        with FakeAnthropic([DONE]) as fake:
            async with Session(agent_for(fake, backend), on_event=events.append) as session:
                await session.workspace.ready()
        said = notices(events)
        assert any("install uv" in line for line in said) == wants_uv, said
        if wants_uv:
            assert "  uv already installed: uv 0.6.6 (fake)" in said, said


async def test_default_path_and_a_path_override(daytona: LocalDaytona) -> None:
    for backend, expected in [
        (DaytonaBackend(), "/home/daytona/.local/bin:"),
        (DaytonaBackend(env_vars={"PATH": "/usr/bin:/bin"}), "/usr/bin:/bin"),
    ]:
        with FakeAnthropic([reply(tool_call("bash", {"command": "echo $PATH"})), DONE]) as fake:
            async with Session(agent_for(fake, backend)) as session:
                await session.run("path")
        assert tool_output(fake, 1).startswith(expected)


async def test_local_secrets_do_not_reach_the_sandbox(
    daytona: LocalDaytona, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-local-secret")
    monkeypatch.setenv("STRIPE_API_KEY", "sk-local-secret")
    monkeypatch.setenv("SHARED_TOKEN", "shared-on-purpose")
    backend = DaytonaBackend(env_vars={"SHARED_TOKEN": "shared-on-purpose"})
    with FakeAnthropic([reply(tool_call("bash", {"command": "env"})), DONE]) as fake:
        async with Session(agent_for(fake, backend)) as session:
            await session.run("env")
    env = tool_output(fake, 1)
    assert "local-secret" not in env and "test-key" not in env and "DAYTONA_API_KEY" not in env
    assert "SHARED_TOKEN=shared-on-purpose" in env


async def test_missing_api_key_fails_before_anything_is_created(
    daytona: LocalDaytona, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAYTONA_API_KEY")
    before = len(daytona.requests)
    with FakeAnthropic([]) as fake:
        session = Session(agent_for(fake))
        with pytest.raises(MissingCredentialsError, match="DAYTONA_API_KEY"):
            await session.start()
        await session.close()
    assert daytona.requests[before:] == []


def test_bad_upload_is_an_error_before_anything_is_created(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--upload './nope:/work/x': ./nope does not exist"):
        DaytonaBackend(uploads=["./nope:/work/x"])
    with pytest.raises(ConfigError, match="expected LOCAL:REMOTE"):
        DaytonaBackend(uploads=["no-colon-here"])


async def test_a_sandbox_that_fails_to_start(daytona: LocalDaytona) -> None:
    daytona.create_delay = 3.0

    def kill_it() -> None:
        for _ in range(200):
            boxes = daytona.sandboxes()
            if boxes:
                time.sleep(0.2)
                daytona.kill(boxes[0].id, "image pull failed: manifest unknown")
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_it)
    killer.start()
    with FakeAnthropic([fault.slow_first_byte(10.0, then=DONE)]) as fake:
        async with Session(agent_for(fake)) as session:
            result = await session.run("go")
            failure = session.workspace.failure
    killer.join()
    assert result.status == "error" and isinstance(failure, SandboxError)
    assert "failed to start" in result.error and "manifest unknown" in result.error
    assert daytona.sandboxes() == []


async def test_create_timeout_deletes_the_slow_sandbox(daytona: LocalDaytona) -> None:
    daytona.create_delay = 10.0
    with FakeAnthropic([reply(tool_call("bash", {"command": "true"}))]) as fake:
        async with Session(agent_for(fake, DaytonaBackend(create_timeout=1))) as session:
            started = time.monotonic()
            result = await session.run("go")
    assert time.monotonic() - started < 6
    assert result.status == "error" and "did not start within 1s; it was deleted" in result.error
    assert daytona.sandboxes() == []


async def test_keep_then_reattach(daytona: LocalDaytona) -> None:
    events: list = []
    script = [reply(tool_call("bash", {"command": "echo state > /home/daytona/memo"})), DONE]
    with FakeAnthropic(script) as fake:
        async with Session(
            agent_for(fake, DaytonaBackend(keep=True)), on_event=events.append
        ) as session:
            await session.run("remember")
            sandbox = await session.get_sandbox()
            assert sandbox.auto_stop_interval == 30 and sandbox.auto_delete_interval == -1
    (box,) = daytona.sandboxes()
    assert box.labels.get("rho-agent-keep") == "1"
    assert any(f"--sandbox {box.id}" in line for line in notices(events))

    script = [reply(tool_call("bash", {"command": "cat /home/daytona/memo; pwd"})), DONE]
    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake, DaytonaBackend(sandbox_id=box.id))) as session:
            await session.run("recall")
    assert tool_output(fake, 1) == "state\n/home/daytona"
    assert daytona.sandboxes() == [], "a reattached session owns the sandbox and deletes it"


@pytest.mark.parametrize("answered", [True, False], ids=["created", "still being created"])
async def test_keep_does_not_keep_a_sandbox_whose_creation_was_cut_short(
    daytona: LocalDaytona, answered: bool
) -> None:
    """Closed (Ctrl-C) before the sandbox was ready: nothing is in it and its id was never
    said, so it is deleted even with keep (kept, it would never be auto-deleted)."""
    from daytona import AsyncDaytona  # noqa: F401  (imported: closing does not wait on it)

    daytona.create_delay = 5.0
    before = len(daytona.create_requests)
    if not answered:
        daytona.inject("POST /api/sandbox", delay=1.0, times=1)
    with FakeAnthropic([]) as fake:
        session = Session(agent_for(fake, DaytonaBackend(keep=True)))
        await session.start()
        if answered:
            for _ in range(100):
                if daytona.sandboxes():
                    break
                await asyncio.sleep(0.02)
        await session.close()
    assert len(daytona.create_requests) - before == 1  # made (closing waited), then deleted
    assert daytona.sandboxes() == []


async def test_reattach_to_a_missing_sandbox(daytona: LocalDaytona) -> None:
    with FakeAnthropic([]) as fake:
        session = Session(agent_for(fake, DaytonaBackend(sandbox_id="no-such-box")))
        with pytest.raises(ConfigError, match="--sandbox no-such-box: no such sandbox"):
            await session.start()
        await session.close()


async def test_a_stopped_sandbox_is_started_again(daytona: LocalDaytona) -> None:
    script = [
        reply(tool_call("bash", {"command": "echo one"})),
        reply(tool_call("bash", {"command": "echo two"})),
        DONE,
    ]
    events: list = []

    async def stop_between(event) -> None:
        events.append(event)
        if getattr(event, "type", "") == "tool_finished" and event.output == "one":
            sandbox = await session.get_sandbox()
            await sandbox.stop()

    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake), on_event=stop_between) as session:
            result = await session.run("twice")
    assert result.ok and tool_output(fake, 2) == "two"
    assert any("starting it again" in line for line in notices(events))


async def test_a_sandbox_that_dies_mid_run(daytona: LocalDaytona) -> None:
    script = [
        reply(tool_call("bash", {"command": "echo alive"})),
        reply(tool_call("bash", {"command": "echo again"})),
    ]

    async def kill_after_first(event) -> None:
        if getattr(event, "type", "") == "tool_finished":
            daytona.kill(daytona.sandboxes()[0].id, "runner lost")

    with FakeAnthropic(script) as fake:
        async with Session(agent_for(fake), on_event=kill_after_first) as session:
            started = time.monotonic()
            result = await session.run("go")
    assert time.monotonic() - started < 8
    assert result.status == "error" and "died" in result.error and "runner lost" in result.error
    assert daytona.sandboxes() == []


async def test_download_helper_files_and_directories(daytona: LocalDaytona, tmp_path: Path) -> None:
    command = (
        "mkdir -p out/sub && echo a > out/a.txt && echo b > out/sub/b.txt && echo r > report.txt"
    )
    with FakeAnthropic([reply(tool_call("bash", {"command": command})), DONE]) as fake:
        async with Session(agent_for(fake)) as session:
            await session.run("make output")
            file = await session.download("report.txt", tmp_path / "report.txt")
            tree = await session.download("/home/daytona/out", tmp_path / "results")
            into = tmp_path / "existing"
            into.mkdir()
            inside = await session.download("out", into)
            with pytest.raises(FileNotFoundError):
                await session.download("/home/daytona/missing", tmp_path / "x")
    assert file.read_text() == "r\n"
    assert (tree / "a.txt").read_text() == "a\n" and (tree / "sub" / "b.txt").read_text() == "b\n"
    assert inside == into / "out" and (inside / "sub" / "b.txt").exists()


async def test_upload_helper(daytona: LocalDaytona, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.csv").write_text("a,b\n")
    with FakeAnthropic(
        [reply(tool_call("bash", {"command": "cat /work/data/rows.csv"})), DONE]
    ) as fake:
        async with Session(agent_for(fake)) as session:
            await session.upload(data, "/work/data")
            await session.run("read")
    assert tool_output(fake, 1) == "a,b"


async def test_get_sandbox_needs_the_daytona_backend(tmp_path: Path) -> None:
    with FakeAnthropic([]) as fake:
        async with Session(agent_for(fake, "local", working_dir=str(tmp_path))) as session:
            with pytest.raises(ConfigError, match="daytona backend"):
                await session.get_sandbox()
