"""`dangerous_reason`'s git rules: what discards uncommitted work, deletes branches,
stashes or history, or publishes. git accepts any unambiguous prefix of a long option
(`git reset --har`), so prefixes count here too."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from rho_agent.permissions.shell._syntax import Word, names

# global options that take the next word as their value
_GLOBAL_VALUED = names("-C -c --git-dir --work-tree --namespace --config-env --super-prefix")


def git_danger(words: list[Word]) -> str | None:
    """`words` are git's arguments; global options (-C, -c, --git-dir ...) come first."""
    i = 0
    while i < len(words):
        word = words[i]
        if not word.exact:
            return f"git '{word.raw}' is only known when it runs, so it could not be checked"
        if word.value == "-c" and _shell_alias(words[i + 1 : i + 2]):
            return "git -c alias.NAME=!... runs a shell command that could not be checked"
        if word.value in _GLOBAL_VALUED:
            i += 2
        elif word.value.startswith("-"):
            i += 1
        else:
            rule = _GIT_RULES.get(word.value)
            return rule(_GitArgs(words[i + 1 :])) if rule is not None else None
    return None


def _shell_alias(value: list[Word]) -> bool:
    """`-c alias.x='!cmd'` defines a subcommand that runs a shell command."""
    name, _, setting = value[0].value.partition("=") if value else ("", "", "")
    return name.lower().startswith("alias.") and setting.lstrip().startswith("!")


class _GitArgs:
    """A subcommand's arguments: option letters, long option names, operands."""

    def __init__(self, words: list[Word]) -> None:
        self.short = ""
        self.longs: list[str] = []  # names, without =value
        self.assigned: list[str] = []  # --name=value as written
        self.operands: list[str] = []
        self.dashdash = False
        for word in words:
            value = word.value
            if self.dashdash or not value.startswith("-") or value == "-":
                self.operands.append(value)
            elif value == "--":
                self.dashdash = True
            elif value.startswith("--"):
                self.longs.append(value.partition("=")[0])
                self.assigned += [value] if "=" in value else []
            else:
                self.short += value[1:]

    def has(self, letters: str = "", *options: str) -> bool:
        """A short letter, or a long option given in full or abbreviated (`--har`)."""
        if set(self.short) & set(letters):
            return True
        return any(len(n) >= 3 and o.startswith(n) for n in self.longs for o in options)


def _push(git: _GitArgs) -> str | None:
    forced = git.has("f", "--force", "--mirror") or any(n.startswith("--force") for n in git.longs)
    if forced or any(op.startswith("+") for op in git.operands):
        return "git push --force overwrites history on the remote"
    if git.has("d", "--delete", "--prune") or any(op.startswith(":") for op in git.operands):
        return "git push --delete deletes branches on the remote"
    return "git push publishes commits to a remote"


def _reset(git: _GitArgs) -> str | None:
    return "git reset --hard discards uncommitted changes" if git.has("", "--hard") else None


def _clean(git: _GitArgs) -> str | None:
    if git.has("n", "--dry-run"):
        return None
    if git.has("f", "--force"):
        return "git clean -f deletes untracked files"
    return "git clean deletes untracked files where clean.requireForce is off"


def _checkout(git: _GitArgs) -> str | None:
    """`git checkout BRANCH` is ordinary; paths (after --, `.`, or after a tree-ish) and
    --force overwrite uncommitted changes."""
    if git.has("fp", "--force", "--ours", "--theirs", "--patch", "--pathspec-from-file"):
        return "git checkout --force discards uncommitted changes"
    operands = git.operands
    if git.has("bB", "--orphan"):
        operands = operands[1:]  # the new branch's name
    if git.dashdash or "." in operands or len(operands) > 1:
        return "git checkout of paths discards uncommitted changes"
    return None


def _restore(git: _GitArgs) -> str | None:
    if git.has("S", "--staged") and not git.has("W", "--worktree"):
        return None  # only unstages
    return "git restore discards uncommitted changes"


def _switch(git: _GitArgs) -> str | None:
    if git.has("fC", "--force", "--discard-changes", "--force-create"):
        return "git switch --force discards uncommitted changes or resets a branch"
    return None


def _branch(git: _GitArgs) -> str | None:
    if git.has("DMCf", "--force") or (
        git.has("d", "--delete") and any(n.startswith("--f") for n in git.longs)
    ):
        return "git branch -D deletes or overwrites a branch even if it is not merged"
    return None


def _stash(git: _GitArgs) -> str | None:
    if git.operands[:1] in (["drop"], ["clear"]):
        return f"git stash {git.operands[0]} deletes stashed changes"
    return None


def _reflog(git: _GitArgs) -> str | None:
    if git.operands[:1] in (["expire"], ["delete"]):
        return "git reflog expire deletes the record of old commits"
    return None


def _gc(git: _GitArgs) -> str | None:
    if {"--prune=now", "--prune=all"} & set(git.assigned):
        return "git gc --prune=now deletes unreachable commits at once"
    return None


def _rm(git: _GitArgs) -> str | None:
    return "git rm -f deletes files with uncommitted changes" if git.has("f", "--force") else None


def _update_ref(git: _GitArgs) -> str | None:
    return "git update-ref -d deletes a branch or ref" if git.has("d", "--delete") else None


def _always(reason: str) -> Callable[[_GitArgs], str | None]:
    return lambda git: reason


_GIT_RULES: MappingProxyType[str, Callable[[_GitArgs], str | None]] = MappingProxyType({
    "push": _push, "reset": _reset, "clean": _clean, "checkout": _checkout,
    "restore": _restore, "switch": _switch, "branch": _branch, "stash": _stash,
    "reflog": _reflog, "gc": _gc, "rm": _rm, "update-ref": _update_ref,
    "prune": _always("git prune deletes unreachable commits"),
    "filter-branch": _always("git filter-branch rewrites history"),
    "filter-repo": _always("git filter-repo rewrites history"),
})  # fmt: skip
