"""The extension's one global: the registry of this kernel's named sessions.

`NotebookSession` is the kit's `NamedSession` plus what a notebook shows: a run's live view,
published to a cell's display or a panel (`start_run`). `Registry` adds the Run-All guard's
ledger. Everything that touches a Session runs on the runner loop.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rho_agent.frontend import DEFAULT_SESSION, Job, NamedSession, SessionRegistry, show_settings
from rho_agent.notebook.guard import RunLedger

if TYPE_CHECKING:
    from rho_agent.events import Event
    from rho_agent.notebook.render import RunView
    from rho_agent.session import RunResult
    from rho_agent.tools import Approver

__all__ = [
    "DEFAULT_SESSION",
    "NotebookSession",
    "Registry",
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


class Registry(SessionRegistry[NotebookSession]):
    def __init__(self) -> None:
        super().__init__(NotebookSession)
        self.allow_rerun = False
        self.ledger = RunLedger()


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
        _registry.shutdown()
        atexit.unregister(_registry.shutdown)
        _registry = None
