"""Tools: what the model can call. Write one by subclassing `Tool`; add it with
`register_tool` or the entry-point group `rho_agent.tools`.

The registry and the built-in tools (`BashTool`, `ReadTool`, ...) are imported on first use
of their names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rho_agent.tools._base import (
    Approver,
    Capability,
    PermissionDenied,
    TextChange,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
)

if TYPE_CHECKING:
    from rho_agent.tools._bash import BashTool
    from rho_agent.tools._edit import EditTool
    from rho_agent.tools._glob import GlobTool
    from rho_agent.tools._grep import GrepTool
    from rho_agent.tools._listdir import ListTool
    from rho_agent.tools._read import ReadTool
    from rho_agent.tools._registry import (
        build_tools,
        register_tool,
        summarize_call,
        tool_class,
        unregister_tool,
    )
    from rho_agent.tools._sql import SqlDescribeTool, SqlQueryTool, SqlTablesTool
    from rho_agent.tools._write import WriteTool

__all__ = [
    "Approver",
    "BashTool",
    "Capability",
    "EditTool",
    "GlobTool",
    "GrepTool",
    "ListTool",
    "PermissionDenied",
    "ReadTool",
    "SqlDescribeTool",
    "SqlQueryTool",
    "SqlTablesTool",
    "TextChange",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "WriteTool",
    "build_tools",
    "register_tool",
    "summarize_call",
    "tool_class",
    "unregister_tool",
]

_LAZY = {
    "build_tools": "_registry",
    "register_tool": "_registry",
    "summarize_call": "_registry",
    "tool_class": "_registry",
    "unregister_tool": "_registry",
    "BashTool": "_bash",
    "EditTool": "_edit",
    "GlobTool": "_glob",
    "GrepTool": "_grep",
    "ListTool": "_listdir",
    "ReadTool": "_read",
    "SqlDescribeTool": "_sql",
    "SqlQueryTool": "_sql",
    "SqlTablesTool": "_sql",
    "WriteTool": "_write",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
