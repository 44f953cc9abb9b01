"""EventBus: where a session's events go — the trace file, callbacks, and `stream()` queues.

Every event is delivered to every sink in one order: the trace first (so a crash in a
callback still leaves the event on disk), then the callbacks in subscription order (an
async one is awaited before the next gets the event), then the queues.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Protocol

from rho_agent.events import Event

EventCallback = Callable[[Event], Awaitable[None] | None]


class TraceSink(Protocol):
    def write(self, event: Event) -> None: ...

    def close(self) -> None: ...


class EventBus:
    """Fans each event out to the trace, the callbacks and the queues."""

    def __init__(self, trace: TraceSink | None = None) -> None:
        self._trace = trace
        self._callbacks: list[EventCallback] = []
        self._queues: list[asyncio.Queue[Event | None]] = []

    def subscribe(self, callback: EventCallback) -> None:
        """Call `callback` (sync or async) with every event from now on."""
        self._callbacks.append(callback)

    def queue(self) -> asyncio.Queue[Event | None]:
        """A queue that receives every event from now on, and None when the bus closes."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues.append(queue)
        return queue

    def remove_queue(self, queue: asyncio.Queue[Event | None]) -> None:
        self._queues.remove(queue)

    async def emit(self, event: Event) -> None:
        if self._trace is not None:
            self._trace.write(event)
        for callback in list(self._callbacks):
            outcome = callback(event)
            if inspect.isawaitable(outcome):
                await outcome
        for queue in self._queues:
            queue.put_nowait(event)

    def close(self) -> None:
        """Close the trace and end every queue (each gets None)."""
        if self._trace is not None:
            self._trace.close()
        for queue in self._queues:
            queue.put_nowait(None)
