"""GNU tar as a pipe: the upload's archive is made by `tar` in a subprocess and streamed
straight into the request body, never written to local disk and never compressed.

Why tar and not Python's `tarfile`: it packs in C in its own process, so the event loop and
the GIL stay free for the agent; it writes integer timestamps in `gnu` format (no PAX header
per file); and it copies file data with large reads. Why no compression: a link to a sandbox
is faster than gzip on one core, and most bulk (data, media, wheels) does not shrink.

One tar process per directory mapping, run one after the other into one stream: tar
archives concatenate, and the sandbox unpacks them with `tar -x --ignore-zeros`.
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
from rho_agent.errors import ConfigError

#: Bytes read from tar's stdout at a time.
CHUNK = 1 << 20


def tar_command(tree: Tree) -> list[str]:
    """argv that writes `tree`'s names (read NUL-separated from stdin) as a tar stream on
    stdout, each name placed under the tree's remote path (relative to `/`), or, for a file
    mapping, renamed to it."""
    tar = shutil.which("tar")
    if tar is None:
        raise ConfigError("Uploading needs GNU tar on this machine (`tar` is not on PATH).")
    prefix = tree.remote.strip("/")
    # sed replacement: `\`, `&` and the `,` delimiter are special. Flag S: symlink targets
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


async def tar_stream(trees: list[Tree]) -> AsyncIterator[bytes]:
    """The concatenated tar archives of `trees`. Raises ConfigError when tar fails (a file
    that vanished or cannot be read); closing the iterator early kills tar."""
    for tree in trees:
        if not tree.names:
            continue
        async for chunk in _one_tar(tree):
            yield chunk


async def _one_tar(tree: Tree) -> AsyncIterator[bytes]:
    names = b"".join(os.fsencode(n) + b"\0" for n in tree.names)
    process = await asyncio.create_subprocess_exec(
        *tar_command(tree),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin and process.stdout and process.stderr

    async def feed() -> None:
        assert process.stdin
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(names)
            await process.stdin.drain()
            process.stdin.close()

    feeding = asyncio.ensure_future(feed())
    errors = asyncio.ensure_future(process.stderr.read())
    try:
        while chunk := await process.stdout.read(CHUNK):
            yield chunk
        await feeding
        code = await process.wait()
        # 1: a file changed while it was read (it is in the archive as tar saw it).
        if code not in (0, 1):
            message = (await errors).decode(errors="replace").strip()
            raise ConfigError(f"Cannot read {tree.root} for upload: {message[-500:]}")
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        feeding.cancel()
        errors.cancel()


def pack(trees: list[Tree], out: Path) -> int:
    """Write the tar stream of `trees` to `out` (what an upload sends, for inspection);
    returns its size. Blocking."""
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
