"""The extension's one global: the registry of this kernel's named sessions.

`NotebookSession` is the kit's `NamedSession` plus what a notebook shows: a run's live view,
published to a cell's display or a panel (`start_run`), and the Run-All guard around `run()`
and `run_sync()` called from a cell. `Registry` adds the guard (`rho_agent.notebook.guard`).
Everything that touches a Session runs on the runner loop.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rho_agent.frontend import DEFAULT_SESSION, Job, NamedSession, SessionRegistry, show_settings
from rho_agent.notebook.guard import RERUN_CALL, Claim, Guard

if TYPE_CHECKING:
    from rho_agent.events import Event
    from rho_agent.notebook.render import RunView
    from rho_agent.session import RunResult
    from rho_agent.tools import Approver

__all__ = [
    "DEFAULT_SESSION",
    "NotebookSession",
    "Registry",
    "SessionRunGuard",
    "get_registry",
    "reset_registry",
    "show_settings",
]


class NotebookSession(NamedSession):
    attachments_dir = "rho-vars"
    attachments_heading = "Notebook variables shipped into the workspace:"

    def start_run(
        self,
        prompt: str,
        view: RunView,
        sink: Callable[[dict[str, str]], Any],
        *,
        approver: Callable[[Job[RunResult]], Approver | None] | None = None,
        claim: Claim | None = None,
        **run_kwargs: Any,
    ) -> Job[RunResult]:
        """Submit `execute(prompt, **run_kwargs)`; `view` follows its events and is published to
        `sink` live (throttled). `approver(job)` makes the approver for this run. The guard's
        `claim` records the run before the job ends (a cell waiting for it may be followed by
        a Run All at once)."""
        from rho_agent.notebook.render import LiveDisplay

        live = LiveDisplay(view, sink)

        def on_event(event: Event) -> None:
            if event.type == "run_started" and self.session is not None and self.session.directory:
                view.trace_path = f"{self.session.directory}/trace.jsonl"
            live.on_event(event)

        async def go(job: Job[RunResult]) -> RunResult:
            live.start()
            try:
                result = await self.execute(
                    prompt,
                    listener=on_event,
                    approver=approver(job) if approver else None,
                    **run_kwargs,
                )
            finally:
                await live.stop()
            if claim is not None:
                claim.record(result, view.trace_path)
            return result

        return self.submit(go)

    def agent(self, uploads: list[str] | None = None) -> Any:
        """The Agent for these settings, with the kernel's key (`%rho login`) and, in demo
        mode, on the local backend in the demo's folder."""
        from rho_agent.frontend import build_agent

        registry = self.registry
        if not isinstance(registry, Registry):
            return super().agent(uploads)
        settings = dict(self.settings)
        if registry.demo_dir is not None:
            from rho_agent.notebook.demo import demo_settings

            settings, note = demo_settings(settings, registry.demo_dir)
            if note:
                registry.notify(note)
        key = {"api_key": registry.api_key} if registry.api_key else {}
        return build_agent({**settings, "upload": uploads or None}, **key)

    @property
    def trace_path(self) -> str | None:
        directory = self.session.directory if self.session is not None else None
        return f"{directory}/trace.jsonl" if directory else None

    def claim(self, prompt: str) -> Claim | None:
        """The Run-All guard's decision for a run the executing cell's code asks for."""
        registry = self.registry
        return registry.guard.claim(prompt) if isinstance(registry, Registry) else None

    async def run(self, prompt: str) -> RunResult:
        claim = self.claim(prompt)
        if claim is not None and (earlier := claim.settle(RERUN_CALL)) is not None:
            return earlier
        result = await super().run(prompt)
        if claim is not None:
            claim.record(result, self.trace_path)
        return result

    def run_sync(self, prompt: str) -> RunResult:
        claim = self.claim(prompt)
        if claim is not None and (earlier := claim.settle(RERUN_CALL)) is not None:
            return earlier
        result = super().run_sync(prompt)
        if claim is not None:
            claim.record(result, self.trace_path)
        return result


class Registry(SessionRegistry[NotebookSession]):
    def __init__(self) -> None:
        super().__init__(NotebookSession)
        self.guard = Guard()
        #: The key typed at `%rho login` (memory only: never in the environment or a file).
        self.api_key: str | None = None
        #: The demo's throwaway folder while the demo model plays the agent (`%rho demo`).
        self.demo_dir: str | None = None
        #: Slow completion values (Daytona sandbox ids), with when they were fetched.
        self.completion_cache: dict[str, tuple[float, list[str]]] = {}


_registry: Registry | None = None


def get_registry() -> Registry:
    """The registry of this kernel (created on first use; its sessions end when Python exits)."""
    global _registry
    if _registry is None:
        _registry = Registry()
        atexit.register(_registry.shutdown)
    return _registry


def current_registry() -> Registry | None:
    """The registry of this kernel if one was made (None: nothing has run)."""
    return _registry


def reset_registry() -> None:
    """End everything and forget the registry (`%unload_ext rho_agent`, tests)."""
    global _registry
    if _registry is not None:
        if _registry.demo_dir is not None:
            from rho_agent.agent import override_model

            override_model(None)  # the demo is the kernel's, and ends with it
        _registry.shutdown()
        atexit.unregister(_registry.shutdown)
        _registry = None


class SessionRunGuard:
    """The guard of `Session.run` called by a cell's own code (the plain API): a `RunHook`.

    The notebook's entry points run their sessions on the runner thread and guard themselves;
    `Guard.claim` ignores calls off the kernel's main thread, so they are not guarded twice."""

    def __init__(self) -> None:
        self._claims: dict[str, Claim] = {}  # by session id, until the run ends

    def before_run(self, session: Any, prompt: str) -> RunResult | None:
        claim = get_registry().guard.claim(prompt)
        if claim is None:
            return None
        if (earlier := claim.settle(RERUN_CALL)) is not None:
            return earlier
        self._claims[session.id] = claim
        return None

    def after_run(self, session: Any, prompt: str, result: RunResult) -> None:
        claim = self._claims.pop(session.id, None)
        if claim is not None:
            trace = f"{session.directory}/trace.jsonl" if session.directory else None
            claim.record(result, trace)
