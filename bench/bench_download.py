"""Downloading a directory: ours against the upstream approach and the physical limit.

Shapes as in bench_upload (2,000 files / 52 MB; 20,000 small files; one 500 MB file), put in
a LocalDaytona sandbox (its own process, roots on tmpfs) first, downloaded onto tmpfs; then, with 20 ms of latency
on every request, each is downloaded three ways:

- ours: `Workspace.download` (one command lists the big files that do not shrink and packs
  the rest, through zstd if it shrinks; the archive and each big file come as their own
  streamed requests, side by side; the archive is unpacked as it arrives);
- upstream approach: one `find` command for the list, then the SDK's `fs.download_files`,
  100 files per request, each streamed to its local path;
- limit: one `tar -cf` command, one streamed download piped into GNU `tar -x`.

    python bench/bench_download.py [--shapes small,many,big] [--repeat 3] [--latency-ms 20]

Prints the median time and request count of each, and the ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import Runs, in_turn, print_header, print_shape
from _servers import DaytonaProcess
from bench_upload import SHAPES


async def ours(workspace, remote: str, local: Path) -> None:
    await workspace.download(remote, local)


async def upstream(workspace, remote: str, local: Path, batch: int = 100) -> None:
    from daytona import FileDownloadRequest

    listing = await workspace.sandbox.process.exec(f"find {remote} -type f")
    paths = listing.result.split()
    requests = []
    for path in paths:
        dest = local / os.path.relpath(path, remote)
        dest.parent.mkdir(parents=True, exist_ok=True)
        requests.append(FileDownloadRequest(source=path, destination=str(dest)))
    for i in range(0, len(requests), batch):
        await workspace.sandbox.fs.download_files(requests[i : i + batch])


async def limit(workspace, remote: str, local: Path) -> None:
    sandbox = workspace.sandbox
    packed = await sandbox.process.exec(f"tar -cf /tmp/limit.tar -C {remote} .")
    assert packed.exit_code == 0, packed.result
    local.mkdir(parents=True)
    tar = await asyncio.create_subprocess_exec(
        "tar", "-xf", "-", "-C", str(local), stdin=asyncio.subprocess.PIPE
    )
    assert tar.stdin is not None
    async for chunk in await sandbox.fs.download_file_stream("/tmp/limit.tar"):
        tar.stdin.write(chunk)
        await tar.stdin.drain()
    tar.stdin.close()
    assert await tar.wait() == 0


Way = Callable[..., Awaitable[None]]


async def main(args: argparse.Namespace) -> None:
    from rho_agent.backends import OpenRequest, Upload
    from rho_agent.tools.handlers.daytona import DaytonaBackend

    ways: dict[str, Way] = {"ours": ours, "upstream": upstream, "limit": limit}
    with (
        tempfile.TemporaryDirectory() as tmp,
        tempfile.TemporaryDirectory(dir=args.local_tmp) as landing,
        DaytonaProcess(tmpdir=args.sandbox_tmp) as server,
    ):
        os.environ.update(server.env)
        os.environ.setdefault("RHO_AGENT_HOME", str(Path(tmp) / "home"))
        workspace = await DaytonaBackend().open(
            OpenRequest(session_id="bench-download", working_dir=None)
        )
        try:
            await workspace.ready()
            print_header(args.latency_ms, args.repeat)
            for key in args.shapes.split(","):
                title, make = SHAPES[key]
                tree = Path(tmp) / key
                size = make(tree)
                remote = f"/work/{key}"
                await workspace.upload([Upload(tree, remote)])
                expected = sum(1 for p in tree.rglob("*") if p.is_file())
                shutil.rmtree(tree)
                results: Runs = {w: [] for w in ways}
                for run in range(args.repeat):
                    for name, way in in_turn(ways, run):
                        local = Path(landing) / f"{name}-{run}"
                        before = len(server.requests)
                        server.inject("*", delay=args.latency_ms / 1000)
                        started = time.perf_counter()
                        await way(workspace, remote, local)
                        elapsed = time.perf_counter() - started
                        server.clear_faults()
                        results[name].append((elapsed, len(server.requests) - before))
                        arrived = sum(1 for p in local.rglob("*") if p.is_file())
                        assert arrived == expected, f"{name}: {arrived} of {expected} files"
                        shutil.rmtree(local)
                print_shape(title, size, results)
        finally:
            await workspace.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shapes", default="small,many,big")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    parser.add_argument("--sandbox-tmp", default=shm)
    # Copies land on tmpfs too: on disk, the write-back of one way's 500 MB slows the next.
    parser.add_argument("--local-tmp", default=shm)
    asyncio.run(main(parser.parse_args()))
