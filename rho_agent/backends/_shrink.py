"""Whether what an upload sends is worth compressing: never spend CPU on bytes that do not
shrink (media, archives, wheels, random data), and zstd at its fastest level for what does.

A sample of the files (a few dozen heads of 32 KB, weighted by file size) goes through zlib
at level 1, a cheap stand-in for zstd -1's ratio; it costs a few milliseconds.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

from rho_agent.backends import _programs

#: Compress when a sample shrinks to this share of its size or less (at least halves: a mix of
#: text and incompressible data is sent as it is).
SHRINK_RATIO = 0.5
#: Below this many bytes a request is latency, not bandwidth: compression cannot pay.
MIN_BYTES = 4 * 1024 * 1024
_SAMPLES = 32
_SAMPLE_BYTES = 32 * 1024
#: zstd: fastest level, every core; frames concatenate, so streams of several tars do too.
ZSTD_ARGS = ["-1", "-T0", "-q", "-c"]


def shrinks(files: Sequence[tuple[str | Path, int]]) -> bool:
    """Whether these (path, size) files, about `sum(size)` bytes, are worth compressing."""
    total = sum(size for _, size in files)
    if total < MIN_BYTES or _programs.zstd() is None:
        return False
    step = max(1, len(files) // _SAMPLES)
    weighted = counted = 0.0
    for path, size in files[::step][:_SAMPLES]:
        try:
            with open(path, "rb") as f:
                head = f.read(_SAMPLE_BYTES)
        except OSError:
            continue
        if head:
            weighted += size * len(zlib.compress(head, 1)) / len(head)
            counted += size
    return counted > 0 and weighted / counted <= SHRINK_RATIO
