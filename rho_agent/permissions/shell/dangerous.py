"""`dangerous_reason`: destructive commands, for the `developer` profile's approvals."""

from __future__ import annotations

import itertools

from rho_agent.permissions.shell.git import _split_git
from rho_agent.permissions.shell.lexer import _TOO_DEEP, _ParseError
from rho_agent.permissions.shell.parser import _Parser
from rho_agent.permissions.shell.syntax import (
    _Command,
    _Compound,
    _names,
    _Script,
    _walk_words,
    _Word,
)
from rho_agent.permissions.shell.wrappers import _WRAPPERS, _parse_find


def dangerous_reason(command: str) -> str | None:
    """For the `developer` profile's approvals: a short reason if the command is destructive
    (rm -r/-f, git push/reset --hard/clean -f, dd, mkfs, chmod -R/chown -R, sudo, shutdown/reboot,
    kill -9/pkill/killall, curl|sh style pipes into a shell, > to a device, truncate, etc.), else None.
    Uses the same parser.

    This is an aid for asking the user, not a sandbox: a command the parser cannot read
    is reported (so the user decides), but a destructive command hidden behind a variable
    is not found.
    """
    try:
        return _Danger().script(_Parser(command).parse())
    except _ParseError as exc:
        return f"it could not be checked for destructive commands ({exc})"
    except RecursionError:
        return f"it could not be checked for destructive commands ({_TOO_DEEP})"


_DISK_WRITERS = _names("dd shred wipefs fdisk sfdisk parted mkswap")
_SHELLS = _names("sh bash dash zsh ksh fish python python3 perl ruby node")
_SAFE_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/")


class _Danger:
    """Finds the first destructive command anywhere in a parse tree."""

    def __init__(self, depth: int = 0) -> None:
        self.depth = depth

    def script(self, script: _Script) -> str | None:
        for pipeline in script.pipelines:
            for index, command in enumerate(pipeline.commands):
                if reason := self.command(command, piped=index > 0):
                    return reason
        return None

    def command(self, command: _Command, piped: bool) -> str | None:
        for word in _walk_words(command):
            for _, nested in word.nested:
                if reason := self.script(nested):
                    return reason
        for redirect in command.redirects:
            target = redirect.target
            writes = redirect.op not in ("<", "<<", "<<-", "<<<", "<&", ">&") or (
                redirect.op == ">&" and not target.value.isdigit() and target.value != "-"
            )
            if (
                writes
                and target.value.startswith("/dev/")
                and not target.value.startswith(_SAFE_DEVICES)
            ):
                return f"it writes to the device {target.value}"
        if isinstance(command, _Compound):
            for body in command.bodies:
                if reason := self.script(body):
                    return reason
            return None
        return self.argv(command.argv, piped) if command.argv else None

    def argv(self, argv: list[_Word], piped: bool) -> str | None:
        if not argv[0].exact:
            return None
        name = argv[0].value.rpartition("/")[2]
        args = [w.value for w in argv[1:]]
        if reason := _danger_rule(name, args, argv, piped):
            return reason
        if name in _WRAPPERS:
            unwrapped = _WRAPPERS[name](argv)
            if unwrapped.script is not None:
                return self.text(unwrapped.script, posix=unwrapped.posix)
            if unwrapped.inner:
                return self.argv(unwrapped.inner, piped)
        if name == "find":
            for inner in _parse_find(argv).execs:
                if inner and (reason := self.argv(inner, piped=False)):
                    return reason
        if name == "eval" and all(w.exact for w in argv[1:]):
            return self.text(" ".join(args))
        return None

    def text(self, source: str, *, posix: bool = False) -> str | None:
        try:
            script = _Parser(source, self.depth + 1, posix=posix).parse()
        except _ParseError as exc:
            return f"it runs a command string that could not be checked ({exc})"
        return _Danger(self.depth + 1).script(script)


def _short_flags(args: list[str]) -> str:
    return "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))


def _danger_rule(name: str, args: list[str], argv: list[_Word], piped: bool) -> str | None:
    flags = _short_flags(args)
    if name == "rm" and (set(flags) & set("rRf") or {"--recursive", "--force"} & set(args)):
        return "rm -r/-f deletes files recursively or without asking"
    if name == "git":
        return _git_danger(argv)
    if name in _DISK_WRITERS or name.startswith(("mkfs", "mke2fs")):
        return f"{name} can overwrite disks or files irrecoverably"
    if name in ("chmod", "chown", "chgrp") and ("R" in flags or "--recursive" in args):
        return f"{name} -R changes permissions of a whole tree"
    if name in ("sudo", "su", "doas", "pkexec"):
        return f"{name} runs commands with elevated privileges"
    if name in ("shutdown", "reboot", "halt", "poweroff") or (
        name == "init" and args[:1] in (["0"], ["6"])
    ):
        return f"{name} shuts down or restarts the machine"
    if name == "systemctl" and set(args) & {"poweroff", "reboot", "halt", "kexec"}:
        return "systemctl shuts down or restarts the machine"
    if name == "kill" and _kills_hard(args):
        return "kill -9 kills processes without letting them clean up"
    if name in ("pkill", "killall"):
        return f"{name} kills processes by name"
    if name == "truncate":
        return "truncate cuts files to a size, destroying their contents"
    if name == "find" and _parse_find(argv).writes == "-delete":
        return "find -delete deletes files"
    if name in _SHELLS and piped and not [a for a in args if not a.startswith("-")]:
        return f"it pipes data into {name}, which runs it as a program"
    if name in _SHELLS and any(w.proc_only for w in argv[1:2]):
        return f"{name} runs a script produced by another command"
    if (name == "eval" or (name in _SHELLS and "c" in flags)) and not all(
        w.exact for w in argv[1:]
    ):
        return f"{name} runs a command string that is only known when it runs"
    return None


def _kills_hard(args: list[str]) -> bool:
    signals = {"9", "KILL", "SIGKILL"}
    pairs = itertools.pairwise(args)
    return bool({"-9", "-KILL", "-SIGKILL"} & set(args)) or any(
        a in ("-s", "-n") and b in signals for a, b in pairs
    )


def _git_danger(argv: list[_Word]) -> str | None:
    git = _split_git(argv)
    sub, args = git.sub, [w.value for w in git.args]
    flags = _short_flags(args)
    if sub == "push":
        return "git push publishes commits to a remote"
    if sub == "reset" and "--hard" in args:
        return "git reset --hard discards uncommitted changes"
    if sub == "clean" and ("f" in flags or "--force" in args):
        return "git clean -f deletes untracked files"
    if sub == "checkout" and ({".", "--", "--force"} & set(args) or "f" in flags):
        return "git checkout of paths discards uncommitted changes"
    if sub == "restore" and not ("--staged" in args and "--worktree" not in args):
        return "git restore discards uncommitted changes"
    if sub == "branch" and ("D" in flags or ("--delete" in args and "--force" in args)):
        return "git branch -D deletes a branch even if it is not merged"
    if sub == "stash" and args[:1] in (["drop"], ["clear"]):
        return f"git stash {args[0]} deletes stashed changes"
    if sub == "filter-branch":
        return "git filter-branch rewrites history"
    return None
