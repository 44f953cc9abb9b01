"""Linux: a bubblewrap (`bwrap`) command line that confines one command.

Every command gets new user, PID, IPC, UTS and cgroup namespaces (and a network namespace
with only `lo` when the network is off), a fresh `/proc` that shows only its own processes
(so the agent's environment in `/proc/$PPID/environ` is out of reach), a fresh `/dev`, no
capabilities, and no way to make further user namespaces. The filesystem is the host's,
bound read-only, with only what the confinement allows bound writable on top. bwrap
itself is started with the command's environment, because the sandbox's PID 1 is a copy
of bwrap and its `/proc/1/environ` is readable inside.

bwrap binds recursively and remounts every submount read-only, so `/proc/sys`, `/sys` and
mounts under `/home` stay read-only too. A Unix socket on a read-only mount can still be
connected to, so with the network off `/run` (Docker's, D-Bus's and systemd's sockets) is
hidden behind an empty tmpfs, like `/tmp`, and a seccomp filter refuses to create Unix
sockets at all (a daemon may listen in the home or the working dir).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from rho_agent.sandbox import _git_guard as git_guard
from rho_agent.sandbox._confinement import Confinement, SandboxUnavailable, WriteScope

#: Where a probe's stderr is cut, for the one-line reason shown to the user.
_REASON_CHARS = 300


def find_bwrap() -> str | None:
    return shutil.which("bwrap") or (
        "/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK) else None
    )


@functools.cache
def probe(bwrap: str) -> str | None:
    """None when `bwrap` can build a sandbox here, else the reason it cannot.

    Cached for the process: whether user namespaces work is a fact of the machine (a
    container without them, or a kernel that restricts them, fails here).
    """
    args = [bwrap, "--unshare-user", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev"]
    args += ["--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "--", "true"]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, env={})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{bwrap} could not run: {exc}"
    if done.returncode != 0:
        detail = (done.stderr.strip() or f"exit code {done.returncode}")[:_REASON_CHARS]
        return f"{bwrap} cannot create a sandbox here ({detail})"
    return None


def available() -> str:
    """The bwrap to use; raises SandboxUnavailable saying why there is none."""
    bwrap = find_bwrap()
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap is not installed (Debian/Ubuntu: apt install bubblewrap; "
            "Fedora: dnf install bubblewrap)"
        )
    reason = probe(bwrap)
    if reason is not None:
        raise SandboxUnavailable(reason)
    return bwrap


def argv(
    bwrap: str,
    confinement: Confinement,
    *,
    working_dir: str,
    cwd: str,
    private_tmp: str | None,
    command: list[str],
    pid_namespace: bool = True,
    hide_run: bool = True,
    seccomp_fd: int | None = None,
) -> list[str]:
    """The full bwrap command line running `command` in `cwd` under `confinement`.

    `private_tmp` is a host directory mounted at /tmp when the working dir is writable
    (it lasts for the session); otherwise /tmp is an empty tmpfs that lasts one command.
    `pid_namespace=False` keeps the PID namespace and the /proc of the caller, for where a
    fresh /proc cannot be mounted (bwrap nested in a container: `rho_agent.sandbox._remote`).
    `hide_run=False` leaves /run alone, for a root that may not have it (bwrap cannot make a
    mount point on the read-only root). `seccomp_fd` holds a filter bwrap installs
    (`rho_agent.sandbox._seccomp`).
    """
    if pid_namespace:
        args = [bwrap, "--unshare-user", "--unshare-all"]
        if confinement.network:
            args.append("--share-net")
        proc = ["--proc", "/proc"]
    else:
        args = [bwrap, "--unshare-user", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not confinement.network:
            args.append("--unshare-net")
        proc = []
    args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--disable-userns"]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    if confinement.writes is WriteScope.anywhere:
        args += ["--bind", "/", "/", "--dev-bind", "/dev", "/dev", *proc]
        return [*args, "--chdir", cwd, "--", *command]
    args += ["--ro-bind", "/", "/", "--dev", "/dev", *proc]
    if confinement.writes is WriteScope.working_dir and private_tmp:
        args += ["--bind", private_tmp, "/tmp"]
    else:
        args += ["--tmpfs", "/tmp"]
    if hide_run and not confinement.network:
        args += ["--tmpfs", "/run"]
    for path in confinement.hidden:  # credentials: an empty dir or file in their place
        if os.path.isdir(path):
            args += ["--tmpfs", path]
        elif os.path.lexists(path):
            args += ["--ro-bind", "/dev/null", path]
    # Bound again after the tmpfs mounts, which would hide a working dir under /tmp or /run.
    if confinement.writes is WriteScope.working_dir:
        args += ["--bind", working_dir, working_dir, *git_guard.bwrap_args(working_dir)]
        for path in confinement.extra_writable:
            args += ["--bind-try", path, path]
    else:
        args += ["--ro-bind", working_dir, working_dir]
    return [*args, "--chdir", cwd, "--", *command]
