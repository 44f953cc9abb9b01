"""Read-only rules for sed and awk: their scripts are checked for writes and commands."""

from __future__ import annotations

import re

from rho_agent.permissions.shell._awk import awk_program_problem
from rho_agent.permissions.shell._options import denied_hit, first_unlisted, getopt, values
from rho_agent.permissions.shell._reasons import bad_option, computed, not_read_only
from rho_agent.permissions.shell._rules import Context
from rho_agent.permissions.shell._syntax import Word, lit_word, names

# sed ------------------------------------------------------------------------------------

_SED_ALLOWED = names("-n --quiet --silent -e --expression -f --file -E -r --regexp-extended -s --separate -u --unbuffered -z --null-data -l --line-length --posix --sandbox --debug --help --version")  # fmt: skip


def check_sed(ctx: Context, argv: list[Word]) -> str | None:
    opts = getopt(argv[1:], "efl", ("--expression", "--file", "--line-length"))
    if opts.unknown:
        return computed("sed", opts.unknown)
    if hit := denied_hit(opts, argv[1:], "-i") or denied_hit(opts, argv[1:], "--in-place"):
        return bad_option(
            "sed",
            hit,
            "it edits files in place; run sed without -i to print the result instead",
        )
    if bad := first_unlisted(opts, _SED_ALLOWED):
        return not_read_only("sed", bad)
    sandboxed = "--sandbox" in opts.names()  # GNU sed then refuses w, e and r itself
    if values(opts, "-f", "--file") and not sandboxed:
        return bad_option("sed", "-f", "the script file cannot be checked; pass the script with -e")
    scripts = values(opts, "-e", "--expression") or opts.operands[:1]
    if len(scripts) > 1 and all(w.exact for w in scripts):  # GNU sed joins them with newlines
        scripts = [*scripts, lit_word("\n".join(w.value for w in scripts))]
    for script in scripts:
        if not script.exact:
            return f"'sed': the script '{script.raw}' is only known when the command runs, so it cannot be checked. Write it literally."
        problem = None if sandboxed else _sed_script_problem(script.value)
        if problem:
            return (
                f"'sed {script.value}' is not allowed in read-only mode: {problem}. Scripts that "
                "only print are allowed, e.g. sed -n '1,10p' f or sed 's/a/b/' f."
            )
    return None


def _sed_script_problem(script: str) -> str | None:
    """Parse a sed script far enough to find the commands that write or run code:
    w/W, e, and the s///w and s///e flags. Anything not understood is a problem."""
    i, n = 0, len(script)
    try:
        while i < n:
            c = script[i]
            if c in " \t\n;{}!":
                i += 1
            elif c == "#":
                i = _line_end(script, i)
            else:
                i = _sed_address(script, i)
                while i < n and script[i] in " \t!":
                    i += 1
                if i >= n:
                    return "it ends with an address but no command"
                if problem := _sed_no_write(script, i):
                    return problem
                i = _sed_command_end(script, i)
    except ValueError as exc:
        return str(exc)
    return None


def _line_end(s: str, i: int) -> int:
    end = s.find("\n", i)
    return len(s) if end == -1 else end


def _delimited(s: str, i: int, delim: str) -> int:
    """Index just past the next unescaped `delim` from i."""
    while i < len(s):
        if s[i] == "\\":
            i += 2
        elif s[i] == delim:
            return i + 1
        else:
            i += 1
    raise ValueError(f"unterminated {delim}...{delim} in the script")


_SED_LINE = re.compile(r"\d+(~\d+)?")
_SED_STEP = re.compile(r"[+~]\d*")
_SED_FLAGS = re.compile(r"[^;\n}#\s]*")
_SED_LABEL = re.compile(r".[ \t]*[^;\s]*")
_SED_COUNT = re.compile(r".[ \t]*\d*")


def _sed_address(s: str, i: int) -> int:
    def one(i: int) -> int:
        if i < len(s) and s[i].isdigit():
            i = _SED_LINE.match(s, i).end()  # type: ignore[union-attr]
        elif s.startswith("$", i):
            i += 1
        elif s.startswith("/", i) or s.startswith("\\", i):
            delim = "/" if s[i] == "/" else s[i + 1 : i + 2]
            i = _delimited(s, i + (1 if s[i] == "/" else 2), delim)
            while i < len(s) and s[i] in "IM":
                i += 1
        return i

    i = one(i)
    if s.startswith(",", i):
        i += 1
        i = _SED_STEP.match(s, i).end() if s[i : i + 1] in ("+", "~") else one(i)  # type: ignore[union-attr]
    return i


def _sed_no_write(s: str, i: int) -> str | None:
    c = s[i]
    if c in "wW":
        return f"its {c} command writes a file"
    if c == "e":
        return "its e command runs a shell command"
    if c == "s":
        flags_at = _delimited(
            s, _delimited(s, i + 2, s[i + 1 : i + 2] or "/"), s[i + 1 : i + 2] or "/"
        )
        flags = _SED_FLAGS.match(s, flags_at).group()  # type: ignore[union-attr]
        if "w" in flags:
            return "its s///w flag writes a file"
        if "e" in flags:
            return "its s///e flag runs a shell command"
        if not re.fullmatch(r"[gpiImM0-9]*", flags):
            return f"the s command has flags '{flags}' that are not understood"
    elif c not in "syaicrRbtT:qQlL=dDgGhHnNpPxzFv{}":
        return f"'{c}' is not a sed command this policy understands"
    return None


def _sed_command_end(s: str, i: int) -> int:
    c = s[i]
    if c in "sy":
        delim = s[i + 1 : i + 2]
        i = _delimited(s, _delimited(s, i + 2, delim), delim)
        return _SED_FLAGS.match(s, i).end()  # type: ignore[union-attr]
    if c in "aic":  # text up to an unescaped newline
        i += 1
        while i < len(s) and s[i] != "\n":
            i += 2 if s[i] == "\\" else 1
        return i
    if c in "rR":
        return _line_end(s, i)
    if c in "btT:v":  # labels end at ; or blanks (GNU); stopping early only checks more
        return _SED_LABEL.match(s, i).end()  # type: ignore[union-attr]
    if c in "qQlL":
        return _SED_COUNT.match(s, i).end()  # type: ignore[union-attr]
    return i + 1


# awk ------------------------------------------------------------------------------------

_AWK_ALLOWED = names("-F --field-separator -v --assign -e --source -S --sandbox -b --characters-as-bytes -c --traditional -P --posix -M --bignum -r --re-interval -n --non-decimal-data -N --use-lc-numeric --version")  # fmt: skip


def check_awk(ctx: Context, argv: list[Word]) -> str | None:
    name = argv[0].value.rpartition("/")[2]
    opts = getopt(
        argv[1:],
        "Fvfeil",
        ("--field-separator", "--assign", "--file", "--source", "--include", "--load"),
    )
    if opts.unknown:
        return computed(name, opts.unknown)
    if values(opts, "-f", "--file"):
        return bad_option(name, "-f", "the program file cannot be checked; pass the program inline")
    if bad := first_unlisted(opts, _AWK_ALLOWED):
        return not_read_only(name, bad)
    programs = values(opts, "-e", "--source") or opts.operands[:1]
    files = opts.operands[0 if values(opts, "-e", "--source") else 1 :]
    for program in programs:
        if not program.exact:
            return f"'{name}': the program '{program.raw}' is only known when the command runs, so it cannot be checked. Write it literally."
        if problem := awk_program_problem(program.value):
            return f"'{name}' is not allowed here: the program {problem}. Programs that only read and print to stdout are allowed."
    for file in files:
        if file.value.startswith("/inet"):
            return f"'{name} {file.raw}' opens a network connection, which read-only mode does not allow."
    return None
