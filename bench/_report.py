"""How the transfer benches print: one header, then a line per shape with ours, the
upstream approach and the physical limit (median seconds and requests), and their ratios."""

from __future__ import annotations

import os
import statistics
from typing import TypeVar

T = TypeVar("T")

#: Each way's runs of one shape: (seconds, requests) per run.
Runs = dict[str, list[tuple[float, int]]]


def in_turn(ways: dict[str, T], run: int) -> list[tuple[str, T]]:
    """The ways in the order of this run: each goes first, second… in turn, so none always
    runs just after the cleanup of another (tmpfs freeing 500 MB, a cold cache)."""
    items = list(ways.items())
    shift = run % len(items)
    return items[shift:] + items[:shift]


def print_header(latency_ms: float, repeat: int) -> None:
    print(f"latency {latency_ms:g} ms per request; median of {repeat}; {os.cpu_count()} cores")
    print(f"{'shape':<34} {'ours':>16} {'upstream':>17} {'limit':>15}   ours/limit  upstream/ours")


def print_shape(title: str, size: int, results: Runs) -> None:
    t = {w: statistics.median(x[0] for x in runs) for w, runs in results.items()}
    n = {w: runs[0][1] for w, runs in results.items()}
    print(
        f"{title + f' ({size / 1e6:.0f} MB)':<34} "
        f"{t['ours']:6.2f} s {n['ours']:3d} req  {t['upstream']:6.2f} s {n['upstream']:4d} req  "
        f"{t['limit']:6.2f} s {n['limit']:2d} req   {t['ours'] / t['limit']:6.2f}x     "
        f"{t['upstream'] / t['ours']:6.2f}x",
        flush=True,
    )
    for name, runs in results.items():
        print(f"    {name:<9} runs: {', '.join(f'{x[0]:.2f}' for x in runs)}")
