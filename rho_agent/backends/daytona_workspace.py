"""`DaytonaWorkspace`: the Workspace primitives over the Daytona SDK's `AsyncDaytona`.

    open() ──► provisioning task (daytona_provision.py): create ─► upload ─► uv? ─► setup
                  ▲ exec / read_bytes / write_bytes / get_sandbox() wait for it
    close() ─► cancel provisioning if still running ─► delete the sandbox (unless keep)

Each primitive is one toolbox request: `exec` → POST /process/execute, `read_bytes` → one
bulk-download, `write_bytes` → one bulk-upload. Gateway errors (429/502/503/504) are retried
for every call; other 5xx and dropped connections only for calls that are safe to repeat
(everything but `exec`). A sandbox that stopped while idle is started again once; one that
died is reported as such.

Every Daytona error passes through `_call`, at the seam, and leaves as `SandboxError` /
`SetupError` / `ConfigError` (or the OSError a file tool expects), `raise ... from exc`;
what counts as transient is in `daytona_errors.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import math
import shlex
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rho_agent.backends.base import ExecResult, Notify, Workspace
from rho_agent.backends.daytona_errors import (
    GONE_STATES,
    RETRIES,
    STOPPED_STATES,
    backoff,
    message_of,
    os_error,
    state_of,
    status_of,
    transient,
)
from rho_agent.backends.daytona_provision import Provisioning
from rho_agent.backends.transfer import Upload
from rho_agent.errors import ConfigError, SandboxError

if TYPE_CHECKING:
    from rho_agent.backends.daytona import DaytonaBackend

T = TypeVar("T")



@dataclass
class Plan:
    """Everything `open()` worked out before anything was created."""

    working_dir: str
    uploads: list[Upload]
    image: tuple[str, Any]  # ("image", str | Image) or ("snapshot", name)
    env: dict[str, str]
    labels: dict[str, str]
    name: str
    needs_uv: bool
    working_dir_given: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class DaytonaWorkspace(Provisioning, Workspace):
    kind = "daytona"

    def __init__(self, backend: DaytonaBackend, plan: Plan, *, notify: Notify | None = None) -> None:
        self.backend = backend
        self.plan = plan
        #: The SDK's `AsyncDaytona`, made when provisioning starts.
        self.client: Any = None
        self.working_dir = plan.working_dir
        #: The SDK's `AsyncSandbox` once created (what `Session.get_sandbox()` returns).
        self.sandbox: Any = None
        self.failure: BaseException | None = None
        self._notify_cb = notify
        self._task: asyncio.Task[None] | None = None
        self._create_sent = False
        self._closed = False
        self._session_id: str | None = None

    def __repr__(self) -> str:
        state = self.sandbox.id if self.sandbox is not None else "provisioning"
        return f"DaytonaWorkspace(sandbox={state!r}, working_dir={self.working_dir!r})"

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Import the SDK (off the event loop: it takes a second) and make the client."""
        if self.client is None:
            from rho_agent.backends.daytona import make_client

            await asyncio.to_thread(importlib.import_module, "daytona")
            self.client = make_client(self.backend.config)

    async def attach(self, sandbox_id: str) -> None:
        """Use an existing sandbox (`--sandbox ID`) instead of creating one."""
        await self.connect()
        from daytona.common.errors import DaytonaNotFoundError

        try:
            sandbox = await self._call(
                f"find sandbox {sandbox_id}", lambda: self.client.get(sandbox_id), idempotent=True
            )
        except SandboxError as exc:
            if isinstance(exc.__cause__, DaytonaNotFoundError):
                raise ConfigError(
                    f"--sandbox {sandbox_id}: no such sandbox (see: rho-agent sandboxes list)"
                ) from exc
            raise
        state = state_of(sandbox)
        if state in GONE_STATES:
            raise SandboxError(f"Sandbox {sandbox_id} cannot be used: it is {state} ({sandbox.error_reason or 'no reason given'}).")
        self.sandbox = sandbox
        label = (sandbox.labels or {}).get("rho-agent-working-dir")
        if not self.backend.working_dir and label:
            self.working_dir = label

    def start(self) -> None:
        """Start provisioning in the background (it overlaps the first model call)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._provision())

    async def ready(self) -> None:
        if self._closed:
            raise SandboxError("This session is closed and its sandbox is gone; start a new session.")
        task = self._task
        if task is None or task is asyncio.current_task():
            return  # not started, or provisioning itself is calling
        if not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.cancelled():
                    raise SandboxError("The sandbox was still being set up when the session closed.") from None
                raise
        elif task.cancelled():
            raise SandboxError("The sandbox was still being set up when the session closed.")
        elif task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

    async def get_sandbox(self) -> Any:
        """The SDK's `AsyncSandbox` (waits for provisioning)."""
        await self.ready()
        return self.sandbox

    async def close(self) -> None:
        """Stop provisioning and delete the sandbox (or keep it and say how to come back).

        A second Ctrl-C does not interrupt the deletion; the cancellation is re-raised after it.
        """
        if self._closed:
            return
        self._closed = True
        teardown = asyncio.ensure_future(self._teardown())
        interrupted = False
        while not teardown.done():
            try:
                await asyncio.shield(teardown)
            except asyncio.CancelledError:
                interrupted = True
            except Exception:
                break
        if interrupted:
            raise asyncio.CancelledError
        teardown.result()

    async def _teardown(self) -> None:
        task = self._task
        try:
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            if self.backend.keep:
                if self.sandbox is not None:
                    await self._notify(
                        f"Kept sandbox {self.sandbox.id}. Reattach: rho-agent main --backend daytona "
                        f"--sandbox {self.sandbox.id} · delete: rho-agent sandboxes delete {self.sandbox.id}"
                    )
            elif self.sandbox is not None:
                await self._delete(self.sandbox)
            elif self._create_sent:
                await self._delete_by_name(lookups=3)
        finally:
            if self.client is not None:
                await self.client.close()

    # ------------------------------------------------------------------ primitives

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        await self.ready()
        from daytona.common.errors import DaytonaProcessExecutionTimeoutError

        cwd = self.resolve(cwd) if cwd else self.working_dir
        limit = float(timeout) if timeout else self.backend.request_timeout
        seconds = max(1, math.ceil(limit))
        cancel_flag = f"/tmp/.rho-agent-cancel-{uuid.uuid4().hex}"
        script = _wrap(command, cwd, seconds, cancel_flag)
        sandbox = self.sandbox
        started = time.monotonic()
        try:
            response = await self._call(
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
        return ExecResult(exit_code=code, output=response.result or "", timed_out=timed_out)

    async def _cancel_remote(self, sandbox: Any, cancel_flag: str) -> None:
        """Best effort: make the abandoned command's watcher kill it (one short exec)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sandbox.process.exec(f"touch {shlex.quote(cancel_flag)}", timeout=5), 10)

    async def read_bytes(self, path: str) -> bytes:
        await self.ready()
        path = self.resolve(path)
        seconds = math.ceil(self.backend.request_timeout)
        data = await self._call(
            f"read {path}",
            lambda: self.sandbox.fs.download_file(path, seconds),
            idempotent=True,
            path=path,
        )
        return bytes(data or b"")

    async def write_bytes(self, path: str, data: bytes) -> None:
        await self.ready()
        path = self.resolve(path)
        seconds = math.ceil(self.backend.request_timeout)
        await self._call(
            f"write {path}",
            lambda: self.sandbox.fs.upload_file(data, path, seconds),
            idempotent=True,
            path=path,
        )

    async def put_file(self, local: Path, path: str, *, notify: Notify | None = None) -> None:
        await self.ready()
        size = local.stat().st_size
        seconds = math.ceil(max(self.backend.request_timeout, size / (512 * 1024)))
        fs = self.sandbox.fs
        if notify is None:
            await self._call(
                f"upload {local.name}", lambda: fs.upload_file(str(local), path, seconds), idempotent=True, timeout=seconds + 15
            )
            return

        async def send() -> None:
            shown = [-1]

            async def chunks() -> Any:
                with open(local, "rb") as f:
                    while chunk := await asyncio.to_thread(f.read, 1 << 20):
                        yield chunk

            async def progress(p: Any) -> None:
                percent = min(100, p.bytes_sent * 100 // max(size, 1))
                if percent // 10 > shown[0]:
                    shown[0] = percent // 10
                    bar = "#" * (percent // 10) + "." * (10 - percent // 10)
                    await notify(f"Uploading [{bar}] {percent:3d}% of {size / 1e6:.1f} MB")

            await fs.upload_file_stream(chunks(), path, timeout=seconds, on_progress=progress)

        await self._call(f"upload {local.name}", send, idempotent=True, timeout=seconds + 15)

    async def get_file(self, path: str, local: Path) -> None:
        await self.ready()
        seconds = math.ceil(max(self.backend.request_timeout, 600))
        await self._call(
            f"download {path}",
            lambda: self.sandbox.fs.download_file(path, str(local), seconds),
            idempotent=True,
            path=path,
            timeout=seconds + 15,
        )

    # ------------------------------------------------------------------ plumbing

    async def _call(
        self,
        what: str,
        fn: Callable[[], Awaitable[T]],
        *,
        idempotent: bool,
        timeout: float | None = None,
        path: str | None = None,
        revive: bool = True,
    ) -> T:
        """One SDK call with retries for transient failures and errors translated at the seam."""
        from daytona.common.errors import DaytonaError, DaytonaProcessExecutionTimeoutError

        budget = timeout or self.backend.request_timeout + 15
        attempt = 0
        while True:
            try:
                return await asyncio.wait_for(fn(), budget)
            except TimeoutError as exc:
                raise SandboxError(
                    f"Daytona did not answer within {budget:g}s while trying to {what}."
                ) from exc
            except DaytonaProcessExecutionTimeoutError:
                raise
            except DaytonaError as exc:
                if path is not None and (as_os_error := os_error(exc, path)) is not None:
                    raise as_os_error from exc
                if attempt < RETRIES and transient(exc, idempotent):
                    attempt += 1
                    await asyncio.sleep(backoff(attempt, exc))
                    continue
                if revive and self.sandbox is not None and await self._revive(exc, what):
                    revive = False
                    continue
                raise SandboxError(f"Could not {what} in the Daytona sandbox: {message_of(exc)}") from exc

    async def _revive(self, exc: Any, what: str) -> bool:
        """After a failed toolbox call: start a sandbox that stopped while idle (→ True, retry),
        or say clearly that it died (raise)."""
        from daytona.common.errors import DaytonaConnectionError, DaytonaNotFoundError

        if not (status_of(exc) in (404, 409, 410, 502, 503, 504) or isinstance(exc, DaytonaConnectionError)):
            return False
        sandbox = self.sandbox
        try:
            await asyncio.wait_for(sandbox.refresh_data(), self.backend.request_timeout)
        except DaytonaNotFoundError as gone:
            raise SandboxError(
                f"Sandbox {sandbox.id} no longer exists (deleted outside this session?); start a new session."
            ) from gone
        except Exception:
            return False
        state = state_of(sandbox)
        if state in GONE_STATES:
            raise SandboxError(
                f"Sandbox {sandbox.id} died while trying to {what}: it is {state} "
                f"({sandbox.error_reason or 'no reason given'}). Start a new session."
            ) from exc
        if state in STOPPED_STATES:
            await self._notify(f"Sandbox {sandbox.id} was {state} (idle); starting it again…")
            await self._start_again()
            return True
        return False

    async def _notify(self, message: str) -> None:
        if self._notify_cb is None:
            return
        try:
            await self._notify_cb(message)
        except Exception:  # a broken event callback must not break the sandbox
            pass


# ---------------------------------------------------------------------- helpers




def _wrap(command: str, cwd: str, seconds: int, cancel_flag: str) -> str:
    """The script sent to the daemon's shell: cd, then `bash -c` under `timeout -s KILL`
    (which kills the whole process group, like the local workspace), stdin empty.

    A watcher kills that process group when `cancel_flag` appears: the daemon does not
    stop a command when its HTTP request is abandoned, so a cancelled call touches the
    flag with a second, short exec (see `DaytonaWorkspace._cancel_remote`)."""
    q = shlex.quote
    return (
        f"cd -- {q(cwd)} 2>/dev/null || {{ echo {q(f'bash: cd: {cwd}: No such directory')}; exit 1; }}\n"
        f"if command -v timeout >/dev/null 2>&1; then timeout -s KILL {seconds} bash -c {q(command)} </dev/null &\n"
        f"else setsid bash -c {q(command)} </dev/null & fi\n"
        "pid=$!\n"
        f"( while [ ! -e {q(cancel_flag)} ]; do sleep 0.2; done; rm -f {q(cancel_flag)}; "
        "kill -KILL -- -$pid 2>/dev/null || kill -KILL $pid ) >/dev/null 2>&1 </dev/null &\n"
        "watcher=$!\n"
        "wait $pid 2>/dev/null; rc=$?\n"  # no "Killed" job notice in the output
        "kill $watcher 2>/dev/null\n"
        "exit $rc\n"
    )















