"""The local backend: commands run as subprocesses here, files are plain files.

Every command gets its own process group so a timeout or a cancel kills everything it
started, and an environment without credentials (`scrubbed_environ`) unless the user
passed a variable through on purpose. A workspace opened for a session runs every
command in the OS sandbox its profile's `Confinement` asks for (`rho_agent.sandbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from rho_agent._util import scrubbed_environ
from rho_agent.backends._registry import BackendPlugin
from rho_agent.backends._request import OpenRequest
from rho_agent.backends._types import ExecResult, Notify, NotRegularFileError, special_file_kind
from rho_agent.backends._workspace import Workspace
from rho_agent.errors import ConfigError
from rho_agent.sandbox import UNCONFINED, Confinement, Sandbox, WriteScope, allowed_env
from rho_agent.sandbox._credentials import hidden_by
from rho_agent.sandbox._git_guard import guarded_by

#: Bytes of output kept from the start and from the end of one command; the middle of
#: anything larger is dropped (and said so) so a runaway command cannot eat the memory.
KEEP_HEAD_BYTES = 4 * 1024 * 1024
KEEP_TAIL_BYTES = 4 * 1024 * 1024
#: Bytes a file read asks for at a time; a cancelled read stops between two of them.
READ_CHUNK_BYTES = 1024 * 1024

T = TypeVar("T")


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


@dataclass
class LocalBackend:
    """Tools act on this machine, in the working directory (default: the current one)."""

    name: str = field(default="local", init=False)
    #: Environment variables set for every command the tools run.
    env: dict[str, str] = field(default_factory=dict)

    async def open(self, request: OpenRequest) -> LocalWorkspace:
        """The workspace of one session: `request.working_dir` (it must exist), confined."""
        working_dir = Path(request.working_dir or ".").expanduser().resolve()
        if not working_dir.is_dir():
            raise ConfigError(f"Working directory does not exist: {working_dir}")
        return LocalWorkspace(
            working_dir,
            env=self.env,
            passthrough_env=list(request.passthrough_env),
            confinement=request.confinement,
            notify=request.notify,
        )


#: The built-in `local` backend, as the registry finds it.
PLUGIN = BackendPlugin("local", LocalBackend, description="Tools act on this machine.")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class LocalWorkspace(Workspace):
    """Files and a shell on this machine, rooted at `working_dir`."""

    kind = "local"
    over_network = False
    #: Seconds to wait for the output pipe to close after the command itself exited,
    #: before its leftover background processes (still holding the pipe) are killed.
    drain_timeout: float = 2.0

    def __init__(
        self,
        working_dir: str | os.PathLike[str],
        *,
        env: dict[str, str] | None = None,
        passthrough_env: list[str] | tuple[str, ...] = (),
        confinement: Confinement = UNCONFINED,
        notify: Notify | None = None,
    ) -> None:
        self.working_dir = os.path.abspath(os.fspath(working_dir))
        self.env = dict(env or {})
        self.passthrough_env = tuple(passthrough_env)
        self.sandbox = Sandbox(confinement, self.working_dir, notify)

    def __repr__(self) -> str:
        return f"LocalWorkspace({self.working_dir!r})"

    def _environ(self, env: dict[str, str] | None) -> dict[str, str]:
        merged = scrubbed_environ(self.passthrough_env)
        if self.sandbox.confinement.clear_env:
            # Only an allowlist, plus what the user passed through on purpose: nothing
            # inherited (BASH_ENV, GIT_EXTERNAL_DIFF, LD_PRELOAD...) makes a program load code.
            passed = {k: v for k, v in merged.items() if k in self.passthrough_env}
            merged = {**allowed_env(merged), **passed}
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
        confined: bool = True,
    ) -> ExecResult:
        cwd = self.resolve(cwd) if cwd else self.working_dir
        if not os.path.isdir(cwd):
            return ExecResult(exit_code=1, output=f"bash: cd: {cwd}: No such directory")
        # Found on our own PATH, so a workspace PATH without bash still runs commands.
        bash = shutil.which("bash") or "/bin/bash"
        argv: list[str] = [bash, "-c", command]
        fds: tuple[int, ...] = ()
        if confined:
            await self.sandbox.prepare()  # SandboxUnavailable when the profile requires one
            argv, fds = self.sandbox.wrap(argv, cwd)
        loop = asyncio.get_running_loop()
        try:
            transport, proto = await loop.subprocess_exec(
                lambda: _Collector(loop),
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=self._environ(env),
                start_new_session=True,
                pass_fds=fds,
            )
        finally:
            for fd in fds:  # the child has its copy
                os.close(fd)
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

    async def close(self) -> None:
        self.sandbox.close()

    async def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        stop = threading.Event()
        try:
            return await _off_loop(_read_regular, self._visible(path), limit, stop)
        finally:
            stop.set()  # a cancelled read ends at its next chunk

    async def get_stream(self, path: str) -> AsyncIterator[bytes]:
        """The file in chunks read off the loop: a download holds a chunk in memory, not the
        whole file."""
        fd = await _off_loop(_open_regular, self._visible(path))
        try:
            while chunk := await _off_loop(os.read, fd, READ_CHUNK_BYTES):
                yield chunk
        finally:
            os.close(fd)

    async def real_path(self, path: str) -> str:
        resolved = self._visible(path)
        return await _off_loop(lambda: os.path.realpath(resolved))

    async def write_bytes(self, path: str, data: bytes) -> None:
        target = self._visible(path)
        confinement = self.sandbox.confinement
        if confinement.enabled and confinement.writes is not WriteScope.anywhere:
            place = guarded_by(target, self.working_dir)
            if place is not None:
                raise PermissionError(
                    errno.EACCES,
                    f"protected from the agent: {place} holds what git runs as you "
                    "(hooks, config); only the unrestricted profile may change it",
                    target,
                )
        await asyncio.to_thread(_atomic_write, target, data)

    def _visible(self, path: str) -> str:
        """`path` resolved; PermissionError where the sandbox hides credentials, so the file
        tools see what commands see."""
        resolved = self.resolve(path)
        place = hidden_by(resolved, self.sandbox.confinement.hidden)
        if place is not None:
            raise PermissionError(
                errno.EACCES,
                f"hidden from the agent: {place} holds credentials (only the unrestricted "
                "profile reaches them)",
                resolved,
            )
        return resolved

    async def put_stream(
        self, chunks: Callable[[], AsyncIterator[bytes]], path: str, *, size: int
    ) -> None:
        """Written as the chunks come (an upload's staging file: no copy held in memory)."""
        target = Path(self.resolve(path))
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        with open(target, "wb") as f:
            async for chunk in chunks():
                await asyncio.to_thread(f.write, chunk)


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


def _open_regular(path: str) -> int:
    """A descriptor of the regular file at `path`, refusing anything else before reading: a
    FIFO would block, a device may never end."""
    _require_regular(os.stat(path).st_mode, path)  # before opening: opening can have effects
    # O_NONBLOCK: should a FIFO have replaced the file since the stat, opening it cannot hang.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _require_regular(os.fstat(fd).st_mode, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_regular(path: str, limit: int | None, stop: threading.Event) -> bytes:
    """The first `limit` bytes (or all) of the regular file at `path` (`_open_regular`)."""
    fd = _open_regular(path)
    try:
        chunks: list[bytes] = []
        left = sys.maxsize if limit is None else limit
        while left > 0 and not stop.is_set():
            chunk = os.read(fd, min(left, READ_CHUNK_BYTES))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _require_regular(mode: int, path: str) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(path, special_file_kind(mode))


async def _off_loop(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` in a daemon thread of its own. Unlike `asyncio.to_thread`, a call stuck in
    the kernel (a hung network filesystem) then holds up neither a cancel, the event loop's
    shutdown nor the interpreter's exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="rho-agent-file", daemon=True).start()
    return await future
