"""Commands that run other commands: find -exec, env, xargs, timeout, sh -c and friends.
The inner command is checked like any other; the dangerous-command check unwraps them too."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

from rho_agent.permissions.shell._options import (
    Opts,
    first_match,
    first_unlisted,
    getopt,
    values,
)
from rho_agent.permissions.shell._reasons import (
    WRITES_FILE,
    bad_option,
    computed,
    not_read_only,
)
from rho_agent.permissions.shell._rules import Context
from rho_agent.permissions.shell._syntax import (
    ASSIGN_RE,
    Word,
    may_be_option,
    names,
    opaque_word,
)
from rho_agent.permissions.shell._variables import (
    SET_OPTIONS,
    assignment_problem,
    unsafe_variable,
)

# find ------------------------------------------------------------------------------------

_FIND_NULLARY = names(
    "-print -print0 -ls -prune -quit -true -false -empty -readable -writable -executable "
    "-nouser -nogroup -depth -d -follow -xdev -mount -noleaf -daystart -ignore_readdir_race "
    "-noignore_readdir_race -not ! -a -and -o -or , ( ) -nowarn -warn -help --help "
    "-version --version"
)
_FIND_UNARY = names(
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -lname -ilname -type "
    "-xtype -size -perm -user -group -uid -gid -links -inum -samefile -newer -anewer -cnewer "
    "-mtime -mmin -atime -amin -ctime -cmin -used -maxdepth -mindepth -regextype -printf "
    "-fstype -context -files0-from"
)
_FIND_WRITES = MappingProxyType({
    "-delete": "it deletes files", "-fprint": WRITES_FILE, "-fprint0": WRITES_FILE,
    "-fprintf": WRITES_FILE, "-fls": WRITES_FILE,
})  # fmt: skip


@dataclass
class _Find:
    problem: str | None = None
    writes: str | None = None  # the first -delete/-fprint... predicate
    execs: list[list[Word]] = field(default_factory=list)


def parse_find(argv: list[Word]) -> _Find:
    words, i, result = argv[1:], 0, _Find()
    while i < len(words) and words[i].exact and re.fullmatch(r"-[HLP]|-O\d*|-D", words[i].value):
        i += 2 if words[i].value == "-D" else 1
    while (
        i < len(words)
        and not may_be_option(words[i])
        and words[i].value not in ("(", ")", "!", ",")
    ):
        i += 1  # starting points
    while i < len(words):
        word = words[i]
        i += 1
        if not word.exact:
            result.problem = result.problem or computed("find", word)
            continue
        predicate = word.value
        if predicate in _FIND_NULLARY:
            continue
        if predicate in _FIND_UNARY or re.fullmatch(r"-newer[aBcmt][aBcmt]", predicate):
            i += 1
        elif predicate in ("-exec", "-execdir", "-ok", "-okdir"):
            end = i
            while end < len(words) and not (
                words[end].exact
                and (
                    words[end].value == ";"
                    or (words[end].value == "+" and words[end - 1].value == "{}")
                )
            ):
                end += 1
            result.execs.append([_find_path(w) for w in words[i:end]])
            i = end + 1
        elif predicate in _FIND_WRITES:
            result.writes = result.writes or predicate
        else:
            result.problem = result.problem or not_read_only("find", predicate)
    return result


def _find_path(word: Word) -> Word:
    """`{}` in -exec becomes a found path: unknown, but it never starts with '-'."""
    if "{}" not in word.value:
        return word
    return opaque_word(word.raw, word.value[0] if not word.value.startswith("{}") else ".")


def check_find(ctx: Context, argv: list[Word]) -> str | None:
    result = parse_find(argv)
    if result.problem:
        return result.problem
    if result.writes:
        return bad_option("find", result.writes, _FIND_WRITES[result.writes])
    for inner in result.execs:
        if not inner:
            return "'find -exec' without a command is not allowed in read-only mode."
        if reason := ctx.wrapped(inner):
            return reason
    return None


# wrappers --------------------------------------------------------------------------------


@dataclass
class Unwrapped:
    """What a wrapper (env, xargs, timeout, ...) runs: another argv or a script string.

    `problem` is why read-only mode refuses the wrapper itself; the inner command is
    still filled in where it can be known, because the dangerous-command check looks
    through wrappers whatever their options. `unknown`: what runs is only known at run time.
    """

    problem: str | None = None
    inner: list[Word] | None = None
    script: str | None = None
    posix: bool = False  # the script is for sh/dash
    unknown: bool = False


_ENV_OPTIONS = names("-i --ignore-environment -u --unset -C --chdir -0 --null -v --debug")


def _unwrap_env(argv: list[Word]) -> Unwrapped:
    opts = getopt(argv[1:], "uCS", ("--unset", "--chdir", "--split-string"), posix=True)
    if opts.unknown:
        return Unwrapped(computed("env", opts.unknown), unknown=True)
    problem = _env_option_problem(opts)
    operands = (
        opts.operands[1:] if opts.operands[:1] and opts.operands[0].value == "-" else opts.operands
    )
    while operands and ("=" in operands[0].value or ASSIGN_RE.match(operands[0].raw)):
        word, operands = operands[0], operands[1:]
        if word.exact:
            problem = problem or assignment_problem(word)
        elif ASSIGN_RE.match(word.raw):  # NAME=$x: an assignment whatever its value
            problem = problem or computed("env", word)
        else:  # maybe an assignment, maybe the command
            return Unwrapped(problem or computed("env", word), unknown=True)
    split = values(opts, "-S", "--split-string")
    if split:
        if not all(w.exact for w in split):
            return Unwrapped(problem, unknown=True)
        return Unwrapped(problem, script=" ".join(w.value for w in [*split, *operands]))
    return Unwrapped(problem, inner=operands or None)


def _env_option_problem(opts: Opts) -> str | None:
    if hit := first_match(opts, ("-S", "--split-string")):
        why = "it splits a string into a command; write the command directly"
        return bad_option("env", hit, why)
    if bad := first_unlisted(opts, _ENV_OPTIONS):
        return not_read_only("env", bad)
    for unset in values(opts, "-u", "--unset"):
        if not unset.exact or unsafe_variable(unset.value):
            return bad_option("env", f"-u {unset.raw}", "it changes which programs run")
    return None


def _unwrap_xargs(argv: list[Word]) -> Unwrapped:
    """The inner command gets arguments from stdin, which could be anything, options too."""
    opts = getopt(
        argv[1:], "aEdIsnLP", ("--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars"),
        optional="eil", posix=True,
    )  # fmt: skip
    if opts.unknown:
        return Unwrapped(computed("xargs", opts.unknown), unknown=True)
    allowed = ("-0", "--null", "-a", "--arg-file", "-d", "--delimiter", "-E", "-e", "--eof", "-I", "-i",
               "--replace", "-L", "-l", "--max-lines", "-n", "--max-args", "-P", "--max-procs", "-r",
               "--no-run-if-empty", "-s", "--max-chars", "-t", "--verbose", "-x", "--exit")  # fmt: skip
    bad = first_unlisted(opts, allowed)
    problem = not_read_only("xargs", bad) if bad else None
    inner = opts.operands
    replace = next(
        (
            v.value or "{}"
            for name, v in opts.opts
            if name in ("-I", "-i", "--replace") and v is not None
        ),
        None,
    )
    if not inner:
        return Unwrapped(problem)  # xargs runs echo
    if replace:
        inner = [
            opaque_word(w.raw, None if w.value.startswith(replace) else w.value[0])
            if replace in w.value
            else w
            for w in inner
        ]
        return Unwrapped(problem, inner=inner)
    return Unwrapped(problem, inner=[*inner, opaque_word("<arguments from stdin>")])


def _option_wrapper(
    name: str,
    short_args: str,
    long_args: tuple[str, ...],
    allowed: tuple[str, ...],
    skip: int = 0,
) -> Callable[[list[Word]], Unwrapped]:
    """timeout, nice, nohup, stdbuf, command, time: options, maybe a fixed operand, a command."""

    def unwrap(argv: list[Word]) -> Unwrapped:
        opts = getopt(argv[1:], short_args, long_args, posix=True)
        if opts.unknown:
            return Unwrapped(computed(name, opts.unknown), unknown=True)
        if name == "command" and opts.names() & {"-v", "-V"}:
            return Unwrapped()  # only describes the command
        bad = first_unlisted(opts, allowed)
        problem = not_read_only(name, bad) if bad else None
        return Unwrapped(problem, inner=opts.operands[skip:] or None)

    return unwrap


def _unwrap_builtin(argv: list[Word]) -> Unwrapped:
    return Unwrapped(inner=argv[1:] or None)


def unwrap_shell(argv: list[Word]) -> Unwrapped:
    """`sh -c 'script'`: the script is parsed and checked like the outer command line.
    A shell reading a file or stdin runs commands nobody can check."""
    name, words = argv[0].value.rpartition("/")[2], argv[1:]
    problem, wants_script, i = None, False, 0
    while i < len(words):
        word = words[i]
        if not word.exact:
            return Unwrapped(problem or computed(name, word), unknown=True)
        value = word.value
        if value == "--":
            i += 1
            break
        if value in ("--norc", "--noprofile", "--posix"):
            i += 1
        elif value in _SHELL_VALUED:
            valued = words[i + 1].value if i + 1 < len(words) else ""
            if value not in ("-o", "+o") or valued not in SET_OPTIONS:
                problem = problem or not_read_only(name, value)
            i += 2
        elif value[:1] in ("-", "+") and len(value) > 1:
            if value.startswith("--") or set(value[1:]) - set("euxvlc"):
                problem = problem or not_read_only(name, value)
            wants_script = wants_script or ("c" in value and not value.startswith("--"))
            i += 1
        else:
            break
    if wants_script and i < len(words):
        if not words[i].exact:
            return Unwrapped(problem or computed(name, words[i]), unknown=True)
        return Unwrapped(problem, script=words[i].value, posix=name in ("sh", "dash"))
    return Unwrapped(
        problem
        or f"'{name}' without -c is not allowed in read-only mode: it would run commands from a "
        f"file or from stdin, which cannot be checked. Use {name} -c 'commands' or run them directly."
    )


_SHELL_VALUED = names("-o +o -O +O --rcfile --init-file")


WRAPPERS: MappingProxyType[str, Callable[[list[Word]], Unwrapped]] = MappingProxyType({
    "env": _unwrap_env,
    "xargs": _unwrap_xargs,
    "timeout": _option_wrapper(
        "timeout", "sk", ("--signal", "--kill-after"),
        ("-s", "--signal", "-k", "--kill-after", "--preserve-status", "--foreground", "-v", "--verbose"), skip=1,
    ),
    "nice": _option_wrapper("nice", "n", ("--adjustment",), ("-n", "--adjustment")),
    "nohup": _option_wrapper("nohup", "", (), ()),
    "stdbuf": _option_wrapper("stdbuf", "ioe", ("--input", "--output", "--error"), ("-i", "-o", "-e", "--input", "--output", "--error")),
    "command": _option_wrapper("command", "", (), ("-p",)),
    "time": _option_wrapper("time", "f", ("--format",), ("-p", "--portability", "-v", "--verbose", "-f", "--format", "-q", "--quiet")),
    "builtin": _unwrap_builtin,
    **dict.fromkeys(("sh", "bash", "dash", "zsh"), unwrap_shell),
})  # fmt: skip


def check_wrapper(ctx: Context, argv: list[Word]) -> str | None:
    unwrapped = WRAPPERS[argv[0].value.rpartition("/")[2]](argv)
    if unwrapped.problem:
        return unwrapped.problem
    if unwrapped.script is not None:
        return ctx.text(unwrapped.script, posix=unwrapped.posix)
    return ctx.wrapped(unwrapped.inner) if unwrapped.inner else None
