"""Backends are config objects that open a workspace for one session.

`LocalBackend` and `DaytonaBackend` (in `backends/daytona.py`) are the built-ins; a
backend is anything with a `name` and an async `open(...)` returning a `Workspace`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rho_agent._util import did_you_mean
from rho_agent.backends.base import Workspace
from rho_agent.errors import ConfigError
from rho_agent.sandbox.confinement import UNCONFINED, Confinement

Notify = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class OpenRequest:
    """What a session tells its backend when it opens a workspace."""

    session_id: str
    working_dir: str | None
    passthrough_env: tuple[str, ...] = ()
    notify: Notify | None = None
    #: What the profile lets every command do; the workspace has the OS enforce it.
    confinement: Confinement = UNCONFINED


@runtime_checkable
class Backend(Protocol):
    name: str

    async def open(self, request: OpenRequest) -> Workspace:
        """A workspace for one session. May return before a remote workspace is ready."""
        ...


@dataclass
class LocalBackend:
    """Tools act on this machine, in the working directory (default: the current one)."""

    name: str = field(default="local", init=False)
    env: dict[str, str] = field(default_factory=dict)

    async def open(self, request: OpenRequest) -> Workspace:
        from rho_agent.backends.local import LocalWorkspace

        working_dir = Path(request.working_dir or ".").expanduser().resolve()
        if not working_dir.is_dir():
            raise ConfigError(f"Working directory does not exist: {working_dir}")
        return LocalWorkspace(
            working_dir,
            env=self.env,
            passthrough_env=list(request.passthrough_env),
            confinement=request.confinement,
            notify=request.notify,
        )


def _daytona() -> Any:
    from rho_agent.backends.daytona import DaytonaBackend

    return DaytonaBackend()


#: Backends by the name `--backend` / `RHO_AGENT_BACKEND` take. Built-ins register here too.
BACKEND_FACTORIES: dict[str, Callable[[], Any]] = {"local": LocalBackend, "daytona": _daytona}


def resolve_backend(spec: Any) -> Backend:
    if spec is None:
        spec = "local"
    if isinstance(spec, str):
        factory = BACKEND_FACTORIES.get(spec)
        if factory is None:
            names = list(BACKEND_FACTORIES)
            raise ConfigError(
                f"Unknown backend '{spec}'{did_you_mean(spec, names)}. Use one of: {', '.join(names)}."
            )
        return factory()
    if isinstance(spec, Backend):
        return spec
    raise ConfigError(
        f"backend must be a name ({', '.join(BACKEND_FACTORIES)}) or a backend object, not {spec!r}"
    )
