"""`grep`: search file contents with a regular expression.

One shell command uses ripgrep when the workspace has it and POSIX-ish `grep -r`
otherwise. Both print `path NUL line:text`, which is parsed, sorted and re-rendered
here, so the model sees the same result either way. The pattern always goes through
`-e` and paths after `--`, all shell-quoted: nothing the model writes becomes a flag or
shell syntax.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Literal

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
from rho_agent.tools._glob import expand_braces, glob_regex

MAX_LINE_CHARS = 500
#: Bytes of raw search output taken from the workspace; beyond this results are partial.
MAX_RAW_BYTES = 4_000_000
_NO_PATH = "__rho_agent_no_path__"


class GrepParams(BaseModel):
    pattern: str = Field(
        min_length=1,
        description="Regular expression to search for (e.g. `def \\w+\\(`, `TODO|FIXME`); "
        "escape regex characters such as `(`, `.`, `[` to match them literally.",
    )
    path: str | None = Field(
        default=None,
        description="File or directory to search (default: the working directory).",
    )
    glob: str | None = Field(
        default=None,
        description="Only search files whose path matches this glob, e.g. `*.py`, "
        "`*.{ts,tsx}` or `src/**/*.go`; a leading `!` excludes instead (`!*_test.go`).",
    )
    ignore_case: bool = Field(default=False, description="Match case-insensitively.")
    context: int = Field(
        default=0, ge=0, le=20, description="Lines of context to show before and after each match."
    )
    output_mode: Literal["content", "files", "count"] = Field(
        default="content",
        description="`content`: matching lines as path:line:text; `files`: only the paths of "
        "matching files; `count`: path:number of matching lines.",
    )
    max_results: int = Field(
        default=200,
        ge=1,
        le=2000,
        description="Most lines (content), files (files) or entries (count) to return.",
    )


class GrepTool(Tool):
    name = "grep"
    description = (
        "Search file contents for a regular expression (ripgrep syntax), recursively, "
        "skipping binary files and directories such as .git and node_modules. Returns "
        "`path:line:text` for each matching line, or only file paths or counts "
        "(output_mode). Filter files with `glob`. Use glob to find files by name."
    )
    Params = GrepParams
    capability = Capability.read

    async def run(self, params: GrepParams, ctx: ToolContext) -> ToolResult:
        if "\n" in params.pattern:
            raise ToolError("The pattern must be a single line (grep matches line by line).")
        ws = ctx.workspace
        target = ws.resolve(params.path) if params.path else ws.working_dir
        arg = display_path(target, ws.working_dir)
        globs = expand_braces(params.glob) if params.glob else []
        command = build_command(params, arg, globs)
        result = await ws.exec(command, cwd=ws.working_dir)
        if result.output.startswith(_NO_PATH):
            raise ToolError(f"Path not found: {target}. Use list or glob to see what exists.")
        entries, problems = _parse(result.output, params.output_mode)
        if result.exit_code >= 2 and not entries:
            detail = "\n".join(problems).strip() or f"exit code {result.exit_code}"
            raise ToolError(f"grep failed for pattern {params.pattern!r}: {detail}")
        if any("/" in g for g in globs):  # the shell side filtered by file name only
            entries = [e for e in entries if _glob_match(e[0], arg, globs)]
        if not entries:
            where = " in the working directory" if arg == "." else f" in {arg}"
            if params.glob:
                where += f" (files matching {params.glob!r})"
            return ToolResult(f"No matches for {params.pattern!r}{where}.")
        partial = len(result.output) >= MAX_RAW_BYTES
        return ToolResult(_render(entries, params, partial))


def build_command(params: GrepParams, path: str, globs: list[str]) -> str:
    """One shell command: ripgrep when present, else grep; prints `path\\0rest` lines."""
    q = shlex.quote
    # By file name here; globs with a directory part are applied to the paths afterwards.
    include = sorted({g.rsplit("/", 1)[-1] for g in globs if g[:1] != "!"} - {"**"})
    exclude = sorted({g[1:] for g in globs if g[:1] == "!" and "/" not in g})
    rg = ["rg", "--no-config", "--no-ignore", "--hidden", "--no-messages", "--color=never"]
    rg += ["--null", "--with-filename", "--line-number", "--no-heading"]
    grep = ["grep", "-r", "-I", "-s", "-E", "--color=never", "-Z", "-H", "-n"]
    if params.ignore_case:
        rg.append("--ignore-case")
        grep.append("-i")
    if params.output_mode == "files":
        rg.append("--files-with-matches")
        grep.append("-l")
    elif params.output_mode == "count":
        rg.append("--count")
        grep.append("-c")
    elif params.context:
        rg.append(f"--context={params.context}")
        grep.append(f"--context={params.context}")
    rg += [f"--glob={q(n)}" for n in include]
    rg += [f"--glob={q('!' + n)}" for n in (*exclude, *SKIP_DIRS)]
    grep += [f"--include={q(n)}" for n in include]
    grep += [f"--exclude={q(n)}" for n in exclude]
    grep += [f"--exclude-dir={q(d)}" for d in SKIP_DIRS]
    rg += ["-e", q(params.pattern), "--", q(path)]
    grep += ["-e", q(_posix_regex(params.pattern)), "--", q(path)]
    return (
        f"if [ ! -e {q(path)} ]; then echo {_NO_PATH}; exit 0; fi; "
        f"if command -v rg >/dev/null 2>&1; then {' '.join(rg)}; "
        f"else {' '.join(grep)}; fi | head -c {MAX_RAW_BYTES}; exit ${{PIPESTATUS[0]}}"
    )


def _posix_regex(pattern: str) -> str:
    r"""Rust-regex classes grep -E lacks (`\d`, `\D`) spelled the POSIX way."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "d":
                out.append("0-9" if in_class else "[0-9]")
            elif nxt == "D" and not in_class:
                out.append("[^0-9]")
            else:
                out.append(c + nxt)
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        out.append(c)
        i += 1
    return "".join(out)


# (path, line number or None, True for a match / False for context, text)
_Entry = tuple[str, int | None, bool, str]
_LINE = re.compile(r"(\d+)([:-])(.*)", re.DOTALL)


def _parse(output: str, mode: str) -> tuple[list[_Entry], list[str]]:
    """Entries from `path\\0...` lines; lines without a NUL are messages (errors)."""
    entries: list[_Entry] = []
    problems: list[str] = []
    if mode == "files":  # `path\0` records; anything after the last NUL is a message
        *paths, rest = output.split("\0")
        entries = [(p.strip("\n").removeprefix("./"), None, True, "") for p in paths]
        return [e for e in entries if e[0]], rest.strip().splitlines()
    for line in output.split("\n"):
        path, nul, rest = line.partition("\0")
        if not nul:
            if line and line != "--":
                problems.append(line)
            continue
        path = path.removeprefix("./")
        if mode == "count":
            if rest.strip().isdigit() and int(rest) > 0:
                entries.append((path, int(rest), True, ""))
            continue
        m = _LINE.fullmatch(rest)
        if m:
            entries.append((path, int(m[1]), m[2] == ":", m[3]))
    return entries, problems


def _glob_match(path: str, root: str, globs: list[str]) -> bool:
    """Whether `path` (relative to `root`) matches a positive glob and no `!` glob."""
    rel = path if root == "." else posixpath.relpath(path, root)
    positive = [glob_regex(g.lstrip("/")) for g in globs if g[:1] != "!"]
    negative = [glob_regex(g[1:].lstrip("/")) for g in globs if g[:1] == "!"]
    return (not positive or any(r.fullmatch(rel) for r in positive)) and not any(
        r.fullmatch(rel) for r in negative
    )


def _render(entries: list[_Entry], params: GrepParams, partial: bool) -> str:
    mode, cap = params.output_mode, params.max_results
    lines: list[str] = []
    if mode == "files":
        lines = sorted({path for path, *_ in entries})
        noun = "files"
    elif mode == "count":
        counts = sorted((path, n or 0) for path, n, *_ in entries)
        lines = [f"{path}:{n}" for path, n in counts]
        noun = "files"
    else:
        noun = "matching lines"
        by_file: dict[str, dict[int, tuple[bool, str]]] = {}
        for path, number, is_match, text in entries:
            assert number is not None
            seen = by_file.setdefault(path, {})
            if is_match or number not in seen:
                seen[number] = (is_match, text)
        shown = 0
        matches = sum(1 for *_, is_match, _ in entries if is_match)
        for path in sorted(by_file):
            previous = None
            for number, (is_match, text) in sorted(by_file[path].items()):
                if is_match and shown >= cap:
                    break
                if params.context and lines and (previous is None or number != previous + 1):
                    lines.append("--")
                if len(text) > MAX_LINE_CHARS:
                    text = f"{text[:MAX_LINE_CHARS]} [... {len(text):,} chars]"
                sep = ":" if is_match else "-"
                lines.append(f"{path}{sep}{number}{sep}{text}")
                shown += is_match
                previous = number
        if shown < matches:
            lines.append(
                f"[... {matches - shown:,} more {noun} not shown; narrow the search or raise "
                "max_results]"
            )
        if partial:
            lines.append("[results are partial: the search produced too much output]")
        return "\n".join(lines)
    if len(lines) > cap:
        more = len(lines) - cap
        lines = [*lines[:cap], f"[... {more:,} more {noun} not shown; narrow the search]"]
    if partial:
        lines.append("[results are partial: the search produced too much output]")
    return "\n".join(lines)
