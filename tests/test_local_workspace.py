"""LocalWorkspace: real subprocesses, real files."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

import pytest

from rho_agent.backends import LocalWorkspace
from rho_agent.backends._local import KEEP_HEAD_BYTES


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for a reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_exec_merges_output_and_reports_exit_code(workspace: LocalWorkspace) -> None:
    result = await workspace.exec("echo out; echo err >&2; echo more; exit 3")
    assert result.output == "out\nerr\nmore\n"
    assert result.exit_code == 3
    assert not result.timed_out


async def test_exec_runs_in_working_dir_or_cwd(workspace: LocalWorkspace, workdir: Path) -> None:
    (workdir / "sub").mkdir()
    assert (await workspace.exec("pwd")).output.strip() == str(workdir)
    assert (await workspace.exec("pwd", cwd="sub")).output.strip() == str(workdir / "sub")


async def test_exec_in_missing_directory_is_a_failed_result(workspace: LocalWorkspace) -> None:
    result = await workspace.exec("pwd", cwd="nope")
    assert result.exit_code != 0
    assert "nope" in result.output


async def test_stdin_is_empty(workspace: LocalWorkspace) -> None:
    result = await workspace.exec('read -r line; echo "status=$?"', timeout=5)
    assert result.output == "status=1\n"


async def test_invalid_utf8_is_replaced(workspace: LocalWorkspace) -> None:
    result = await workspace.exec(r"printf 'a\xffb\n'")
    assert result.output == "a\ufffdb\n"


async def test_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    monkeypatch.setenv("FOO_TOKEN", "tok-secret")
    monkeypatch.setenv("X_API_KEY", "x-secret")
    monkeypatch.setenv("PLAIN_SETTING", "visible")
    ws = LocalWorkspace(workdir, env={"WS_VAR": "ws"}, passthrough_env=["X_API_KEY"])
    output = (await ws.exec("env", env={"CALL_VAR": "call"})).output
    assert "sk-secret" not in output
    assert "tok-secret" not in output
    assert "X_API_KEY=x-secret" in output
    assert "PLAIN_SETTING=visible" in output
    assert "WS_VAR=ws" in output
    assert "CALL_VAR=call" in output


async def test_call_env_overrides_workspace_env(workdir: Path) -> None:
    ws = LocalWorkspace(workdir, env={"V": "workspace"})
    assert (await ws.exec('echo "$V"', env={"V": "call"})).output == "call\n"


async def test_timeout_kills_the_whole_process_group(workspace: LocalWorkspace) -> None:
    started = time.monotonic()
    result = await workspace.exec("sleep 60 & echo $!; sleep 60", timeout=0.5)
    assert time.monotonic() - started < 10
    assert result.timed_out
    assert result.exit_code == 128 + 9
    child = int(result.output.split()[0])
    assert await gone(child)


async def test_cancel_kills_the_process_group(workspace: LocalWorkspace, workdir: Path) -> None:
    pidfile = workdir / "pid"
    task = asyncio.create_task(workspace.exec(f"sleep 60 & echo $! > {pidfile}; wait"))
    for _ in range(100):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.05)
    child = int(pidfile.read_text())
    assert alive(child)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await gone(child)


async def test_background_child_holding_the_pipe_does_not_hang(workdir: Path) -> None:
    ws = LocalWorkspace(workdir)
    ws.drain_timeout = 0.3
    started = time.monotonic()
    result = await ws.exec("sleep 100 & echo $!; echo done")
    assert time.monotonic() - started < 5
    assert result.exit_code == 0
    pid, done = result.output.split()
    assert done == "done"
    assert await gone(int(pid))


async def test_background_child_with_redirected_output_survives(workspace: LocalWorkspace) -> None:
    started = time.monotonic()
    result = await workspace.exec("sleep 30 > /dev/null 2>&1 & echo $!")
    assert time.monotonic() - started < 1.5  # no drain wait: nothing holds the pipe
    pid = int(result.output)
    try:
        assert alive(pid)
    finally:
        os.kill(pid, 9)


async def test_huge_output_keeps_head_and_tail(workspace: LocalWorkspace) -> None:
    total = 3 * KEEP_HEAD_BYTES
    result = await workspace.exec(
        f"echo START; head -c {total} /dev/zero | tr '\\0' x; echo; echo END"
    )
    assert result.output.startswith("START\n")
    assert result.output.endswith("END\n")
    expected = len("START\n") + total + len("\nEND\n")
    assert f"{expected:,} bytes in total" in result.output
    assert len(result.output) < 2 * KEEP_HEAD_BYTES + 1000


async def test_read_and_write_bytes(workspace: LocalWorkspace, workdir: Path) -> None:
    await workspace.write_bytes("deep/dir/f.bin", b"\x00\x01data")
    assert (workdir / "deep/dir/f.bin").read_bytes() == b"\x00\x01data"
    assert await workspace.read_bytes(str(workdir / "deep/dir/f.bin")) == b"\x00\x01data"
    with pytest.raises(FileNotFoundError):
        await workspace.read_bytes("missing")
    with pytest.raises(IsADirectoryError):
        await workspace.read_bytes("deep")


async def test_write_is_atomic_and_keeps_the_mode(workspace: LocalWorkspace, workdir: Path) -> None:
    script = workdir / "run.sh"
    script.write_text("old")
    script.chmod(0o750)
    await workspace.write_bytes("run.sh", b"new")
    assert script.read_text() == "new"
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert sorted(p.name for p in workdir.iterdir()) == ["run.sh"]  # no temp file left


async def test_new_file_gets_the_umask_mode(workspace: LocalWorkspace, workdir: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    await workspace.write_bytes("new.txt", b"x")
    assert stat.S_IMODE((workdir / "new.txt").stat().st_mode) == 0o666 & ~umask


async def test_write_through_a_symlink_keeps_the_link(
    workspace: LocalWorkspace, workdir: Path
) -> None:
    (workdir / "target.txt").write_text("old")
    (workdir / "link.txt").symlink_to("target.txt")
    await workspace.write_bytes("link.txt", b"new")
    assert (workdir / "link.txt").is_symlink()
    assert (workdir / "target.txt").read_text() == "new"


async def test_write_to_a_directory_fails_cleanly(workspace: LocalWorkspace, workdir: Path) -> None:
    (workdir / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        await workspace.write_bytes("d", b"x")
    assert list((workdir / "d").iterdir()) == []
    assert sorted(p.name for p in workdir.iterdir()) == ["d"]


_DOWNLOAD_CHILD = r"""
import asyncio, json, resource, sys
from rho_agent.backends import LocalWorkspace

async def main(work, back):
    ws = LocalWorkspace(work)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    await ws.download("big.bin", back)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"grew_kb": after - before}))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_a_big_download_on_the_local_backend_is_streamed_not_held(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    work = tmp_path / "work"
    work.mkdir()
    size = 200 * 1024 * 1024
    with open(work / "big.bin", "wb") as f:
        for _ in range(size // (1 << 20)):
            f.write(os.urandom(1 << 20))
    child = subprocess.run(
        [sys.executable, "-c", _DOWNLOAD_CHILD, str(work), str(tmp_path / "back.bin")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    grew_kb = json.loads(child.stdout.strip().splitlines()[-1])["grew_kb"]
    assert (tmp_path / "back.bin").stat().st_size == size
    assert grew_kb < 64 * 1024, f"peak RSS grew by {grew_kb // 1024} MB"


async def test_a_process_whose_output_nobody_reads_is_reaped() -> None:
    """A download stopped halfway (a refused bomb, a cancel) stops reading its `zstd -d`: the
    pipe's reader fills and pauses, and waiting for the killed process used to hang, as
    Python waits for its pipes to close too."""
    from rho_agent.backends._tarpipe import reap

    process = await asyncio.create_subprocess_exec(
        "yes", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    await process.stdout.read(1)
    await asyncio.sleep(0.3)  # its output fills the reader's buffer, which then pauses
    await asyncio.wait_for(reap(process), 30)  # a guard against a hang, not a timing
    assert process.returncode is not None
