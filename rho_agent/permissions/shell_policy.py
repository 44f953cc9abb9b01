"""The restricted shell: which command lines the `readonly` profile may run.

`check_command` parses the whole command line the way bash does and allows it only if
every command in it is read-only; `dangerous_reason` finds destructive commands for the
`developer` profile's approvals. This is the stable import path; the implementation
lives in `rho_agent.permissions.shell`.
"""

from __future__ import annotations

from rho_agent.permissions.shell.dangerous import dangerous_reason
from rho_agent.permissions.shell.policy import ShellVerdict, check_command

__all__ = ["ShellVerdict", "check_command", "dangerous_reason"]
