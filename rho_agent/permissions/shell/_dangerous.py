"""`dangerous_reason`: destructive commands, for the `developer` profile's approvals."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from rho_agent.permissions.shell._destructive import Call, danger_rule, is_outside
from rho_agent.permissions.shell._lexer import (
    MAX_COMMAND_BYTES,
    MAX_DEPTH,
    TOO_DEEP,
    Budget,
    ParseError,
    oversize,
)
from rho_agent.permissions.shell._parser import Parser
from rho_agent.permissions.shell._syntax import (
    Command,
    Compound,
    Redirect,
    Script,
    Simple,
    Word,
    names,
    walk_words,
)
from rho_agent.permissions.shell._wrappers import (
    WRAPPERS,
    Unwrapped,
    parse_find,
    unwrap_shell,
)


def dangerous_reason(command: str) -> str | None:
    """For the `developer` profile's approvals: a short reason to ask the user before
    running `command`, or None. See `destructive` for what counts as destructive.

    It asks, rather than passes, when it cannot tell: a command that does not parse, is
    longer than MAX_COMMAND_BYTES, or whose command name, wrapped command or SQL is only
    known at run time. It is an aid for asking, not a sandbox: a destructive command
    hidden in a script file or behind a function name is not found.
    """
    if (size := oversize(command)) is not None:
        return (
            f"it is too long to be checked for destructive commands ({size} bytes; commands "
            f"of up to {MAX_COMMAND_BYTES} bytes are checked)"
        )
    try:
        return _Danger().script(Parser(command).parse())
    except ParseError as exc:
        return f"it could not be checked for destructive commands ({exc})"
    except RecursionError:
        return f"it could not be checked for destructive commands ({TOO_DEEP})"


_SAFE_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/")
_OVERWRITES = names("> >| &> >&")


class _Danger:
    """Finds the first destructive command anywhere in a parse tree."""

    def __init__(self, depth: int = 0, budget: Budget | None = None) -> None:
        self.depth = depth
        self.hops = 0  # wrappers around the command being checked
        self.budget = budget or Budget()

    def script(self, script: Script) -> str | None:
        for pipeline in script.pipelines:
            for index, command in enumerate(pipeline.commands):
                if reason := self.command(command, piped=index > 0):
                    return reason
        return None

    def command(self, command: Command, piped: bool) -> str | None:
        for word in walk_words(command):
            for _, nested in word.nested:
                if reason := self.script(nested):
                    return reason
        for redirect in command.redirects:
            if reason := _redirect_danger(redirect, command):
                return reason
        if isinstance(command, Compound):
            for body in command.bodies:
                if reason := self.script(body):
                    return reason
            return None
        return self.argv(command.argv, piped, _stdin(command)) if command.argv else None

    def argv(self, argv: list[Word], piped: bool, stdin: list[Word] | None = None) -> str | None:
        head = argv[0]
        if not head.exact:
            return f"the command name '{head.raw}' is only known when it runs, so it could not be checked"
        name = head.value.rpartition("/")[2]
        if reason := danger_rule(Call(name, argv, piped, stdin or [])):
            return reason
        unwrap = WRAPPERS.get(name) or _DANGER_WRAPPERS.get(name)
        unwrapped = unwrap(argv) if unwrap is not None else Unwrapped()
        if unwrapped.script is not None:
            return self.text(unwrapped.script, posix=unwrapped.posix)
        if unwrapped.inner:
            return self.wrapped(unwrapped.inner, piped)
        if unwrapped.unknown:
            return (
                f"{name} runs a command that is only known when it runs, so it could not be checked"
            )
        if name == "find":
            for inner in parse_find(argv).execs:
                if inner and (reason := self.wrapped(inner, piped=False)):
                    return reason
        if name == "eval" and all(w.exact for w in argv[1:]):
            return self.text(" ".join(w.value for w in argv[1:]))
        return None

    def wrapped(self, argv: list[Word], piped: bool) -> str | None:
        """The command a wrapper runs; wrappers count toward the nesting limit."""
        if self.depth + self.hops >= MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        self.hops += 1
        try:
            return self.argv(argv, piped)
        finally:
            self.hops -= 1

    def text(self, source: str, *, posix: bool = False) -> str | None:
        try:
            self.budget.spend(source)
            script = Parser(source, self.depth + 1, posix=posix).parse()
        except ParseError as exc:
            return f"it runs a command string that could not be checked ({exc})"
        return _Danger(self.depth + 1, self.budget).script(script)


def _stdin(command: Simple) -> list[Word]:
    """Text the command reads from heredocs and here-strings."""
    bodies = [r.body for r in command.redirects if r.body is not None]
    return bodies + [r.target for r in command.redirects if r.op == "<<<"]


def _redirect_danger(redirect: Redirect, command: Command) -> str | None:
    """Writes to devices, to home or system files, and `: > file` truncation. Other
    redirections write files in the project, like the edit tools do."""
    op, target = redirect.op, redirect.target
    if op in ("<", "<<", "<<-", "<<<", "<&") or (
        op == ">&" and target.exact and (target.value.isdigit() or target.value == "-")
    ):
        return None
    if target.exact and target.value.startswith("/dev/"):
        if target.value.startswith(_SAFE_DEVICES):
            return None
        return f"it writes to the device {target.value}"
    if is_outside(target):
        return f"it writes to {target.raw}, outside the project"
    if op in _OVERWRITES and _writes_nothing(command):
        return f"it truncates {target.raw} to zero length"
    return None


_EMPTY_OUTPUT = (
    [],
    [":"],
    ["true"],
    ["false"],
    ["cat", "/dev/null"],
    ["echo", "-n"],
    ["printf", ""],
)


def _writes_nothing(command: Command) -> bool:
    """`> file`, `: > file`, `true > file`...: the redirection only empties the file."""
    if not isinstance(command, Simple):
        return False
    return [w.value for w in command.argv] in _EMPTY_OUTPUT and all(w.exact for w in command.argv)


# commands that run another command, beyond the ones read-only mode knows ----------------


def _skip_options(valued: str, *, script: bool = False) -> Callable[[list[Word]], Unwrapped]:
    """`exec -a NAME cmd`, `ssh -p 22 host cmd`: options (those in `valued` take the next
    word), then the command; with `script`, the rest is a command string (watch, ssh)."""
    takes_value = frozenset(f"-{c}" for c in valued)

    def unwrap(argv: list[Word]) -> Unwrapped:
        i = 1
        while i < len(argv) and argv[i].value.startswith("-"):
            if not argv[i].exact:
                return Unwrapped(unknown=True)
            i += 2 if argv[i].value in takes_value else 1
        rest = argv[i + (1 if argv[0].value == "ssh" else 0) :]
        if not rest:
            return Unwrapped()
        if not script:
            return Unwrapped(inner=rest)
        if not all(w.exact for w in rest):
            return Unwrapped(unknown=True)
        return Unwrapped(script=" ".join(w.value for w in rest))

    return unwrap


_DANGER_WRAPPERS: MappingProxyType[str, Callable[[list[Word]], Unwrapped]] = MappingProxyType({
    "exec": _skip_options("a"), "setsid": _skip_options(""), "busybox": _skip_options(""),
    "ionice": _skip_options("cnpPu"), "strace": _skip_options("eoEpsuS"),
    "watch": _skip_options("nqs", script=True), "ssh": _skip_options("BbcDEeFIiJLlmOoPpQRSWw", script=True),
    **dict.fromkeys(("ksh", "mksh", "fish"), unwrap_shell),
})  # fmt: skip
