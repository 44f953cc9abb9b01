"""What the Daytona backend says is true: a failed creation is an error even when no tool
ran, waiting for the sandbox is announced, setup failures say what ran and what was billed,
transfers count and size things one way, and the CLI's hints and exits say what happened."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import _daytona
import pytest
from _daytona import agent_for, tool_output, toolbox_calls

from rho_agent import Session
from rho_agent.backends import ExecResult
from rho_agent.errors import SandboxError
from rho_agent.events import Notice
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, fault, reply, text, tool_call
from rho_agent.tools.handlers.daytona import DaytonaBackend

DONE = reply(text("Done."))

daytona = _daytona.daytona  # fixture
daytona_server = _daytona.daytona_server  # fixture


def notices(events: list) -> list[str]:
    return [e.message for e in events if isinstance(e, Notice)]


async def test_a_failed_creation_is_an_error_when_no_tool_runs(daytona: LocalDaytona) -> None:
    """Creation fails while the model is answering (no tool call); cleaning up after the
    failure (looking the sandbox up by name) is slow. The run still ends in that error."""
    from daytona import AsyncDaytona  # noqa: F401  (the SDK's one-off import is not what is timed)

    daytona.inject("POST /api/sandbox", status=400, message="image not found: nope:latest")
    daytona.inject("GET /api/sandbox/rho-agent-*", delay=6.0, times=1)
    with FakeAnthropic([fault.slow_first_byte(4.0, then=DONE)]) as fake:
        async with Session(agent_for(fake)) as session:
            started = time.monotonic()
            result = await session.run("hi")
            took = time.monotonic() - started
            failure = session.workspace.failure
    assert result.status == "error", result
    assert isinstance(failure, SandboxError) and "image not found" in (result.error or "")
    assert took < 3.5, "the failure ends the run as soon as it is known, not after the cleanup"


async def test_a_tool_call_that_waits_for_the_sandbox_says_so_once(daytona: LocalDaytona) -> None:
    daytona.create_delay = 2.0
    events: list = []
    calls = reply(
        tool_call("bash", {"command": "echo one"}), tool_call("bash", {"command": "echo two"})
    )
    with FakeAnthropic([calls, reply(tool_call("bash", {"command": "echo three"})), DONE]) as fake:
        async with Session(agent_for(fake), on_event=events.append) as session:
            result = await session.run("go")
    assert result.ok
    waiting = [m for m in notices(events) if m.startswith("Waiting for the sandbox")]
    assert waiting == ["Waiting for the sandbox (creating…)"], notices(events)
    kinds = [type(e).__name__ for e in events]
    said = next(i for i, e in enumerate(events) if getattr(e, "message", "") == waiting[0])
    assert kinds.index("ToolCallStarted") < said, "said after the call it holds up"


async def test_a_setup_failure_says_which_step_and_does_not_deny_the_model_call(
    daytona: LocalDaytona,
) -> None:
    backend = DaytonaBackend(setup=["echo fine", "sleep 2; echo nope >&2; exit 9"])
    with FakeAnthropic([reply(tool_call("bash", {"command": "ls"}))]) as fake:
        async with Session(agent_for(fake, backend)) as session:
            result = await session.run("go")
    assert result.status == "error" and result.turns == 1 and result.cost_usd > 0
    error = result.error or ""
    assert "did not start" not in error, "the agent did start: its model call was made and billed"
    assert "step setup 2/2: `sleep 2; echo nope >&2; exit 9` exited with code 9" in error
    assert "before any tool ran" in error and "billed" in error


# ---------------------------------------------------------------------- transfers


async def test_an_empty_project_sends_nothing_and_says_so_once(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    (project / ".env").write_text("TOKEN=secret\n")  # skipped: nothing is left to send
    events: list = []
    backend = DaytonaBackend(uploads=[f"{project}:/home/daytona/empty"])
    start = len(daytona.requests)
    with FakeAnthropic([reply(tool_call("bash", {"command": "ls -A"})), DONE]) as fake:
        async with Session(agent_for(fake, backend), on_event=events.append) as session:
            result = await session.run("look")
    assert result.ok and tool_output(fake, 1) == "(no output)"
    said = [m for m in notices(events) if "upload" in m.lower()]
    assert len(said) == 1 and said[0].startswith("Nothing to upload from"), said
    assert "no request sent" in said[0] and "skipped 1 secret file(s): .env" in said[0]
    calls = toolbox_calls(daytona, start)
    assert not [c for c in calls if "/files/bulk-upload" in c], calls
    assert len([c for c in calls if c.endswith("/process/execute")]) == 2, (
        "the working dir and the tool's command; no extract command"
    )


def test_sizes_and_counts_read_one_way() -> None:
    from rho_agent.backends._transfer import format_size, plural

    assert [format_size(n) for n in (0, 512, 1024, 10035, 1000 * 1024, 2.4 * 1024**2)] == [
        "0 B",
        "512 B",
        "1.0 KB",
        "9.8 KB",
        "1000 KB",
        "2.4 MB",
    ]
    assert format_size(1023.99 * 1024) == "1.0 MB", "never 1024 KB"
    assert (plural(1, "file"), plural(12, "file"), plural(1204, "file")) == (
        "1 file",
        "12 files",
        "1,204 files",
    )


async def test_upload_reports_count_and_sizes_in_one_style(
    daytona: LocalDaytona, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rho_agent.backends import _progress

    monkeypatch.setattr(_progress, "PROGRESS_BYTES", 0)  # show the progress bar too
    project = tmp_path / "one"
    project.mkdir()
    (project / "data.bin").write_bytes(os.urandom(10_000))
    events: list = []
    backend = DaytonaBackend(uploads=[f"{project}:/home/daytona/one"])
    with FakeAnthropic([reply(tool_call("bash", {"command": "true"})), DONE]) as fake:
        async with Session(agent_for(fake, backend), on_event=events.append) as session:
            assert (await session.run("go")).ok
    said = [m for m in notices(events) if m.startswith("Uploading")]
    summary, *progress = said
    assert summary.startswith("Uploading 1 file, 9.8 KB, "), summary
    assert re.match(r"Uploading 1 file, 9\.8 KB, to /home/daytona/one$", summary)
    assert progress and all(re.search(r"% of \d+(\.\d)? KB$", line) for line in progress), progress


async def test_a_hung_extraction_is_bounded_and_says_what_hung(
    daytona: LocalDaytona, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rho_agent.backends import _transfer

    monkeypatch.setattr(_transfer, "EXTRACT_MIN_SECONDS", 1.0)
    project = tmp_path / "app"
    project.mkdir()
    (project / "main.py").write_text("print('hi')\n")
    daytona.inject("POST /process/execute", timeout=True, times=1)  # the extract command hangs
    backend = DaytonaBackend(uploads=[f"{project}:/home/daytona/app"])
    with FakeAnthropic([reply(tool_call("bash", {"command": "true"}))]) as fake:
        async with Session(agent_for(fake, backend)) as session:
            started = time.monotonic()
            result = await session.run("go")
    assert time.monotonic() - started < 20, "bounded by the extraction's own timeout"
    error = result.error or ""
    assert result.status == "error" and "Unpacking the upload" in error, error
    assert "hung: `tar -xf /tmp/.rho-upload-" in error and "within its limit of 1s" in error
    assert "(1 file, 12 B, for /home/daytona/app)" in error, error
    print(error)


async def test_an_extraction_killed_by_its_timeout_says_so() -> None:
    from rho_agent.backends._manifest import Manifest, Tree
    from rho_agent.backends._transfer import PackReport, Upload, send

    class Hung:
        unzstd = True
        over_network = True

        def resolve(self, path: str) -> str:
            return path

        async def put_stream(self, chunks, path: str, *, size: int) -> None:
            pass

        async def exec(self, command: str, **kw: object) -> ExecResult:
            self.timeout = kw["timeout"]
            return ExecResult(exit_code=137, output="", timed_out=True)

    report = PackReport(files=3, bytes=50 * 1024**3 // 100, entries=3)
    uploads = [Upload(Path("/nonexistent"), "/work/x")]
    tree = Tree(Path("/nonexistent"), "/work/x", ["a", "b", "c"])
    manifest = Manifest(uploads, trees=[tree], report=report)
    ws = Hung()
    with pytest.raises(SandboxError) as caught:
        await send(ws, manifest)  # type: ignore[arg-type]
    assert ws.timeout == 103.0, "proportional to the size, above the floor"
    message = caught.value.message
    assert "hung" in message and "did not finish within its limit of 103s and was killed" in message
    assert "(3 files, 512 MB, for /work/x)" in message


# ---------------------------------------------------------------------- the CLI's hints and exits


def test_download_error_has_its_own_exit_code() -> None:
    from rho_agent.errors import (
        CancelledRun,
        ConfigError,
        DownloadError,
        MissingCredentialsError,
        RunError,
        SetupError,
    )

    assert issubclass(DownloadError, RunError) and DownloadError.exit_code == 6
    others = (ConfigError, MissingCredentialsError, RunError, SetupError, CancelledRun)
    assert DownloadError.exit_code not in {e.exit_code for e in others}
    assert (
        "6 "
        in Path(__file__)
        .parent.parent.joinpath("docs/daytona.md")
        .read_text()
        .split("## Downloading files")[1]
        .split("##")[0]
    ), "documented with --download"


def test_download_of_a_missing_path_is_not_a_bad_flag(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    from test_daytona_cli import cli

    with FakeAnthropic([DONE]) as fake:
        proc = cli(
            "main", "--backend", "daytona", "--profile", "developer",
            "--download", "/home/daytona/nope.txt:./nope.txt", "go",
            server=daytona, fake=fake, cwd=tmp_path,
        )  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert "/home/daytona/nope.txt does not exist in the workspace" in proc.stderr
    assert "Traceback" not in proc.stderr


def _labelled(**extra: str) -> dict[str, str]:
    from rho_agent.backends.daytona import user_label

    return {"rho-agent": "1", "rho-agent-user": user_label(), **extra}


async def test_sandbox_accepts_a_unique_id_prefix_and_refuses_an_ambiguous_one(
    daytona: LocalDaytona, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types
    import uuid

    from daytona import CreateSandboxFromSnapshotParams, Daytona

    from rho_agent.errors import ConfigError
    from rho_agent.testing.daytona import control

    ids = iter(
        [
            uuid.UUID("abcd1111-0000-4000-8000-000000000000"),
            uuid.UUID("abcd2222-0000-4000-8000-000000000000"),
        ]
    )
    client = Daytona()
    with monkeypatch.context() as patch:  # two sandboxes whose ids start alike
        patch.setattr(control, "uuid", types.SimpleNamespace(uuid4=lambda: next(ids)))
        boxes = [
            client.create(CreateSandboxFromSnapshotParams(labels=_labelled())) for _ in range(2)
        ]
    try:
        with FakeAnthropic([]) as fake:
            session = Session(agent_for(fake, DaytonaBackend(sandbox_id="abcd")))
            with pytest.raises(ConfigError) as ambiguous:
                await session.start()
            await session.close()
        message = ambiguous.value.message
        assert "--sandbox abcd is ambiguous" in message
        assert boxes[0].id in message and boxes[1].id in message

        script = [reply(tool_call("bash", {"command": "hostname"})), DONE]
        with FakeAnthropic(script) as fake:
            async with Session(agent_for(fake, DaytonaBackend(sandbox_id="abcd2"))) as session:
                result = await session.run("where am I")
        assert result.ok and tool_output(fake, 1).strip() == "sandbox-abcd2222"
        assert {b.id for b in daytona.sandboxes()} == {boxes[0].id}, "reattached, then deleted"
    finally:
        for box in boxes:
            try:
                client.delete(box)
            except Exception:
                pass


async def test_the_keep_hint_reattaches_with_the_same_profile_and_working_dir(
    daytona: LocalDaytona,
) -> None:
    from rho_agent.backends import OpenRequest

    said: list[str] = []

    async def notify(message: str) -> None:
        said.append(message)

    backend = DaytonaBackend(keep=True, working_dir="/home/daytona/my app")
    request = OpenRequest(session_id="s-keep", working_dir=None, notify=notify, profile="readonly")
    workspace = await backend.open(request)
    await workspace.ready()
    await workspace.close()
    (box,) = daytona.sandboxes()
    try:
        hint = next(m for m in said if m.startswith("Kept sandbox"))
        assert (
            "Reattach: rho-agent main --backend daytona --profile readonly "
            f"--working-dir '/home/daytona/my app' --sandbox {box.id}" in hint
        ), hint
    finally:
        _daytona.delete_sandbox(daytona, box.id)


def test_cleanup_says_how_many_kept_sandboxes_it_skipped(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    from daytona import CreateSandboxFromSnapshotParams, Daytona
    from test_daytona_cli import cli

    client = Daytona()
    kept = client.create(
        CreateSandboxFromSnapshotParams(labels=_labelled(**{"rho-agent-keep": "1"}))
    )
    try:
        proc = cli("sandboxes", "cleanup", "--older-than", "0", server=daytona, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert "Nothing to clean up; skipped 1 kept sandbox" in proc.stderr, proc.stderr
        assert kept.id in proc.stderr and "--include-kept" in proc.stderr
        assert {b.id for b in daytona.sandboxes()} == {kept.id}
    finally:
        client.delete(kept)
