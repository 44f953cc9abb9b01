"""`DaytonaWorkspace`: the Workspace primitives over the Daytona SDK's `AsyncDaytona`.

    open() ──► provisioning task (RemoteWorkspace): connect ─► create ─► upload ─► uv? ─► setup
                  ▲ exec / read_bytes / write_bytes / get_sandbox() wait for it
    close() ─► cancel provisioning if still running ─► delete the sandbox (unless keep)

Each primitive is one toolbox request: `exec` → POST /process/execute, `read_bytes` → one streamed
bulk-download, `write_bytes` → one bulk-upload. Gateway errors (429/502/503/504) are retried
for every call; other 5xx and dropped connections only for calls that are safe to repeat
(everything but `exec`). A sandbox that stopped while idle is started again once; one that
died is reported as such. All of that, and creating and deleting the sandbox, is the
`Lifecycle` this workspace holds (`_lifecycle.py`); every SDK call goes through its `call()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import math
import shlex
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from rho_agent.backends._manifest import Manifest, scan
from rho_agent.backends._remote import RemoteWorkspace
from rho_agent.backends._transfer import send
from rho_agent.backends._types import ExecResult, Notify, NotRegularFileError
from rho_agent.backends.daytona._errors import state_of, status_of
from rho_agent.backends.daytona._lifecycle import Lifecycle
from rho_agent.backends.daytona._plan import LABEL, Plan
from rho_agent.backends.daytona._setup import SetupShell, uv_script
from rho_agent.errors import RhoError, SandboxError
from rho_agent.sandbox import UNCONFINED, Confinement
from rho_agent.sandbox import remote as remote_sandbox

#: Seconds a file download may stay silent before `read_bytes` asks what the path is: the
#: daemon opens whatever it is asked for, and opening a FIFO blocks it without an answer.
STALL_SECONDS = 2.0
#: `FileMode.String()` letters (the daemon is written in Go) of files that are not regular.
_GO_SPECIAL_LETTERS = (
    ("p", "named pipe (FIFO)"),
    ("S", "socket"),
    ("c", "character device"),  # Go marks a character device "Dc"
    ("D", "block device"),
    ("?", "special file"),
)


class DaytonaWorkspace(RemoteWorkspace):
    kind = "daytona"

    def __init__(
        self,
        plan: Plan,
        *,
        notify: Notify | None = None,
        confinement: Confinement = UNCONFINED,
    ) -> None:
        super().__init__(notify=notify)
        self.plan = plan
        #: What the session's profile lets a tool's command do inside the sandbox.
        self.confinement = confinement
        self._warned_unconfined = False
        self.working_dir = plan.working_dir
        self.life = Lifecycle(plan, self._notify)

    @property
    def sandbox(self) -> Any:
        """The SDK's `AsyncSandbox` once created (what `Session.get_sandbox()` returns)."""
        return self.life.sandbox

    @property
    def client(self) -> Any:
        """The SDK's `AsyncDaytona`, made when provisioning starts."""
        return self.life.client

    def __repr__(self) -> str:
        state = self.sandbox.id if self.sandbox is not None else "provisioning"
        return f"DaytonaWorkspace(sandbox={state!r}, working_dir={self.working_dir!r})"

    # ------------------------------------------------------------------ lifecycle

    async def attach(self, sandbox_id: str) -> None:
        """Use an existing sandbox (`--sandbox ID`) instead of creating one."""
        sandbox = await self.life.attach(sandbox_id)
        label = (sandbox.labels or {}).get("rho-agent-working-dir")
        if not self.plan.fixed_working_dir and label:
            self.working_dir = label

    async def get_sandbox(self) -> Any:
        """The SDK's `AsyncSandbox` (waits for provisioning)."""
        await self.wait_ready()
        return self.sandbox

    @property
    def kept(self) -> bool:
        """Whether closing leaves the sandbox (`keep=True`, or `keep()` since)."""
        return self.plan.keep

    async def keep(self) -> str:
        """Keep the running sandbox when the session ends, as `keep=True` would have: the
        keep label (`rho-agent sandboxes cleanup` spares it), auto-delete off, and closing
        leaves it and says how to reattach. Returns its id."""
        sandbox = await self.get_sandbox()
        if self.kept:
            return sandbox.id
        label = {f"{LABEL}-keep": "1"}
        labels = {**(sandbox.labels or {}), **label}
        await self.life.call(
            f"label sandbox {sandbox.id} as kept",
            lambda: sandbox.set_labels(labels),
            idempotent=True,
        )
        await self.life.call(
            f"turn off auto-delete of sandbox {sandbox.id}",
            lambda: sandbox.set_auto_delete_interval(-1),
            idempotent=True,
        )
        # the workspace and its lifecycle's close (`release`) both read the plan
        self.plan = self.life.plan = dataclasses.replace(
            self.plan, keep=True, labels={**self.plan.labels, **label}
        )
        return sandbox.id

    async def _provision(self) -> None:
        """connect ─► create (or start a stopped one) ─► send the archive packed meanwhile ─►
        make working_dir ─► install uv if asked ─► setup commands, streamed. A failure
        deletes what was created (unless keep) and becomes `failure`."""
        plan, life = self.plan, self.life
        scanning: asyncio.Future[Manifest] | None = None
        if plan.uploads:  # walked while the sandbox is being created
            scanning = asyncio.ensure_future(asyncio.to_thread(scan, plan.uploads))
        try:
            self.phase = "creating"
            await life.connect()
            if life.sandbox is None:
                await life.create()
            elif state_of(life.sandbox) != "started":
                self.phase = "starting"
                await self._notify(
                    f"Starting sandbox {life.sandbox.id} ({state_of(life.sandbox)})…"
                )
                await life.start_again()
            manifest = await scanning if scanning is not None else None
            if manifest is not None and not manifest.report.empty:
                self.phase = "uploading"  # the working dir is made by the unpacking command
                await send(self, manifest, notify=self._notify, make_dirs=[self.working_dir])
            else:
                if manifest is not None:
                    await send(self, manifest, notify=self._notify)  # says nothing is sent
                self.phase = "making the working directory"
                await self._make_working_dir()
            shell = SetupShell(life, self.working_dir, self._notify)
            steps = [("install uv", uv_script(plan.uv_version), "uv")] if plan.needs_uv else []
            steps += [(c, c, f"setup {i}/{len(plan.setup)}") for i, c in enumerate(plan.setup, 1)]
            for title, command, label in steps:
                self.phase = "installing uv" if label == "uv" else f"running {label}"
                await shell.run(title, command, label=label)
        except BaseException as exc:
            if scanning is not None:
                scanning.cancel()
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
            error = (
                exc
                if isinstance(exc, RhoError)
                else SandboxError(f"Setting up the sandbox failed: {exc}")
            )
            self._fail(error)  # known at once; deleting the sandbox comes after
            await life.discard_after_failure()
            if error is exc:
                raise
            raise error from exc

    async def _make_working_dir(self) -> None:
        q = shlex.quote(self.working_dir)
        result = await self.exec(
            f"[ -d {q} ] || mkdir -p {q} 2>/dev/null || "
            f'{{ sudo -n mkdir -p {q} && sudo -n chown "$(id -u):$(id -g)" {q}; }}',
            cwd="/",
            timeout=60,
            confined=False,
        )
        if result.exit_code != 0:
            raise SandboxError(
                f"Could not create the working directory {self.working_dir}: {result.output.strip()}"
            )

    async def _teardown(self) -> None:
        await self.life.release()

    # ------------------------------------------------------------------ primitives

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        confined: bool = True,
    ) -> ExecResult:
        await self.wait_ready()
        from daytona.common.errors import DaytonaProcessExecutionTimeoutError

        cwd = self.resolve(cwd) if cwd else self.working_dir
        limit = float(timeout) if timeout else self.plan.request_timeout
        seconds = max(1, math.ceil(limit))
        cancel_flag = f"/tmp/.rho-agent-cancel-{uuid.uuid4().hex}"
        confine = ""
        if confined and remote_sandbox.needs_confinement(self.confinement):
            confine = remote_sandbox.script_prefix(self.confinement, self.working_dir, cwd)
        script = _wrap(command, cwd, seconds, cancel_flag, confine)
        sandbox = self.sandbox
        started = time.monotonic()
        try:
            response = await self.life.call(
                "run a command",
                lambda: sandbox.process.exec(script, env=env or None, timeout=seconds + 5),
                idempotent=False,
                timeout=seconds + 20,
            )
        except DaytonaProcessExecutionTimeoutError:  # the daemon's own limit (our safety net)
            return ExecResult(exit_code=137, output="", timed_out=True)
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel_remote(sandbox, cancel_flag))
            raise
        code = response.exit_code if response.exit_code is not None else 1
        timed_out = code == 137 and time.monotonic() - started >= limit - 0.5
        output = await self._unless_unconfined(response.result or "")
        return ExecResult(exit_code=code, output=output, timed_out=timed_out)

    async def _unless_unconfined(self, output: str) -> str:
        """Strip the remote script's "ran unconfined" line, warning once per session."""
        mark = remote_sandbox.NO_SANDBOX_MARK
        if not output.startswith(mark):
            return output
        line, _, rest = output.partition("\n")
        if not self._warned_unconfined:
            self._warned_unconfined = True
            reason = line[len(mark) :].strip()
            await self._notify(f"WARNING: {reason}.")
        return rest

    async def _cancel_remote(self, sandbox: Any, cancel_flag: str) -> None:
        """Best effort: make the abandoned command's watcher kill it (one short exec)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                sandbox.process.exec(f"touch {shlex.quote(cancel_flag)}", timeout=5), 10
            )

    async def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        await self.wait_ready()
        path = self.resolve(path)
        seconds = math.ceil(self.plan.request_timeout)
        return await self.life.call(
            f"read {path}",
            lambda: self._read_head(path, limit, seconds),
            idempotent=True,
            path=path,
        )

    async def _read_head(self, path: str, limit: int | None, seconds: int) -> bytes:
        """One streamed download, closed once it has `limit` bytes. The daemon opens whatever
        it is asked for (opening a FIFO blocks it), so a download that stays silent for
        STALL_SECONDS, or fails, is followed by one `get_file_info` that refuses what is not
        a regular file."""
        from daytona.common.errors import DaytonaError

        download = asyncio.ensure_future(_download_head(self.sandbox.fs, path, limit, seconds))
        try:
            done, _ = await asyncio.wait({download}, timeout=STALL_SECONDS)
            if not done:
                await self._regular_file_info(path)
            return await download
        except DaytonaError as exc:
            if status_of(exc) not in (None, 400):
                raise
            info = await self._regular_file_info(path)
            if info is not None and info.size == 0:
                return b""  # the SDK's stream takes an empty file for a failure
            raise
        finally:
            await _stop(download)

    async def _regular_file_info(self, path: str) -> Any:
        """The SDK's FileInfo for `path` (None if it cannot be had); raises NotRegularFileError,
        IsADirectoryError or FileNotFoundError if it is not a regular file."""
        from daytona.common.errors import DaytonaError, DaytonaNotFoundError

        try:
            info = await asyncio.wait_for(
                self.sandbox.fs.get_file_info(path), self.plan.request_timeout
            )
        except DaytonaNotFoundError:  # a daemon whose download error says only "invalid"
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path) from None
        except (DaytonaError, TimeoutError):
            return None
        kind = _special_kind(str(info.mode or ""))
        if kind is not None:
            raise NotRegularFileError(path, kind)
        if info.is_dir:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        return info

    async def real_path(self, path: str) -> str:
        """One exec of `realpath -m` (`readlink -m` where only that exists); the normalised
        path if neither works. Unconfined: an OS sandbox may hide what a link points to."""
        path = self.resolve(path)
        q = shlex.quote(path)
        result = await self.exec(
            f"realpath -m -- {q} 2>/dev/null || readlink -m -- {q}", cwd="/", confined=False
        )
        real = result.output.removesuffix("\n")
        return real if result.exit_code == 0 and real.startswith("/") else path

    async def write_bytes(self, path: str, data: bytes) -> None:
        await self.wait_ready()
        path = self.resolve(path)
        seconds = math.ceil(self.plan.request_timeout)
        await self.life.call(
            f"write {path}",
            lambda: self.sandbox.fs.upload_file(data, path, seconds),
            idempotent=True,
            path=path,
        )

    async def put_stream(
        self, chunks: Callable[[], AsyncIterator[bytes]], path: str, *, size: int
    ) -> None:
        """One streamed bulk-upload request; a retry starts `chunks()` afresh."""
        await self.wait_ready()
        seconds = math.ceil(max(self.plan.request_timeout, size / (512 * 1024)))
        fs = self.sandbox.fs
        await self.life.call(
            f"upload {path}",
            lambda: fs.upload_file_stream(chunks(), path, timeout=seconds),
            idempotent=True,
            timeout=seconds + 15,
        )

    async def put_files(self, files: list[tuple[Path, str]], *, size: int) -> None:
        """One bulk-upload request for all of them, each file streamed from disk."""
        from daytona import FileUpload

        await self.wait_ready()
        seconds = math.ceil(max(self.plan.request_timeout, size / (512 * 1024)))
        fs = self.sandbox.fs
        uploads = [FileUpload(source=str(local), destination=path) for local, path in files]
        await self.life.call(
            f"upload {', '.join(local.name for local, _ in files)}",
            lambda: fs.upload_files(uploads, timeout=seconds),
            idempotent=True,
            timeout=seconds + 15,
        )

    async def get_stream(self, path: str) -> AsyncIterator[bytes]:
        """One streamed download (a failure to start it is translated like any call)."""
        await self.wait_ready()
        seconds = math.ceil(max(self.plan.request_timeout, 600))
        fs = self.sandbox.fs
        stream = await self.life.call(
            f"download {path}",
            lambda: fs.download_file_stream(path, timeout=seconds),
            idempotent=True,
            path=path,
        )
        from daytona.common.errors import DaytonaError

        try:
            async for chunk in stream:
                yield chunk
        except DaytonaError as exc:
            raise SandboxError(f"Downloading {path} failed: {exc}") from exc


# ---------------------------------------------------------------------- helpers


def _wrap(command: str, cwd: str, seconds: int, cancel_flag: str, confine: str = "") -> str:
    """The script sent to the daemon's shell: cd, then `bash -c` under `timeout -s KILL`
    (which kills the whole process group, like the local workspace), stdin empty.

    A watcher kills that process group when `cancel_flag` appears: the daemon does not
    stop a command when its HTTP request is abandoned, so a cancelled call touches the
    flag with a second, short exec (see `DaytonaWorkspace._cancel_remote`).

    `confine` (from `rho_agent.sandbox.remote`) sets "$@" to the OS sandbox's command prefix."""
    q = shlex.quote
    return (
        f"cd -- {q(cwd)} 2>/dev/null || {{ echo {q(f'bash: cd: {cwd}: No such directory')}; exit 1; }}\n"
        f"set --\n{confine}"
        f'if command -v timeout >/dev/null 2>&1; then timeout -s KILL {seconds} "$@" bash -c {q(command)} </dev/null &\n'
        f'else setsid "$@" bash -c {q(command)} </dev/null & fi\n'
        "pid=$!\n"
        f"( while [ ! -e {q(cancel_flag)} ]; do sleep 0.2; done; rm -f {q(cancel_flag)}; "
        "kill -KILL -- -$pid 2>/dev/null || kill -KILL $pid ) >/dev/null 2>&1 </dev/null &\n"
        "watcher=$!\n"
        "wait $pid 2>/dev/null; rc=$?\n"  # no "Killed" job notice in the output
        "kill $watcher 2>/dev/null\n"
        "exit $rc\n"
    )


async def _download_head(fs: Any, path: str, limit: int | None, seconds: int) -> bytes:
    """The first `limit` bytes (or all) of `path`, streamed. Leaving the stream early closes
    the connection, so the rest is never sent. The SDK does not translate errors raised while
    streaming: they become DaytonaErrors here, for `Lifecycle.call` to retry or report. `seconds` bounds
    the whole download here: the SDK's own `timeout` does not stop a stream that goes silent."""
    import aiohttp
    from daytona.common.errors import (
        DaytonaConnectionError,
        DaytonaConnectionTimeoutError,
        create_daytona_error,
    )

    data = bytearray()
    try:
        async with asyncio.timeout(seconds):
            stream = await fs.download_file_stream(path, timeout=seconds)
            try:
                async for chunk in stream:
                    data += chunk
                    if limit is not None and len(data) >= limit:
                        break
            finally:
                await stream.aclose()
    except aiohttp.ClientResponseError as exc:
        message = f"Failed to download file: {exc.message}"
        raise create_daytona_error(message, status_code=exc.status) from exc
    except aiohttp.ClientError as exc:
        raise DaytonaConnectionError(f"Failed to download file: {exc}") from exc
    except TimeoutError as exc:  # `seconds` passed
        raise DaytonaConnectionTimeoutError(f"Failed to download file: {path} timed out") from exc
    return bytes(data[:limit])


async def _stop(task: asyncio.Future[Any]) -> None:
    """Cancel `task` and wait until it has ended, its outcome taken (no "never retrieved")."""
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()


def _special_kind(mode: str) -> str | None:
    """What a Go-style mode string ("prw-r--r--", "Dcrw-rw-rw-") says a non-regular file is."""
    letters = mode[:-9]  # the type letters before rwxrwxrwx
    return next((kind for letter, kind in _GO_SPECIAL_LETTERS if letter in letters), None)
