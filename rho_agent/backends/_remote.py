"""`RemoteWorkspace`: a workspace made ready in the background, and released however it ends.

    start() ─► task: _provision()   (subclass: create, upload, setup …)
                 ▲ ready() waits for it; every primitive calls ready() first
    close() ─► cancel the task if still running ─► _teardown()   (subclass: delete …)

`close()` runs under `asyncio.shield`: a second Ctrl-C (a cancel of the closing task) does
not interrupt the teardown, so the remote resource is still released; the cancellation is
re-raised once it is done. A provisioning failure is kept in `failure` and raised by every
later `ready()`.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod

from rho_agent.backends._types import Notify
from rho_agent.backends._workspace import Workspace
from rho_agent.errors import SandboxError

_CLOSED_DURING_SETUP = "The sandbox was still being set up when the session closed."


class RemoteWorkspace(Workspace):
    """Subclasses implement `_provision()` and `_teardown()` plus the primitives, each of
    which awaits `self.ready()` before touching the remote side."""

    def __init__(self, *, notify: Notify | None = None) -> None:
        self.failure: BaseException | None = None
        self._notify_cb = notify
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @abstractmethod
    async def _provision(self) -> None:
        """Make the remote side usable. An exception here becomes `failure`; the subclass
        releases what it created before raising (or leaves it to `_teardown`)."""

    @abstractmethod
    async def _teardown(self) -> None:
        """Release the remote side. Runs once, after provisioning has stopped, shielded."""

    def start(self) -> None:
        """Start provisioning in the background (it overlaps the first model call)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run_provision())

    async def _run_provision(self) -> None:
        try:
            await self._provision()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            self.failure = exc
            raise

    async def ready(self) -> None:
        if self._closed:
            raise SandboxError(
                "This session is closed and its sandbox is gone; start a new session."
            )
        task = self._task
        if task is None or task is asyncio.current_task():
            return  # not started, or provisioning itself is calling
        if not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.cancelled():
                    raise SandboxError(_CLOSED_DURING_SETUP) from None
                raise
        elif task.cancelled():
            raise SandboxError(_CLOSED_DURING_SETUP)
        elif (error := task.exception()) is not None:
            raise error

    async def close(self) -> None:
        """Stop provisioning and release the remote side. Safe to call twice.

        A cancel while closing does not interrupt the teardown; it is re-raised after it.
        """
        if self._closed:
            return
        self._closed = True
        teardown = asyncio.ensure_future(self._stop_then_teardown())
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

    async def _stop_then_teardown(self) -> None:
        task = self._task
        try:
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        finally:
            await self._teardown()

    async def _notify(self, message: str) -> None:
        if self._notify_cb is None:
            return
        try:
            await self._notify_cb(message)
        except Exception:  # a broken event callback must not break the workspace
            pass
