"""Approvals for prompts run from the rho sidebar: the kernel asks the sidebar, and waits.

A `%%rho` cell asks on the kernel's stdin and the Panel in its widget; a prompt run from the
sidebar asks the sidebar that started it. Its approver (the session's `Approver` seam, as
the other two) sends an `approval` message (the tool and the call's summary) over
that sidebar's comm, then waits on the runner loop for the `approve` request that answers
it. A run cancelled meanwhile, or a sidebar that went away, is a denial.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable
from typing import Any

_ids = itertools.count(1)

Send = Callable[[dict[str, Any]], None]


class SidebarApprovals:
    """The approval requests waiting for a sidebar's answer, by id."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[bool], Any]] = {}
        self._lock = threading.Lock()

    def approver(self, send: Send, run: str, session: str, owner: Any = None) -> Any:
        """The approver for the sidebar run `run`: it asks through `send`. `owner` (the comm
        the run came from) lets `deny_all` end its questions when that comm closes."""
        from rho_agent.tools import summarize_call

        async def approve(name: str, tool_input: dict[str, Any]) -> bool:
            approval = f"approval-{next(_ids)}"
            loop = asyncio.get_running_loop()
            decision: asyncio.Future[bool] = loop.create_future()
            with self._lock:
                self._waiting[approval] = (loop, decision, owner)
            try:
                send(
                    {
                        "type": "approval",
                        "id": approval,
                        "run": run,
                        "session": session,
                        "tool": name,
                        # The tool's own one-line summary, secrets hidden (not the raw input).
                        "summary": summarize_call(name, tool_input, 200),
                    }
                )
                return await decision
            finally:
                with self._lock:
                    self._waiting.pop(approval, None)
                send({"type": "approval_done", "id": approval, "run": run})

        return approve

    def decide(self, approval: str, allow: bool) -> bool:
        """The sidebar's answer to `approval`; False if nothing waits for it any more."""
        with self._lock:
            waiting = self._waiting.get(approval)
        if waiting is None:
            return False
        loop, decision, _owner = waiting
        loop.call_soon_threadsafe(lambda: decision.done() or decision.set_result(allow))
        return True

    def deny_all(self, owner: Any = None) -> None:
        """Deny what waits (for `owner`'s runs only, if given): nobody is left to answer."""
        with self._lock:
            ids = [a for a, (_l, _d, o) in self._waiting.items() if owner is None or o is owner]
        for approval in ids:
            self.decide(approval, False)
