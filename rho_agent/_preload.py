"""Heavy SDK imports, off the event loop and one at a time, in the order they were asked for.

Importing the Daytona SDK or `anthropic` takes about a second of pure Python. Two imports in
two threads fight for the GIL and both end late; in one lane the first asked for (the Daytona
SDK, so the sandbox create request leaves as early as it can) ends first, and the next
(`anthropic`, for the first model call) follows at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_lane: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def soon(fn: Callable[[], T]) -> asyncio.Future[T]:
    """Queue `fn` (an import, or work that imports) on the lane now; await the result later."""
    global _lane
    with _lock:
        if _lane is None:
            _lane = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rho-agent-imports")
        future = _lane.submit(fn)
    return asyncio.wrap_future(future)
