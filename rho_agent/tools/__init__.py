"""Tools: what the model can call. Write one by subclassing `Tool`; add it with
`register_tool` or the entry-point group `rho_agent.tools`.

The registry (and with it the built-in tools) is imported on first use of its names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rho_agent.tools.base import (
    Capability,
    PermissionDenied,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
)

if TYPE_CHECKING:
    from rho_agent.tools.registry import build_tools, register_tool, summarize_call

__all__ = [
    "Capability",
    "PermissionDenied",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "build_tools",
    "register_tool",
    "summarize_call",
]

_FROM_REGISTRY = ("build_tools", "register_tool", "summarize_call")


def __getattr__(name: str) -> Any:
    if name in _FROM_REGISTRY:
        from rho_agent.tools import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
