"""Uploading a project: one archive (ours) against per-file batches (`fs.upload_files`).

A generated tree of 2,000 files / 50 MB (half source-like text, half binary) goes into a
LocalDaytona sandbox with 20 ms of latency injected on every request.

- ours: `Workspace.upload` — pack one .tar.gz, one upload request, one extract command;
- baseline: the SDK's `sandbox.fs.upload_files`, 100 files per request (20 requests).

    python bench/bench_upload.py [--files 2000] [--mb 50] [--latency-ms 20] [--batch 100]

Prints time and request count for each, and the ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from pathlib import Path

from rho_agent.backends import OpenRequest, Upload
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.tools.handlers.daytona import DaytonaBackend


def make_tree(root: Path, files: int, total_mb: float, seed: int = 7) -> int:
    """`files` files in nested directories adding up to about `total_mb`; half of the bytes are
    source-like text, half random."""
    rng = random.Random(seed)
    per_file = int(total_mb * 1024 * 1024 / files)
    words = [
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
    total = 0
    for i in range(files):
        directory = root / f"pkg{i % 40}" / f"mod{i % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        if i % 2:
            data = rng.randbytes(per_file)
            name = f"blob{i}.bin"
        else:
            lines = []
            size = 0
            while size < per_file:
                line = (
                    "    "
                    + " ".join(rng.choice(words) for _ in range(8))
                    + f"  # {rng.randint(0, 10**6)}\n"
                )
                lines.append(line)
                size += len(line)
            data = "".join(lines).encode()[:per_file]
            name = f"file{i}.py"
        (directory / name).write_bytes(data)
        total += len(data)
    return total


async def ours(server: LocalDaytona, workspace, tree: Path) -> tuple[float, int]:
    before = len(server.requests)
    started = time.perf_counter()
    await workspace.upload([Upload(tree, "/work/ours")])
    elapsed = time.perf_counter() - started
    return elapsed, len(server.requests) - before


async def per_file(server: LocalDaytona, sandbox, tree: Path, batch: int) -> tuple[float, int]:
    from daytona import FileUpload

    files = sorted(p for p in tree.rglob("*") if p.is_file())
    uploads = [
        FileUpload(source=str(p), destination=f"/work/baseline/{p.relative_to(tree)}")
        for p in files
    ]
    before = len(server.requests)
    started = time.perf_counter()
    for i in range(0, len(uploads), batch):
        await sandbox.fs.upload_files(uploads[i : i + batch])
    elapsed = time.perf_counter() - started
    return elapsed, len(server.requests) - before


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, LocalDaytona() as server:
        os.environ.update(server.env())
        os.environ.setdefault("RHO_AGENT_HOME", str(Path(tmp) / "home"))
        tree = Path(tmp) / "tree"
        size = make_tree(tree, args.files, args.mb)
        print(
            f"tree: {args.files:,} files, {size / 1e6:.1f} MB; latency {args.latency_ms} ms per request"
        )
        workspace = await DaytonaBackend().open(
            OpenRequest(session_id="bench-upload", working_dir=None)
        )
        try:
            sandbox = await workspace.get_sandbox()
            server.inject("*", delay=args.latency_ms / 1000)
            t_ours, n_ours = await ours(server, workspace, tree)
            t_base, n_base = await per_file(server, sandbox, tree, args.batch)
            server.clear_faults()
            check = await workspace.exec(
                "find /work/ours -type f | wc -l; find /work/baseline -type f | wc -l"
            )
            counts = check.output.split()
        finally:
            await workspace.close()
    print(
        f"ours (one archive):             {t_ours:6.2f} s  {n_ours:4d} requests  ({counts[0]} files arrived)"
    )
    print(
        f"upload_files, {args.batch}/request:     {t_base:6.2f} s  {n_base:4d} requests  ({counts[1]} files arrived)"
    )
    print(
        f"ratio (baseline / ours):        time {t_base / t_ours:.2f}x, requests {n_base / max(n_ours, 1):.1f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--mb", type=float, default=50)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--batch", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
