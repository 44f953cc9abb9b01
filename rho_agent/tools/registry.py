"""Which tools a profile offers, in a fixed order.

Built-in tools are registered with `register_tool`, the same call an extension makes.
`build_tools` walks the registrations in order, so the tool list (and the prompt prefix
built from it) is identical from run to run, which keeps prompt caching effective.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rho_agent.permissions.profile import FileWriteMode, Profile, ShellMode
from rho_agent.tools.base import Tool

#: Decides from the profile and the configured databases whether a tool is offered.
Offered = Callable[[Profile, Mapping[str, str]], bool]


@dataclass(frozen=True)
class _Registration:
    tool: type[Tool]
    offered: Offered


_REGISTRY: list[_Registration] = []


def _always(profile: Profile, databases: Mapping[str, str]) -> bool:
    return True


def register_tool(tool: type[Tool], *, offered: Offered = _always) -> type[Tool]:
    """Add a tool class; `offered(profile, databases)` says when a profile gets it.

    Tools appear in registration order. Names must be unique.
    """
    if any(r.tool.name == tool.name for r in _REGISTRY):
        raise ValueError(f"A tool named {tool.name!r} is already registered")
    _REGISTRY.append(_Registration(tool, offered))
    return tool


def build_tools(profile: Profile, *, databases: Mapping[str, str] | None = None) -> list[Tool]:
    """The tool instances `profile` offers (SQL tools only when a database is configured)."""
    databases = databases or {}
    return [r.tool() for r in _REGISTRY if r.offered(profile, databases)]


def read_only_names(tools: list[Tool]) -> frozenset[str]:
    """Names of tools that never change anything: their calls in one turn may run together."""
    return frozenset(tool.name for tool in tools if tool.read_only)


def _register_builtins() -> None:
    from rho_agent.tools.bash import BashTool
    from rho_agent.tools.edit import EditTool
    from rho_agent.tools.glob import GlobTool
    from rho_agent.tools.grep import GrepTool
    from rho_agent.tools.listdir import ListTool
    from rho_agent.tools.read import ReadTool
    from rho_agent.tools.sql import SqlDescribeTool, SqlQueryTool, SqlTablesTool
    from rho_agent.tools.write import WriteTool

    def has_databases(profile: Profile, databases: Mapping[str, str]) -> bool:
        return bool(databases)

    register_tool(BashTool, offered=lambda p, _: p.shell is not ShellMode.off)
    register_tool(ReadTool)
    register_tool(WriteTool, offered=lambda p, _: p.file_write is not FileWriteMode.off)
    register_tool(EditTool, offered=lambda p, _: p.file_write is FileWriteMode.full)
    register_tool(GlobTool)
    register_tool(GrepTool)
    register_tool(ListTool)
    register_tool(SqlTablesTool, offered=has_databases)
    register_tool(SqlDescribeTool, offered=has_databases)
    register_tool(SqlQueryTool, offered=has_databases)


_register_builtins()
