"""`list`: a directory tree, a few levels deep, with file sizes.

(The module is not called `list.py`: importing it would shadow the builtin inside the
`rho_agent.tools` package namespace.)
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from rho_agent.tools._base import SKIP_DIRS, Capability, Tool, ToolContext, ToolError, ToolResult

MAX_ENTRIES = 1000
MAX_RAW_BYTES = 4_000_000
_NO_PATH = "__rho_agent_no_path__"
_FILE = "__rho_agent_file__"


class ListParams(BaseModel):
    path: str | None = Field(
        default=None, description="Directory to list (default: the working directory)."
    )
    depth: int = Field(
        default=2, ge=1, le=10, description="How many levels below the directory to show."
    )


class ListTool(Tool):
    name = "list"
    description = (
        "List a directory as an indented tree: directories end in `/`, files show their "
        "size, symlinks their target. Hidden files are included; the contents of "
        f"{', '.join(SKIP_DIRS[:4])} and similar directories are not."
    )
    Params = ListParams
    capability = Capability.read

    def summary(self, tool_input: Mapping[str, Any]) -> str:
        path = tool_input.get("path")
        return path if isinstance(path, str) else ""

    async def run(self, params: ListParams, ctx: ToolContext) -> ToolResult:
        ws = ctx.workspace
        root = ws.resolve(params.path) if params.path else ws.working_dir
        q = shlex.quote(root)
        skip = " -o ".join(f"-name {shlex.quote(d)}" for d in SKIP_DIRS)
        fmt = r"'%y %s %P\0%l\0'"
        command = (
            f"if [ ! -e {q} ] && [ ! -L {q} ]; then echo {_NO_PATH}; exit 0; fi; "
            f"if [ ! -d {q} ]; then echo {_FILE}; find {q} -maxdepth 0 -printf {fmt}; exit 0; fi; "
            f"find -H {q} -mindepth 1 -maxdepth {params.depth} "
            rf"\( -type d \( {skip} \) -printf '%y %s %P\0!\0' -prune \) -o -printf {fmt} "
            f"2>/dev/null | head -c {MAX_RAW_BYTES}; exit 0"
        )
        result = await ws.exec(command, cwd=ws.working_dir)
        output = result.output
        if output.startswith(_NO_PATH):
            raise ToolError(f"Not found: {root}. List its parent directory to see what exists.")
        if output.startswith(_FILE):
            entry = _entries(output.removeprefix(_FILE + "\n"))[0][1]
            return ToolResult(f"{root} is a file, not a directory: {entry.label(root)}")

        tree = _Entry("d", 0, "")
        for rel, entry in _entries(output):
            *parents, name = rel.split("/")
            node = tree
            for part in parents:
                node = node.children.setdefault(part, _Entry("d", 0, ""))
            existing = node.children.get(name)
            if existing is not None:  # seen as a parent before its own record
                entry.children = existing.children
            node.children[name] = entry
        lines = [root.rstrip("/") + "/"]
        tree.render(1, lines)
        if len(lines) == 1:
            lines.append("  (empty directory)")
        if len(lines) > MAX_ENTRIES + 1:
            more = len(lines) - MAX_ENTRIES - 1
            lines = lines[: MAX_ENTRIES + 1]
            lines.append(f"[... {more:,} more entries; list a subdirectory or use a smaller depth]")
        return ToolResult("\n".join(lines))


@dataclass
class _Entry:
    kind: str  # find's %y: d, f, l, p, s, c, b
    size: int
    extra: str  # the link target, or "!" for a directory whose contents are skipped
    children: dict[str, _Entry] = field(default_factory=dict)

    def label(self, name: str) -> str:
        if self.kind == "d":
            return f"{name}/  (skipped)" if self.extra == "!" else f"{name}/"
        if self.kind == "l":
            return f"{name} -> {self.extra}"
        if self.kind == "f":
            return f"{name} ({human_size(self.size)})"
        return f"{name} ({_SPECIAL.get(self.kind, self.kind)})"

    def render(self, depth: int, lines: list[str]) -> None:
        # directories first, then the rest, each alphabetically
        order = sorted(self.children.items(), key=lambda kv: (kv[1].kind != "d", kv[0].lower()))
        for name, child in order:
            lines.append("  " * depth + child.label(name))
            child.render(depth + 1, lines)


_SPECIAL = {"p": "fifo", "s": "socket", "c": "character device", "b": "block device"}


def _entries(output: str) -> list[tuple[str, _Entry]]:
    """(relative path, entry) for each `kind size path NUL extra NUL` record."""
    fields = output.split("\0")
    entries = []
    for head, extra in zip(fields[0::2], fields[1::2], strict=False):
        kind, _, rest = head.partition(" ")
        size, _, rel = rest.partition(" ")
        if len(kind) == 1 and size.isdigit():
            entries.append((rel, _Entry(kind, int(size), extra)))
    return entries


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
