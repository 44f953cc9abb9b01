"""The documented import path: `from rho_agent.tools.handlers.daytona import DaytonaBackend`."""

from rho_agent.backends.daytona import DaytonaBackend

__all__ = ["DaytonaBackend"]
