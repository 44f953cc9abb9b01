"""The restricted shell: which command lines the `readonly` profile may run.

`check_command` parses the whole command line the way bash does and allows it only if
every command in it is read-only; `dangerous_reason` finds destructive commands for the
`developer` profile's approvals. Neither is the security boundary: the OS sandbox around
every command is. They refuse early with a reason the model can act on, and decide when
to ask the user. Commands over `MAX_COMMAND_BYTES` are not parsed. This is the stable
import path; the implementation lives in `rho_agent.permissions.shell`.
"""

from __future__ import annotations

from rho_agent.permissions.shell import (
    MAX_COMMAND_BYTES,
    ShellVerdict,
    check_command,
    dangerous_reason,
)

__all__ = ["MAX_COMMAND_BYTES", "ShellVerdict", "check_command", "dangerous_reason"]
