"""What a kernel interrupt (■) does to agent work, whatever started it.

Jupyter's ■ sends SIGINT to the kernel. ipykernel turns it into a KeyboardInterrupt in a cell
that runs synchronously (a `%%rho` cell, `run_sync`) and into a cancel of a cell that awaits
(`await session().run(...)`, the plain `Session` API); between cells it ignores it. With the
extension loaded:

- the kernel's loop wakes up on a signal (`SignalWakeup`), so an awaiting cell is cancelled
  at once, not when its run ends;
- a cell cancelled by ■ ends with one `Interrupted: …` line, not a CancelledError traceback;
- while no cell executes, ■ cancels the background (`--background`, Panel) runs in progress, as
  their Cancel buttons do: each session and its sandbox stay for the next run.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from rho_agent._wakeup import SignalWakeup

#: The line of a cell cancelled by ■ whose CancelledError says nothing more.
CANCELLED = "the cell was cancelled; agent runs it awaited were stopped (running commands killed)."


class InterruptHandling:
    """Installed by `%load_ext rho_agent` on an IPython shell, removed by `%unload_ext`."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.wakeup = SignalWakeup(self._on_signal)
        #: A SIGINT arrived since the executing cell started.
        self.interrupted = False
        self._kernel: Any = None
        #: While ours is installed: the shell's custom exception handler before it.
        self._previous_exc: tuple[tuple[type[BaseException], ...], Any] | None = None

    def install(self) -> None:
        try:
            self.wakeup.install(asyncio.get_running_loop())
        except RuntimeError:  # no running loop (a terminal IPython): Ctrl-C works as it is
            pass
        # ipykernel restores `saved_sigint_handler` after each message it handles: between
        # cells, SIGINT goes to `_when_idle` instead of being ignored.
        kernel = getattr(self.shell, "kernel", None)
        if kernel is not None and getattr(kernel, "saved_sigint_handler", None) == signal.SIG_IGN:
            kernel.saved_sigint_handler = self._when_idle
            self._kernel = kernel
        self.shell.events.register("pre_run_cell", self._new_cell)

    def uninstall(self) -> None:
        try:
            self.shell.events.unregister("pre_run_cell", self._new_cell)
        except ValueError:
            pass
        self._drop_custom_exc()
        if self._kernel is not None:
            if self._kernel.saved_sigint_handler == self._when_idle:
                self._kernel.saved_sigint_handler = signal.SIG_IGN
            self._kernel = None
        self.wakeup.uninstall()

    # ------------------------------------------------------------------ hooks

    def _new_cell(self, info: Any = None) -> None:
        self.interrupted = False
        self._drop_custom_exc()

    def _on_signal(self, signum: int) -> None:
        """On the kernel's loop, before a cancelled cell can end: the next CancelledError
        of this cell is shown as one line. (Only from now on: a handler installed at load
        time would make libraries imported later, such as trio, warn that one exists.)"""
        if signum != signal.SIGINT:
            return
        self.interrupted = True
        if self._previous_exc is None:  # another one (trio installs one) is chained
            shell = self.shell
            self._previous_exc = (shell.custom_exceptions, shell.CustomTB)
            shell.set_custom_exc(
                (*shell.custom_exceptions, asyncio.CancelledError), self._show_cancelled
            )

    def _drop_custom_exc(self) -> None:
        if self._previous_exc is not None:
            self.shell.custom_exceptions, self.shell.CustomTB = self._previous_exc
            self._previous_exc = None

    def _when_idle(self, signum: int, frame: Any) -> None:
        """SIGINT while no cell executes: cancel every background run (sessions stay)."""
        from rho_agent.notebook import registry

        current = registry.current_registry()  # not get_registry(): none means nothing runs
        if current is None:
            return
        for nbs in list(current.sessions.values()):
            if nbs.busy:
                nbs.cancel()

    def _show_cancelled(
        self,
        shell: Any,
        etype: type[BaseException],
        value: BaseException,
        tb: Any,
        tb_offset: Any = None,
    ) -> list[str] | None:
        """A CancelledError ended the cell: after ■, one line; otherwise the usual traceback."""
        if not (self.interrupted and isinstance(value, asyncio.CancelledError)):
            previous = self._previous_exc
            if previous is not None and isinstance(value, previous[0]):
                return previous[1](etype, value, tb, tb_offset=tb_offset)
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return None
        stb = [f"\x1b[0;31mInterrupted:\x1b[0m {str(value) or CANCELLED}"]
        shell._showtraceback(etype, value, stb)
        return stb
