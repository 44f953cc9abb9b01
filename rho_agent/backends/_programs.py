"""The local programs uploads use, found once: GNU tar (packing) and zstd (compressing)."""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess


@functools.cache
def gnu_tar() -> str | None:
    """GNU tar (`tar`, or `gtar` where `tar` is bsdtar, as on macOS), if this machine has it."""
    for name in ("tar", "gtar"):
        path = shutil.which(name)
        if path is None:
            continue
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            version = subprocess.run([path, "--version"], capture_output=True, timeout=10)
            if b"GNU tar" in version.stdout:
                return path
    return None


def zstd() -> str | None:
    """The local zstd program, if there is one."""
    return shutil.which("zstd")
