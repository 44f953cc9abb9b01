"""Read-only rules for simple commands: test, tee, sort, date and friends."""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import MappingProxyType

from rho_agent.permissions.shell._options import (
    denied_hit,
    first_match,
    first_unlisted,
    getopt,
)
from rho_agent.permissions.shell._reasons import (
    WRITES_FILE,
    bad_option,
    computed,
    not_read_only,
)
from rho_agent.permissions.shell._rules import SINKS, Check, Context
from rho_agent.permissions.shell._syntax import Word, may_be_option, names


def check_printf(ctx: Context, argv: list[Word]) -> str | None:
    first = argv[1] if len(argv) > 1 else None
    if (
        first is not None
        and may_be_option(first)
        and (not first.exact or first.value.startswith("-v"))
    ):
        return bad_option(
            "printf",
            "-v",
            "it assigns a variable, which can run code hidden in a subscript",
        )
    return None


_TEST_UNARY = names("-a -b -c -d -e -f -g -h -k -p -r -s -t -u -w -x -G -L -N -O -S -z -n -o")
_TEST_BINARY = names("= == != < > -eq -ne -lt -le -gt -ge -nt -ot -ef")
_TEST_OPERATORS = _TEST_UNARY | _TEST_BINARY


def check_test(ctx: Context, argv: list[Word]) -> str | None:
    """`test -v 'a[$(cmd)]'` runs cmd, so -v/-R are denied, and a computed word must sit
    where it cannot become one of them: next to a binary operator or after a unary one."""
    args = argv[1:]
    if argv[0].value == "[" and args and args[-1].exact and args[-1].value == "]":
        args = args[:-1]
    for i, word in enumerate(args):
        if word.exact:
            if word.value in ("-v", "-R"):
                return bad_option(
                    "test",
                    word.value,
                    "it evaluates array subscripts, which can run code",
                )
            continue
        if len(args) == 1 and not word.splits:
            continue
        prev = args[i - 1] if i else None
        nxt = args[i + 1] if i + 1 < len(args) else None
        operand = (prev is not None and prev.exact and prev.value in _TEST_OPERATORS) or (
            nxt is not None and nxt.exact and nxt.value in _TEST_BINARY
        )
        if word.splits or not operand:
            return (
                f"'test': the argument '{word.raw}' could become an operator when it expands. "
                'Quote it and use it as an operand, e.g. [ -n "$x" ] or [ "$a" = "$b" ].'
            )
    return None


def conditional_problem(words: list[Word]) -> str | None:
    """`[[ $x -eq 1 ]]` evaluates $x as arithmetic (which can run code); -v too."""
    for i, word in enumerate(words):
        if not word.exact:
            continue
        if word.value in ("-v", "-R"):
            return bad_option("[[", word.value, "it evaluates array subscripts, which can run code")
        if word.value in ("-eq", "-ne", "-lt", "-le", "-gt", "-ge"):
            sides = words[i - 1 : i] + words[i + 1 : i + 2]
            if len(sides) < 2 or not all(
                s.exact and re.fullmatch(r"-?\d+", s.value) for s in sides
            ):
                return (
                    f"'[[ ... {word.value} ... ]]' evaluates its operands as arithmetic, which can "
                    f"run code hidden in a variable. Use [ ... {word.value} ... ] (test) instead."
                )
    return None


def check_tee(ctx: Context, argv: list[Word]) -> str | None:
    opts = getopt(argv[1:])
    if opts.unknown:
        return computed("tee", opts.unknown)
    if bad := first_unlisted(
        opts, ("-a", "--append", "-i", "--ignore-interrupts", "-p", "--output-error")
    ):
        return not_read_only("tee", bad)
    for word in opts.operands:
        if not (word.exact and word.value in SINKS):
            return (
                f"'tee {word.raw}' writes to a file, which read-only mode does not allow. "
                "Drop tee and let the output go to stdout."
            )
    return None


def _options_check(
    name: str,
    denied: dict[str, str],
    short_args: str = "",
    long_args: Iterable[str] = (),
    max_operands: int | None = None,
    operand_why: str = "",
) -> Check:
    """A command that is read-only except for some options (and maybe extra operands)."""
    denied_options = MappingProxyType(dict(denied))  # a snapshot the caller cannot change

    def check(ctx: Context, argv: list[Word]) -> str | None:
        opts = getopt(argv[1:], short_args, long_args)
        if opts.unknown:
            return computed(name, opts.unknown)
        for option, why in denied_options.items():
            if hit := denied_hit(opts, argv[1:], option):
                return bad_option(name, hit, why)
        if max_operands is not None and len(opts.operands) > max_operands:
            return f"'{name}' with {len(opts.operands)} file arguments is not allowed in read-only mode: {operand_why}."
        return None

    return check


check_sort = _options_check(
    "sort",
    {"-o": WRITES_FILE, "--output": WRITES_FILE, "--compress-program": "it runs a program"},
    "kotST",
    ("--key", "--output", "--field-separator", "--buffer-size", "--temporary-directory",
     "--compress-program", "--files0-from", "--batch-size", "--parallel", "--random-source", "--sort"),
)  # fmt: skip
check_shuf = _options_check(
    "shuf", {"-o": WRITES_FILE, "--output": WRITES_FILE}, "ion",
    ("--output", "--head-count", "--input-range", "--random-source"),
)  # fmt: skip
check_uniq = _options_check(
    "uniq",
    {},
    "fsw",
    ("--skip-fields", "--skip-chars", "--check-chars"),
    1,
    "the second file is an output file",
)


def check_xxd(ctx: Context, argv: list[Word]) -> str | None:
    """xxd parses whole words, not GNU clusters (`-ps` is one flag); its second operand
    is an output file. Value options are -c -g -l -s -o -n and their long spellings."""
    words, operands, i = argv[1:], [], 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.exact:
            if may_be_option(word):
                return computed("xxd", word)
            operands.append(word)
        elif word.value == "--":
            operands += words[i:]
            break
        elif word.value in _XXD_VALUED:
            i += 1
        elif not word.value.startswith("-") or word.value == "-":
            operands.append(word)
    if len(operands) > 1:
        return f"'xxd' with {len(operands)} file arguments is not allowed in read-only mode: the second file is an output file."
    return None


_XXD_VALUED = names("-c -cols -g -groupsize -l -len -s -seek -o -offset -n -name")
check_file = _options_check(
    "file",
    {"-C": WRITES_FILE, "--compile": WRITES_FILE},
    "eFfmP",
    ("--magic-file", "--separator", "--exclude"),
)
check_tree = _options_check(  # tree takes option values from the next words, never the cluster
    "tree", {"-o": WRITES_FILE, "-R": "with -H it writes files in every directory"}
)
check_rg = _options_check(
    "rg",
    {"--pre": "it runs a program on every file", "--hostname-bin": "it runs a program"},
    "ABCdefgjmMrtTE",
    ("--pre", "--pre-glob", "--hostname-bin", "--regexp", "--file", "--glob", "--iglob", "--type",
     "--type-not", "--max-count", "--max-depth", "--replace", "--context", "--after-context",
     "--before-context", "--encoding", "--threads", "--max-columns", "--type-add", "--sort", "--sortr"),
)  # fmt: skip


def check_date(ctx: Context, argv: list[Word]) -> str | None:
    opts = getopt(argv[1:], "dfr", ("--date", "--file", "--reference", "--set"), optional="I")
    if opts.unknown:
        return computed("date", opts.unknown)
    if hit := first_match(opts, ("-s", "--set")):
        return bad_option("date", hit, "it sets the system clock")
    for word in opts.operands:
        if not (word.exact and word.value.startswith("+")):
            return f"'date {word.raw}' is not allowed in read-only mode: an operand without + sets the clock. Use date +FORMAT."
    return None


def check_hostname(ctx: Context, argv: list[Word]) -> str | None:
    opts = getopt(argv[1:])
    shows = ("-s", "--short", "-f", "--fqdn", "--long", "-i", "--ip-address", "-I", "--all-ip-addresses",
             "-d", "--domain", "-a", "--alias", "-A", "--all-fqdns", "-y", "--yp", "--nis", "-V", "--version")  # fmt: skip
    if opts.operands or opts.unknown or first_unlisted(opts, shows):
        return "'hostname' may only show the host name in read-only mode (no arguments); with arguments it changes it."
    return None
