"""GNU tar as a pipe: the upload's archive is made by `tar` in a subprocess and streamed
straight into the request body, never written to local disk.

Why tar and not Python's `tarfile`: it packs in C in its own process, so the event loop and
the GIL stay free for the agent; it writes integer timestamps in `gnu` format (no PAX header
per file); and it copies file data with large reads. What shrinks goes through `zstd -1` in
a second process on the way (`_shrink.py` decides); nothing else is compressed.

One tar process per mapping, run one after the other into one stream: tar archives
concatenate (the sandbox unpacks them with `tar -x --ignore-zeros`), and so do zstd frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

from rho_agent.backends._manifest import Tree
from rho_agent.backends._shrink import ZSTD_ARGS, zstd
from rho_agent.errors import ConfigError

#: Bytes read from a pipe at a time.
CHUNK = 1 << 20


def tar_command(tree: Tree) -> list[str]:
    """argv that writes `tree`'s names (read NUL-separated from stdin) as a tar stream on
    stdout, each name placed under the tree's remote path (relative to `/`), or, for a file
    mapping, renamed to it."""
    tar = shutil.which("tar")
    if tar is None:
        raise ConfigError("Uploading needs GNU tar on this machine (`tar` is not on PATH).")
    prefix = tree.remote.strip("/")
    # sed replacement: `\\`, `&` and the `,` delimiter are special. Flag S: symlink targets
    # stay as they are; member names and hard-link targets move under the prefix.
    escaped = prefix.replace("\\", "\\\\").replace("&", "\\&").replace(",", "\\,")
    rename = f"s,.*,{escaped},S" if tree.file else f"s,^,{escaped}/,S"
    return [
        tar,
        "--create",
        "--file=-",
        "--format=gnu",
        "--no-recursion",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        f"--directory={tree.root}",
        f"--transform={rename}",
        "--null",
        "--verbatim-files-from",
        "--files-from=-",
    ]


def _zstd_command() -> list[str]:
    program = zstd()
    if program is None:  # decided by _shrink, which checked
        raise ConfigError("zstd is not on PATH any more; upload again.")
    return [program, *ZSTD_ARGS]


async def tar_stream(trees: list[Tree], *, compress: bool = False) -> AsyncIterator[bytes]:
    """The concatenated tar archives of `trees` (through zstd if `compress`). Raises
    ConfigError when tar fails (a file that vanished or cannot be read); closing the
    iterator early kills the processes."""
    for tree in trees:
        if tree.names:
            names = b"".join(os.fsencode(n) + b"\0" for n in tree.names)
            stages = [tar_command(tree), *([_zstd_command()] if compress else [])]
            async for chunk in _pipeline(stages, names, what=str(tree.root)):
                yield chunk


async def file_stream(path: Path, *, compress: bool) -> AsyncIterator[bytes]:
    """The bytes of `path`, through zstd if `compress` (else read off the loop)."""
    if compress:
        async for chunk in _pipeline([[*_zstd_command(), "--", str(path)]], None, what=str(path)):
            yield chunk
        return
    with open(path, "rb") as f:  # read off the loop: a cold disk must not stall the agent
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            yield chunk


async def _pipeline(
    stages: list[list[str]], stdin: bytes | None, *, what: str
) -> AsyncIterator[bytes]:
    """stdout of `stages[0] | stages[1] | …` (the pipes between them are the kernel's: no
    byte passes through Python but the last stage's output)."""
    processes: list[asyncio.subprocess.Process] = []
    feeding: asyncio.Future[None] | None = None
    errors: list[asyncio.Future[bytes]] = []
    try:
        source: int = asyncio.subprocess.PIPE if stdin is not None else subprocess.DEVNULL
        for n, argv in enumerate(stages):
            last = n == len(stages) - 1
            read_end, write_end = (None, None) if last else os.pipe()
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=source,
                stdout=asyncio.subprocess.PIPE if last else write_end,
                stderr=asyncio.subprocess.PIPE,
            )
            processes.append(process)
            if n > 0 and isinstance(source, int) and source >= 0:
                os.close(source)
            if write_end is not None and read_end is not None:
                os.close(write_end)
                source = read_end
        first, last_process = processes[0], processes[-1]
        # read as they come: a stage whose stderr pipe filled up (a warning per file) would stall
        errors = [asyncio.ensure_future(_read_all(p.stderr)) for p in processes]
        if stdin is not None:
            feeding = asyncio.ensure_future(_feed(first, stdin))
        assert last_process.stdout is not None
        while chunk := await last_process.stdout.read(CHUNK):
            yield chunk
        if feeding is not None:
            await feeding
        for argv, process in zip(stages, processes, strict=True):
            code = await process.wait()
            # tar's 1: a file changed while it was read (it is in the archive as tar saw it).
            if code not in (0, 1) or (code == 1 and process is not first):
                message = (await errors[processes.index(process)]).decode(errors="replace").strip()
                name = os.path.basename(argv[0])
                raise ConfigError(f"Cannot read {what} for upload ({name}): {message[-500:]}")
    finally:
        if feeding is not None:
            feeding.cancel()
        for reading in errors:
            reading.cancel()
        for process in processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()


async def _read_all(stream: asyncio.StreamReader | None) -> bytes:
    return await stream.read() if stream is not None else b""


async def _feed(process: asyncio.subprocess.Process, data: bytes) -> None:
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        process.stdin.write(data)
        await process.stdin.drain()
        process.stdin.close()


def pack(trees: list[Tree], out: Path) -> int:
    """Write the (uncompressed) tar stream of `trees` to `out` (what an upload sends, for
    inspection); returns its size. Blocking."""
    with open(out, "wb") as f:
        for tree in trees:
            if not tree.names:
                continue
            names = b"".join(os.fsencode(n) + b"\0" for n in tree.names)
            done = subprocess.run(tar_command(tree), input=names, stdout=f, stderr=subprocess.PIPE)
            if done.returncode not in (0, 1):
                message = done.stderr.decode(errors="replace").strip()
                raise ConfigError(f"Cannot read {tree.root} for upload: {message[-500:]}")
    return out.stat().st_size
