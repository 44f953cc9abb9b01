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
import subprocess
import tarfile
import threading
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any

from rho_agent.backends import _programs
from rho_agent.backends._manifest import Tree
from rho_agent.backends._shrink import ZSTD_ARGS
from rho_agent.errors import ConfigError

#: Bytes read from a pipe at a time.
CHUNK = 1 << 20


def tar_command(tree: Tree) -> list[str]:
    """argv that writes `tree`'s names (read NUL-separated from stdin) as a tar stream on
    stdout, each name placed under the tree's remote path (relative to `/`), or, for a file
    mapping, renamed to it."""
    tar = _programs.gnu_tar()
    if tar is None:
        raise ConfigError("GNU tar is not on this machine (neither `tar` nor `gtar`).")
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
    program = _programs.zstd()
    if program is None:  # decided by _shrink, which checked
        raise ConfigError("zstd is not on PATH any more; upload again.")
    return [program, *ZSTD_ARGS]


async def tar_stream(trees: list[Tree], *, compress: bool = False) -> AsyncIterator[bytes]:
    """The concatenated tar archives of `trees` (through zstd if `compress`). Raises
    ConfigError when tar fails (a file that vanished or cannot be read); closing the
    iterator early kills the processes. Without GNU tar, Python's tarfile writes the same
    archive (uncompressed) in a thread."""
    if _programs.gnu_tar() is None:
        async for chunk in _tarfile_stream(trees):
            yield chunk
        return
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
            feeding = asyncio.ensure_future(feed(first, _once(stdin)))
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
        await asyncio.gather(*errors, return_exceptions=True)  # stopped before reap drains
        for process in processes:
            await reap(process)


async def reap(process: asyncio.subprocess.Process) -> None:
    """Kill `process` if it still runs, and wait for it (no zombie, no writer left).

    Its pipes are drained first: `wait()` also waits for them to close, which it never sees
    once a reader nobody reads any more has filled its buffer and paused. (Readers of
    these pipes in other tasks must have stopped: two readers of one stream is an error.)"""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            while await stream.read(1 << 20):
                pass
    await process.wait()


async def _read_all(stream: asyncio.StreamReader | None) -> bytes:
    return await stream.read() if stream is not None else b""


async def feed(process: asyncio.subprocess.Process, chunks: AsyncIterable[bytes]) -> None:
    """Write `chunks` to `process`'s stdin, then close it (a process that stopped reading
    ends the feeding, not the caller: its exit status says what went wrong)."""
    assert process.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        async for chunk in chunks:
            process.stdin.write(chunk)
            await process.stdin.drain()
        process.stdin.close()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _tarfile_stream(trees: list[Tree]) -> AsyncIterator[bytes]:
    """What `tar_stream` sends, written by tarfile in a thread into a pipe read here."""
    read_end, write_end = os.pipe()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=CHUNK, loop=loop)
    stop = threading.Event()

    def write() -> None:
        try:
            with open(write_end, "wb", buffering=CHUNK) as out:
                _write_tarfile(trees, out, stop)
        except BrokenPipeError:
            pass  # the reader went away (the upload was cancelled)

    writing = asyncio.ensure_future(asyncio.to_thread(write))
    pipe = open(read_end, "rb", buffering=0)  # noqa: SIM115  (the transport closes it)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while chunk := await reader.read(CHUNK):
            yield chunk
        await writing
    finally:
        stop.set()
        transport.close()
        await asyncio.gather(writing, return_exceptions=True)


def _write_tarfile(trees: list[Tree], out: Any, stop: threading.Event) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for tree in trees:
            prefix = tree.remote.strip("/")
            for name in tree.names:
                if stop.is_set():
                    return
                arcname = prefix if tree.file else f"{prefix}/{name}"
                try:
                    info = tar.gettarinfo(str(tree.root / name), arcname)
                    info.mtime = int(info.mtime)  # whole seconds: no PAX header per file
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    if info.isreg():
                        with open(tree.root / name, "rb") as f:
                            tar.addfile(info, f)
                    else:
                        tar.addfile(info)
                except OSError as exc:
                    raise ConfigError(
                        f"Cannot read {tree.root / name} for upload: {exc.strerror}"
                    ) from None


def pack(trees: list[Tree], out: Path) -> int:
    """Write the (uncompressed) tar stream of `trees` to `out` (what an upload sends, for
    inspection); returns its size. Blocking."""
    if _programs.gnu_tar() is None:
        with open(out, "wb") as f:
            _write_tarfile(trees, f, threading.Event())
        return out.stat().st_size
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
