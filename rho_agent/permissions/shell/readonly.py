"""The read-only walker: applies the rules to every command in a parse tree."""

from __future__ import annotations

from collections.abc import Callable

from rho_agent.permissions.shell.commands import _ANY_ARGUMENTS, _CHECKS, _unknown_command
from rho_agent.permissions.shell.coreutils import _SINKS, _conditional_problem
from rho_agent.permissions.shell.lexer import _MAX_DEPTH, _TOO_DEEP, _Budget, _ParseError
from rho_agent.permissions.shell.parser import _Parser
from rho_agent.permissions.shell.reasons import _SUGGEST, _parse_reason
from rho_agent.permissions.shell.syntax import (
    _Command,
    _Compound,
    _names,
    _Redirect,
    _Script,
    _walk_words,
    _Word,
)
from rho_agent.permissions.shell.variables import _assignment_problem, _unsafe_variable

_SYSTEM_DIRS = _names("/bin /usr/bin /usr/local/bin /sbin /usr/sbin")


_Check = Callable[["_ReadOnly", list[_Word]], "str | None"]


class _ReadOnly:
    """Walks a parse tree; each method returns the first reason to deny, or None."""

    def __init__(self, depth: int = 0, budget: _Budget | None = None) -> None:
        self.depth = depth
        self.hops = 0  # wrappers around the command being checked (env xargs timeout ...)
        self.budget = budget or _Budget()

    def script(self, script: _Script) -> str | None:
        for pipeline in script.pipelines:
            for command in pipeline.commands:
                if reason := self.command(command):
                    return reason
        return None

    def command(self, command: _Command) -> str | None:
        for word in _walk_words(command):
            if reason := self.word(word):
                return reason
        for redirect in command.redirects:
            if reason := _redirect_problem(redirect):
                return reason
        if isinstance(command, _Compound):
            return self.compound(command)
        for word in command.assigns:
            if reason := _assignment_problem(word):
                return reason
        return self.argv(command.argv) if command.argv else None

    def word(self, word: _Word) -> str | None:
        if word.hazards:
            return (
                f"{word.hazards[0]} It is not allowed in read-only mode (in '{word.raw}'); use "
                "plain $name or ${name:-default} expansions and literal numbers."
            )
        for kind, script in word.nested:
            if kind == "out":
                return (
                    f"Process substitution >(...) is not allowed in read-only mode (in "
                    f"'{word.raw}'): it feeds output into another command. Use a pipe instead."
                )
            if reason := self.script(script):
                return reason
        return None

    def compound(self, command: _Compound) -> str | None:
        kind = command.kind
        if kind == "function":
            return (
                f"Defining a function ('{command.name}') is not allowed in read-only mode: it "
                "could shadow a command name. Run the commands directly."
            )
        if kind in ("arith", "arith-for"):
            return "Arithmetic commands (( ... )) are not allowed in read-only mode; use test or [ ... ]."
        if kind == "select":
            return "select is interactive and not allowed in read-only mode."
        if kind == "for" and _unsafe_variable(command.name):
            return f"A for loop over {command.name} is not allowed in read-only mode: it changes which programs run."
        if kind == "cond" and (reason := _conditional_problem(command.words)):
            return reason
        for body in command.bodies:
            if reason := self.script(body):
                return reason
        return None

    def argv(self, argv: list[_Word]) -> str | None:
        """One command with its arguments (also the inner command of a wrapper)."""
        head = argv[0]
        if not head.exact:
            return (
                f"The command name '{head.raw}' is only known when the command runs (it comes "
                "from a variable, substitution or glob), so read-only mode cannot check it. "
                "Write the command name literally."
            )
        name = head.value
        if "/" in name:
            directory, _, base = name.rpartition("/")
            if directory not in _SYSTEM_DIRS:
                return (
                    f"Running a program by path ('{name}') is not allowed in read-only mode; "
                    f"only system commands are. {_SUGGEST}"
                )
            name = base
        check = _CHECKS.get(name)
        if check is not None:
            return check(self, argv)
        if name in _ANY_ARGUMENTS:
            return None
        return _unknown_command(name)

    def wrapped(self, argv: list[_Word]) -> str | None:
        """The command a wrapper or find -exec runs; wrappers count toward the nesting
        limit, so `env env env ... ls` stays linear."""
        if self.depth + self.hops >= _MAX_DEPTH:
            raise _ParseError(_TOO_DEEP)
        self.hops += 1
        try:
            return self.argv(argv)
        finally:
            self.hops -= 1

    def text(self, source: str, *, posix: bool = False) -> str | None:
        """A command string run by `sh -c` and friends."""
        try:
            self.budget.spend(source)
            script = _Parser(source, self.depth + 1, posix=posix).parse()
        except _ParseError as exc:
            return _parse_reason(exc)
        return _ReadOnly(self.depth + 1, self.budget).script(script)


def _redirect_problem(redirect: _Redirect) -> str | None:
    op, target = redirect.op, redirect.target
    if op in ("<<", "<<-", "<<<"):
        return None
    if op in ("<&", ">&") and target.exact and (target.value == "-" or target.value.isdigit()):
        return None  # fd duplication like 2>&1
    if op == "<&":
        return f"Input duplication '<&{target.raw}' is not allowed in read-only mode; use < FILE."
    if op == "<":
        if target.proc_only or (
            target.exact and not target.value.startswith(("/dev/tcp/", "/dev/udp/"))
        ):
            return None
        return (
            f"Input redirection from '{target.raw}' is not allowed in read-only mode: the "
            "file name is computed at run time or opens a network connection."
        )
    if target.exact and target.value in _SINKS:
        return None
    return (
        f"Output redirection '{op}{target.raw}' writes to a file, which read-only mode does not "
        "allow. Output may only go to /dev/null, /dev/stdout or /dev/stderr, or be "
        "duplicated like 2>&1."
    )
