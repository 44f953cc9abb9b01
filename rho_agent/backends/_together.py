"""Running the requests of one transfer side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


async def together(coros: list[Coroutine[Any, Any, None]]) -> None:
    """Run `coros` side by side; the first failure cancels the rest and is raised."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
