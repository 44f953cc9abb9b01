"""What every tool is: a name, a pydantic parameter model, and an async `run`.

A tool's schema, limits, output format and permission checks live in its own module
and act only through `ToolContext.workspace`, so the model sees identical tools on
every backend.
"""

from __future__ import annotations

import posixpath
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from rho_agent.backends.base import Workspace
from rho_agent.permissions.profile import Profile
from rho_agent.sandbox import SandboxUnavailable

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


class Tool(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[BaseModel]]
    #: True when the tool never changes anything: calls from one turn may run concurrently.
    read_only: ClassVar[bool] = False

    @classmethod
    def schema(cls) -> dict[str, Any]:
        """The Anthropic tool definition."""
        schema = cls.Params.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return {"name": cls.name, "description": cls.description, "input_schema": schema}

    async def __call__(self, raw_input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        """Validate the model's input, run, and turn ToolErrors into error results."""
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
        except (ToolError, SandboxUnavailable) as exc:
            return ToolResult(truncate(str(exc)), is_error=True)
        return ToolResult(truncate(result.text), is_error=result.is_error)

    @abstractmethod
    async def run(self, params: Any, ctx: ToolContext) -> ToolResult: ...


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
