"""Answers of runs no cell waits for (`--background`, the Panel), saved as plain cell outputs.

A widget's state is not a cell output: reopened with a fresh kernel, on GitHub or in nbviewer
it shows nothing of the answer. So every background or panel run is tracked here until its
answer has been displayed, once, as plain outputs (a notification line, the answer as
Markdown with a text fallback, the collapsible tool log) of a cell:

- the cell that waits for it (`await handle`, `handle.result()`), if one does;
- otherwise the first cell that *finishes* executing after the run ended: an IPython
  `post_run_cell` hook. Output displayed while a cell executes belongs to that cell, and
  `post_run_cell` still runs in that cell's execution, after its code (also when it failed
  or was interrupted). Post rather than pre: a run that ends while a cell executes (a cell
  that sleeps or polls `handle.done()`) is shown by that very cell instead of the one after
  it; a background cell whose run ends at once shows the answer itself; and the cell's own
  code (`clear_output()`) cannot wipe an answer already shown. Silent executions (a
  frontend's introspection) trigger no `post_run_cell`, so they cannot swallow an answer.

`RunHandle` is what `%%rho --background --out VAR` binds at once and what `Panel.run()`
returns: `.done()`, `.result(timeout=None)`, `await handle`, `.cancel()`, and, once the run
ended, the `RunResult`'s fields (`handle.text`, `.status`, `.cost_usd`…).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rho_agent.frontend import Job
    from rho_agent.notebook.guard import Replay
    from rho_agent.notebook.render import Bundle, RunView
    from rho_agent.session import RunResult

#: The RunResult fields a handle forwards once its run ended.
RESULT_FIELDS = frozenset(
    {"text", "status", "usage", "cost_usd", "turns", "session_id", "error", "cost_estimated", "ok"}
)

#: How a handle's wait ends after a kernel interrupt (the run is cancelled, as `await job` does).
WAIT_INTERRUPTED = (
    "the run was cancelled (a running command was killed); its session and workspace stay "
    "for the next run."
)


class Delivery:
    """One background or panel run whose answer is to be displayed once, in a cell."""

    def __init__(self, job: Job[RunResult], view: RunView, session: str, kind: str) -> None:
        self.job = job
        self.view = view
        self.session = session
        self.kind = kind  # "background" | "panel"
        self.delivered = False
        self._lock = threading.Lock()
        from rho_agent.notebook.registry import current_registry

        #: The registry the run belongs to: when it is reset (`%unload_ext`), so is this.
        self.registry = current_registry()

    def take(self) -> bool:
        """Claim the delivery: True for exactly one caller, once the run ended."""
        with self._lock:
            if self.delivered or not self.job.done():
                return False
            self.delivered = True
            return True

    def bundles(self) -> list[Bundle]:
        """The notification line, the answer (Markdown + text) and the tool log."""
        from rho_agent.frontend import escape_markdown

        view = self.view
        if view.status == "running":  # the run ended without a RunFinished event
            if self.job.cancelled():
                view.finish("cancelled")
            else:
                try:
                    self.job.result(timeout=0)
                except BaseException as exc:  # shown, not raised: the run already ended
                    view.error = getattr(exc, "message", None) or str(exc) or repr(exc)
                    view.finish("failed")
        return [
            {
                "text/markdown": escape_markdown(self.notification()),
                "text/plain": self.notification(),
            },
            view.answer_bundle(),
            view.log_bundle(),
        ]

    def notification(self) -> str:
        """`rho: background run in session 'default' finished (completed · 2 turns · $0.0012)`."""
        view = self.view
        turns = f"{view.turns} turn{'' if view.turns == 1 else 's'}"
        return (
            f"rho: {self.kind} run in session '{self.session}' finished "
            f"({view.status} · {turns} · ${view.cost_usd:.4f})"
        )

    def deliver(self) -> bool:
        """Display the answer in the executing cell if nobody has yet; True if this did."""
        if not self.take():
            return False
        from IPython.display import display

        for bundle in self.bundles():
            display(bundle, raw=True)
        return True


class Deliveries:
    """The runs of this kernel whose answers are not displayed yet."""

    def __init__(self) -> None:
        self._pending: list[Delivery] = []
        self._lock = threading.Lock()

    def track(self, job: Job[RunResult], view: RunView, session: str, kind: str) -> Delivery:
        delivery = Delivery(job, view, session, kind)
        with self._lock:
            self._pending.append(delivery)
        _install_hook()
        return delivery

    @property
    def pending(self) -> list[Delivery]:
        with self._lock:
            return list(self._pending)

    def flush(self) -> int:
        """Display every ended run's answer not yet shown (in start order); how many."""
        from rho_agent.notebook.registry import current_registry

        registry = current_registry()
        with self._lock:
            # A run of a registry that was reset since (its sessions ended) is forgotten.
            self._pending = [d for d in self._pending if d.registry is registry]
            ended = [d for d in self._pending if d.job.done() or d.delivered]
            self._pending = [d for d in self._pending if d not in ended]
        return sum(d.deliver() for d in ended)

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()


_deliveries = Deliveries()
_hooked: Any = None  # the shell whose post_run_cell calls `_post_run_cell`


def get_deliveries() -> Deliveries:
    return _deliveries


def _post_run_cell(result: Any = None) -> None:
    """IPython `post_run_cell`: the executing cell shows the answers of runs that ended."""
    _deliveries.flush()


def _install_hook(shell: Any = None) -> None:
    """Register `_post_run_cell` on the shell (once), also without `%load_ext` (a Panel
    made with `rho_agent.notebook.Panel()`)."""
    global _hooked
    if shell is None:
        from IPython.core.getipython import get_ipython

        shell = get_ipython()
    if shell is None or shell is _hooked:
        return
    if _hooked is not None:
        uninstall(_hooked)
    shell.events.register("post_run_cell", _post_run_cell)
    _hooked = shell


def install(shell: Any) -> None:
    """`%load_ext rho_agent`."""
    _install_hook(shell)


def uninstall(shell: Any) -> None:
    """`%unload_ext rho_agent`: no more deliveries (the sessions end anyway)."""
    global _hooked
    try:
        shell.events.unregister("post_run_cell", _post_run_cell)
    except ValueError:
        pass
    if shell is _hooked:
        _hooked = None
    _deliveries.clear()


class RunHandle:
    """A background or panel run: `.done()`, `.result(timeout=None)`, `await handle`.

    Waiting for it in a cell (`await`, `.result()`) also displays its answer there, unless a
    cell already did. A kernel interrupt (■) of the waiting cell cancels the run, as the
    Cancel button does (the session and its workspace stay), and ends the cell with one
    `Interrupted` line; the waiting cell then shows the cancelled run. A `.result(timeout=…)`
    that times out leaves the run going.

    Once the run ended, the RunResult's fields are the handle's: `handle.text`,
    `handle.status`, `handle.cost_usd`, `handle.ok`…
    """

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery
        self.job = delivery.job
        self.view = delivery.view

    @classmethod
    def replayed(cls, replay: Replay, session: str | None, kind: str) -> RunHandle:
        """The handle of a run the Run-All guard did not repeat: done, its answer shown."""
        from rho_agent.frontend import DEFAULT_SESSION
        from rho_agent.notebook.registry import get_registry

        async def earlier() -> RunResult:
            return replay.result

        job = get_registry().runner.submit(earlier())
        job.wait()
        delivery = Delivery(job, replay.view, session or DEFAULT_SESSION, kind)
        delivery.delivered = True  # the cell that skipped it showed it
        return cls(delivery)

    @property
    def session(self) -> str:
        return self._delivery.session

    def done(self) -> bool:
        return self.job.done()

    def cancelled(self) -> bool:
        return self.job.cancelled()

    def cancel(self) -> None:
        """Stop the run (its session and workspace stay)."""
        self.job.cancel()

    def add_done_callback(self, fn: Any) -> None:
        """Call `fn(handle)` when the run ends (in the thread that ends it)."""
        self.job.add_done_callback(lambda _job: fn(self))

    def result(self, timeout: float | None = None) -> RunResult:
        """Wait for the run (up to `timeout` seconds) and return its RunResult; shows the
        answer in the calling cell if no cell has yet. Raises TimeoutError (the run goes on),
        CancelledError for a cancelled run, the run's error for a failed one."""
        try:
            result = self.job.wait(timeout)
        except KeyboardInterrupt:  # Job.wait cancelled the run and waited for its cleanup
            self._deliver_here()
            from rho_agent.frontend._runner import Interrupted

            raise Interrupted(WAIT_INTERRUPTED) from None
        except TimeoutError:
            raise
        except BaseException:
            self._deliver_here()
            raise
        self._deliver_here()
        return result

    def __await__(self) -> Generator[Any, None, RunResult]:
        return self._await().__await__()

    async def _await(self) -> RunResult:
        from rho_agent._wakeup import loop_wakes_on_signals

        with loop_wakes_on_signals():  # a kernel interrupt reaches the awaiting cell at once
            try:
                result = await self.job
            except asyncio.CancelledError:  # the cell was cancelled: so was the run
                self._deliver_here()
                raise asyncio.CancelledError(WAIT_INTERRUPTED) from None
            except BaseException:
                self._deliver_here()
                raise
        self._deliver_here()
        return result

    def _deliver_here(self) -> None:
        """Show the answer in the calling cell (only from the kernel's main thread)."""
        if threading.current_thread() is threading.main_thread():
            self._delivery.deliver()

    def __getattr__(self, name: str) -> Any:
        if name in RESULT_FIELDS:
            job = self.__dict__.get("job")
            if job is not None and job.done():
                try:
                    result = job.result(timeout=0)
                except (concurrent.futures.CancelledError, Exception):
                    raise AttributeError(
                        f"{name}: the run ended without a result ({self._state()})"
                    ) from None
                return getattr(result, name)
            raise AttributeError(
                f"{name}: the run is still going; `await` the handle or call .result() first"
            )
        raise AttributeError(name)

    def _state(self) -> str:
        if not self.job.done():
            return "running"
        if self.job.cancelled():
            return "cancelled"
        return self.view.status if self.view.status != "running" else "failed"

    def __repr__(self) -> str:
        return f"<RunHandle {self._delivery.kind} run in session '{self.session}': {self._state()}>"
