"""Signals that wake the main thread's event loop, so their Python handlers run at once.

Python runs a signal's handler on the main thread, between bytecodes. When the operating system
delivers the signal to another thread (a Jupyter kernel has many), a main thread asleep in its
event loop does not notice it until something else wakes the loop: a kernel interrupt (■) of a
cell that awaits an agent run was handled only when the run ended, minutes later.
`signal.set_wakeup_fd` makes every handled signal write its number to a socket; the loop reads
that socket, so it wakes up and the handler runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any


class SignalWakeup:
    """While installed, a signal with a Python handler wakes `loop`; `on_signal(signum)` is
    then called on the loop (after the handler)."""

    #: The one installed (the wakeup fd is per process).
    current: SignalWakeup | None = None

    def __init__(self, on_signal: Callable[[int], Any] | None = None) -> None:
        self.on_signal = on_signal
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sockets: tuple[socket.socket, socket.socket] | None = None

    @property
    def installed(self) -> bool:
        return self._sockets is not None

    def install(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Install on `loop` (the main thread's). False, changing nothing, when not on the main
        thread, when a wakeup fd is set already (its owner wakes the loop), or when the loop
        cannot watch a socket."""
        if SignalWakeup.current is not None:
            return False
        if threading.current_thread() is not threading.main_thread():
            return False
        read, write = socket.socketpair()
        read.setblocking(False)
        write.setblocking(False)
        try:
            previous = signal.set_wakeup_fd(write.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):
            _close(read, write)
            return False
        if previous != -1:
            signal.set_wakeup_fd(previous)
            _close(read, write)
            return False
        try:
            loop.add_reader(read.fileno(), self._read)
        except (NotImplementedError, RuntimeError):
            signal.set_wakeup_fd(-1)
            _close(read, write)
            return False
        self._loop, self._sockets = loop, (read, write)
        SignalWakeup.current = self
        return True

    def uninstall(self) -> None:
        """Undo `install` (from the main thread)."""
        if self._sockets is None:
            return
        read, write = self._sockets
        self._sockets = None
        if SignalWakeup.current is self:
            SignalWakeup.current = None
        with contextlib.suppress(ValueError):  # not the main thread: leave the fd to the OS
            current = signal.set_wakeup_fd(-1)
            if current not in (-1, write.fileno()):
                signal.set_wakeup_fd(current)  # someone replaced ours: theirs stays
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(read.fileno())
        self._loop = None
        _close(read, write)

    def _read(self) -> None:
        if self._sockets is None:
            return
        try:
            data = self._sockets[0].recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return
        if self.on_signal is not None:
            for signum in data:
                self.on_signal(signum)


@contextlib.contextmanager
def loop_wakes_on_signals() -> Iterator[None]:
    """While inside (on the main thread's running loop), signals wake it; elsewhere, nothing."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        yield
        return
    wakeup = SignalWakeup()
    installed = wakeup.install(loop)
    try:
        yield
    finally:
        if installed:
            wakeup.uninstall()


def _close(*sockets: socket.socket) -> None:
    for s in sockets:
        s.close()
