"""`RemoteWorkspace`: a workspace made ready in the background, and released however it ends.

    start() ─► task: _provision()   (subclass: create, upload, setup …)
                 ▲ ready() waits for it; every primitive calls ready() first
    close() ─► cancel the task if still running ─► _teardown()   (subclass: delete …)

`close()` runs under `asyncio.shield`: a second Ctrl-C (a cancel of the closing task) does
not interrupt the teardown, so the remote resource is still released; the cancellation is
re-raised once it is done. A provisioning failure is kept in `failure` and raised by every
later `ready()` — from the moment it is known (`_fail`), not only once provisioning has
cleaned up after it, so a run that ends meanwhile cannot report success.

A primitive that has to wait for provisioning says so once (`wait_ready`): "Waiting for the
sandbox (creating…)", where the phase is whatever `_provision` last set in `phase`.
"""

from __future__ import annotations

import asyncio
import contextvars
from abc import abstractmethod

from rho_agent.backends._types import Notify
from rho_agent.backends._workspace import Workspace
from rho_agent.errors import SandboxError

#: The workspace whose provisioning the current task belongs to: set in the provisioning task
#: and inherited by the tasks it starts (an upload's parallel requests), which must not wait
#: for provisioning to end, as provisioning waits for them.
_provisioning: contextvars.ContextVar[RemoteWorkspace | None] = contextvars.ContextVar(
    "rho_agent_provisioning", default=None
)

_CLOSED_DURING_SETUP = "The sandbox was still being set up when the session closed."


class RemoteWorkspace(Workspace):
    """Subclasses implement `_provision()` and `_teardown()` plus the primitives, each of
    which awaits `self.ready()` before touching the remote side."""

    def __init__(self, *, notify: Notify | None = None) -> None:
        self.failure: BaseException | None = None
        #: What provisioning is doing now ("creating", "uploading", …), for the wait notice.
        self.phase = "starting"
        self._notify_cb = notify
        self._task: asyncio.Task[None] | None = None
        self._failed: asyncio.Future[None] | None = None  # done once `failure` is set
        self._said_waiting = False
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
            self._failed = asyncio.get_running_loop().create_future()
            self._task = asyncio.ensure_future(self._run_provision())

    async def _run_provision(self) -> None:
        _provisioning.set(self)
        try:
            await self._provision()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:
            if self.failure is None:
                self._fail(exc)
            raise

    def _fail(self, error: BaseException) -> None:
        """Provisioning failed with `error`: every `ready()`, waiting or to come, raises it
        now, while `_provision` may still be cleaning up."""
        self.failure = error
        if self._failed is not None and not self._failed.done():
            self._failed.set_result(None)

    async def wait_ready(self) -> None:
        """`ready()` for a primitive: the first time it has to wait for provisioning, it says
        so (a tool call would otherwise seem to hang)."""
        task = self._task
        waiting = (
            task is not None
            and not task.done()
            and _provisioning.get() is not self
            and self.failure is None
            and not self._closed
        )
        if waiting and not self._said_waiting:
            self._said_waiting = True
            await self._notify(f"Waiting for the sandbox ({self.phase}…)")
        await self.ready()

    async def ready(self) -> None:
        if self._closed:
            raise SandboxError(
                "This session is closed and its sandbox is gone; start a new session."
            )
        task = self._task
        if task is None or _provisioning.get() is self:
            return  # not started, or provisioning itself is calling
        if not task.done() and self.failure is None:
            waits: set[asyncio.Future[None]] = {task}
            if self._failed is not None:
                waits.add(self._failed)
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if self.failure is not None:
            raise self.failure
        if task.cancelled():
            raise SandboxError(_CLOSED_DURING_SETUP)
        if task.done() and (error := task.exception()) is not None:
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
                if self.failure is None:  # still making it: stop; a failed one is cleaning up
                    task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            elif task is not None and not task.cancelled():
                task.exception()  # taken: a failure nobody awaited is not logged as lost
        finally:
            await self._teardown()

    async def _notify(self, message: str) -> None:
        if self._notify_cb is None:
            return
        try:
            await self._notify_cb(message)
        except Exception:  # a broken event callback must not break the workspace
            pass
