"""The rho-agent sandboxes of a Daytona account: what `rho-agent sandboxes list` shows, what
`--sandbox PREFIX` and the notebook's completion choose from."""

from __future__ import annotations

from typing import Any

from rho_agent.backends.daytona._plan import LABEL, user_label


async def rho_sandboxes(client: Any, *, all_users: bool = False) -> list[Any]:
    """Sandboxes labelled `rho-agent=1`: this user's, or everyone's (SDK objects)."""
    from daytona import ListSandboxesQuery

    labels = {LABEL: "1"} if all_users else {LABEL: "1", f"{LABEL}-user": user_label()}
    return [box async for box in client.list(ListSandboxesQuery(labels=labels))]
