"""The extension's one global: the live sessions of this kernel, its runner, its defaults.

A `NotebookSession` is a named conversation (`--session NAME`; "default" otherwise). It keeps
the settings it was made with and a live `Session` while one is open. Ending it (a kernel
interrupt, `%rho reset`, new settings) closes the Session — deleting a sandbox — but not the
conversation: the next run resumes it from its trace, in a new workspace.

Everything that touches a Session runs on the runner loop.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from rho_agent.errors import ConfigError
from rho_agent.notebook.guard import RunLedger
from rho_agent.notebook.runner import Job, Runner

if TYPE_CHECKING:
    from rho_agent.events import Event
    from rho_agent.notebook.render import RunView
    from rho_agent.notebook.variables import ShippedVar
    from rho_agent.session import RunResult, Session
    from rho_agent.tools.base import Approver

DEFAULT_SESSION = "default"

Listener = Callable[["Event"], Any]


class NotebookSession:
    def __init__(self, registry: Registry, name: str, settings: dict[str, Any]) -> None:
        self.registry = registry
        self.name = name
        self.settings = dict(settings)
        self.session: Session | None = None
        self.session_id: str | None = None
        self.job: Job[RunResult] | None = None
        self.result: RunResult | None = None
        self.runs = 0
        self.cost_usd = 0.0  # of runs in this kernel
        self._listeners: list[Listener] = []
        self.uploaded = False

    def __repr__(self) -> str:
        state = "running" if self.busy else ("open" if self.session else "closed")
        return f"<NotebookSession {self.name!r} {state}, {self.runs} run(s), ${self.cost_usd:.4f}>"

    @property
    def busy(self) -> bool:
        return self.job is not None and not self.job.done()

    @property
    def workspace(self) -> Any:
        return self.session.workspace if self.session else None

    def agent(self, uploads: list[str] | None = None) -> Any:
        """The Agent for these settings, built as the CLI builds it (a backend that provisions,
        such as daytona, takes `uploads` while it does; it also reads `.rho-agent.toml`)."""
        from rho_agent.frontend import build_agent

        return build_agent({**self.settings, "upload": uploads or None})

    # ------------------------------------------------------------- on the runner loop

    async def start(self, uploads: list[str] | None = None) -> Session:
        """The live Session, opened (or resumed from its trace) if needed.

        A new daytona sandbox receives `uploads` while it is provisioned; `self.uploaded`
        says whether this call took care of them.
        """
        self.uploaded = False
        if self.session is None:
            from rho_agent.frontend import takes_uploads
            from rho_agent.session import Session

            agent = self.agent(uploads)
            self.uploaded = takes_uploads(agent)
            session = Session(agent, resume=self.session_id) if self.session_id else Session(agent)
            session.subscribe(self._dispatch)
            try:
                await session.start()
            except BaseException:
                await session.close()
                raise
            self.session, self.session_id = session, session.id
        return self.session

    async def end(self) -> None:
        """Close the live Session (its sandbox goes with it); the conversation stays resumable."""
        session, self.session = self.session, None
        if session is not None:
            await session.close()

    def _dispatch(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    async def execute(
        self,
        prompt: str,
        *,
        listener: Listener | None = None,
        approver: Approver | None = None,
        uploads: Iterable[str] = (),
        downloads: Iterable[tuple[str, str]] = (),
        variables: Iterable[ShippedVar] = (),
        end_on_cancel: bool = False,
        prepare: Callable[[Session], Awaitable[Any]] | None = None,
    ) -> RunResult:
        """Upload (`LOCAL:REMOTE` specs), ship variables, run `prompt`, download
        (`(remote, local)` pairs). `prepare(session)` is awaited first, once the session is
        open. Cancelling ends the session if `end_on_cancel`."""
        from rho_agent.notebook import transfer
        from rho_agent.notebook.variables import VARS_DIR, prompt_with_vars

        if listener:
            self._listeners.append(listener)
        try:
            uploads = list(uploads)
            session = await self.start(uploads)
            session.approver = approver
            if prepare is not None:
                await prepare(session)
            if not self.uploaded:
                for spec in uploads:
                    await transfer.upload(session, spec)
            notes = []
            for var in variables:
                path = session.workspace.resolve(f"{VARS_DIR}/{var.filename}")
                await session.workspace.write_bytes(path, var.data)
                notes.append(var.note(path))
            result = await session.run(prompt_with_vars(prompt, notes))
            if result.ok:
                for remote, local in downloads:
                    await transfer.download(session, remote, local)
        except asyncio.CancelledError:
            if end_on_cancel:
                await self.end()
            raise
        finally:
            if listener:
                self._listeners.remove(listener)
        self.result, self.runs, self.cost_usd = (
            result,
            self.runs + 1,
            self.cost_usd + result.cost_usd,
        )
        return result

    # ------------------------------------------------------------- from the kernel thread

    def submit(self, make: Callable[[Job[RunResult]], Any]) -> Job[RunResult]:
        if self.busy:
            raise ConfigError(
                f"Session '{self.name}' is busy with a background run; wait for it, cancel it, "
                "or use --session OTHER for a parallel conversation."
            )
        self.job = self.registry.runner.submit(make)
        return self.job

    def start_run(
        self,
        prompt: str,
        view: RunView,
        sink: Callable[[dict[str, str]], Any],
        *,
        approver: Callable[[Job[RunResult]], Approver | None] | None = None,
        **run_kwargs: Any,
    ) -> Job[RunResult]:
        """Submit `execute(prompt, **run_kwargs)`; `view` follows its events and is published to
        `sink` live (throttled). `approver(job)` makes the approver for this run."""
        from rho_agent.notebook.render import LiveDisplay

        live = LiveDisplay(view, sink)

        def on_event(event: Event) -> None:
            if event.type == "run_started" and self.session is not None and self.session.directory:
                view.trace_path = f"{self.session.directory}/trace.jsonl"
            live.on_event(event)

        async def go(job: Job[RunResult]) -> RunResult:
            live.start()
            try:
                return await self.execute(
                    prompt,
                    listener=on_event,
                    approver=approver(job) if approver else None,
                    **run_kwargs,
                )
            finally:
                await live.stop()

        return self.submit(go)

    def cancel(self) -> None:
        """Stop the run in progress (the session stays open)."""
        if self.job is not None:
            self.job.cancel()

    async def run(self, prompt: str) -> RunResult:
        """`await rho_agent.notebook.session().run(...)` in a cell: the run happens on the
        runner (where this session's workspace lives); the cell's loop only waits."""
        return await self.submit(lambda job: self.execute(prompt))

    def run_sync(self, prompt: str) -> RunResult:
        """`run`, blocking; a kernel interrupt cancels it (and ends the workspace)."""
        return self.submit(lambda job: self.execute(prompt, end_on_cancel=True)).wait()


class Registry:
    def __init__(self) -> None:
        self.runner = Runner()
        self.sessions: dict[str, NotebookSession] = {}
        self.defaults: dict[str, Any] = {}
        self.allow_rerun = False
        self.ledger = RunLedger()

    def session(
        self, name: str | None = None, overrides: dict[str, Any] | None = None, *, new: bool = False
    ) -> NotebookSession:
        """The session `name`, created with the defaults, or reconfigured by `overrides`.

        Settings of an existing session change only where `overrides` says so; then its live
        Session is closed and the next run resumes the conversation with the new settings.
        """
        name = name or DEFAULT_SESSION
        overrides = overrides or {}
        existing = self.sessions.get(name)
        if existing is not None and existing.busy:
            if new or any(existing.settings.get(k) != v for k, v in overrides.items()):
                raise ConfigError(
                    f"Session '{name}' is busy with a background run; wait for it or cancel it first."
                )
            return existing
        if existing is None or new:
            if existing is not None:
                self.runner.run(existing.end())
            created = NotebookSession(self, name, {**self.defaults, **overrides})
            self.sessions[name] = created
            return created
        changed = {k: v for k, v in overrides.items() if existing.settings.get(k) != v}
        if changed:
            if existing.session is not None:
                self.runner.run(existing.end())
                print(
                    f"rho-agent: session '{name}' continues with new settings: {show_settings(changed)}"
                )
            existing.settings.update(changed)
        return existing

    def reset(self, name: str | None = None) -> None:
        target = self.sessions.pop(name or DEFAULT_SESSION, None)
        if target is not None:
            target.cancel()
            self.runner.run(target.end())

    def reset_all(self) -> None:
        for name in list(self.sessions):
            self.reset(name)

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.sessions.values())

    async def _end_all(self) -> None:
        for s in list(self.sessions.values()):
            if s.job is not None:
                s.job.cancel()
            try:
                await s.end()
            except Exception:
                pass

    def shutdown(self) -> None:
        """End every session and stop the runner (kernel exit, %unload_ext)."""
        if self.runner.running:
            self.runner.stop(self._end_all())


def show_settings(settings: dict[str, Any]) -> str:
    """Settings as the options that give them: `--profile developer --yes`."""
    return " ".join(
        f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in settings.items()
    )


_registry: Registry | None = None


def get_registry() -> Registry:
    """The registry of this kernel (created on first use; its sessions end when Python exits)."""
    global _registry
    if _registry is None:
        _registry = Registry()
        atexit.register(_registry.shutdown)
    return _registry


def reset_registry() -> None:
    """End everything and forget the registry (`%unload_ext rho_agent`, tests)."""
    global _registry
    if _registry is not None:
        _registry.shutdown()
        atexit.unregister(_registry.shutdown)
        _registry = None
