"""What a per-command rule is: a `Check`, and the `Context` it is given.

A rule reads one command's words and returns the reason to deny it, or None. Rules that
run another command (wrappers, `find -exec`, `sh -c`) hand it back through the context;
the read-only walker (`_readonly.ReadOnly`) is the context, so the rules never import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rho_agent.permissions.shell._syntax import Word, names


class Context(Protocol):
    """What a rule may ask of the walker that called it."""

    def wrapped(self, argv: list[Word]) -> str | None:
        """The reason to deny the command a wrapper runs, or None."""
        ...

    def text(self, source: str, *, posix: bool = False) -> str | None:
        """The reason to deny a command string run by `sh -c` and friends, or None."""
        ...


Check = Callable[[Context, list[Word]], str | None]

#: Files that output may go to in read-only mode (redirections, tee, awk's print > file).
SINKS = names("/dev/null /dev/stdout /dev/stderr /dev/fd/1 /dev/fd/2")
