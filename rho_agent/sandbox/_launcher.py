"""Choosing the OS sandbox for a workspace and wrapping its commands in it.

Linux: bubblewrap where user namespaces work (the strongest: private /proc, /tmp and
network), else Landlock (writes, TCP and other processes; see `landlock`). macOS:
Seatbelt. Without any, `required` refuses every command and `auto` says once, loudly,
that commands run unconfined, and why.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable

from rho_agent.sandbox import _bubblewrap as bubblewrap
from rho_agent.sandbox import _landlock as landlock
from rho_agent.sandbox import _seatbelt as seatbelt
from rho_agent.sandbox import _seccomp as seccomp
from rho_agent.sandbox._confinement import Confinement, SandboxMode, SandboxUnavailable, WriteScope

Notify = Callable[[str], Awaitable[None]]


#: Names `RHO_AGENT_SANDBOX` may pick (to use Landlock where bwrap also works, say).
MECHANISMS = ("bubblewrap", "landlock", "seatbelt")


def _choose() -> tuple[str, str]:
    """(mechanism, its executable) for this machine, or SandboxUnavailable with every reason."""
    forced = os.environ.get("RHO_AGENT_SANDBOX", "")
    if forced:
        return _forced(forced)
    if sys.platform == "darwin":
        return "seatbelt", seatbelt.available()
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(f"no OS sandbox is supported on {sys.platform}")
    try:
        return "bubblewrap", bubblewrap.available()
    except SandboxUnavailable as bwrap_reason:
        if landlock.abi_version() >= 1:
            return "landlock", sys.executable
        raise SandboxUnavailable(
            f"{bwrap_reason}, and this kernel has no Landlock (Linux 5.13 or newer)"
        ) from None


def _forced(name: str) -> tuple[str, str]:
    if name == "bubblewrap":
        return name, bubblewrap.available()
    if name == "landlock":
        if landlock.abi_version() < 1:
            raise SandboxUnavailable("RHO_AGENT_SANDBOX=landlock, but this kernel has no Landlock")
        return name, sys.executable
    if name == "seatbelt":
        return name, seatbelt.available()
    raise SandboxUnavailable(f"RHO_AGENT_SANDBOX={name!r} is none of {', '.join(MECHANISMS)}")


class Sandbox:
    """Confines every command of one local workspace; `prepare()` before the first."""

    def __init__(self, confinement: Confinement, working_dir: str, notify: Notify | None = None):
        self.confinement = confinement
        self.working_dir = working_dir
        self._notify = notify
        self.mechanism: str | None = None  # None: commands run unconfined
        self._executable = ""
        self._prepared = False
        self._lock = asyncio.Lock()
        self._private_tmp: str | None = None

    async def prepare(self) -> None:
        """Pick the mechanism once. Raises SandboxUnavailable under `required`."""
        if self._prepared:
            return
        async with self._lock:
            if self._prepared:
                return
            if self.confinement.enabled:
                try:
                    self.mechanism, self._executable = await asyncio.to_thread(_choose)
                except SandboxUnavailable as exc:
                    if self.confinement.mode is SandboxMode.required:
                        raise SandboxUnavailable(
                            f"This profile requires an OS sandbox for shell commands and there is "
                            f"none here: {exc}. Install it, or use a profile with "
                            f'sandbox = "auto" to run commands unconfined.'
                        ) from None
                    await self._warn(exc)
            self._prepared = True

    async def _warn(self, reason: SandboxUnavailable) -> None:
        message = (
            f"WARNING: no OS sandbox: {reason}. Shell commands run UNCONFINED: the profile's "
            "limits rest on rho-agent's own checks only."
        )
        if self._notify is not None:
            await self._notify(message)
        else:
            print(message, file=sys.stderr)

    def wrap(self, command: list[str], cwd: str) -> tuple[list[str], tuple[int, ...]]:
        """`command` as run in the sandbox (unchanged when there is none), and descriptors
        the sandbox reads at start: pass them to the process, then close them."""
        conf = self.confinement
        if self.mechanism == "bubblewrap":
            tmp = self._tmp() if conf.writes is WriteScope.working_dir else None
            fd = None if conf.network else seccomp.program_fd()
            argv = bubblewrap.argv(
                self._executable, conf, working_dir=self.working_dir, cwd=cwd,
                private_tmp=tmp, command=command, seccomp_fd=fd,
            )  # fmt: skip
            return argv, (() if fd is None else (fd,))
        if self.mechanism == "landlock":
            args = [self._executable, "-I", "-m", "rho_agent.sandbox._landlock_exec"]
            if conf.writes is WriteScope.anywhere:
                args += ["--write", "/"]
            elif conf.writes is WriteScope.working_dir:
                for path in (self.working_dir, *conf.extra_writable):
                    args += ["--write", path]
            if not conf.network:
                args.append("--no-network")
            return [*args, "--", *command], ()
        if self.mechanism == "seatbelt":
            argv = seatbelt.argv(
                self._executable, conf, working_dir=self.working_dir,
                private_tmp=self._tmp(), command=command,
            )  # fmt: skip
            return argv, ()
        return command, ()

    def _tmp(self) -> str:
        """The session's private /tmp (a host directory), made on first use."""
        if self._private_tmp is None:
            self._private_tmp = tempfile.mkdtemp(prefix="rho-agent-tmp-")
        return self._private_tmp

    def close(self) -> None:
        if self._private_tmp is not None:
            shutil.rmtree(self._private_tmp, ignore_errors=True)
            self._private_tmp = None
