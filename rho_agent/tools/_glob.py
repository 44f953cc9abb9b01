"""`glob`: find files by name pattern, newest first.

One `find` lists candidate files (pruned of noise directories, pre-filtered by the
pattern's last component); the pattern itself is matched here in Python, so `**` and
`{a,b}` behave the same on every workspace.
"""

from __future__ import annotations

import posixpath
import re
import shlex

from pydantic import BaseModel, Field

from rho_agent.tools._base import (
    SKIP_DIRS,
    Capability,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    display_path,
)

MAX_FILES = 500
_NO_DIR = "__rho_agent_no_dir__"
_GLOB_CHARS = re.compile(r"[*?\[{]")


class GlobParams(BaseModel):
    pattern: str = Field(
        min_length=1,
        description="Glob pattern: `*` and `?` match within one path component, `**` matches "
        "any number of directories, `[abc]` a character class, `{py,pyi}` alternatives. "
        "Matched from `path`: `*.py` only at its top level, `**/*.py` at any depth, "
        "`src/**/test_*.py` under src.",
    )
    path: str | None = Field(
        default=None, description="Directory to search from (default: the working directory)."
    )


class GlobTool(Tool):
    name = "glob"
    description = (
        "Find files whose path matches a glob pattern (e.g. `**/*.py`, `src/**/*.{ts,tsx}`). "
        "Returns matching file paths, most recently modified first. Skips "
        f"{', '.join(SKIP_DIRS[:4])} and similar directories. Use grep to search contents."
    )
    Params = GlobParams
    capability = Capability.read

    async def run(self, params: GlobParams, ctx: ToolContext) -> ToolResult:
        ws = ctx.workspace
        root = ws.resolve(params.path) if params.path else ws.working_dir
        patterns = expand_braces(params.pattern)
        base, rests = _split_base(root, patterns)
        names = {rest.rsplit("/", 1)[-1] for rest in rests}
        name_filter = ""
        if "**" not in names:
            name_filter = " -o ".join(f"-name {shlex.quote(n)}" for n in sorted(names))
            name_filter = rf"\( {name_filter} \) "
        command = (
            f"if [ ! -d {shlex.quote(root)} ]; then echo {_NO_DIR}; exit 0; fi; "
            f"cd -- {shlex.quote(base)} 2>/dev/null || exit 0; "
            f"find . -mindepth 1 {_prune_expr()} -o -xtype f {name_filter}"
            r"-printf '%T@ %P\0' 2>/dev/null; exit 0"
        )
        result = await ws.exec(command, cwd=ws.working_dir)
        if result.output.startswith(_NO_DIR):
            raise ToolError(f"Directory not found: {root}. Use list to see what exists.")
        files: list[tuple[float, str]] = []
        for record in result.output.split("\0"):
            stamp, _, rel = record.partition(" ")
            if rel:
                try:
                    files.append((float(stamp), rel))
                except ValueError:
                    continue
        regexes = [glob_regex(rest) for rest in rests]
        hits = [(t, rel) for t, rel in files if any(r.fullmatch(rel) for r in regexes)]
        where = display_path(root, ws.working_dir)
        where = "the working directory" if where == "." else where
        if not hits:
            message = f"No files match {params.pattern!r} in {where}."
            if "/" not in params.pattern:
                deep = [glob_regex(f"**/{rest}") for rest in rests]
                n = sum(1 for _, rel in files if any(r.fullmatch(rel) for r in deep))
                if n:
                    message += (
                        f" The pattern matches only the top level; {n} file(s) match "
                        f"'**/{params.pattern}' at any depth."
                    )
            return ToolResult(message)
        hits.sort(key=lambda hit: (-hit[0], hit[1]))
        lines = [display_path(posixpath.join(base, rel), ws.working_dir) for _, rel in hits]
        if len(lines) > MAX_FILES:
            more = len(lines) - MAX_FILES
            lines = [*lines[:MAX_FILES], f"[... {more:,} more files; narrow the pattern or path]"]
        return ToolResult("\n".join(lines))


def _prune_expr() -> str:
    names = " -o ".join(f"-name {shlex.quote(d)}" for d in SKIP_DIRS)
    return rf"\( -type d \( {names} \) -prune \)"


def _split_base(root: str, patterns: list[str]) -> tuple[str, list[str]]:
    """The deepest literal directory every pattern starts with, and the patterns below it.

    `src/**/*.py` searches from `src`; an absolute pattern ignores `root`.
    """
    split = []
    for pattern in patterns:
        start = "/" if pattern.startswith("/") else root
        parts = [p for p in pattern.split("/") if p not in ("", ".")]
        if not parts:
            raise ToolError(f"The pattern {pattern!r} names no files.")
        literal = 0
        while literal < len(parts) - 1 and not _GLOB_CHARS.search(parts[literal]):
            literal += 1
        base = posixpath.normpath(posixpath.join(start, *parts[:literal]))
        split.append((base, parts[literal:]))
    bases = {base for base, _ in split}
    if len(bases) == 1:
        base = bases.pop()
        return base, ["/".join(rest) for _, rest in split]
    # Alternatives with different literal prefixes: search from their common directory.
    base = posixpath.commonpath([b for b, _ in split])
    return base, [
        "/".join([*posixpath.relpath(b, base).split("/"), *rest]).removeprefix("./")
        for b, rest in split
    ]


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a brace-free glob over `/`-separated relative paths."""
    parts = pattern.split("/")
    out = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
            continue
        out.append(_component_regex(part) + ("" if last else "/"))
    return re.compile("".join(out), re.DOTALL)


def _component_regex(part: str) -> str:
    out, i = [], 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and (end := part.find("]", i + 2)) != -1:
            body = part[i + 1 : end]
            if body[0] in "!^":
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\").replace("[", "\\[") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def expand_braces(pattern: str) -> list[str]:
    """`a.{py,pyi}` -> [`a.py`, `a.pyi`]; nested braces work; unbalanced ones are literal."""
    depth, start = 0, -1
    for i, c in enumerate(pattern):
        if c == "{":
            if depth == 0:
                start = i
            depth += 1
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                options, level, piece = [], 0, ""
                for ch in pattern[start + 1 : i]:
                    if ch == "," and level == 0:
                        options.append(piece)
                        piece = ""
                        continue
                    level += {"{": 1, "}": -1}.get(ch, 0)
                    piece += ch
                options.append(piece)
                if len(options) < 2:
                    continue
                head, tail = pattern[:start], pattern[i + 1 :]
                expanded: list[str] = []
                for option in options:
                    for item in expand_braces(head + option + tail):
                        if item not in expanded:
                            expanded.append(item)
                return expanded
    return [pattern]
