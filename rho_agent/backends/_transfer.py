"""Moving files into and out of a workspace: streamed, in as few requests as the shape allows.

Upload (`upload`):

    scan (thread) ─► Manifest: tar names per mapping, big files, report, what shrinks
    ├─ one request: `tar` subprocess (│ zstd -1, if it at least halves) ─► request body
    │     ─► /tmp/.rho-upload-X/tree.tar[.zst]
    ├─ one request for the big files (≥ 8 MB) that do not shrink, each streamed from disk,
    │     and one per big file that does (through zstd)       ─► /tmp/.rho-upload-X/N
    │     (these requests run side by side)
    └─ one command: make the mappings' parents and the working dir, unpack at /, move each
       big file into place with its mode and mtime, remove the staging directory; sent
       alongside the upload when there are only big files sent as they are (it waits in the
       sandbox until each has arrived whole), after it otherwise

Nothing is written to local disk (see `_tarpipe.py`) and no CPU goes into compressing what
does not shrink (`_shrink.py`); a sandbox without zstd gets it again as it is. The bytes go
to a staging directory first, so an upload cut short leaves nothing at the remote paths.
Directories are filtered as `_manifest.py` says (`.gitignore`d files, junk directories such
as `.git` and `node_modules`, and secrets such as `.env` and private keys are left out).

Download (`download`, in `_download.py`) follows the same rules the other way.

Everything here acts through an `Endpoint` (the few `Workspace` methods it uses), so it works
the same on every backend; `Workspace` calls in here, never the other way round.
"""

from __future__ import annotations

import asyncio
import functools
import math
import secrets
import shlex
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from rho_agent.backends._download import download
from rho_agent.backends._endpoint import Chunks, Endpoint
from rho_agent.backends._manifest import LooseFile, Manifest, scan
from rho_agent.backends._progress import Meter
from rho_agent.backends._report import PackReport, format_size, plural
from rho_agent.backends._specs import Upload, parse_download, parse_upload
from rho_agent.backends._tarpipe import file_stream, tar_stream
from rho_agent.backends._together import together
from rho_agent.backends._types import Notify, Progress
from rho_agent.errors import SandboxError

__all__ = [
    "Endpoint",
    "PackReport",
    "Upload",
    "download",
    "format_size",
    "parse_download",
    "parse_upload",
    "plural",
    "send",
    "upload",
]

#: Requests of one upload in flight at once (the tree's and the loose files').
PARALLEL_REQUESTS = 4
#: The place command's exit status when the sandbox has no zstd (nothing was unpacked).
NO_ZSTD_EXIT = 75

#: Extracting an upload may take this long at least, and longer the bigger it is (slow disks,
#: many small files): seconds = max(floor, bytes / EXTRACT_BYTES_PER_SECOND + files / EXTRACT_FILES_PER_SECOND).
EXTRACT_MIN_SECONDS = 60.0
EXTRACT_BYTES_PER_SECOND = 5 * 1024 * 1024
EXTRACT_FILES_PER_SECOND = 500
#: The slowest upload rate a place command sent alongside its upload waits for.
UPLOAD_BYTES_PER_SECOND = 512 * 1024

# ------------------------------------------------------------------ upload


async def upload(
    ws: Endpoint,
    uploads: list[Upload],
    *,
    notify: Notify | None = None,
    progress: Progress | None = None,
    make_dirs: Iterable[str] = (),
) -> PackReport:
    """Put every mapping into `ws` (see the module docstring); `make_dirs` are made by the
    same command that unpacks (e.g. the working directory). `notify` gets what is sent and a
    progress bar, `progress` (done, total) bytes, for uploads of 8 MB or more."""
    manifest = await asyncio.to_thread(scan, uploads)
    return await send(ws, manifest, notify=notify, progress=progress, make_dirs=make_dirs)


async def send(
    ws: Endpoint,
    manifest: Manifest,
    *,
    notify: Notify | None = None,
    progress: Progress | None = None,
    make_dirs: Iterable[str] = (),
) -> PackReport:
    """Send a scanned upload. One with nothing in it sends no request; the notice says so.
    What was compressed is sent again as it is if the sandbox has no zstd to unpack it."""
    report = manifest.report
    if notify:
        await notify(report.summary(manifest.uploads))
    if report.empty:
        return report
    if not (ws.unzstd and ws.over_network):
        manifest = manifest.uncompressed()
    try:
        await _send_once(ws, manifest, notify, progress, make_dirs)
    except _NoZstd:
        ws.unzstd = False  # remembered for this workspace's later uploads
        await _send_once(ws, manifest.uncompressed(), notify, progress, make_dirs)
    return report


class _NoZstd(Exception):
    """The sandbox has no zstd: what was sent compressed cannot be unpacked there."""


async def _send_once(
    ws: Endpoint,
    manifest: Manifest,
    notify: Notify | None,
    on_progress: Progress | None,
    make_dirs: Iterable[str],
) -> None:
    staging = f"/tmp/.rho-upload-{secrets.token_hex(6)}"
    total = manifest.tar_bytes + sum(f.size for f in manifest.loose)
    progress = Meter("Uploading", total, notify, on_progress)
    limit = asyncio.Semaphore(PARALLEL_REQUESTS)

    async def put(chunks: Chunks, path: str, size: int) -> None:
        async with limit:
            await ws.put_stream(progress.counted(chunks), path, size=size)

    async def put_as_they_are(files: list[tuple[Path, str]], size: int) -> None:
        async with limit:
            await ws.put_files(files, size=size)

    def tree() -> AsyncIterator[bytes]:
        return tar_stream(manifest.trees, compress=manifest.compress_tree)

    sends = []
    if any(t.names for t in manifest.trees):
        sends.append(put(tree, f"{staging}/{_tree_name(manifest)}", manifest.tar_bytes))
    # Big files that do not shrink: with nobody watching progress, one request for all, as
    # the SDK sends files (its fastest way, which cannot count the bytes as they go);
    # otherwise each counted as it streams, like everything else.
    raw = [(n, f) for n, f in enumerate(manifest.loose) if not f.compress]
    if raw and not progress.watched:
        files = [(f.local, f"{staging}/{n}") for n, f in raw]
        sends.append(put_as_they_are(files, sum(f.size for _, f in raw)))
    for n, loose in enumerate(manifest.loose):
        if loose.compress or progress.watched:
            chunks = functools.partial(file_stream, loose.local, compress=loose.compress)
            sends.append(
                put(chunks, f"{staging}/{n}{'.zst' if loose.compress else ''}", loose.size)
            )
    dirs = sorted({*manifest.remote_dirs, *make_dirs})
    if not _overlappable(manifest):
        await together(sends)
        await progress.finished()  # compressed streams send fewer bytes than they count
        await _place(ws, staging, manifest, dirs)
        return
    # Only big files as they are, whose sizes are known: the command that places them goes
    # out with them and waits in the sandbox until each has arrived whole (a round trip saved).
    placing = asyncio.ensure_future(_place(ws, staging, manifest, dirs, arriving=True))
    try:
        await together(sends)
    except BaseException:
        placing.cancel()
        await asyncio.gather(placing, return_exceptions=True)
        raise
    await progress.finished()
    await placing


def _overlappable(manifest: Manifest) -> bool:
    """Whether the place command can be sent alongside the upload: nothing but loose files
    sent as they are (a staged file is complete once it has its local size)."""
    no_tree = not any(t.names for t in manifest.trees)
    return no_tree and bool(manifest.loose) and not any(f.compress for f in manifest.loose)


def _tree_name(manifest: Manifest) -> str:
    return "tree.tar.zst" if manifest.compress_tree else "tree.tar"


def place_command(
    staging: str, manifest: Manifest, dirs: list[str], *, arriving: bool = False
) -> str:
    """One shell command: make `dirs` (with `sudo -n` where the sandbox user may not, handing
    them to the user), unpack the tree archive at `/`, move each loose file into place with
    its mode and mtime, and remove `staging` whatever happens. `arriving`: first wait until
    each loose file has its full size (the command was sent alongside the upload)."""
    q = shlex.quote
    lines = [f"s={q(staging)}; trap 'rm -rf \"$s\"' EXIT"]
    if arriving:
        # Wait for each file to arrive whole, sparing the CPU the bytes are arriving on: `read
        # -t` on a pipe nobody writes naps without a fork (`sleep` if that fails), and the size
        # is looked at (a fork of stat) less often the more is still to come: at 1 GB/s the
        # last look is at most a few ms late.
        lines += [
            "exec 9<> <(:)",
            'nap() { read -t "$1" -u 9 2>/dev/null; [ $? -gt 128 ] || sleep "$1"; }',
            'w() { while [ ! -e "$1" ]; do nap 0.01; done; '
            'while c=$(stat -c %s -- "$1") && [ "$c" != "$2" ]; do r=$(($2 - c)); '
            "if [ $r -gt 67108864 ]; then nap 0.05; elif [ $r -gt 8388608 ]; then nap 0.008; "
            "else nap 0.002; fi; done; }",
        ]
        lines += [f'w "$s/{n}" {f.size}' for n, f in enumerate(manifest.loose)]
    if place_command_needs_zstd(manifest):
        lines.append(f"zstd -V >/dev/null 2>&1 || exit {NO_ZSTD_EXIT}")
    if dirs:
        lines.append(
            f'for d in {" ".join(q(d) for d in dirs)}; do [ -d "$d" ] || mkdir -p "$d" 2>/dev/null || '
            f'{{ sudo -n mkdir -p "$d" && sudo -n chown "$(id -u):$(id -g)" "$d"; }} || exit 1; done'
        )
    if any(t.names for t in manifest.trees):
        unpack = "tar -x --ignore-zeros -C / --no-same-owner --no-overwrite-dir"
        if manifest.compress_tree:
            lines.append(f'set -o pipefail; zstd -dcq "$s/tree.tar.zst" | {unpack} -f - || exit $?')
        else:
            lines.append(f'{unpack} -f "$s/tree.tar" || exit $?')
    for n, loose in enumerate(manifest.loose):
        if loose.compress:
            lines.append(f'zstd -dqf --rm "$s/{n}.zst" -o "$s/{n}" || exit $?')
        lines.append(_move_into_place(f'"$s"/{n}', loose))
    return "; ".join(lines)


def place_command_needs_zstd(manifest: Manifest) -> bool:
    return manifest.compress_tree or any(f.compress for f in manifest.loose)


def _move_into_place(staged: str, loose: LooseFile) -> str:
    q = shlex.quote
    return (
        f"chmod {loose.mode:o} {staged} && touch -m -d @{loose.mtime} {staged} && "
        f"mv -fT {staged} {q(loose.remote)} || exit $?"
    )


def extract_timeout(report: PackReport) -> float:
    """Seconds the unpacking command of an upload with this report may take."""
    scaled = report.bytes / EXTRACT_BYTES_PER_SECOND + report.files / EXTRACT_FILES_PER_SECOND
    return float(math.ceil(max(EXTRACT_MIN_SECONDS, scaled)))


async def _place(
    ws: Endpoint, staging: str, manifest: Manifest, dirs: list[str], *, arriving: bool = False
) -> None:
    """Run `place_command`, bounded by `extract_timeout` (plus the upload's own time when it
    goes out alongside the upload); a failure or a hang says what ran, on what, and for how
    long."""
    report = manifest.report
    seconds = extract_timeout(report)
    if arriving:
        seconds += math.ceil(report.bytes / UPLOAD_BYTES_PER_SECOND)
    what = (
        f"`tar -xf {staging}/{_tree_name(manifest)} -C /` ({plural(report.files, 'file')}, "
        f"{format_size(report.bytes)}, for {', '.join(u.remote for u in manifest.uploads)})"
    )
    hung = (
        f"Unpacking the upload in the sandbox hung: {what} did not finish within its limit "
        f"of {seconds:g}s"
    )
    advice = (
        "Is the sandbox's disk full or very slow? Upload less (.gitignore the bulk, or "
        "--upload only what the agent needs)."
    )
    started = time.monotonic()
    try:
        result = await ws.exec(
            place_command(staging, manifest, dirs, arriving=arriving),
            cwd="/",
            timeout=seconds,
            confined=False,
        )
    except SandboxError as exc:
        if time.monotonic() - started >= seconds:
            raise SandboxError(f"{hung} (Daytona: {exc.message}). {advice}") from exc
        raise SandboxError(
            f"Unpacking the upload in the sandbox failed: {what}: {exc.message}"
        ) from exc
    if result.timed_out:
        raise SandboxError(f"{hung} and was killed. {advice}")
    if result.exit_code == NO_ZSTD_EXIT and place_command_needs_zstd(manifest):
        raise _NoZstd
    if result.exit_code != 0:
        raise SandboxError(
            f"Unpacking the upload in the sandbox failed (exit {result.exit_code}): {what}: "
            f"{result.output.strip()[-500:] or 'no output'}"
        )
