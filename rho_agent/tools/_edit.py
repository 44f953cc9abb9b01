"""`edit`: replace an exact piece of text in a file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from rho_agent.permissions.profile import FileWriteMode
from rho_agent.tools._base import (
    Capability,
    PermissionDenied,
    TextChange,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
)
from rho_agent.tools._read import MAX_READ_BYTES, READ_BOUND_TEXT, decode_text, read_file_bytes
from rho_agent.tools._write import write_file_bytes

#: Lines of context shown around each change, and changes shown at most.
CONTEXT_LINES = 3
MAX_SNIPPETS = 3
CR = "\r"


class EditParams(BaseModel):
    path: str = Field(description="File to edit; relative paths are from the working directory.")
    old_string: str = Field(
        description="The exact text to replace, including indentation and line breaks, "
        "copied from the file (without the line numbers read adds). It must occur exactly "
        "once unless replace_all is true; include surrounding lines to make it unique."
    )
    new_string: str = Field(description="The text to put in its place (must differ).")
    replace_all: bool = Field(
        default=False, description="Replace every occurrence instead of requiring exactly one."
    )


class EditTool(Tool):
    name = "edit"
    description = (
        "Edit a file by replacing an exact string with another. old_string must match the "
        "file exactly (whitespace included) and, unless replace_all is true, occur once. "
        "Read the file first. Use write to create a new file."
    )
    Params = EditParams
    capability = Capability.write

    def change(self, tool_input: Mapping[str, Any]) -> TextChange | None:
        path, old, new = (tool_input.get(k) for k in ("path", "old_string", "new_string"))
        if isinstance(path, str) and isinstance(old, str) and isinstance(new, str):
            return TextChange(path, old, new)
        return None

    async def run(self, params: EditParams, ctx: ToolContext) -> ToolResult:
        if ctx.profile.file_write is not FileWriteMode.full:
            raise PermissionDenied(f"Profile '{ctx.profile.name}' does not allow editing files.")
        if not params.old_string:
            raise ToolError("old_string is empty. To create a file, use write.")
        if params.old_string == params.new_string:
            raise ToolError("old_string and new_string are the same; there is nothing to change.")
        path = ctx.workspace.resolve(params.path)
        data = await read_file_bytes(ctx, path, limit=MAX_READ_BYTES + 1)
        if len(data) > MAX_READ_BYTES:  # never write back a file cut at the bound
            raise ToolError(
                f"{path} is larger than {READ_BOUND_TEXT}, more than edit loads. Change it with "
                "bash instead (e.g. sed -i)."
            )
        text = decode_text(data, path)
        old, new = params.old_string, params.new_string
        count = text.count(old)
        if count == 0 and "\r\n" in text and "\r" not in old:
            # The model saw CRLF lines without their \r (read strips it): match them as such.
            old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
            count = text.count(old)
        if count == 0:
            raise ToolError(_no_match_message(text, old, path))
        starts = _occurrences(text, old)
        if count > 1 and not params.replace_all:
            raise ToolError(
                f"old_string occurs {count} times in {path} (at lines "
                f"{_line_list(text, starts)}). Include more surrounding lines in old_string so "
                "it matches exactly one place, or set replace_all to true to change all of them."
            )
        updated = text.replace(old, new)
        await write_file_bytes(ctx, path, updated.encode("utf-8"))

        shift = len(new) - len(old)
        new_starts = [start + i * shift for i, start in enumerate(starts)]
        lines = updated.split("\n")
        spans = []
        for start in new_starts[:MAX_SNIPPETS]:
            first = updated.count("\n", 0, start) + 1
            spans.append((first, first + new.count("\n")))
        where = _line_list(updated, new_starts)
        if count == 1:
            out = [f"Edited {path}: replaced 1 occurrence (line {where})."]
        else:
            out = [f"Edited {path}: replaced {count} occurrences (lines {where})."]
        for first, last in spans:
            window = range(max(1, first - CONTEXT_LINES), min(len(lines), last + CONTEXT_LINES) + 1)
            out.append("\n".join(f"{n:>6}\t{lines[n - 1].rstrip(CR)}" for n in window))
        if count > MAX_SNIPPETS:
            out.append(f"[... {count - MAX_SNIPPETS} more changes not shown]")
        return ToolResult("\n\n".join(out))


def _occurrences(text: str, needle: str) -> list[int]:
    """Start offsets of the non-overlapping matches `str.replace` would change."""
    starts, pos = [], text.find(needle)
    while pos != -1:
        starts.append(pos)
        pos = text.find(needle, pos + len(needle))
    return starts


def _line_list(text: str, starts: list[int], limit: int = 10) -> str:
    numbers = [str(text.count("\n", 0, s) + 1) for s in starts[:limit]]
    more = f" and {len(starts) - limit} more" if len(starts) > limit else ""
    return ", ".join(numbers) + more


def _no_match_message(text: str, old: str, path: str) -> str:
    message = f"old_string was not found in {path}."
    near = _whitespace_insensitive_lines(text, old)
    if near:
        where = ", ".join(str(n) for n in near[:5])
        return (
            f"{message} It does match at line {where} if whitespace is ignored: the "
            "indentation or whitespace differs. Read those lines and copy them exactly."
        )
    squash = re.compile(r"\s+")
    if squash.sub(" ", old).strip() in squash.sub(" ", text):
        return (
            f"{message} It does match if whitespace is ignored: the indentation, line breaks "
            "or spacing differ. Read the file and copy the text exactly."
        )
    return f"{message} Read the file and copy the text to replace exactly."


def _whitespace_insensitive_lines(text: str, old: str) -> list[int]:
    """First line numbers where `old`'s lines match the file's lines, stripped of whitespace."""
    want = [" ".join(line.split()) for line in old.strip("\n").split("\n")]
    have = [" ".join(line.split()) for line in text.split("\n")]
    if not any(want):
        return []
    found = []
    for i in range(len(have) - len(want) + 1):
        window = have[i : i + len(want)]
        if len(want) == 1:
            if want[0] in window[0]:
                found.append(i + 1)
        elif (
            window[0].endswith(want[0])
            and window[-1].startswith(want[-1])
            and window[1:-1] == want[1:-1]
        ):
            found.append(i + 1)
    return found
