"""`check_command`: whether the read-only shell may run a command line, and if not, why."""

from __future__ import annotations

from dataclasses import dataclass

from rho_agent.permissions.shell._lexer import MAX_COMMAND_BYTES, TOO_DEEP, ParseError, oversize
from rho_agent.permissions.shell._parser import Parser
from rho_agent.permissions.shell._readonly import ReadOnly
from rho_agent.permissions.shell._reasons import parse_reason, too_long


@dataclass(frozen=True)
class ShellVerdict:
    allowed: bool
    reason: str  # when denied: a sentence for the model; "" when allowed


def check_command(command: str) -> ShellVerdict:
    """Whether the read-only shell may run `command`, and if not, why.

    An empty command (or only blanks and comments) is allowed: it runs nothing. A command
    over MAX_COMMAND_BYTES is refused without being parsed.
    """
    if (size := oversize(command)) is not None:
        return ShellVerdict(False, too_long(size, MAX_COMMAND_BYTES))
    try:
        reason = ReadOnly().script(Parser(command).parse())
    except ParseError as exc:
        return ShellVerdict(False, parse_reason(exc))
    except RecursionError:  # the depth limit should prevent this; fail closed regardless
        return ShellVerdict(False, parse_reason(ParseError(TOO_DEEP)))
    return ShellVerdict(reason is None, reason or "")
