"""Which tools exist, which a profile offers, and how a call is shown.

Built-in tools are registered with `register_tool`, the same call an extension makes;
other packages add tools through the entry-point group `rho_agent.tools` (the entry
point's name is the tool's name, its object a `Tool` subclass), read once, when tools are
first needed. `build_tools` walks the registrations in order, so the tool list (and the
prompt prefix built from it) is identical from run to run, which keeps prompt caching
effective. Nothing here, nor in the runner or the renderers, names a tool: a tool's
capability, approval reason and summary are its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rho_agent.errors import ConfigError
from rho_agent.permissions.profile import FileWriteMode, Profile
from rho_agent.tools._base import Tool

if TYPE_CHECKING:
    from rho_agent.redact import Redactor

#: The entry-point group other packages add tools through.
ENTRY_POINT_GROUP = "rho_agent.tools"

#: Narrows, from the profile and the configured databases, when a tool is offered (on top of
#: the capability the profile must grant, `Tool.granted`).
Offered = Callable[[Profile, Mapping[str, str]], bool]


@dataclass(frozen=True)
class _Registration:
    tool: type[Tool]
    offered: Offered | None


_REGISTRY: list[_Registration] = []
_builtins_loaded = False
_entry_points_loaded = False
#: Entry points that could not be used, with why: reported whenever tools are built.
_entry_point_errors: list[str] = []


def register_tool(tool_cls: type[Tool], *, offered: Offered | None = None) -> type[Tool]:
    """Add a tool class, offered to every profile that grants its capability and, if given,
    for which `offered(profile, databases)` is true.

    Tools appear in registration order, built-in ones first. Names must be unique.
    """
    _load_builtins()
    _check_tool_class(tool_cls)
    if any(r.tool.name == tool_cls.name for r in _REGISTRY):
        raise ValueError(f"A tool named {tool_cls.name!r} is already registered")
    _REGISTRY.append(_Registration(tool_cls, offered))
    return tool_cls


def unregister_tool(name: str) -> None:
    """Remove the tool registered as `name` (for tests that register their own)."""
    _REGISTRY[:] = [r for r in _REGISTRY if r.tool.name != name]


def tool_class(name: str) -> type[Tool] | None:
    """The registered tool class called `name`, or None."""
    return next((r.tool for r in _registrations() if r.tool.name == name), None)


def build_tools(profile: Profile, *, databases: Mapping[str, str] | None = None) -> list[Tool]:
    """The tool instances `profile` offers (SQL tools only when a database is configured).

    Raises ConfigError, naming it, when a tool from an entry point cannot be used.
    """
    registrations = _registrations()
    if _entry_point_errors:
        raise ConfigError(
            "; ".join(_entry_point_errors)
            + ". Fix or uninstall the package that provides it (see `pip show`)."
        )
    databases = databases or {}
    return [
        r.tool()
        for r in registrations
        if r.tool.granted(profile) and (r.offered is None or r.offered(profile, databases))
    ]


def read_only_names(tools: list[Tool]) -> frozenset[str]:
    """Names of tools that never change anything: their calls in one turn may run together."""
    return frozenset(tool.name for tool in tools if tool.read_only)


def summarize_call(
    name: str, tool_input: Any, width: int = 80, redactor: Redactor | None = None
) -> str:
    """`bash: pytest -q` — the tool's own summary of a call, on one line, secrets hidden.

    `tool_input` is what the model sent, valid or not. A name no registered tool has gets
    the first of its `path`, `query` or `sql` values.
    """
    from rho_agent.redact import default_redactor

    raw: Mapping[str, Any] = tool_input if isinstance(tool_input, Mapping) else {}
    tool_cls = tool_class(name) if isinstance(name, str) else None
    value: Any = ""
    if tool_cls is not None:
        try:
            value = tool_cls().summary(raw)
        except Exception:  # a summary is a courtesy: never let one break the display
            value = ""
    else:
        value = raw.get("path") or raw.get("query") or raw.get("sql") or ""
    redact = redactor if redactor is not None else default_redactor()
    text = redact(" ".join(str(value).split()))
    return f"{name}: {text[: width - 3] + '...' if len(text) > width else text}" if text else name


def _registrations() -> list[_Registration]:
    _load_builtins()
    _load_entry_points()
    return _REGISTRY


def _check_tool_class(tool_cls: Any) -> None:
    if not (isinstance(tool_cls, type) and issubclass(tool_cls, Tool)):
        raise TypeError(f"{tool_cls!r} is not a subclass of rho_agent.tools.Tool")
    for attr in ("name", "description", "Params", "capability"):
        if not hasattr(tool_cls, attr):
            raise TypeError(f"Tool class {tool_cls.__qualname__} does not set {attr!r}")


def _load_entry_points() -> None:
    """Register the tools of the `rho_agent.tools` entry points, once, in name order."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        where = f"tool entry point '{ep.name} = {ep.value}' (group {ENTRY_POINT_GROUP})"
        try:
            tool_cls = ep.load()
            _check_tool_class(tool_cls)
        except Exception as exc:  # anything a broken plugin raises while importing
            _entry_point_errors.append(f"Cannot load {where}: {type(exc).__name__}: {exc}")
            continue
        if tool_cls.name != ep.name:
            _entry_point_errors.append(
                f"The {where} gives a tool named {tool_cls.name!r}; the names must match"
            )
            continue
        existing = next((r.tool for r in _REGISTRY if r.tool.name == ep.name), None)
        if existing is tool_cls:  # the plugin registered it itself on import
            continue
        if existing is not None:
            _entry_point_errors.append(
                f"The {where} clashes with the tool already named {ep.name!r}"
            )
            continue
        _REGISTRY.append(_Registration(tool_cls, None))


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    from rho_agent.tools._bash import BashTool
    from rho_agent.tools._edit import EditTool
    from rho_agent.tools._glob import GlobTool
    from rho_agent.tools._grep import GrepTool
    from rho_agent.tools._listdir import ListTool
    from rho_agent.tools._read import ReadTool
    from rho_agent.tools._sql import SqlDescribeTool, SqlQueryTool, SqlTablesTool
    from rho_agent.tools._write import WriteTool

    def has_databases(profile: Profile, databases: Mapping[str, str]) -> bool:
        return bool(databases)

    def edits_allowed(profile: Profile, databases: Mapping[str, str]) -> bool:
        return profile.file_write is FileWriteMode.full

    register_tool(BashTool)
    register_tool(ReadTool)
    register_tool(WriteTool)
    register_tool(EditTool, offered=edits_allowed)
    register_tool(GlobTool)
    register_tool(GrepTool)
    register_tool(ListTool)
    register_tool(SqlTablesTool, offered=has_databases)
    register_tool(SqlDescribeTool, offered=has_databases)
    register_tool(SqlQueryTool, offered=has_databases)
