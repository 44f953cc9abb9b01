"""Keep a session's sandbox after the session ends, as `--keep` would have: the sidebar's
Keep, for a sandbox that is already running (the backend's `keep()` does it)."""

from __future__ import annotations

from typing import Any

from rho_agent.errors import ConfigError


def is_kept(workspace: Any) -> bool:
    """Whether closing `workspace` leaves its sandbox (`--keep`, or kept since)."""
    return bool(getattr(workspace, "kept", False))


def can_keep(workspace: Any) -> bool:
    return callable(getattr(workspace, "keep", None))


async def keep_sandbox(session: Any, name: str) -> str:
    """Keep the sandbox of the open Session `session` (of the named session `name`) when it
    ends; returns the sandbox's id."""
    workspace = getattr(session, "workspace", None)
    if workspace is None or not can_keep(workspace):
        raise ConfigError(
            f"Session '{name}' has no sandbox to keep: only a remote backend's sandbox "
            "(--backend daytona) is deleted when the session ends."
        )
    return await workspace.keep()
