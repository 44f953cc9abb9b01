"""macOS: a Seatbelt profile for `/usr/bin/sandbox-exec`.

Seatbelt is the kernel sandbox macOS applies to its own services; `sandbox-exec -p`
applies a profile to one command and everything it starts. The profile allows
everything except what the confinement forbids: writes outside the allowed paths, the
network, and reading other processes (so the agent's environment is out of reach).
Paths are given as parameters (`-D`), never spliced into the profile text.

Not exercised by the test suite, which runs on Linux: check it on a Mac before relying on it.
"""

from __future__ import annotations

import os

from rho_agent.sandbox._confinement import Confinement, SandboxUnavailable, WriteScope

SANDBOX_EXEC = "/usr/bin/sandbox-exec"


def available() -> str:
    if not os.access(SANDBOX_EXEC, os.X_OK):
        raise SandboxUnavailable(f"{SANDBOX_EXEC} is missing")
    return SANDBOX_EXEC


def profile(confinement: Confinement, n_writable: int, n_hidden: int = 0) -> str:
    """The SBPL text; writable path i is the parameter `W{i}`, hidden path i `H{i}`."""
    rules = ["(version 1)", "(allow default)", "(deny process-info* (target others))"]
    rules.append("(deny mach-priv-task-port (target others))")
    if confinement.writes is not WriteScope.anywhere:
        allowed = " ".join(f'(subpath (param "W{i}"))' for i in range(n_writable))
        devices = '(literal "/dev/null") (literal "/dev/tty") (literal "/dev/dtracehelper")'
        rules.append(f"(deny file-write* (require-not (require-any {allowed} {devices})))")
    if not confinement.network:
        rules.append('(deny network* (remote ip) (remote unix-socket (path-regex #"^/")))')
    if n_hidden:  # the user's credentials (`_credentials`): neither read nor written
        hidden = " ".join(f'(subpath (param "H{i}"))' for i in range(n_hidden))
        rules.append(f"(deny file-read* file-write* {hidden})")
    return "\n".join(rules)


def argv(
    sandbox_exec: str,
    confinement: Confinement,
    *,
    working_dir: str,
    private_tmp: str,
    command: list[str],
) -> list[str]:
    writable = [private_tmp]
    if confinement.writes is WriteScope.working_dir:
        writable += [working_dir, *confinement.extra_writable]
    # Seatbelt matches resolved paths (/tmp is /private/tmp on macOS).
    writable = [os.path.realpath(p) for p in writable]
    params: list[str] = []
    for i, path in enumerate(writable):
        params += ["-D", f"W{i}={path}"]
    for i, path in enumerate(confinement.hidden):
        params += ["-D", f"H{i}={path}"]
    text = profile(confinement, len(writable), len(confinement.hidden))
    return [sandbox_exec, "-p", text, *params, *command]
