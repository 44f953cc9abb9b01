"""`check_command`: whether the read-only shell may run a command line, and if not, why."""

from __future__ import annotations

from dataclasses import dataclass

from rho_agent.permissions.shell.lexer import _TOO_DEEP, MAX_COMMAND_BYTES, _oversize, _ParseError
from rho_agent.permissions.shell.parser import _Parser
from rho_agent.permissions.shell.readonly import _ReadOnly
from rho_agent.permissions.shell.reasons import _parse_reason, _too_long


@dataclass(frozen=True)
class ShellVerdict:
    allowed: bool
    reason: str  # when denied: a sentence for the model; "" when allowed


def check_command(command: str) -> ShellVerdict:
    """Whether the read-only shell may run `command`, and if not, why.

    An empty command (or only blanks and comments) is allowed: it runs nothing. A command
    over MAX_COMMAND_BYTES is refused without being parsed.
    """
    if (size := _oversize(command)) is not None:
        return ShellVerdict(False, _too_long(size, MAX_COMMAND_BYTES))
    try:
        reason = _ReadOnly().script(_Parser(command).parse())
    except _ParseError as exc:
        return ShellVerdict(False, _parse_reason(exc))
    except RecursionError:  # the depth limit should prevent this; fail closed regardless
        return ShellVerdict(False, _parse_reason(_ParseError(_TOO_DEEP)))
    return ShellVerdict(reason is None, reason or "")
