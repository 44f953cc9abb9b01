"""The local workspace: commands run as subprocesses here, files are plain files.

Every command gets its own process group so a timeout or a cancel kills everything it
started, and an environment without credentials (`scrubbed_environ`) unless the user
passed a variable through on purpose.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import stat
import subprocess
from pathlib import Path

from rho_agent._util import scrubbed_environ
from rho_agent.backends.base import ExecResult, Workspace

#: Bytes of output kept from the start and from the end of one command; the middle of
#: anything larger is dropped (and said so) so a runaway command cannot eat the memory.
KEEP_HEAD_BYTES = 4 * 1024 * 1024
KEEP_TAIL_BYTES = 4 * 1024 * 1024


class _Collector(asyncio.SubprocessProtocol):
    """Gathers merged output (head and tail) and signals exit and end of output separately.

    `Process.wait()` from asyncio waits for the pipes to close as well as for the process
    to exit, so a background child holding the pipe (`sleep 100 &`) would block it; this
    protocol lets `exec` see the exit first and drain the pipe for a bounded time.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.exited: asyncio.Future[None] = loop.create_future()
        self.eof: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.total += len(data)
        room = KEEP_HEAD_BYTES - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * KEEP_TAIL_BYTES:
                del self.tail[: len(self.tail) - KEEP_TAIL_BYTES]

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if not self.eof.done():
            self.eof.set_result(None)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def output(self) -> str:
        tail = self.tail[-KEEP_TAIL_BYTES:]
        dropped = self.total - len(self.head) - len(tail)
        if dropped <= 0:
            return (self.head + tail).decode("utf-8", errors="replace")
        marker = (
            f"\n[... {dropped:,} bytes of output dropped by the workspace "
            f"({self.total:,} bytes in total) ...]\n"
        )
        head = self.head.decode("utf-8", errors="replace")
        return head + marker + tail.decode("utf-8", errors="replace")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class LocalWorkspace(Workspace):
    """Files and a shell on this machine, rooted at `working_dir`."""

    kind = "local"
    #: Seconds to wait for the output pipe to close after the command itself exited,
    #: before its leftover background processes (still holding the pipe) are killed.
    drain_timeout: float = 2.0

    def __init__(
        self,
        working_dir: str | os.PathLike[str],
        *,
        env: dict[str, str] | None = None,
        passthrough_env: list[str] | tuple[str, ...] = (),
    ) -> None:
        self.working_dir = os.path.abspath(os.fspath(working_dir))
        self.env = dict(env or {})
        self.passthrough_env = tuple(passthrough_env)

    def __repr__(self) -> str:
        return f"LocalWorkspace({self.working_dir!r})"

    def _environ(self, env: dict[str, str] | None) -> dict[str, str]:
        merged = scrubbed_environ(self.passthrough_env)
        merged.update(self.env)
        merged.update(env or {})
        return merged

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        cwd = self.resolve(cwd) if cwd else self.working_dir
        if not os.path.isdir(cwd):
            return ExecResult(exit_code=1, output=f"bash: cd: {cwd}: No such directory")
        # Found on our own PATH, so a workspace PATH without bash still runs commands.
        bash = shutil.which("bash") or "/bin/bash"
        loop = asyncio.get_running_loop()
        transport, proto = await loop.subprocess_exec(
            lambda: _Collector(loop),
            bash,
            "-c",
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=self._environ(env),
            start_new_session=True,
        )
        pgid = transport.get_pid()  # the leader of its own new session and group
        timed_out = False
        try:
            try:
                await asyncio.wait_for(asyncio.shield(proto.exited), timeout)
            except TimeoutError:
                timed_out = True
                _kill_group(pgid)
                await proto.exited
            try:
                await asyncio.wait_for(asyncio.shield(proto.eof), self.drain_timeout)
            except TimeoutError:
                # Background processes still hold the pipe: they go with the command.
                _kill_group(pgid)
                try:
                    await asyncio.wait_for(asyncio.shield(proto.eof), 1.0)
                except TimeoutError:
                    pass  # something left the group (setsid); stop listening to it
        except asyncio.CancelledError:
            _kill_group(pgid)
            try:
                await asyncio.wait_for(asyncio.shield(proto.exited), 5.0)
            except (TimeoutError, asyncio.CancelledError):
                pass
            raise
        finally:
            transport.close()
        code = transport.get_returncode()
        assert code is not None
        if code < 0:  # killed by a signal: report it the way a shell does
            code = 128 - code
        return ExecResult(exit_code=code, output=proto.output(), timed_out=timed_out)

    async def read_bytes(self, path: str) -> bytes:
        return await asyncio.to_thread(Path(self.resolve(path)).read_bytes)

    async def write_bytes(self, path: str, data: bytes) -> None:
        await asyncio.to_thread(_atomic_write, self.resolve(path), data)


def _atomic_write(path: str, data: bytes) -> None:
    """Write via a temp file in the same directory and `os.replace`, keeping the old mode.

    A symlink is written through (its target is replaced), not replaced by a file.
    """
    path = os.path.realpath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    if os.path.isdir(path):
        raise IsADirectoryError(f"Is a directory: {path!r}")
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{secrets.token_hex(4)}.tmp")
    # 0o666 minus the umask, like any new file; an existing file's mode is restored below.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
