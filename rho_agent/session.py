"""Session: one conversation with an agent — the loop, its state, cancel and close.

The session (not the agent) owns the workspace: it opens it on start and closes it
when the session ends, however it ends.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rho_agent.agent import Agent
from rho_agent.backends.base import Workspace
from rho_agent.backends.spec import OpenRequest
from rho_agent.errors import ConfigError, RhoError, RunError
from rho_agent.events import (
    Event,
    HistoryCleared,
    MessageAdded,
    ModelCall,
    ModelRetry,
    Notice,
    RunFinished,
    RunStarted,
    RunStatus,
    TextDelta,
    ThinkingDelta,
)
from rho_agent.model.client import ModelClient, StreamCallbacks
from rho_agent.model.usage import Usage
from rho_agent.prompt import platform_name, render
from rho_agent.redact import default_redactor
from rho_agent.store import (
    SessionDir,
    TraceWriter,
    append_message,
    find_session,
    new_session_id,
    restore,
    sessions_root,
)
from rho_agent.tool_calls import ToolCallRunner, tool_result
from rho_agent.tools.base import Approver, ToolContext

EventCallback = Callable[[Event], Awaitable[None] | None]

_CUT_OFF_NOTE = (
    "[Your previous response was cut off at the output token limit before a tool call was "
    "complete; that call was not run. Continue, in smaller steps.]"
)


class RunResult(BaseModel):
    """What one `Session.run` produced."""

    text: str
    status: RunStatus
    usage: Usage
    cost_usd: float
    turns: int
    session_id: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "completed"


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
        self._callbacks: list[EventCallback] = [on_event] if on_event else []
        self._queues: list[asyncio.Queue[Event | None]] = []
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
        redactor = default_redactor(agent.passthrough_env)
        self._trace = TraceWriter(self._dir, redactor) if persist and self._dir else None
        self._workspace: Workspace | None = None
        self._model = ModelClient(
            model=agent.model,
            api_key=agent.config.api_key,
            base_url=agent.config.base_url,
            max_tokens=agent.config.max_tokens,
        )
        self._run_task: asyncio.Task[RunResult] | None = None
        self._system_prompt: str | None = None
        self._streamed_usage: Usage | None = None  # of the model call in progress
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
            )
        )
        # Importing the model SDK takes about a second: do it off the loop, so a remote
        # workspace's provisioning goes on meanwhile instead of stalling behind it.
        await asyncio.to_thread(importlib.import_module, "anthropic")

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
                await self._model.close()
                if (
                    self._workspace is not None
                ):  # a session that never started leaves nothing on disk
                    self._write_meta()
                if self._trace:
                    self._trace.close()
                for queue in self._queues:
                    queue.put_nowait(None)

    aclose = close

    def close_sync(self) -> None:
        if self._sync_loop is not None and not self._sync_loop.is_closed():
            self._sync(self.close())
            self._sync_loop.close()

    @property
    def workspace(self) -> Workspace:
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
        return await self.workspace.download(remote, local)

    async def upload(self, local: str | os.PathLike[str], remote: str) -> None:
        """Copy a local file or directory into the workspace at `remote` (one archive)."""
        from rho_agent.backends.transfer import parse_upload

        await self.start()
        await self.workspace.ready()
        spec = parse_upload(
            f"{os.fspath(local)}:{remote}", working_dir=self.workspace.working_dir, flag="upload"
        )
        await self.workspace.upload([spec], notify=self._notice)

    async def _unless_workspace_fails(self, call: Awaitable[Any]) -> Any:
        """Await a model call, unless the workspace's background provisioning fails first
        (a failed setup command): then the call is cancelled and that error raised."""
        if self.workspace.failure is not None:
            close = getattr(call, "close", None)
            if close is not None:
                close()  # the model call never starts
            await self.workspace.ready()  # raises the failure, and marks it seen
            raise self.workspace.failure
        model = asyncio.ensure_future(call)
        ready = asyncio.ensure_future(self.workspace.ready())
        try:
            await asyncio.wait({model, ready}, return_when=asyncio.FIRST_COMPLETED)
            if ready.done() and not ready.cancelled() and ready.exception() is not None:
                raise ready.exception()  # type: ignore[misc]
            return await model
        finally:
            for task in (model, ready):
                task.cancel()
            await asyncio.gather(model, ready, return_exceptions=True)

    # ---------------------------------------------------------------- events

    def subscribe(self, callback: EventCallback) -> None:
        self._callbacks.append(callback)

    async def stream(self, prompt: str) -> AsyncIterator[Event]:
        """Run `prompt` and yield its events as they happen (RunFinished is the last one)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues.append(queue)
        task = asyncio.ensure_future(self.run(prompt))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            await task
        finally:
            self._queues.remove(queue)
            if not task.done():
                self.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _emit(self, event: Event) -> None:
        if self._trace:
            self._trace.write(event)
        for callback in list(self._callbacks):
            outcome = callback(event)
            if inspect.isawaitable(outcome):
                await outcome
        for queue in self._queues:
            queue.put_nowait(event)

    async def _notice(self, message: str) -> None:
        await self._emit(Notice(message=message))

    async def _add_message(self, role: str, content: list[dict[str, Any]]) -> None:
        append_message(self.history, role, content)
        await self._emit(MessageAdded(role=role, content=content))  # type: ignore[arg-type]

    async def clear(self) -> None:
        """Forget the conversation (usage so far is kept)."""
        self.history = []
        await self._emit(HistoryCleared())

    # ---------------------------------------------------------------- runs

    def cancel(self) -> None:
        """Stop the run in progress: a running tool is killed, history stays valid."""
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()

    def run_sync(self, prompt: str) -> RunResult:
        """`run` for plain scripts. Ctrl-C cancels the run cleanly, then raises KeyboardInterrupt."""
        return self._sync(self.run(prompt))

    async def run(self, prompt: str) -> RunResult:
        """Send `prompt`, let the agent work until it answers or a limit stops it."""
        if self._run_task is not None and not self._run_task.done():
            raise RhoError(
                "A run is already in progress in this session; await it or cancel() it first."
            )
        await self.start()
        self._run_task = asyncio.ensure_future(self._run(prompt))
        try:
            return await asyncio.shield(self._run_task)
        except asyncio.CancelledError:
            # Our caller was cancelled (Ctrl-C, kernel interrupt): stop the run, let it clean up.
            self._run_task.cancel()
            await asyncio.gather(self._run_task, return_exceptions=True)
            raise

    async def _run(self, prompt: str) -> RunResult:
        agent = self.agent
        usage = Usage()
        turns = 0
        text = ""
        status: RunStatus = "completed"
        error: str | None = None
        pending: list[dict[str, Any]] = []  # tool_use blocks not yet answered
        results: dict[str, dict[str, Any]] = {}
        await self._emit(RunStarted(session_id=self.id, prompt=prompt, model=agent.model))
        try:
            system = self._system()
            ctx = ToolContext(
                workspace=self.workspace,
                profile=agent.profile,
                env={},
                bash_timeout=agent.config.bash_timeout,
                databases=agent.databases,
            )
            runner = ToolCallRunner(
                agent.tools,
                ctx,
                self._emit,
                auto_approve=agent.config.auto_approve,
                approver=self.approver,
            )
            schemas = [t.schema() for t in agent.tools]
            await self._add_message("user", [{"type": "text", "text": prompt}])
            while True:
                if turns >= agent.max_turns:
                    status = "max_turns"
                    break
                self._streamed_usage = None
                turn = await self._unless_workspace_fails(
                    self._model.turn(
                        system=system,
                        tools=schemas,
                        messages=self.history,
                        callbacks=self._stream_callbacks(),
                    )
                )
                self._streamed_usage = None
                turns += 1
                usage = usage + turn.usage
                await self._record_call(turn.usage, turn.stop_reason, turn.duration_s)
                content = turn.content
                if turn.stop_reason == "max_tokens":
                    # A tool call cut off mid-input must not run; drop it and ask to continue.
                    content = [b for b in content if b.get("type") != "tool_use"]
                text = (
                    "".join(b.get("text", "") for b in content if b.get("type") == "text") or text
                )
                if content:
                    await self._add_message("assistant", content)
                calls = [b for b in content if b.get("type") == "tool_use"]
                if turn.stop_reason == "tool_use" and calls:
                    pending, results = calls, {}
                    over = self._over_limit(usage, turns)
                    if over:
                        status = over
                        break
                    await runner.run_all(calls, results)
                    await self._answer(pending, results, "")
                    pending = []
                    continue
                if turn.stop_reason == "pause_turn":
                    continue  # a server tool paused; sending the content back resumes it
                if turn.stop_reason == "max_tokens":
                    if self._over_limit(usage, turns):
                        status = "truncated"
                        break
                    await self._add_message("user", [{"type": "text", "text": _CUT_OFF_NOTE}])
                    continue
                if turn.stop_reason == "refusal":
                    status = "refused"
                    details = turn.stop_details or {}
                    error = "The model declined to continue" + (
                        f" ({details.get('category')})" if details.get("category") else ""
                    )
                elif turn.stop_reason == "model_context_window_exceeded":
                    status = "truncated"
                    error = "The conversation filled the model's context window; use /clear or a new session."
                break
        except asyncio.CancelledError:
            status, error = "cancelled", "Cancelled by the user."
            partial, self._streamed_usage = self._streamed_usage, None
            if partial is not None:  # a model call cut short is billed for what it used
                turns += 1
                usage = usage + partial
                await self._record_call(partial, "cancelled", 0.0)
        except RunError as exc:
            status, error = "error", exc.message
        finally:
            if pending:
                reason = {
                    "cancelled": "Not run: the user cancelled the run.",
                    "max_cost": "Not run: the run's cost limit was reached.",
                    "max_turns": "Not run: the run's turn limit was reached.",
                }.get(status, "Not run: the run stopped before this call.")
                await self._answer(pending, results, reason)
        if status == "max_cost":
            error = f"Stopped: cost ${usage.cost_usd(agent.model):.4f} reached the limit of ${agent.max_cost_usd:.4f}."
        elif status == "max_turns":
            error = f"Stopped: reached the limit of {agent.max_turns} turns."
        result = RunResult(
            text=text,
            status=status,
            usage=usage,
            cost_usd=usage.cost_usd(agent.model),
            turns=turns,
            session_id=self.id,
            error=error,
        )
        self.status = status
        await self._emit(
            RunFinished(
                status=status,
                text=text,
                usage=usage,
                cost_usd=result.cost_usd,
                turns=turns,
                error=error,
            )
        )
        self._write_meta()
        return result

    async def _record_call(
        self, call_usage: Usage, stop_reason: str | None, duration_s: float
    ) -> None:
        """Add one model call to the session's totals and announce it."""
        cost = call_usage.cost_usd(self.agent.model)
        self.usage, self.cost_usd, self.turns = (
            self.usage + call_usage,
            self.cost_usd + cost,
            self.turns + 1,
        )
        await self._emit(
            ModelCall(
                model=self.agent.model,
                stop_reason=stop_reason,
                usage=call_usage,
                cost_usd=cost,
                duration_s=round(duration_s, 4),
            )
        )

    def _over_limit(self, usage: Usage, turns: int) -> RunStatus | None:
        limit = self.agent.max_cost_usd
        if limit is not None and usage.cost_usd(self.agent.model) >= limit:
            return "max_cost"
        if turns >= self.agent.max_turns:
            return "max_turns"
        return None

    async def _answer(
        self, calls: list[dict[str, Any]], results: dict[str, dict[str, Any]], missing: str
    ) -> None:
        """One user message answering every call, in order; unanswered ones say why."""
        blocks = [
            results.get(c["id"]) or tool_result(c["id"], missing, is_error=True) for c in calls
        ]
        await self._add_message("user", blocks)

    def _stream_callbacks(self) -> StreamCallbacks:
        async def on_text(text: str) -> None:
            await self._emit(TextDelta(text=text))

        async def on_thinking(text: str) -> None:
            await self._emit(ThinkingDelta(text=text))

        async def on_retry(attempt: int, error: str, delay: float) -> None:
            await self._emit(ModelRetry(attempt=attempt, error=error, delay_s=round(delay, 3)))

        def on_usage(so_far: Usage) -> None:
            self._streamed_usage = so_far

        return StreamCallbacks(
            on_text=on_text, on_thinking=on_thinking, on_retry=on_retry, on_usage=on_usage
        )

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
