"""The read-only walker: applies the rules to every command in a parse tree."""

from __future__ import annotations

from rho_agent.permissions.shell._commands import ANY_ARGUMENTS, CHECKS, unknown_command
from rho_agent.permissions.shell._coreutils import conditional_problem
from rho_agent.permissions.shell._lexer import MAX_DEPTH, TOO_DEEP, Budget, ParseError
from rho_agent.permissions.shell._parser import Parser
from rho_agent.permissions.shell._reasons import SUGGEST, parse_reason
from rho_agent.permissions.shell._rules import SINKS
from rho_agent.permissions.shell._syntax import (
    Command,
    Compound,
    Redirect,
    Script,
    Word,
    names,
    walk_words,
)
from rho_agent.permissions.shell._variables import assignment_problem, unsafe_variable

_SYSTEM_DIRS = names("/bin /usr/bin /usr/local/bin /sbin /usr/sbin")


class ReadOnly:
    """Walks a parse tree; each method returns the first reason to deny, or None."""

    def __init__(self, depth: int = 0, budget: Budget | None = None) -> None:
        self.depth = depth
        self.hops = 0  # wrappers around the command being checked (env xargs timeout ...)
        self.budget = budget or Budget()

    def script(self, script: Script) -> str | None:
        for pipeline in script.pipelines:
            for command in pipeline.commands:
                if reason := self.command(command):
                    return reason
        return None

    def command(self, command: Command) -> str | None:
        for word in walk_words(command):
            if reason := self.word(word):
                return reason
        for redirect in command.redirects:
            if reason := _redirect_problem(redirect):
                return reason
        if isinstance(command, Compound):
            return self.compound(command)
        for word in command.assigns:
            if reason := assignment_problem(word):
                return reason
        return self.argv(command.argv) if command.argv else None

    def word(self, word: Word) -> str | None:
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

    def compound(self, command: Compound) -> str | None:
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
        if kind == "for" and unsafe_variable(command.name):
            return f"A for loop over {command.name} is not allowed in read-only mode: it changes which programs run."
        if kind == "cond" and (reason := conditional_problem(command.words)):
            return reason
        for body in command.bodies:
            if reason := self.script(body):
                return reason
        return None

    def argv(self, argv: list[Word]) -> str | None:
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
                    f"only system commands are. {SUGGEST}"
                )
            name = base
        check = CHECKS.get(name)
        if check is not None:
            return check(self, argv)
        if name in ANY_ARGUMENTS:
            return None
        return unknown_command(name)

    def wrapped(self, argv: list[Word]) -> str | None:
        """The command a wrapper or find -exec runs; wrappers count toward the nesting
        limit, so `env env env ... ls` stays linear."""
        if self.depth + self.hops >= MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        self.hops += 1
        try:
            return self.argv(argv)
        finally:
            self.hops -= 1

    def text(self, source: str, *, posix: bool = False) -> str | None:
        """A command string run by `sh -c` and friends."""
        try:
            self.budget.spend(source)
            script = Parser(source, self.depth + 1, posix=posix).parse()
        except ParseError as exc:
            return parse_reason(exc)
        return ReadOnly(self.depth + 1, self.budget).script(script)


def _redirect_problem(redirect: Redirect) -> str | None:
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
    if target.exact and target.value in SINKS:
        return None
    return (
        f"Output redirection '{op}{target.raw}' writes to a file, which read-only mode does not "
        "allow. Output may only go to /dev/null, /dev/stdout or /dev/stderr, or be "
        "duplicated like 2>&1."
    )
