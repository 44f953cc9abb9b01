"""What a command may do, as the operating system will enforce it.

A `Confinement` is derived from a permission profile (`Profile.confinement()`) and handed
to the workspace when a session opens it; the workspace applies it to every command it
runs (the bash tool, and the programs `glob`, `grep` and `list` spawn). The sandbox
mechanisms (`bubblewrap`, `landlock`, `seatbelt`) only translate it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum


class SandboxMode(StrEnum):
    required = "required"  # no OS sandbox here: commands are refused
    auto = "auto"  # no OS sandbox here: say so once, loudly, and run commands unconfined
    off = "off"  # never sandbox (the user's explicit choice; /proc and the network are open)


class WriteScope(StrEnum):
    none = "none"  # the whole filesystem is read-only (a private throwaway /tmp aside)
    working_dir = "working-dir"  # the working dir, declared extra paths and a private /tmp
    anywhere = "anywhere"  # everything the user could write


#: Variables a confined command keeps when the environment is cleared (`clear_env`):
#: what programs need to find things and print text, and nothing that makes a program
#: load code (BASH_ENV, ENV, LD_PRELOAD, PYTHONSTARTUP, GIT_*...) or carries a secret.
ENV_ALLOWLIST = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TERM", "TZ", "SHELL", "COLUMNS",
     "LINES", "NO_COLOR", "VIRTUAL_ENV"}
)  # fmt: skip
ENV_ALLOWLIST_PREFIXES = ("LC_",)


def allowed_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The allowlisted part of `environ`."""
    return {
        k: v
        for k, v in environ.items()
        if k in ENV_ALLOWLIST or k.startswith(ENV_ALLOWLIST_PREFIXES)
    }


@dataclass(frozen=True)
class Confinement:
    """The OS-enforced limits of every command in a workspace."""

    mode: SandboxMode = SandboxMode.required
    writes: WriteScope = WriteScope.none
    #: Host paths writable besides the working dir (only with `WriteScope.working_dir`).
    extra_writable: tuple[str, ...] = ()
    network: bool = False
    #: Start from `ENV_ALLOWLIST` instead of the (secret-free) user environment.
    clear_env: bool = True
    #: Host paths commands cannot see: the user's credentials (`_credentials`). Only the
    #: local backend masks them; a remote sandbox has none of this machine's files.
    hidden: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.mode is not SandboxMode.off

    def describe(self) -> str:
        """One phrase for messages and the system prompt."""
        writes = {
            WriteScope.none: "the filesystem is read-only (a private /tmp aside)",
            WriteScope.working_dir: "only the working directory and a private /tmp are writable",
            WriteScope.anywhere: "files can be written anywhere the user can",
        }[self.writes]
        net = "the network is open" if self.network else "there is no network"
        return f"{writes}; {net}"


#: A workspace that was opened without a profile (a `LocalWorkspace` built by hand) runs
#: commands as it always did.
UNCONFINED = Confinement(
    mode=SandboxMode.off, writes=WriteScope.anywhere, network=True, clear_env=False
)


class SandboxUnavailable(Exception):
    """No OS sandbox can confine commands on this machine; the message says why and the fix."""
