"""`read`: a window of a text file, with line numbers."""

from __future__ import annotations

import codecs
import shlex

from pydantic import BaseModel, Field

from rho_agent.backends import NotRegularFileError
from rho_agent.tools._base import (
    MAX_OUTPUT_CHARS,
    Capability,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
)

MAX_LINE_CHARS = 2000
DEFAULT_LIMIT = 2000
#: Most bytes `read` (and `edit`) load from one file. The model sees at most MAX_OUTPUT_CHARS
#: of it anyway; the bound keeps a huge log or data dump from filling the memory and sets how
#: far `offset` reaches. Later parts of a bigger file are for bash (`sed -n`, `tail -c`).
MAX_READ_BYTES = 10 * 1024 * 1024
READ_BOUND_TEXT = f"{MAX_READ_BYTES >> 20} MiB"


class ReadParams(BaseModel):
    path: str = Field(description="File to read; relative paths are from the working directory.")
    offset: int = Field(default=1, ge=1, description="Line number to start at (1 = first line).")
    limit: int = Field(
        default=DEFAULT_LIMIT, ge=1, le=DEFAULT_LIMIT, description="Most lines to return."
    )


class ReadTool(Tool):
    name = "read"
    description = (
        "Read a text file. Lines come numbered like `cat -n` (number, tab, text); the "
        "numbers are not part of the file. By default up to 2000 lines from the start; for "
        "longer files a footer gives the offset to continue from. Lines longer than 2000 "
        "characters are cut. Binary files are refused, and so are FIFOs and devices; only the "
        f"first {READ_BOUND_TEXT} of a file can be read. Read a file before editing it."
    )
    Params = ReadParams
    capability = Capability.read

    async def run(self, params: ReadParams, ctx: ToolContext) -> ToolResult:
        path = ctx.workspace.resolve(params.path)
        data = await read_file_bytes(ctx, path, limit=MAX_READ_BYTES + 1)
        cut = len(data) > MAX_READ_BYTES
        if cut:
            data = _whole_lines(data[:MAX_READ_BYTES])
        text = decode_text(data, path, complete=not cut)
        if not text:
            return ToolResult(f"(empty file: {path})")
        crlf = "\r\n" in text
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the newline that ends the last line does not start another
        total = len(lines)
        first = params.offset
        beyond = await _beyond_note(ctx, path, len(data), total) if cut else ""
        if first > total:
            raise ToolError(_past_end(path, first, total, beyond))
        out: list[str] = []
        size = 0
        budget = MAX_OUTPUT_CHARS - 200  # leave room for the footer; never cut mid-window
        last = first - 1
        for number in range(first, min(total, first + params.limit - 1) + 1):
            line = lines[number - 1].removesuffix("\r")
            if len(line) > MAX_LINE_CHARS:
                line = f"{line[:MAX_LINE_CHARS]} [... line cut: {len(line):,} chars in total]"
            entry = f"{number:>6}\t{line}"
            if out and size + len(entry) + 1 > budget:
                break
            out.append(entry)
            size += len(entry) + 1
            last = number
        notes = _notes(first, last, total, crlf=crlf, beyond=beyond)
        if notes:
            out.append(f"[{'; '.join(notes)}]")
        return ToolResult("\n".join(out))


def _notes(first: int, last: int, total: int, *, crlf: bool, beyond: str) -> list[str]:
    """The footer: where the window is, and what else the model should know."""
    notes = []
    of = f"of the first {total} (all read loads)" if beyond else f"of {total}"
    if last < total:
        notes.append(f"lines {first}-{last} {of}; use offset={last + 1} to read more")
    elif first > 1 and not beyond:
        notes.append(f"lines {first}-{last} of {total}; end of file")
    if crlf:
        notes.append("the file has CRLF line endings")
    if beyond:
        notes.append(beyond)
    return notes


def _past_end(path: str, first: int, total: int, beyond: str) -> str:
    if beyond:
        return f"offset={first} is past line {total}, the last one read loads. {beyond}"
    return (
        f"{path} has {total} lines; offset={first} is past the end. "
        f"Use an offset from 1 to {total}."
    )


def _whole_lines(data: bytes) -> bytes:
    """`data` up to its last line break (all of it if it has none)."""
    end = data.rfind(b"\n")
    return data[: end + 1] if end >= 0 else data


async def _beyond_note(ctx: ToolContext, path: str, loaded: int, lines: int) -> str:
    """What to say about a file larger than MAX_READ_BYTES: its size and how to see the rest.
    The size costs one exec, only for such a file."""
    q = shlex.quote(path)
    # Unconfined, like the read itself. No size for what is not a plain file (a device).
    probe = await ctx.workspace.exec(
        f"[ -f {q} ] && {{ stat -L -c %s -- {q} 2>/dev/null || stat -L -f %z -- {q}; }}",
        confined=False,
    )
    size = probe.output.strip()
    what = f"{int(size):,} bytes" if size.isdigit() else f"more than {READ_BOUND_TEXT}"
    return (
        f"{path} is {what}; read loads only its first {READ_BOUND_TEXT} (lines 1-{lines}). "
        f"For later parts use bash, e.g. `sed -n '{lines + 1},{lines + DEFAULT_LIMIT}p' {q}` or "
        f"`tail -c +{loaded + 1} {q} | head -n {DEFAULT_LIMIT}`"
    )


async def read_file_bytes(ctx: ToolContext, path: str, *, limit: int | None = None) -> bytes:
    """The file's bytes (at most `limit` of them), or a ToolError a model can act on."""
    try:
        return await ctx.workspace.read_bytes(path, limit=limit)
    except NotRegularFileError as exc:
        raise ToolError(
            f"{path} is a {exc.kind}, not a regular file; the read tool reads regular files "
            "only (a FIFO or device may block or never end)."
        ) from None
    except FileNotFoundError:
        raise ToolError(
            f"File not found: {path}. Use list or glob to see which files exist."
        ) from None
    except IsADirectoryError:
        raise ToolError(
            f"{path} is a directory, not a file. Use list to see its contents."
        ) from None
    except PermissionError as exc:
        # Say why when it is ours (credentials, git hooks), not only that it failed.
        why = exc.strerror if exc.strerror and "from the agent" in exc.strerror else None
        raise ToolError(
            f"Permission denied reading {path}" + (f": {why}." if why else ".")
        ) from None
    except OSError as exc:
        raise ToolError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def decode_text(data: bytes, path: str, *, complete: bool = True) -> str:
    """UTF-8 text, or a ToolError saying the file is binary (with its size and a type guess).

    `complete=False`: `data` is the start of a longer file; a character cut at its end is left out.
    """
    if b"\0" in data[:8192]:
        kind = _guess_kind(data)
    else:
        try:
            return codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
        except UnicodeDecodeError:
            kind = "not valid UTF-8 (text in another encoding, or binary data)"
    raise ToolError(
        f"{path} is not a text file: {len(data):,} bytes, {kind}. It cannot be read as text."
    )


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "zip archive (or docx/xlsx/jar/wheel)"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"(\xb5/\xfd", "zstd-compressed data"),
    (b"\x7fELF", "ELF executable or library"),
    (b"SQLite format 3\x00", "SQLite database (use the sql tools if it is configured)"),
    (b"\0asm", "WebAssembly module"),
    (b"\xca\xfe\xba\xbe", "Java class or Mach-O binary"),
    (b"PAR1", "Parquet file"),
)


def _guess_kind(data: bytes) -> str:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "UTF-16 text"
    if data[257:262] == b"ustar":
        return "tar archive"
    if data[:6] == b"\x93NUMPY":
        return "NumPy array"
    return "binary data"
