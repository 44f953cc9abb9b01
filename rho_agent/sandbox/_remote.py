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
from dataclasses import replace

from rho_agent.sandbox import _bubblewrap as bubblewrap
from rho_agent.sandbox._confinement import Confinement, SandboxMode, WriteScope

#: The line the remote script prints first when it runs a command unconfined under `auto`.
NO_SANDBOX_MARK = "@@rho-agent:no-sandbox@@"


def needs_confinement(confinement: Confinement) -> bool:
    """Whether commands in a remote sandbox need an inner sandbox at all."""
    return confinement.enabled and (
        confinement.writes is WriteScope.none or not confinement.network
    )


def script_prefix(confinement: Confinement, working_dir: str, cwd: str) -> str:
    """Shell lines that set "$@" to the confining command prefix (empty: unconfined), or
    refuse. The caller then runs `"$@" bash -c COMMAND`."""
    confinement = replace(confinement, hidden=())  # paths of this machine, not the sandbox's
    full, nopid = (
        shlex.join(
            bubblewrap.argv(
                "bwrap", confinement, working_dir=working_dir, cwd=cwd, private_tmp=None,
                command=[], pid_namespace=pid_namespace, hide_run=False,
            )
        )
        for pid_namespace in (True, False)
    )  # fmt: skip
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
        f"{full} true >/dev/null 2>&1; then set -- {full}\n"
        "elif command -v bwrap >/dev/null 2>&1 && "
        f"{nopid} true >/dev/null 2>&1; then set -- {nopid}\n"
        f"else {refuse}; fi\n"
    )
