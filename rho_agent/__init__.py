"""rho-agent: a Claude coding agent whose tools run on your machine or in a Daytona sandbox.

    from rho_agent import Agent, AgentConfig, Session

    async with Session(Agent(AgentConfig(profile="developer"))) as session:
        result = await session.run(prompt="fix the failing test")
        print(result.text)

Names are imported lazily so `import rho_agent` (and `rho-agent --help`, `%load_ext
rho_agent`) stay fast and do not import anthropic, daytona or ipywidgets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentConfig",
    "DaytonaBackend",
    "LocalBackend",
    "Profile",
    "RunResult",
    "Session",
    "__version__",
    "events",
    "load_ipython_extension",
    "unload_ipython_extension",
]

_LAZY = {
    "Agent": "rho_agent.agent",
    "AgentConfig": "rho_agent.config",
    "Session": "rho_agent.session",
    "RunResult": "rho_agent.session",
    "LocalBackend": "rho_agent.backends",
    "DaytonaBackend": "rho_agent.backends.daytona",
    "Profile": "rho_agent.permissions.profile",
    "events": "rho_agent.events",
}

if TYPE_CHECKING:
    from rho_agent import events
    from rho_agent.agent import Agent
    from rho_agent.backends import LocalBackend
    from rho_agent.backends.daytona import DaytonaBackend
    from rho_agent.config import AgentConfig
    from rho_agent.permissions.profile import Profile
    from rho_agent.session import RunResult, Session


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rho_agent' has no attribute {name!r}")
    imported = importlib.import_module(module)
    return imported if name == "events" else getattr(imported, name)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext rho_agent`: registers the %rho / %%rho magics."""
    from rho_agent.notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from rho_agent.notebook.magics import unload_ipython_extension as unload

    unload(ipython)
