"""A remote Linux sandbox (Daytona): confining a command inside it with its own bubblewrap.

The remote sandbox is a whole machine thrown away after the session, so only what a
profile forbids *inside* it needs its OS: under `readonly` (`WriteScope.none`) the
workspace must not change and the network must be closed. The script below picks, on
the remote machine and in the same exec as the command (no extra round trip):

1. bwrap with every namespace and a fresh /proc, as locally;
2. bwrap without a PID namespace, where a fresh /proc cannot be mounted (bwrap nested in
   a container whose /proc has covered paths, or run by root without CAP_SETFCAP's
   mapping rights); the filesystem is still read-only and the network closed;
3. nothing: under `required` the command is refused; under `auto` it runs unconfined
   and the first output line says so (`NO_SANDBOX_MARK`), for the workspace to warn once.
"""

from __future__ import annotations

import shlex

from rho_agent.sandbox.confinement import Confinement, SandboxMode, WriteScope

#: The line the remote script prints first when it runs a command unconfined under `auto`.
NO_SANDBOX_MARK = "@@rho-agent:no-sandbox@@"

_COMMON = ["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--disable-userns"]
_FS = ["--ro-bind", "/", "/", "--dev", "/dev", "--tmpfs", "/tmp"]


def needs_confinement(confinement: Confinement) -> bool:
    """Whether commands in a remote sandbox need an inner sandbox at all."""
    return confinement.enabled and (
        confinement.writes is WriteScope.none or not confinement.network
    )


def _variants(confinement: Confinement, cwd: str) -> tuple[list[str], list[str]]:
    net = [] if confinement.network else ["--unshare-net"]
    keep_cwd = ["--ro-bind", cwd, cwd] if cwd.startswith("/tmp") else []
    writes = ["--bind", cwd, cwd] if confinement.writes is not WriteScope.none else keep_cwd
    full = ["--unshare-user", "--unshare-all", *(["--share-net"] if confinement.network else [])]
    full += [*_COMMON, *_FS, "--proc", "/proc", *writes, "--chdir", cwd]
    nopid = ["--unshare-user", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", *net]
    nopid += [*_COMMON, *_FS, *writes, "--chdir", cwd]
    return full, nopid


def script_prefix(confinement: Confinement, cwd: str) -> str:
    """Shell lines that set "$@" to the confining command prefix (empty: unconfined), or
    refuse. The caller then runs `"$@" bash -c COMMAND`."""
    full, nopid = _variants(confinement, cwd)
    q = " ".join
    full_s = q(shlex.quote(a) for a in full)
    nopid_s = q(shlex.quote(a) for a in nopid)
    why = "bubblewrap (bwrap) is missing from the Daytona sandbox's image or cannot run there"
    if confinement.mode is SandboxMode.required:
        refuse = f"echo {shlex.quote('rho-agent: this profile requires an OS sandbox for shell commands: ' + why + '. Use an image with bubblewrap (apt install bubblewrap).')}; exit 126"
    else:
        unconfined = (
            f"{NO_SANDBOX_MARK} {why}; shell commands run UNCONFINED there: the profile's "
            "limits rest on rho-agent's own checks only"
        )
        refuse = f"echo {shlex.quote(unconfined)}; set --"
    return (
        "if command -v bwrap >/dev/null 2>&1 && "
        f"bwrap {full_s} -- true >/dev/null 2>&1; then set -- bwrap {full_s} --\n"
        "elif command -v bwrap >/dev/null 2>&1 && "
        f"bwrap {nopid_s} -- true >/dev/null 2>&1; then set -- bwrap {nopid_s} --\n"
        f"else {refuse}; fi\n"
    )
