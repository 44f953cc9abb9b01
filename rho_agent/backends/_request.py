"""What a backend is: a config object that opens a workspace for one session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rho_agent.backends._types import Notify
from rho_agent.backends._workspace import Workspace
from rho_agent.sandbox import UNCONFINED, Confinement


@dataclass(frozen=True)
class OpenRequest:
    """What a session tells its backend when it opens a workspace."""

    session_id: str
    working_dir: str | None
    passthrough_env: tuple[str, ...] = ()
    notify: Notify | None = None
    #: What the profile lets every command do; the workspace has the OS enforce it.
    confinement: Confinement = UNCONFINED
    #: The session's permission profile by name, for messages that say how to come back
    #: (a kept sandbox's reattach command); None if the session does not say.
    profile: str | None = None


@runtime_checkable
class Backend(Protocol):
    """Anything with a `name` and an async `open(request)` returning a `Workspace`."""

    name: str

    async def open(self, request: OpenRequest) -> Workspace:
        """A workspace for one session. May return before a remote workspace is ready."""
        ...
