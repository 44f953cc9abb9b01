"""Uploading a project, three shapes: ours against the upstream approach and the physical limit.

Shapes: 2,000 files / 52 MB (half source-like text, half random bytes); 20,000 small source
files; one 500 MB file of random bytes. Each goes into a LocalDaytona sandbox (its own
process, sandbox roots on tmpfs) with 20 ms of latency on every request, three ways:

- ours: `Workspace.upload` (walk with the secret/.gitignore filters, tar streamed into one
  request, big files as their own streamed requests, one command to unpack and place);
- upstream approach: the SDK's `sandbox.fs.upload_files`, 100 files per request;
- limit: GNU tar of the same tree piped into one upload request, then one `tar -x` command.

    python bench/bench_upload.py [--shapes small,many,big] [--repeat 3] [--latency-ms 20]

Prints the median time and request count of each, and the ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _report import Runs, in_turn, print_header, print_shape
from _servers import DaytonaProcess

WORDS = [
    "def",
    "return",
    "self",
    "import",
    "value",
    "for",
    "in",
    "range",
    "if",
    "else",
    "print",
    "data",
]


def source_text(rng: random.Random, size: int) -> bytes:
    lines, total = [], 0
    while total < size:
        line = (
            "    "
            + " ".join(rng.choice(WORDS) for _ in range(8))
            + f"  # {rng.randint(0, 10**6)}\n"
        )
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def make_tree(
    root: Path, files: int, total_mb: float, *, binary_share: float, seed: int = 7
) -> int:
    """`files` files in nested directories adding up to about `total_mb`; `binary_share` of
    them random bytes, the rest source-like text."""
    rng = random.Random(seed)
    per_file = int(total_mb * 1024 * 1024 / files)
    total = 0
    for i in range(files):
        directory = root / f"pkg{i % 40}" / f"mod{i % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        if rng.random() < binary_share:
            data, name = rng.randbytes(per_file), f"blob{i}.bin"
        else:
            data, name = source_text(rng, per_file), f"file{i}.py"
        (directory / name).write_bytes(data)
        total += len(data)
    return total


def make_big(root: Path, mb: int) -> int:
    root.mkdir(parents=True)
    with open(root / "data.bin", "wb") as f:
        for _ in range(mb):
            f.write(os.urandom(1 << 20))
    return mb << 20


SHAPES = {
    "small": ("2,000 files, 52 MB", lambda root: make_tree(root, 2000, 50, binary_share=0.5)),
    "many": ("20,000 small files", lambda root: make_tree(root, 20000, 30, binary_share=0.0)),
    "big": ("one 500 MB incompressible file", lambda root: make_big(root, 500)),
}


async def ours(workspace, tree: Path, dest: str) -> None:
    from rho_agent.backends import Upload

    await workspace.upload([Upload(tree, dest)])


async def upstream(workspace, tree: Path, dest: str, batch: int = 100) -> None:
    from daytona import FileUpload

    files = sorted(p for p in tree.rglob("*") if p.is_file())
    uploads = [
        FileUpload(source=str(p), destination=f"{dest}/{p.relative_to(tree)}") for p in files
    ]
    for i in range(0, len(uploads), batch):
        await workspace.sandbox.fs.upload_files(uploads[i : i + batch])


async def limit(workspace, tree: Path, dest: str) -> None:
    """GNU tar of the tree, piped into one upload request; one command unpacks it."""
    tar = await asyncio.create_subprocess_exec(
        "tar", "-cf", "-", "-C", str(tree), ".", stdout=asyncio.subprocess.PIPE
    )
    assert tar.stdout is not None
    stdout = tar.stdout

    async def chunks():
        while chunk := await stdout.read(1 << 20):
            yield chunk

    sandbox = workspace.sandbox
    await sandbox.fs.upload_file_stream(chunks(), "/tmp/limit.tar")
    assert await tar.wait() == 0
    done = await sandbox.process.exec(
        f"mkdir -p {dest} && tar -xf /tmp/limit.tar -C {dest} && rm /tmp/limit.tar"
    )
    assert done.exit_code == 0, done.result


Way = Callable[..., Awaitable[None]]


async def measure(server: DaytonaProcess, workspace, way: Way, tree: Path, dest: str):
    before = len(server.requests)
    started = time.perf_counter()
    await way(workspace, tree, dest)
    elapsed = time.perf_counter() - started
    return elapsed, len(server.requests) - before


async def main(args: argparse.Namespace) -> None:
    from rho_agent.backends import OpenRequest
    from rho_agent.tools.handlers.daytona import DaytonaBackend

    ways: dict[str, Way] = {"ours": ours, "upstream": upstream, "limit": limit}
    with tempfile.TemporaryDirectory() as tmp, DaytonaProcess(tmpdir=args.sandbox_tmp) as server:
        os.environ.update(server.env)
        os.environ.setdefault("RHO_AGENT_HOME", str(Path(tmp) / "home"))
        workspace = await DaytonaBackend().open(
            OpenRequest(session_id="bench-upload", working_dir=None)
        )
        try:
            await workspace.ready()
            print_header(args.latency_ms, args.repeat)
            for key in args.shapes.split(","):
                title, make = SHAPES[key]
                tree = Path(tmp) / key
                size = make(tree)
                expected = sum(1 for p in tree.rglob("*") if p.is_file())
                results: Runs = {w: [] for w in ways}
                for run in range(args.repeat):
                    for name, way in in_turn(ways, run):
                        dest = f"/work/{name}-{run}"
                        server.inject("*", delay=args.latency_ms / 1000)
                        results[name].append(await measure(server, workspace, way, tree, dest))
                        server.clear_faults()
                        check = await workspace.exec(f"find {dest} -type f | wc -l; rm -rf {dest}")
                        arrived = int(check.output.split()[0])
                        assert arrived == expected, f"{name}: {arrived} of {expected} files arrived"
                print_shape(title, size, results)
        finally:
            await workspace.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shapes", default="small,many,big")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--sandbox-tmp", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    asyncio.run(main(parser.parse_args()))
