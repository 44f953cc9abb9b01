"""Sentences the rules share: what the model reads when a command is denied."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rho_agent.permissions.shell._lexer import ParseError
    from rho_agent.permissions.shell._syntax import Word


SUGGEST = (
    "Read-only mode allows commands that only read, such as ls, cat, head, tail, grep, rg, "
    "find, wc, sort, sed -n, awk, jq, diff, and git status/log/diff/show/blame."
)
WRITES_FILE = "it writes a file"


def parse_reason(exc: ParseError) -> str:
    return (
        f"The command could not be parsed ({exc}), and read-only mode runs only command "
        "lines it can check completely. Fix the syntax or split it into simpler commands."
    )


def too_long(size: int, limit: int) -> str:
    return (
        f"The command is {size} bytes long; read-only mode checks command lines of up to "
        f"{limit} bytes ({limit // 1024} KiB). Split it into several shorter commands."
    )


def computed(name: str, word: Word) -> str:
    return (
        f"'{name}': the argument '{word.raw}' is only known when the command runs and could "
        "turn into an option (a file named like -i matches a glob too), so read-only mode "
        "cannot check it. Write it literally, start globs with ./ (./*.txt), or put file "
        "arguments after --."
    )


def bad_option(name: str, option: str, why: str) -> str:
    return f"'{name} {option}' is not allowed in read-only mode: {why}."


def not_read_only(name: str, option: str) -> str:
    return bad_option(name, option, "read-only mode allows only the options known to be read-only")
