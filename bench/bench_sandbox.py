"""What the OS sandbox costs per command: `exec("true")` on a local workspace, confined by
each mechanism this machine has, against the same workspace unconfined (the baseline) and
against a bare `posix_spawn` of `/bin/true` (the physical limit: one process, no shell).

    python bench/bench_sandbox.py [--runs 200]

Prints milliseconds per command and ratios to the baseline; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

from rho_agent.backends import LocalWorkspace
from rho_agent.permissions.profile import DEVELOPER, READONLY
from rho_agent.sandbox import UNCONFINED, Confinement
from rho_agent.sandbox._landlock import abi_version


async def per_command(confinement: Confinement, runs: int, work: str) -> float:
    """Median milliseconds of one `exec("true")`, after one warm-up command."""
    workspace = LocalWorkspace(work, confinement=confinement)
    await workspace.exec("true")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await workspace.exec("true")
        times.append(time.perf_counter() - started)
    await workspace.close()
    return statistics.median(times) * 1000


def bare_spawn(runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        pid = os.posix_spawn("/bin/true", ["true"], {})
        os.waitpid(pid, 0)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def main(runs: int) -> None:
    work = tempfile.mkdtemp()
    limit = bare_spawn(runs)
    base = await per_command(UNCONFINED, runs, work)
    rows = [("bare posix_spawn of /bin/true (limit)", limit), ("unconfined bash (baseline)", base)]
    for name, profile in (("readonly", READONLY), ("developer", DEVELOPER)):
        os.environ.pop("RHO_AGENT_SANDBOX", None)
        rows.append((f"bubblewrap, {name}", await per_command(profile.confinement(), runs, work)))
        if abi_version() >= 1:
            os.environ["RHO_AGENT_SANDBOX"] = "landlock"
            rows.append((f"landlock, {name}", await per_command(profile.confinement(), runs, work)))
    os.environ.pop("RHO_AGENT_SANDBOX", None)
    print(f"median of {runs} commands, `true`, {os.cpu_count()} cores")
    for name, ms in rows:
        print(f"  {name:<40} {ms:7.2f} ms   {ms / base:5.2f}x baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    asyncio.run(main(parser.parse_args().runs))
