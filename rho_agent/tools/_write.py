"""`write`: create a file, or replace its whole content."""

from __future__ import annotations

import shlex

from pydantic import BaseModel, Field

from rho_agent.permissions.profile import FileWriteMode
from rho_agent.tools._base import (
    Capability,
    PermissionDenied,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
)


class WriteParams(BaseModel):
    path: str = Field(
        description="File to write; relative paths are from the working directory. "
        "Missing parent directories are created."
    )
    content: str = Field(description="The complete new content of the file.")


class WriteTool(Tool):
    name = "write"
    description = (
        "Write a file with the given content, creating it (and its parent directories) or "
        "replacing everything in it. To change part of an existing file, use edit instead."
    )
    Params = WriteParams
    capability = Capability.write

    async def run(self, params: WriteParams, ctx: ToolContext) -> ToolResult:
        mode = ctx.profile.file_write
        if mode is FileWriteMode.off:
            raise PermissionDenied(f"Profile '{ctx.profile.name}' does not allow writing files.")
        path = ctx.workspace.resolve(params.path)
        kind = await path_kind(ctx, path)
        if kind == "dir":
            raise ToolError(f"{path} is a directory; give the path of a file inside it.")
        if kind == "file" and mode is FileWriteMode.create_only:
            raise PermissionDenied(
                f"{path} already exists, and profile '{ctx.profile.name}' only allows creating "
                "new files. Write to a new path instead."
            )
        data = params.content.encode("utf-8")
        await write_file_bytes(ctx, path, data)
        lines = count_lines(params.content)
        what = "overwrote the existing file" if kind == "file" else "new file"
        return ToolResult(f"Wrote {lines:,} lines ({len(data):,} bytes) to {path} ({what}).")


async def write_file_bytes(ctx: ToolContext, path: str, data: bytes) -> None:
    """Write through the workspace; OS errors become a ToolError a model can act on."""
    try:
        await ctx.workspace.write_bytes(path, data)
    except PermissionError as exc:
        # Say why when it is ours (credentials, git hooks), not only that it failed.
        why = exc.strerror if exc.strerror and "from the agent" in exc.strerror else None
        raise ToolError(
            f"Permission denied writing {path}" + (f": {why}." if why else ".")
        ) from None
    except (NotADirectoryError, FileExistsError):
        raise ToolError(f"Cannot write {path}: part of its directory path is a file.") from None
    except IsADirectoryError:
        raise ToolError(f"{path} is a directory; give the path of a file inside it.") from None
    except OSError as exc:
        raise ToolError(f"Cannot write {path}: {exc.strerror or exc}.") from None


async def path_kind(ctx: ToolContext, path: str) -> str:
    """'file', 'dir' or 'none' for `path` in the workspace: one exec, following symlinks (in
    parent directories too) the way the write will; a dangling symlink counts as a file.

    Unconfined, like the write itself: an OS sandbox's private /tmp would hide the files
    there, and `create-only` would then overwrite them.
    """
    quoted = shlex.quote(path)
    result = await ctx.workspace.exec(
        f"if [ -d {quoted} ]; then echo dir; elif [ -e {quoted} ] || [ -L {quoted} ]; "
        f"then echo file; else echo none; fi",
        confined=False,
    )
    kind = result.output.strip()
    if kind not in ("file", "dir", "none"):
        raise ToolError(f"Could not check {path}: {result.output.strip() or 'no answer'}")
    return kind


def count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)
