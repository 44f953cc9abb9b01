"""Small value types every backend module shares (no imports of other backend modules)."""

from __future__ import annotations

import errno
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

#: Where progress lines and notices go (a session's event stream, a CLI's stderr).
Notify = Callable[[str], Awaitable[None]]
#: Called with (bytes done, bytes in all) as a transfer goes.
Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str  # stdout and stderr, merged in the order they were written
    timed_out: bool = False


class NotRegularFileError(OSError):
    """A FIFO, device or socket where a file was expected. File reads refuse these at once:
    opening a FIFO can block forever and a device like /dev/zero never ends."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"not a regular file but a {kind}", path)
        #: What it is, in words: "named pipe (FIFO)", "character device", ...
        self.kind = kind


def special_file_kind(mode: int) -> str:
    """What a file that is neither regular nor a directory is, from its `st_mode`."""
    kinds = (
        (stat.S_ISFIFO, "named pipe (FIFO)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    )
    return next((kind for test, kind in kinds if test(mode)), "special file")
