"""Session: one conversation with an agent — its lifecycle, state, persistence and cancel.

The session (not the agent) owns the workspace: it opens it on start and closes it
when the session ends, however it ends. Each run's turns are taken by `rho_agent._loop`;
every event goes through one `EventBus` (trace, callbacks, `stream()` queues).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal, Protocol

from rho_agent._bus import EventBus, EventCallback
from rho_agent._loop import CostLimit, Loop, RunResult
from rho_agent._wakeup import loop_wakes_on_signals
from rho_agent.agent import Agent
from rho_agent.backends import OpenRequest, Progress, Workspace
from rho_agent.errors import ConfigError, RhoError
from rho_agent.events import Event, HistoryCleared, Notice, Transfer
from rho_agent.model import Usage
from rho_agent.prompt import platform_name, render
from rho_agent.redact import default_redactor
from rho_agent.store import (
    SessionDir,
    TraceWriter,
    find_session,
    new_session_id,
    restore,
    sessions_root,
)
from rho_agent.tool_calls import tool_result
from rho_agent.tools import Approver

__all__ = [
    "CostLimit",
    "EventCallback",
    "RunHook",
    "RunResult",
    "Session",
    "add_run_hook",
    "remove_run_hook",
]


class RunHook(Protocol):
    """A hook around every `Session.run` of the process: how the program hosting sessions may
    answer a run itself. A Jupyter kernel with `%load_ext rho_agent` registers one, so a cell
    that calls the plain API under Run All gets back the answer it already paid for
    (`rho_agent.notebook.guard`). Nothing registers one outside a notebook."""

    def before_run(self, session: Session, prompt: str) -> RunResult | None:
        """A result to return instead of running `prompt` (the run does not happen), or None."""
        ...

    def after_run(self, session: Session, prompt: str, result: RunResult) -> None:
        """The run of `prompt` ended with `result` (not called when it raised)."""
        ...


_run_hooks: list[RunHook] = []  # process-wide, like the kernel they serve


def add_run_hook(hook: RunHook) -> None:
    if hook not in _run_hooks:
        _run_hooks.append(hook)


def remove_run_hook(hook: RunHook) -> None:
    if hook in _run_hooks:
        _run_hooks.remove(hook)


class Session:
    """A conversation with `agent`. Use as `async with Session(agent) as s: await s.run(prompt=...)`.

    `resume="latest"` or a session id continues a stored session (history, usage, status).
    `on_event` receives every event (sync or async callable). `approver` is awaited for calls the
    profile wants approved (unless the config says `auto_approve`).
    """

    def __init__(
        self,
        agent: Agent,
        *,
        session_id: str | None = None,
        resume: str | None = None,
        on_event: EventCallback | None = None,
        approver: Approver | None = None,
        persist: bool = True,
    ) -> None:
        self.agent = agent
        self.approver = approver
        self.history: list[dict[str, Any]] = []
        self.usage = Usage()
        self.cost_usd = 0.0
        self.turns = 0
        self.status: str | None = None
        self._dir: SessionDir | None = None
        if resume:
            self._dir = find_session(resume)
            state = restore(self._dir)
            self.history, self.usage, self.cost_usd = state.history, state.usage, state.cost_usd
            self.status, self.turns = state.status, state.turns
            self._repair_history()
        self.id = self._dir.id if self._dir else (session_id or new_session_id())
        if persist and self._dir is None:
            self._dir = SessionDir(sessions_root() / self.id)
        # Values passed through to tools on purpose are still secrets in the trace.
        # A key given in the config (`%rho login`) is a secret like those in the environment.
        redactor = default_redactor(
            agent.passthrough_env, extra=[k for k in [agent.config.api_key] if k]
        )
        self._bus = EventBus(TraceWriter(self._dir, redactor) if persist and self._dir else None)
        if on_event:
            self._bus.subscribe(on_event)
        self._workspace: Workspace | None = None
        self._model = agent.make_model()
        self._owns_model = self._model is not agent.given_model
        self._run_task: asyncio.Task[RunResult] | None = None
        self._system_prompt: str | None = None
        self._closed = False
        self._sync_loop: asyncio.AbstractEventLoop | None = None

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Session:
        try:
            await self.start()
        except BaseException:
            # `async with` runs __aexit__ only after a successful __aenter__: a start that
            # was cancelled or failed after opening the workspace must release it here.
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __enter__(self) -> Session:
        self._sync(self.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_sync()

    async def start(self) -> None:
        """Open the workspace (a remote one starts provisioning in the background)."""
        if self._closed:
            raise RhoError("This session is closed; start a new one (or resume it by id).")
        if self._workspace is not None:
            return
        self._model.check_credentials()  # before anything is created
        self._write_meta()
        self._workspace = await self.agent.backend.open(
            OpenRequest(
                session_id=self.id,
                working_dir=self.agent.config.working_dir,
                passthrough_env=self.agent.passthrough_env,
                notify=self._notice,
                confinement=self.agent.profile.confinement(),
                profile=self.agent.profile.name,
            )
        )
        # Preparing the model (importing its SDK takes about a second) happens after the
        # workspace opened, so a remote workspace's provisioning goes on meanwhile.
        prepare = getattr(self._model, "prepare", None)
        if prepare is not None:
            await prepare()

    async def close(self) -> None:
        """End the session: cancel a run in progress, release the workspace. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._run_task is not None and not self._run_task.done():
                self._run_task.cancel()
                await asyncio.gather(self._run_task, return_exceptions=True)
        finally:
            try:
                if self._workspace is not None:
                    await self._workspace.close()
            finally:
                if self._owns_model:
                    await self._model.close()
                if self._workspace is not None:  # a session that never started leaves no meta
                    self._write_meta()
                self._bus.close()

    aclose = close

    def close_sync(self) -> None:
        """`close` from plain code, for a session used through `run_sync` (leaving `with` calls it)."""
        if self._sync_loop is not None and not self._sync_loop.is_closed():
            self._sync(self.close())
            self._sync_loop.close()

    @property
    def workspace(self) -> Workspace:
        """Where the tools act (files, commands); raises `RhoError` before the session starts."""
        if self._workspace is None:
            raise RhoError(
                "The session has not started; use `async with Session(agent) as s:` or `await s.start()`."
            )
        return self._workspace

    @property
    def directory(self) -> str | None:
        """Where the trace and meta of this session are stored."""
        return str(self._dir.path) if self._dir else None

    async def get_sandbox(self) -> Any:
        """The Daytona SDK's sandbox object (waits for provisioning). Only on the daytona backend."""
        await self.start()
        get = getattr(self.workspace, "get_sandbox", None)
        if get is None:
            raise ConfigError(
                f"get_sandbox() needs the daytona backend; this session uses '{self.workspace.kind}'."
            )
        return await get()

    async def download(self, remote: str, local: str | os.PathLike[str]) -> Path:
        """Copy a file or a whole directory out of the workspace (into `local` if it is a
        directory). Raises FileNotFoundError when `remote` does not exist."""
        await self.start()
        return await self.workspace.download(
            remote, local, notify=self._notice, progress=self._transfer("download")
        )

    async def upload(self, local: str | os.PathLike[str], remote: str) -> None:
        """Copy a local file or directory into the workspace at `remote` (one archive)."""
        from rho_agent.backends import parse_upload

        await self.start()
        await self.workspace.ready()
        spec = parse_upload(
            f"{os.fspath(local)}:{remote}", working_dir=self.workspace.working_dir, flag="upload"
        )
        await self.workspace.upload([spec], notify=self._notice, progress=self._transfer("upload"))

    # ---------------------------------------------------------------- events

    def subscribe(self, callback: EventCallback) -> None:
        """Call `callback` (sync or async) with every event from now on."""
        self._bus.subscribe(callback)

    async def stream(self, prompt: str) -> AsyncIterator[Event]:
        """Run `prompt` and yield its events as they happen (RunFinished is the last one)."""
        queue = self._bus.queue()
        task = asyncio.ensure_future(self.run(prompt))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            await task
        finally:
            self._bus.remove_queue(queue)
            if not task.done():
                self.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _notice(self, message: str) -> None:
        await self._bus.emit(Notice(message=message))

    def _transfer(self, direction: Literal["upload", "download"]) -> Progress:
        async def progress(done: int, total: int) -> None:
            await self._bus.emit(Transfer(direction=direction, done=done, total=total))

        return progress

    async def clear(self) -> None:
        """Forget the conversation (usage so far is kept)."""
        self.history = []
        await self._bus.emit(HistoryCleared())

    # ---------------------------------------------------------------- runs

    def cancel(self) -> None:
        """Stop the run in progress: a running tool is killed, history stays valid."""
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()

    def run_sync(self, prompt: str) -> RunResult:
        """`run` for plain scripts. Ctrl-C cancels the run cleanly, then raises KeyboardInterrupt."""
        return self._sync(self.run(prompt))

    async def run(self, prompt: str, *, limit: CostLimit | None = None) -> RunResult:
        """Send `prompt`, let the agent work until it answers or a limit stops it.

        `limit` caps this run's cost on top of the agent's `max_cost_usd` (the tighter wins)."""
        if self._run_task is not None and not self._run_task.done():
            raise RhoError(
                "A run is already in progress in this session; await it or cancel() it first."
            )
        hooks = tuple(_run_hooks)
        for hook in hooks:  # a notebook's Run-All guard may answer from a past run
            if (earlier := hook.before_run(self, prompt)) is not None:
                return earlier
        await self.start()
        self._run_task = asyncio.ensure_future(self._run(prompt, limit))
        # On the main thread (a notebook cell), a signal wakes the loop: a kernel interrupt
        # cancels this run at once rather than when the loop next wakes up.
        with loop_wakes_on_signals():
            try:
                result = await asyncio.shield(self._run_task)
            except asyncio.CancelledError:
                # Our caller was cancelled (Ctrl-C, kernel interrupt): stop the run (a running
                # command is killed), let it clean up.
                self._run_task.cancel()
                await asyncio.gather(self._run_task, return_exceptions=True)
                raise
        for hook in hooks:
            hook.after_run(self, prompt, result)
        return result

    async def _run(self, prompt: str, limit: CostLimit | None = None) -> RunResult:
        loop = Loop(
            self.agent,
            self._model,
            self.workspace,
            self,
            self._bus.emit,
            session_id=self.id,
            approver=self.approver,
            limit=limit,
        )
        result = await loop.run(prompt, self._system)
        self._write_meta()
        return result

    def _system(self) -> str:
        if self._system_prompt is None:
            ws = self.workspace
            variables = {
                "working_dir": ws.working_dir,
                "platform": platform_name() if ws.kind == "local" else "Linux (remote sandbox)",
                "backend": ws.kind,
                "profile": self.agent.profile.name,
                "profile_summary": self.agent.profile.summary(),
                "databases": ", ".join(f"{n} ({p})" for n, p in self.agent.databases.items())
                or "none",
                **self.agent.config.prompt_vars,
            }
            self._system_prompt = render(self.agent.system_prompt_template, variables)
        return self._system_prompt

    def _repair_history(self) -> None:
        """A crash may have left tool calls unanswered; answer them so the history is valid."""
        if self.history and self.history[-1]["role"] == "assistant":
            calls = [b for b in self.history[-1]["content"] if b.get("type") == "tool_use"]
            if calls:
                note = "Not run: the session ended before this call finished."
                self.history.append(
                    {
                        "role": "user",
                        "content": [tool_result(c["id"], note, is_error=True) for c in calls],
                    }
                )

    def _write_meta(self) -> None:
        if not self._dir:
            return
        self._dir.path.mkdir(parents=True, exist_ok=True)
        meta = self._dir.read_meta()
        first_prompt = next(
            (
                b.get("text", "")
                for m in self.history
                if m["role"] == "user"
                for b in m["content"]
                if b.get("type") == "text"
            ),
            meta.get("title", ""),
        )
        meta.update(
            id=self.id,
            created=meta.get("created", time.time()),
            updated=time.time(),
            model=self.agent.model,
            profile=self.agent.profile.name,
            backend=self.agent.backend.name,
            working_dir=self._workspace.working_dir
            if self._workspace
            else self.agent.config.working_dir,
            status=self.status,
            turns=self.turns,
            usage=self.usage.model_dump(),
            cost_usd=self.cost_usd,
            title=first_prompt[:120],
        )
        self._dir.write_meta(meta)

    # ---------------------------------------------------------------- sync plumbing

    def _sync(self, coro: Any) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RhoError(
                "run_sync() cannot be used inside a running event loop (Jupyter, asyncio apps); "
                "use `await session.run(...)` instead."
            )
        if self._sync_loop is None or self._sync_loop.is_closed():
            self._sync_loop = asyncio.new_event_loop()
        task = self._sync_loop.create_task(coro)
        try:
            return self._sync_loop.run_until_complete(task)
        except KeyboardInterrupt:
            task.cancel()
            self._sync_loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
            raise
