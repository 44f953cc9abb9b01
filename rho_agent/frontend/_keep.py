"""Keep a session's sandbox after the session ends, as `--keep` would have.

`--keep` is decided before the sandbox exists (`DaytonaBackend(keep=True)`): the workspace's
plan keeps the sandbox when it closes and prints how to reattach, the sandbox carries the
`rho-agent-keep` label (so `rho-agent sandboxes cleanup` spares it) and auto-delete is off.
`keep_sandbox` decides the same later, for a sandbox that is running: the sidebar's Keep. It
gives the live workspace that same plan and the sandbox the same label and auto-delete
setting; then ending the session (a reset, Delete in the sidebar, the kernel shutting down)
leaves the sandbox, exactly as with `--keep`.

A workspace with a plan that can keep (Daytona's) is the one kind this applies to; the SDK
calls go through its lifecycle's `call` (retries, errors in our words).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rho_agent.errors import ConfigError

#: The label `--keep` puts on a sandbox (`DaytonaBackend`'s plan).
KEEP_LABEL = "rho-agent-keep"


def is_kept(workspace: Any) -> bool:
    """Whether closing `workspace` leaves its sandbox (`--keep`, or kept since)."""
    return bool(getattr(getattr(workspace, "plan", None), "keep", False))


def can_keep(workspace: Any) -> bool:
    plan = getattr(workspace, "plan", None)
    return dataclasses.is_dataclass(plan) and hasattr(plan, "keep") and hasattr(workspace, "life")


async def keep_sandbox(session: Any, name: str) -> str:
    """Keep the sandbox of the open Session `session` (of the named session `name`) when it
    ends; returns the sandbox's id."""
    workspace = getattr(session, "workspace", None)
    if workspace is None or not can_keep(workspace):
        raise ConfigError(
            f"Session '{name}' has no sandbox to keep: only a remote backend's sandbox "
            "(--backend daytona) is deleted when the session ends."
        )
    sandbox = await workspace.get_sandbox()
    if is_kept(workspace):
        return sandbox.id
    life = workspace.life
    labels = {**(sandbox.labels or {}), KEEP_LABEL: "1"}
    await life.call(
        f"label sandbox {sandbox.id} as kept", lambda: sandbox.set_labels(labels), idempotent=True
    )
    await life.call(
        f"turn off auto-delete of sandbox {sandbox.id}",
        lambda: sandbox.set_auto_delete_interval(-1),
        idempotent=True,
    )
    plan = workspace.plan
    kept = dataclasses.replace(plan, keep=True, labels={**plan.labels, KEEP_LABEL: "1"})
    workspace.plan = life.plan = kept  # both read it: the workspace, and its close (`release`)
    return sandbox.id
