"""Files in and out of a session's workspace, as `--upload` / `--download` specs say."""

from __future__ import annotations

from typing import Any


async def upload_specs(session: Any, specs: list[str]) -> None:
    """Copy `LOCAL:REMOTE` specs into a started session's workspace, one archive each (for
    backends that do not take them while they provision)."""
    for spec in specs:
        local, _, remote = spec.rpartition(":")
        await session.upload(local, remote)
