"""Read-only rules for git: global options, read-only subcommands, listing forms."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from rho_agent.permissions.shell._options import denied_hit, first_unlisted, getopt
from rho_agent.permissions.shell._reasons import (
    WRITES_FILE,
    bad_option,
    computed,
    not_read_only,
)
from rho_agent.permissions.shell._rules import Context
from rho_agent.permissions.shell._syntax import Word, may_be_option, names

# git -------------------------------------------------------------------------------------

_GIT_READ = names("status log diff show blame annotate describe shortlog rev-parse ls-files ls-tree cat-file rev-list merge-base name-rev show-ref for-each-ref show-branch whatchanged diff-tree diff-files diff-index check-ignore check-attr count-objects version var cherry range-diff grep")  # fmt: skip
_GIT_ALLOWED_TEXT = (
    "Read-only mode allows git status, log, diff, show, blame, grep, describe, shortlog, "
    "rev-parse, ls-files, ls-tree, cat-file, branch/tag (listing), remote -v, config --get, "
    "stash list/show and reflog."
)
_GIT_WHY = MappingProxyType({
    "push": "it publishes to a remote", "pull": "it uses the network and changes the repository",
    "fetch": "it uses the network", "clone": "it uses the network", "ls-remote": "it uses the network",
    "help": "it opens a pager or browser",
})  # fmt: skip


@dataclass
class _Git:
    sub: str | None
    args: list[Word]
    problem: str | None = None


def _split_git(argv: list[Word]) -> _Git:
    """Global options, then the subcommand. `-c` can set core.pager, alias.*,
    core.sshCommand... which run arbitrary commands, so it is refused outright."""
    words, i = argv[1:], 0
    while i < len(words):
        word = words[i]
        if not word.exact:
            return _Git(None, [], computed("git", word))
        value = word.value
        name = value.partition("=")[0]
        if (
            value in ("-c", "--config-env")
            or name in ("--config-env", "--exec-path")
            or value in ("-p", "--paginate")
        ):
            why = "it can make git run arbitrary commands" if value != "-p" else "it runs a pager"
            return _Git(None, [], bad_option("git", value, why))
        if value in ("-C", "--git-dir", "--work-tree", "--namespace"):
            i += 2
        elif (name in ("--git-dir", "--work-tree", "--namespace") and "=" in value) or value in (
            "--no-pager", "-P", "--no-optional-locks", "--literal-pathspecs", "--glob-pathspecs",
            "--noglob-pathspecs", "--icase-pathspecs", "--no-replace-objects", "--bare",
        ):  # fmt: skip
            i += 1
        elif value in ("--version", "--help", "-h"):
            return _Git("version", [])
        elif value.startswith("-"):
            return _Git(None, [], not_read_only("git", value))
        else:
            return _Git(value, words[i + 1 :])
    return _Git(None, [])


def check_git(ctx: Context, argv: list[Word]) -> str | None:
    git = _split_git(argv)
    if git.problem or git.sub is None:
        return git.problem
    sub, args = git.sub, git.args
    if reason := _git_options_problem(sub, args):
        return reason
    special = _GIT_SPECIAL.get(sub)
    if special is not None:
        return special(args)
    if sub in _GIT_READ:
        return None
    why = _GIT_WHY.get(sub, "it changes the repository or is not known to be read-only")
    return f"'git {sub}' is not allowed in read-only mode: {why}. {_GIT_ALLOWED_TEXT}"


def _git_options_problem(sub: str, args: list[Word]) -> str | None:
    """Options of otherwise read-only subcommands that write files or run programs."""
    denied = {
        "--output": WRITES_FILE,
        "--ext-diff": "it runs an external diff program",
    }
    if sub == "grep":  # -O[pager] / --open-files-in-pager[=pager]
        denied |= {
            "-O": "it runs a pager program",
            "--open-files-in-pager": "it runs a pager program",
        }
        opts = getopt(args, "efABCm", _GIT_GREP_VALUED, optional="O")
    else:
        opts = getopt(args)
    if opts.unknown:
        return computed(f"git {sub}", opts.unknown)
    for option, why in denied.items():
        if hit := denied_hit(opts, args, option):
            return bad_option(f"git {sub}", hit, why)
    return None


_GIT_GREP_VALUED = (
    "--regexp", "--file", "--after-context", "--before-context", "--context", "--max-count",
    "--max-depth", "--threads",
)  # fmt: skip


def _git_listing(
    command: str, flags: frozenset[str], flag_re: str
) -> Callable[[list[Word]], str | None]:
    """`git branch` / `git tag`: listing options only. A name argument creates a branch or
    tag, unless a listing option (--list, --contains, ...) turns names into patterns."""

    def check(args: list[Word]) -> str | None:
        listing, names, i = False, [], 0
        while i < len(args):
            word = args[i]
            i += 1
            value, name = word.value, word.value.partition("=")[0]
            if not word.exact or not value.startswith("-"):
                if not word.exact and may_be_option(word):
                    return computed(command, word)
                names.append(word)
                continue
            if name in _LISTING_VALUED:
                i += 0 if "=" in value else 1
            elif not (
                value in flags
                or re.fullmatch(flag_re, value)
                or name in ("--color", "--column", "--abbrev")
            ):
                return bad_option(
                    command,
                    value,
                    "it changes branches or tags; only listing is allowed",
                )
            short = not value.startswith("--")
            listing = (
                listing
                or name in _LISTING_FILTERS
                or (short and ("l" in value or value.startswith("-n")))
            )
        if names and not listing:
            return (
                f"'{command} {names[0].raw}' creates a new {command.split()[1]}, which read-only mode does not allow. "
                f"To filter the list use '{command} --list PATTERN'."
            )
        return None

    return check


_LISTING_VALUED = names("--contains --no-contains --merged --no-merged --points-at --sort --format")
_LISTING_FILTERS = names("-l --list --contains --no-contains --merged --no-merged --points-at")
_git_branch = _git_listing(
    "git branch",
    names("-a --all -r --remotes -v -vv --verbose -l --list --show-current -i --ignore-case "
           "--no-color --no-column --no-abbrev -q --quiet --omit-empty"),
    r"-[arvliq]+",
)  # fmt: skip
_git_tag = _git_listing(
    "git tag",
    names("-l --list -i --ignore-case --no-column --omit-empty"),
    r"-[li]+|-n\d*",
)


def _git_remote(args: list[Word]) -> str | None:
    values = [w.value if w.exact else None for w in args]
    while values and values[0] in ("-v", "--verbose"):
        values.pop(0)
    if not values or values[0] == "get-url" or (values[0] == "show" and "-n" in values):
        return None
    shown = " ".join(v or "..." for v in values)
    return (
        f"'git remote {shown}' is not allowed in read-only mode: it changes remotes or uses the "
        "network. Use git remote -v, git remote get-url NAME or git remote show -n NAME."
    )


_GIT_CONFIG_READ = names(
    "--get --get-all --get-regexp --get-urlmatch -l --list --get-color --get-colorbool"
)
_GIT_CONFIG_NEUTRAL = names(
    "--global --system --local --worktree --show-origin --show-scope --name-only -z --null "
    "--includes --no-includes --bool --int --bool-or-int --path --expiry-date"
)


def _git_config(args: list[Word]) -> str | None:
    opts = getopt(args, "f", ("--file", "--blob", "--type", "--default"))
    if opts.unknown:
        return computed("git config", opts.unknown)
    if bad := first_unlisted(
        opts,
        _GIT_CONFIG_READ | _GIT_CONFIG_NEUTRAL | {"-f", "--file", "--blob", "--type", "--default"},
    ):
        return bad_option(
            "git config",
            bad,
            "it changes configuration or opens an editor; use git config --get NAME",
        )
    positional = [w.value for w in opts.operands]
    if opts.names() & _GIT_CONFIG_READ or (positional and positional[0] in ("get", "list")):
        return None
    if len(positional) <= 1 and positional[:1] not in (["edit"], ["set"], ["unset"]):
        return None
    return "'git config NAME VALUE' sets configuration, which read-only mode does not allow. Use git config --get NAME."


def _git_subcommands(
    command: str, allowed: tuple[str, ...], *, bare_ok: bool
) -> Callable[[list[Word]], str | None]:
    """git stash/worktree/submodule/notes: only their listing subcommands."""

    def check(args: list[Word]) -> str | None:
        first = next((w for w in args if not (w.exact and w.value.startswith("-"))), None)
        if (first is None and bare_ok) or (
            first is not None and first.exact and first.value in allowed
        ):
            return None
        shown = f"{command} {first.raw}" if first is not None else command
        use = " or ".join(f"{command} {a}" for a in allowed)
        return f"'{shown}' is not allowed in read-only mode: it changes the repository. Use {use}."

    return check


def _git_reflog(args: list[Word]) -> str | None:
    first = next((w for w in args if not w.value.startswith("-")), None)
    if first is not None and (
        not first.exact or first.value in ("expire", "delete", "drop", "write")
    ):
        return f"'git reflog {first.raw}' is not allowed in read-only mode: it changes the reflog. Use git reflog or git reflog show."
    return None


_GIT_SPECIAL: MappingProxyType[str, Callable[[list[Word]], str | None]] = MappingProxyType({
    "branch": _git_branch,
    "tag": _git_tag,
    "remote": _git_remote,
    "config": _git_config,
    "reflog": _git_reflog,
    "stash": _git_subcommands("git stash", ("list", "show"), bare_ok=False),
    "worktree": _git_subcommands("git worktree", ("list",), bare_ok=False),
    "submodule": _git_subcommands("git submodule", ("status", "summary"), bare_ok=True),
    "notes": _git_subcommands("git notes", ("list", "show"), bare_ok=True),
})  # fmt: skip
