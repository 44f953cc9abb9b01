"""The OS sandbox around every command the local backend runs.

The kernel is the wall: what a profile forbids (writing files, the network, seeing the
agent's own process and its environment) is forbidden by the operating system, not only by
rho-agent's reading of a command. A profile's `confinement()` says what is allowed;
`Sandbox` picks a mechanism for this machine and wraps each command in it; `remote`
confines a command inside a remote Linux sandbox (Daytona) with that machine's own bubblewrap.
"""

from rho_agent.sandbox import _remote as remote
from rho_agent.sandbox._confinement import (
    UNCONFINED,
    Confinement,
    SandboxMode,
    SandboxUnavailable,
    WriteScope,
    allowed_env,
)
from rho_agent.sandbox._launcher import Sandbox

__all__ = [
    "UNCONFINED",
    "Confinement",
    "Sandbox",
    "SandboxMode",
    "SandboxUnavailable",
    "WriteScope",
    "allowed_env",
    "remote",
]
