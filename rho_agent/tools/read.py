"""`read`: a window of a text file, with line numbers."""

from __future__ import annotations

from pydantic import BaseModel, Field

from rho_agent.tools.base import MAX_OUTPUT_CHARS, Tool, ToolContext, ToolError, ToolResult

MAX_LINE_CHARS = 2000
DEFAULT_LIMIT = 2000


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
        "characters are cut. Binary files are refused. Read a file before editing it."
    )
    Params = ReadParams
    read_only = True

    async def run(self, params: ReadParams, ctx: ToolContext) -> ToolResult:
        path = ctx.workspace.resolve(params.path)
        data = await read_file_bytes(ctx, path)
        text = decode_text(data, path)
        if not text:
            return ToolResult(f"(empty file: {path})")
        crlf = "\r\n" in text
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the newline that ends the last line does not start another
        total = len(lines)
        first = params.offset
        if first > total:
            raise ToolError(
                f"{path} has {total} lines; offset={first} is past the end. "
                f"Use an offset from 1 to {total}."
            )
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
        notes = []
        if last < total:
            notes.append(f"lines {first}-{last} of {total}; use offset={last + 1} to read more")
        elif first > 1:
            notes.append(f"lines {first}-{last} of {total}; end of file")
        if crlf:
            notes.append("the file has CRLF line endings")
        if notes:
            out.append(f"[{'; '.join(notes)}]")
        return ToolResult("\n".join(out))


async def read_file_bytes(ctx: ToolContext, path: str) -> bytes:
    """The file's bytes, or a ToolError a model can act on."""
    try:
        return await ctx.workspace.read_bytes(path)
    except FileNotFoundError:
        raise ToolError(
            f"File not found: {path}. Use list or glob to see which files exist."
        ) from None
    except IsADirectoryError:
        raise ToolError(
            f"{path} is a directory, not a file. Use list to see its contents."
        ) from None
    except PermissionError:
        raise ToolError(f"Permission denied reading {path}.") from None
    except OSError as exc:
        raise ToolError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def decode_text(data: bytes, path: str) -> str:
    """UTF-8 text, or a ToolError saying the file is binary (with its size and a type guess)."""
    if b"\0" in data[:8192]:
        kind = _guess_kind(data)
    else:
        try:
            return data.decode("utf-8")
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
