"""Copying a file or a directory out of a workspace, by the rules uploads follow.

    one command in the workspace: list the big files (≥ 8 MB) that do not shrink, pack the
    │   rest with `tar` into /tmp/.rho-download-X.tar, through `zstd -1` if a sample at
    │   least halves (a single file that shrinks is compressed alone)
    ├─ one streamed request for the archive, unpacked as it arrives by GNU tar (through
    │     zstd -d), then checked: no links out, no device files, FIFOs or sockets (without
    │     GNU tar, tarfile's `data` filter refuses the same, and absolute paths and `..`)
    ├─ one streamed request per big file, straight to a local file (side by side, up to 4)
    └─ then the big files move into the unpacked tree, with their mode and mtime

Everything lands in a staging directory beside the target first, so a download cut short
leaves nothing at the local path; the archive in the workspace is removed as soon as it
has been read. Nothing is compressed where no network is crossed (the local backend), nor
where either side lacks zstd.

A name the listing cannot carry exactly (a newline, a backslash, a byte outside printable
ASCII) keeps its file in the archive: the listing is text, the archive is not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import io
import os
import posixpath
import secrets
import shlex
import shutil
import tarfile
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rho_agent.backends import _programs
from rho_agent.backends._endpoint import Endpoint
from rho_agent.backends._manifest import LOOSE_BYTES
from rho_agent.backends._progress import Meter
from rho_agent.backends._report import format_size
from rho_agent.backends._shrink import MIN_BYTES, SHRINK_RATIO
from rho_agent.backends._tarpipe import feed, reap
from rho_agent.backends._together import together
from rho_agent.backends._types import Notify, Progress
from rho_agent.errors import SandboxError

__all__ = ["Listing", "download", "pack_command", "parse_listing"]

#: Requests of one download in flight at once.
PARALLEL_REQUESTS = 4
#: Bytes of a file (or of the archive) gzip -1 samples to decide whether zstd pays.
SAMPLE_BYTES = 1024 * 1024
PACK_TIMEOUT = 600
#: Bytes gathered before each write of a file being downloaded.
WRITE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class BigFile:
    """A file fetched as its own request: `name` is its path below the remote's parent."""

    name: str
    size: int
    mode: int
    mtime: int


@dataclass
class Listing:
    """What the pack command made of the remote path."""

    kind: str  # "none", "file" (fetched as it is), "zfile" (compressed alone), "tree"
    archive: str = ""  # the workspace path of the archive (or the compressed file)
    compressed: bool = False
    size: int = 0  # bytes to fetch
    unpacked: int = 0  # bytes once decompressed: more is refused (a decompression bomb)
    mode: int = 0o644
    mtime: int = 0
    big: list[BigFile] = field(default_factory=list)


def pack_command(parent: str, name: str, tmp: str, *, compress: bool) -> str:
    """The shell command that packs `parent/name` for download as the module docstring
    says, printing one line per big file and a last line for the archive (`parse_listing`)."""
    q = shlex.quote
    min_kb = LOOSE_BYTES // 1024 - 1  # find's -size +N counts whole KiB: N+1 and up
    half = int(SAMPLE_BYTES * SHRINK_RATIO)
    return "\n".join(
        [
            f"p={q(parent)}; n={q(name)}; t={q(tmp)}; z={1 if compress else 0}",
            'cd -- "$p" 2>/dev/null || { echo none; exit 0; }',
            '[ -e "$n" ] || [ -L "$n" ] || { echo none; exit 0; }',
            '[ "$z" = 1 ] && ! zstd -V >/dev/null 2>&1 && z=0',
            # gzip -1 of a sample: a cheap stand-in for zstd -1's ratio (as for uploads); every
            # file sampled is at least SAMPLE_BYTES long
            '[ "$z" = 1 ] && ! gzip -V >/dev/null 2>&1 && z=0',
            f'shrinks() {{ [ "$z" = 1 ] && [ "$(head -c {SAMPLE_BYTES} -- "$1" | gzip -1 | wc -c)" -le {half} ]; }}',
            'if [ ! -d "$n" ]; then',
            '  set -- $(stat -L -c "%s %a %Y" -- "$n")',
            f'  if [ "$1" -ge {MIN_BYTES} ] && shrinks "$n"; then',
            '    zstd -1 -T0 -q -c -- "$n" > "$t.zst" || exit 1',
            '    echo "zfile $(stat -c %s -- "$t.zst") $2 $3 $1"',
            '  else echo "file $1 $2 $3"; fi',
            "  exit 0",
            "fi",
            ': > "$t.big" || exit 1',
            # names the listing carries exactly: printable ASCII, no backslash (tar unquotes)
            f"LC_ALL=C find \"$n\" -type f -size +{min_kb}k ! -name '*[![:print:]]*' "
            "! -name '*\\\\*' -print | while IFS= read -r f; do",
            '  set -- $(stat -c "%s %a %Y" -- "$f")',
            '  shrinks "$f" && continue',
            '  printf "%s\\n" "$f" >> "$t.big"',
            '  echo "big $1 $2 $3 $f"',
            "done",
            'tar -c -f "$t.tar" --format=gnu --anchored --no-wildcards --exclude-from="$t.big" '
            '-- "$n" || exit 1',
            'rm -f "$t.big"',
            's=$(stat -c %s -- "$t.tar")',
            f'if [ "$s" -ge {MIN_BYTES} ] && shrinks "$t.tar"; then',
            '  zstd -1 -T0 -q --rm -o "$t.tar.zst" -- "$t.tar" || exit 1',
            '  echo "tree $t.tar.zst $(stat -c %s -- "$t.tar.zst") zstd $s"',
            'else echo "tree $t.tar $s plain $s"; fi',
        ]
    )


def parse_listing(output: str, parent: str, name: str, tmp: str) -> Listing:
    """The pack command's output for `parent/name` as a Listing; SandboxError if it is not
    what it prints (a failure, or a listing that names something outside `name`)."""
    lines = output.splitlines()
    last = lines[-1].split(" ") if lines else [""]
    try:
        if last[0] == "none":
            return Listing("none")
        if last[0] == "file":
            size, mode, mtime = int(last[1]), int(last[2], 8), int(last[3])
            return Listing("file", "", False, size, size, mode, mtime)
        if last[0] == "zfile":
            size, mode, mtime, unpacked = int(last[1]), int(last[2], 8), int(last[3]), int(last[4])
            return Listing("zfile", f"{tmp}.zst", True, size, unpacked, mode, mtime)
        if last[0] == "tree" and last[1] in (f"{tmp}.tar", f"{tmp}.tar.zst"):
            big = [_big_file(line, name) for line in lines[:-1] if line.startswith("big ")]
            size, unpacked = int(last[2]), int(last[4])
            return Listing("tree", last[1], last[3] == "zstd", size, unpacked, big=big)
    except (IndexError, ValueError):
        pass
    raise SandboxError(
        f"Packing {posixpath.join(parent, name)} for download failed: "
        f"{output.strip()[-500:] or 'no output'}"
    )


def _big_file(line: str, name: str) -> BigFile:
    _, size, mode, mtime, path = line.split(" ", 4)
    normal = posixpath.normpath(path)
    if normal != path or not path.startswith(f"{name}/") or ".." in path.split("/"):
        raise ValueError(path)
    return BigFile(path, int(size), int(mode, 8), int(mtime))


async def download(
    ws: Endpoint,
    remote: str,
    local: str | os.PathLike[str],
    *,
    notify: Notify | None = None,
    progress: Progress | None = None,
) -> Path:
    """Copy a file or a whole directory from `ws` to `local`, like `cp -r`: into `local`
    when it is an existing directory. FileNotFoundError when `remote` does not exist.
    `notify` gets a progress bar, `progress` (done, total) bytes, for 8 MB or more."""
    remote = ws.resolve(remote)
    target = Path(local).expanduser()
    if target.is_dir():
        target = target / posixpath.basename(remote.rstrip("/"))
    parent, name = posixpath.split(remote.rstrip("/") or "/")
    parent = parent or "/"
    tmp = f"/tmp/.rho-download-{secrets.token_hex(6)}"
    compress = ws.over_network and _programs.zstd() is not None
    packed = await ws.exec(
        pack_command(parent, name, tmp, compress=compress),
        cwd="/",
        timeout=PACK_TIMEOUT,
        confined=False,
    )
    cleanup = _Cleanup(ws, tmp)
    try:
        if packed.exit_code != 0:
            cleanup.start()
            raise SandboxError(
                f"Packing {remote} for download failed (exit {packed.exit_code}): "
                f"{packed.output.strip()[-500:] or 'no output'}"
            )
        listing = parse_listing(packed.output, parent, name, tmp)
        cleanup.wanted = bool(listing.archive)
        if listing.kind == "none":
            raise FileNotFoundError(f"No such file or directory in the workspace: {remote}")
        target.parent.mkdir(parents=True, exist_ok=True)
        _check_room(remote, listing, target.parent)
        staging = Path(tempfile.mkdtemp(prefix=".rho-download-", dir=target.parent))
        try:
            (staging / "tree").mkdir()
            (staging / "big").mkdir()
            total = listing.size + sum(f.size for f in listing.big)
            meter = Meter("Downloading", total, notify, progress)
            await _fetch(ws, parent, name, listing, staging, cleanup, meter)
            await meter.finished()
            await asyncio.to_thread(_into_place, staging / "tree" / name, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        await cleanup.finish()
    return target


class _Cleanup:
    """Removes the download's files from the workspace's /tmp: as soon as their stream has
    begun (the server holds them open, so the bytes still come), or at the end."""

    def __init__(self, ws: Endpoint, tmp: str) -> None:
        self.ws, self.tmp = ws, tmp
        self.task: asyncio.Future[None] | None = None
        #: Whether the pack command left anything (until its output says, assume it did).
        self.wanted = True

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.ensure_future(_remove_remote(self.ws, self.tmp))

    async def read(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield chunk
            self.start()

    async def finish(self) -> None:
        if self.wanted:
            self.start()
        if self.task is not None:
            await asyncio.shield(self.task)


async def _fetch(
    ws: Endpoint,
    parent: str,
    name: str,
    listing: Listing,
    staging: Path,
    cleanup: _Cleanup,
    meter: Meter,
) -> None:
    """Bring everything `listing` names into `staging/tree` (big files via `staging/big`):
    the copy of `parent/name`."""
    staged = staging / "tree" / name

    def fetched(path: str) -> AsyncIterator[bytes]:
        return meter.counted(lambda: ws.get_stream(path))()

    def unpacked() -> AsyncIterator[bytes]:
        """The file or archive's bytes, decompressed, and no more than the listing said."""
        if listing.archive:  # made for this download: removed once its stream has begun
            chunks = cleanup.read(fetched(listing.archive))
        else:
            chunks = fetched(posixpath.join(parent, name))
        return _capped(_unzstd(chunks) if listing.compressed else chunks, listing.unpacked)

    if listing.kind in ("file", "zfile"):
        await _write_stream(unpacked(), staged)
        _stamp(staged, listing.mode, listing.mtime)
        return
    limit = asyncio.Semaphore(PARALLEL_REQUESTS)

    async def tree() -> None:
        async with limit:
            if _programs.gnu_tar() is not None:
                await _tar_unpack(unpacked(), staging / "tree")
            else:
                await _unpack(unpacked(), staging / "tree")

    async def big(n: int, file: BigFile) -> None:
        async with limit:
            chunks = fetched(posixpath.join(parent, file.name))
            await _write_stream(_capped(chunks, file.size), staging / "big" / str(n))

    await together([tree(), *(big(n, f) for n, f in enumerate(listing.big))])
    for n, file in enumerate(listing.big):
        _move_inside(staging / "big" / str(n), staging / "tree", file)


def _move_inside(source: Path, root: Path, file: BigFile) -> None:
    """Put a big file at `root/file.name`, refusing a path that a link in the unpacked tree
    would take outside `root`."""
    dest = root / file.name
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(dest.parent)]) != real_root:
        raise SandboxError(f"Refusing to download {file.name}: a link leads it out of {root}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _stamp(source, file.mode, file.mtime)
    os.replace(source, dest)


def _stamp(path: Path, mode: int, mtime: int) -> None:
    os.chmod(path, mode & 0o7777 & ~0o6000)  # never setuid/setgid from a sandbox
    os.utime(path, (mtime, mtime))


async def _remove_remote(ws: Endpoint, tmp: str) -> None:
    """Remove the download's files in the workspace's /tmp (harmless if it fails)."""
    q = shlex.quote
    with contextlib.suppress(Exception):
        await ws.exec(
            f"rm -f {q(tmp + '.tar')} {q(tmp + '.tar.zst')} {q(tmp + '.zst')} {q(tmp + '.big')}",
            cwd="/",
            timeout=60,
            confined=False,
        )


def _into_place(source: Path, target: Path) -> None:
    if target.exists() and source.is_dir() and target.is_dir():
        _merge(source, target)
    else:
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(source, target)


def _merge(source: Path, target: Path) -> None:
    for item in source.iterdir():
        dest = target / item.name
        if item.is_dir() and not item.is_symlink() and dest.is_dir():
            _merge(item, dest)
        else:
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(item, dest)


# ---------------------------------------------------------------- streams


async def _write_stream(chunks: AsyncIterator[bytes], path: Path) -> None:
    """Write `chunks` to `path` off the loop, in writes of a megabyte or more while the next
    bytes arrive (a thread hop per 64 KB chunk cost more than the transfer). Not the SDK's
    download to a path: cancelled, its threads may still make the file and its parents
    after the staging is gone."""
    with open(path, "wb") as f:
        writing: asyncio.Future[int] | None = None
        buffer = bytearray()
        try:
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= WRITE_BYTES:
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(asyncio.to_thread(f.write, bytes(buffer)))
                    buffer.clear()
            if writing is not None:
                await writing
            if buffer:
                await asyncio.to_thread(f.write, bytes(buffer))
        finally:
            if writing is not None and not writing.done():  # cancelled: let it land first
                await asyncio.wait({writing})
                if not writing.cancelled():
                    writing.exception()  # seen: the download's own error is the news


async def _capped(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """`chunks`, refused (SandboxError) once they pass `limit`, the size the pack command
    listed: a file that grows while it is read, or a small compressed stream that unpacks
    into something huge, must not fill the local disk."""
    seen = 0
    async with contextlib.aclosing(chunks):  # type: ignore[type-var]  # stopped: theirs too
        async for chunk in chunks:
            seen += len(chunk)
            if seen > limit:
                raise SandboxError(
                    f"Refusing the download: it brings more than the {format_size(limit)} "
                    "the sandbox listed (a file that grew while it was read, or a "
                    "decompression bomb). Download it again."
                )
            yield chunk


def _check_room(remote: str, listing: Listing, directory: Path) -> None:
    """OSError (ENOSPC) now, rather than a full disk halfway, when what the listing says
    will land does not fit in `directory`'s file system."""
    needed = listing.unpacked + sum(f.size for f in listing.big)
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise OSError(
            errno.ENOSPC,
            f"Not enough room to download {remote}: it needs {format_size(needed)}, and "
            f"{directory} has {format_size(free)} free",
        )


async def _unzstd(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`chunks` decompressed by a local `zstd -d` process (fed as it reads)."""
    program = _programs.zstd()
    if program is None:
        raise SandboxError("zstd is not on PATH any more; download again.")
    process = await asyncio.create_subprocess_exec(
        program,
        "-dcq",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    feeding = asyncio.ensure_future(feed(process, chunks))
    try:
        while chunk := await process.stdout.read(1 << 20):
            yield chunk
        await feeding
        if await process.wait() != 0:
            error = await process.stderr.read() if process.stderr else b""
            raise SandboxError(f"The download did not decompress: {error.decode(errors='replace')}")
    finally:
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)
        await reap(process)


async def _tar_unpack(chunks: AsyncIterator[bytes], into: Path) -> None:
    """Unpack the tar stream `chunks` into `into` with GNU tar, five to eight times faster
    than tarfile for many small files; then `_refuse_what_escapes`. GNU tar itself strips a
    leading `/`, refuses `..`, never writes through a link it made (one that points out
    stays a placeholder until the end), and with these flags keeps no owner and no setuid,
    setgid or sticky bit. (Decompressed before: `_capped` counts what tar would unpack.)"""
    tar = _programs.gnu_tar()
    assert tar is not None
    argv = [tar, "-x", "-f", "-", "-C", str(into), "--no-same-owner", "--no-same-permissions"]
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    errors = asyncio.ensure_future(process.stderr.read())
    try:
        await feed(process, chunks)
        code = await process.wait()
        message = (await errors).decode(errors="replace").strip()
    finally:
        errors.cancel()
        await asyncio.gather(errors, return_exceptions=True)  # stopped before reap drains
        await reap(process)
    if code != 0:
        raise SandboxError(f"Unpacking the download failed (tar): {message[-500:]}")
    await asyncio.to_thread(_refuse_what_escapes, into)


def _refuse_what_escapes(root: Path) -> None:
    """Raise SandboxError for what tarfile's `data` filter refuses and GNU tar makes: a link
    that leads out of `root`, a device file, a FIFO or a socket (the download is dropped)."""
    real_root = os.path.realpath(root)
    pending = [os.fspath(root)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                rel = os.path.relpath(entry.path, root)
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if os.path.commonpath([real_root, target]) != real_root:
                        raise SandboxError(
                            f"Refusing the download: {rel} is a link that leads out of it "
                            f"(to {os.readlink(entry.path)})"
                        )
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif not entry.is_file(follow_symlinks=False):
                    raise SandboxError(
                        f"Refusing the download: {rel} is not a regular file, folder or link "
                        "(a device file, FIFO or socket)"
                    )


async def _unpack(chunks: AsyncIterator[bytes], into: Path) -> None:
    """Unpack the tar stream `chunks` into `into`, in a thread that pulls the chunks from the
    loop as it needs them: no copy of the archive on disk. Returns (or raises) only once the
    thread has stopped writing, so a cancelled download can clean up after it."""
    reader = _LoopReader(chunks, asyncio.get_running_loop())
    worker = asyncio.ensure_future(
        asyncio.to_thread(_extract, io.BufferedReader(reader, 1 << 20), into)
    )
    try:
        await asyncio.shield(worker)
    finally:
        reader.stop()
        while not worker.done():  # a second cancel (a gather cancelling twice) must not
            with contextlib.suppress(asyncio.CancelledError):  # leave the thread writing
                await asyncio.wait({worker})
        worker.exception()  # seen: what stopped a cancelled unpack is not news
        aclose: Callable[[], Any] | None = getattr(chunks, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(RuntimeError):  # still being read by a cancelled pull
                await aclose()


def _extract(stream: io.BufferedReader, into: Path) -> None:
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            tar.extractall(into, filter="data")
    except tarfile.TarError as exc:  # the data filter's refusals among them
        raise SandboxError(f"Unpacking the download failed (tarfile): {exc}") from exc


class _LoopReader(io.RawIOBase):
    """A blocking file over an async iterator of the event loop (read from another thread)."""

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        self._chunks, self._loop = chunks, loop
        self._buf = memoryview(b"")
        self._done = False
        self._pull: concurrent.futures.Future[bytes | None] | None = None

    def readable(self) -> bool:
        return True

    def stop(self) -> None:
        """End the stream for the reading thread, even while it waits for a chunk."""
        self._done = True
        if self._pull is not None:
            self._pull.cancel()

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buf:
            if self._done:
                return 0
            self._pull = asyncio.run_coroutine_threadsafe(_next(self._chunks), self._loop)
            if self._done:  # stopped meanwhile: the pull may have missed the cancel
                self._pull.cancel()
            chunk = self._pull.result()
            if chunk is None:
                self._done = True
                return 0
            self._buf = memoryview(chunk)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


async def _next(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None
