"""Named sessions: conversations a front end keeps alive between prompts, on one runner loop.

A `NamedSession` is a named conversation ("default" unless named). It keeps the settings it was
made with (option values, as the kit's option table names them) and a live `Session` while one
is open. Ending it (an interrupt, a reset, new settings) closes the Session, deleting a
sandbox, but not the conversation: the next run resumes it from its trace, in a new workspace.

A `SessionRegistry` holds them by name, with defaults and the `Runner` every Session lives on.
The notebook keeps one per kernel; the JupyterLab extension and a batch runner use the same.
Everything that touches a Session runs on the runner loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from rho_agent._wakeup import loop_wakes_on_signals
from rho_agent.errors import ConfigError, RhoError
from rho_agent.frontend._build import build_agent, takes_uploads
from rho_agent.frontend._files import download, upload
from rho_agent.frontend._runner import Interrupted, Job, Runner

if TYPE_CHECKING:
    from rho_agent.events import Event
    from rho_agent.session import CostLimit, RunResult, Session
    from rho_agent.tools import Approver

DEFAULT_SESSION = "default"

#: How an interrupted run (`run`, `run_sync`) ends, after "Interrupted:".
INTERRUPTED = (
    "the run was cancelled (a running command was killed) and the session's workspace closed "
    "(a Daytona sandbox is deleted unless --keep); the next run continues the conversation."
)

Listener = Callable[["Event"], Any]


class BudgetSpent(RhoError):
    """A run was refused: the registry's budget is spent."""


class Attachment(Protocol):
    """Something shipped into the workspace with a run (a notebook variable, a file)."""

    filename: str
    data: bytes

    def note(self, path: str) -> str:
        """The line that tells the model where it is."""
        ...


class NamedSession:
    #: Where attachments go, relative to the working dir, and how the prompt introduces them.
    attachments_dir = "rho-attachments"
    attachments_heading = "Files shipped into the workspace:"

    def __init__(self, registry: SessionRegistry[Any], name: str, settings: dict[str, Any]) -> None:
        self.registry = registry
        self.name = name
        self.settings = dict(settings)
        self.session: Session | None = None
        self.session_id: str | None = None
        self.job: Job[RunResult] | None = None
        self.result: RunResult | None = None
        #: Runs started and what every model call cost, in this process: counted from the
        #: events, so a cancelled or failed run counts too.
        self.runs = 0
        self.cost_usd = 0.0
        self._listeners: list[Listener] = []
        self.uploaded = False

    def __repr__(self) -> str:
        state = "running" if self.busy else ("open" if self.session else "closed")
        return f"<{type(self).__name__} {self.name!r} {state}, {self.runs} run(s), ${self.cost_usd:.4f}>"

    @property
    def busy(self) -> bool:
        return self.job is not None and not self.job.done()

    @property
    def workspace(self) -> Any:
        return self.session.workspace if self.session else None

    def agent(self, uploads: list[str] | None = None) -> Any:
        """The Agent for these settings, built as the CLI builds it (a backend that provisions,
        such as daytona, takes `uploads` while it does; it also reads `.rho-agent.toml`)."""
        return build_agent({**self.settings, "upload": uploads or None})

    # ------------------------------------------------------------- on the runner loop

    async def start(self, uploads: list[str] | None = None) -> Session:
        """The live Session, opened (or resumed from its trace) if needed.

        A new daytona sandbox receives `uploads` while it is provisioned; `self.uploaded`
        says whether this call took care of them.
        """
        self.uploaded = False
        if self.session is None:
            from rho_agent.session import Session

            agent = self.agent(uploads)
            self.uploaded = takes_uploads(agent)
            sent = (
                getattr(agent.backend, "uploads", None) if self.uploaded and not uploads else None
            )
            if sent:  # the backend's own choice (the project folder): say so, once
                self.registry.notify(
                    f"rho-agent: session '{self.name}' sends {', '.join(sent)} to its sandbox "
                    "(no --upload given; .gitignored and secret files are left out). To send "
                    "only what you choose, use --upload LOCAL:REMOTE."
                )
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

    def watch(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` for every event of every run of this session (on the runner
        thread), until the returned function is called."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _dispatch(self, event: Event) -> None:
        if event.type == "model_call":
            self.cost_usd += event.cost_usd
        elif event.type == "run_started":
            self.runs += 1
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
        attachments: Iterable[Attachment] = (),
        end_on_cancel: bool = False,
        prepare: Callable[[Session], Awaitable[Any]] | None = None,
        conclude: Callable[[Session], Awaitable[Any]] | None = None,
    ) -> RunResult:
        """Upload (`LOCAL:REMOTE` specs), ship attachments, run `prompt`, download
        (`(remote, local)` pairs). `prepare(session)` is awaited first, once the session is
        open; `conclude(session)` last, once the run returned (before whoever awaits the run
        sees its result). Cancelling ends the session if `end_on_cancel`."""
        if listener:
            self._listeners.append(listener)
        try:
            self.registry.check_budget()  # before a sandbox is made for nothing
            uploads = list(uploads)
            session = await self.start(uploads)
            session.approver = approver
            if prepare is not None:
                await prepare(session)
            if not self.uploaded:
                for spec in uploads:
                    await upload(session, spec)
            notes = []
            for item in attachments:
                path = session.workspace.resolve(f"{self.attachments_dir}/{item.filename}")
                await session.workspace.write_bytes(path, item.data)
                notes.append(item.note(path))
            result = await session.run(
                self._with_notes(prompt, notes), limit=self.registry.budget_left()
            )
            if result.ok:
                for remote, local in downloads:
                    await download(session, remote, local)
            if conclude is not None:
                await conclude(session)
        except asyncio.CancelledError:
            if end_on_cancel:
                await self.end()
            raise
        finally:
            if listener:
                self._listeners.remove(listener)
        self.result = result
        return result

    def _with_notes(self, prompt: str, notes: list[str]) -> str:
        """The prompt followed by where the attachments are."""
        if not notes:
            return prompt
        return prompt.rstrip() + f"\n\n{self.attachments_heading}\n" + "\n".join(notes)

    # ------------------------------------------------------------- from the caller's thread

    def submit(self, make: Callable[[Job[RunResult]], Any]) -> Job[RunResult]:
        if self.busy:
            raise ConfigError(
                f"Session '{self.name}' is busy with a background run; wait for it, cancel it, "
                "or use --session OTHER for a parallel conversation."
            )
        self.job = self.registry.runner.submit(make)
        return self.job

    def cancel(self) -> None:
        """Stop the run in progress (the session stays open)."""
        if self.job is not None:
            self.job.cancel()

    async def run(self, prompt: str) -> RunResult:
        """`await named.run(...)` from any loop (a notebook cell's): the run happens on the
        runner, where this session's workspace lives; the caller's loop only waits.

        Cancelling the caller (a kernel's ■ cancels an awaiting cell) cancels the run and ends
        the workspace, as an interrupted `run_sync` does; then CancelledError is raised."""
        job = self.submit(lambda job: self.execute(prompt, end_on_cancel=True))
        with loop_wakes_on_signals():  # a kernel interrupt reaches an awaiting cell at once
            try:
                return await job
            except asyncio.CancelledError:
                raise asyncio.CancelledError(INTERRUPTED) from None

    def run_sync(self, prompt: str) -> RunResult:
        """`run`, blocking; an interrupt (Ctrl-C, a kernel's ■) cancels it, ends the
        workspace, and raises `Interrupted` (a KeyboardInterrupt IPython shows as one line)."""
        job = self.submit(lambda job: self.execute(prompt, end_on_cancel=True))
        try:
            return job.wait()
        except KeyboardInterrupt:
            raise Interrupted(INTERRUPTED) from None


S = TypeVar("S", bound=NamedSession)


class SessionRegistry(Generic[S]):
    """Named sessions of one kind (`session_class`: a front end may add its renderings)."""

    def __init__(self, session_class: type[S], notify: Callable[[str], Any] = print) -> None:
        self.runner = Runner()
        self.session_class = session_class
        self.sessions: dict[str, S] = {}
        self.defaults: dict[str, Any] = {}
        #: What all sessions together may spend (USD, every model call counted); None: no cap.
        self.budget_usd: float | None = None
        self._ended_cost = 0.0  # of sessions reset since
        self.notify = notify  # one line to the person (print)
        #: Called with each session as it is created (the JupyterLab sidebar follows its runs).
        self.on_new_session: list[Callable[[S], Any]] = []

    def session(
        self, name: str | None = None, overrides: dict[str, Any] | None = None, *, new: bool = False
    ) -> S:
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
                self._ended_cost += existing.cost_usd
            created = self.session_class(self, name, {**self.defaults, **overrides})
            self.sessions[name] = created
            for observer in list(self.on_new_session):
                observer(created)
            return created
        changed = {k: v for k, v in overrides.items() if existing.settings.get(k) != v}
        if changed:
            if existing.session is not None:
                self.runner.run(existing.end())
                self.notify(
                    f"rho-agent: session '{name}' continues with new settings: {show_settings(changed)}"
                )
            existing.settings.update(changed)
        return existing

    def reset(self, name: str | None = None) -> None:
        target = self.sessions.pop(name or DEFAULT_SESSION, None)
        if target is not None:
            self._ended_cost += target.cost_usd  # spent is spent: a reset does not refund it
            target.cancel()
            self.runner.run(target.end())

    def reset_all(self) -> None:
        for name in list(self.sessions):
            self.reset(name)

    @property
    def cost_usd(self) -> float:
        return sum(s.cost_usd for s in self.sessions.values()) + self._ended_cost

    def check_budget(self) -> None:
        """Refuse to start a run once the budget is spent."""
        if self.budget_usd is not None and self.cost_usd >= self.budget_usd:
            raise BudgetSpent(
                f"The budget of ${self.budget_usd:.4f} is spent (${self.cost_usd:.4f} so far); "
                "raise it with `%rho config --budget USD` or remove it with `--budget 0`."
            )

    def budget_left(self) -> CostLimit | None:
        """The rest of the budget, as a limit on the next run."""
        from rho_agent.session import CostLimit

        if self.budget_usd is None:
            return None
        return CostLimit(
            self.budget_usd - self.cost_usd,
            f"the budget of ${self.budget_usd:.4f} for all sessions "
            "(raise it with `%rho config --budget USD`)",
        )

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
