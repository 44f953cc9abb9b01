"""What every tool is: a name, a capability, a pydantic parameter model, and an async `run`.

A tool's schema, limits, output format and permission checks live in its own module
and act only through `ToolContext.workspace`, so the model sees identical tools on
every backend. A tool also describes itself to the rest of the program: its capability
(which profiles offer it, whether its calls may run concurrently), why a given call needs
the user's approval, and the one line a person sees for a call. Nothing outside a tool's
module names it.
"""

from __future__ import annotations

import asyncio
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from pydantic import BaseModel, ValidationError

from rho_agent.permissions.profile import Capability, Profile
from rho_agent.sandbox import SandboxUnavailable

if TYPE_CHECKING:
    from rho_agent.backends import Workspace

__all__ = [
    "MAX_OUTPUT_CHARS",
    "SKIP_DIRS",
    "Approver",
    "Capability",
    "PermissionDenied",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "display_path",
    "outside_working_dir",
    "truncate",
]

#: Cap on the characters of one tool result the model sees (head + tail kept).
MAX_OUTPUT_CHARS = 30_000

#: Directories that `glob`, `grep` and `list` do not descend into (noise, not source).
SKIP_DIRS = (
    ".git", "node_modules", "__pycache__", ".venv", "venv", ".tox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


class ToolError(Exception):
    """A failure the model should read and recover from (becomes an `is_error` result)."""


class PermissionDenied(ToolError):
    """The profile does not allow this call. The message says what is allowed instead."""


@dataclass(frozen=True)
class ToolResult:
    text: str
    is_error: bool = False
    #: The profile refused the call (a `PermissionDenied`): the runner also emits `ToolDenied`.
    denied: bool = False


@dataclass
class ToolContext:
    workspace: Workspace
    profile: Profile
    #: Extra variables for tool subprocesses (never credentials unless the user passed them).
    env: dict[str, str] = field(default_factory=dict)
    #: Default timeout for `bash`, seconds.
    bash_timeout: float = 120.0
    #: Local SQLite databases by name (database tools always run locally).
    databases: dict[str, str] = field(default_factory=dict)
    #: Check restricted-shell commands with the parser before running them. Only tests that
    #: show the OS sandbox holds on its own turn it off.
    shell_policy: bool = True


class TextChange(NamedTuple):
    """`before` replaced by `after` in the file `path`."""

    path: str
    before: str
    after: str


class Tool(ABC):
    """Subclass it, set the class variables, and write `run`; register it with
    `rho_agent.tools.register_tool` or the entry-point group `rho_agent.tools`."""

    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    #: What the tool can do. The profile grants capabilities (`Profile.grants`); `read` tools
    #: are never asked about and their calls from one turn may run concurrently.
    capability: ClassVar[Capability]
    #: Derived from `capability` (it is `read`); set for every subclass, not by it.
    read_only: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "capability" not in cls.__dict__ and cls.__dict__.get("read_only") is True:
            cls.capability = Capability.read  # the spelling from before capabilities
        if hasattr(cls, "capability"):
            cls.capability = Capability(cls.capability)
            cls.read_only = cls.capability is Capability.read

    @classmethod
    def granted(cls, profile: Profile) -> bool:
        """Whether `profile` allows this tool at all: by default, whether it grants the
        tool's capability. Registration may narrow it further (`register_tool(offered=...)`)."""
        return profile.grants(cls.capability)

    async def approval_reason(self, params: Any, ctx: ToolContext) -> str | None:
        """Why this call needs the user's approval under `approvals = "dangerous"`, or None.

        `params` is the validated `Params` instance. By default: never for `read` and `exec`
        tools; for `write` tools, when a `path` parameter leads outside the working dir
        (compared as real paths); for `network` tools, every call.
        """
        if self.capability is Capability.write:
            path = getattr(params, "path", None)
            return await outside_working_dir(ctx.workspace, path) if isinstance(path, str) else None
        if self.capability is Capability.network:
            return f"{self.name} uses the network"
        return None

    def summary(self, tool_input: Mapping[str, Any]) -> str:
        """The one argument a person wants to see for a call (`pytest -q` for bash), or "".

        `tool_input` is the model's raw input, which may not validate (denied and invalid
        calls are shown too), so read it defensively. By default: the first required
        parameter whose value is a string.
        """
        for field_name, field_info in self.Params.model_fields.items():
            key = field_info.alias or field_name
            value = tool_input.get(key)
            if field_info.is_required() and isinstance(value, str):
                return value
        return ""

    def change(self, tool_input: Mapping[str, Any]) -> TextChange | None:
        """The text a call replaces in a file, for a front end to show as a diff; None for a
        tool that does not edit text (the default). `tool_input` may not validate."""
        return None

    @classmethod
    def schema(cls) -> dict[str, Any]:
        """The Anthropic tool definition."""
        schema = cls.Params.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return {"name": cls.name, "description": cls.description, "input_schema": schema}

    async def __call__(self, raw_input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        """Validate the model's input, run, and turn ToolErrors into error results (a
        `PermissionDenied` into a `denied` one)."""
        try:
            params = self.Params.model_validate(raw_input)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}"
                for err in exc.errors()
            )
            return ToolResult(f"Invalid input for {self.name}: {problems}", is_error=True)
        try:
            result = await self.run(params, ctx)
        except PermissionDenied as exc:
            return ToolResult(truncate(str(exc)), is_error=True, denied=True)
        except (ToolError, SandboxUnavailable) as exc:
            return ToolResult(truncate(str(exc)), is_error=True)
        return ToolResult(truncate(result.text), is_error=result.is_error, denied=result.denied)

    @abstractmethod
    async def run(self, params: Any, ctx: ToolContext) -> ToolResult: ...


async def outside_working_dir(workspace: Workspace, path: str) -> str | None:
    """Why writing `path` leaves the working dir, or None. Both are compared as real paths
    (`..` and symlinks resolved, the working dir's own too): never as the strings given."""
    target, root = await asyncio.gather(
        workspace.real_path(path), workspace.real_path(workspace.working_dir)
    )
    if target == root or target.startswith(root.rstrip("/") + "/"):
        return None
    shown = path if target == path else f"{path}, which leads to {target}"
    return f"writes outside the working directory ({shown})"


def truncate(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    """The one truncation rule for all tool output: keep head and tail, say what was cut."""
    if len(text) <= limit:
        return text
    head = text[: limit * 2 // 3]
    tail = text[-(limit // 3) :]
    omitted = len(text) - len(head) - len(tail)
    total_lines = text.count("\n") + 1
    return (
        f"{head}\n\n[... output truncated: {len(text):,} chars / {total_lines:,} lines in total, "
        f"{omitted:,} chars omitted here ...]\n\n{tail}"
    )


def display_path(path: str, working_dir: str) -> str:
    """`path` relative to the working dir when it is inside it, else absolute."""
    if path == working_dir:
        return "."
    if path.startswith(working_dir.rstrip("/") + "/"):
        return posixpath.relpath(path, working_dir)
    return path


#: Signature of an approval callback: (tool name, tool input) -> approved?
Approver = Callable[[str, dict[str, Any]], Awaitable[bool]]
