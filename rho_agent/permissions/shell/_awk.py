"""Reading an awk program far enough to tell a `>` comparison from a `print > file`.

awk writes files only through `>`/`>>` after print or printf (outside parentheses), and
runs commands through `|`, `|&` and system(). So the program is split into tokens —
strings, regular expressions, names, operators — the way awk splits it, and only those
places are refused. Where the reading could differ from awk's (a `/` after `getline`,
a `/` inside a bracket expression), a program with `>` or `|` is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rho_agent.permissions.shell._rules import SINKS
from rho_agent.permissions.shell._syntax import names

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = tuple(sorted(
    ["||", "&&", "|&", ">>", ">=", "<=", "==", "!=", "!~", "++", "--", "+=", "-=", "*=", "/=",
     "%=", "^=", "**", *"(){}[];,\n<>|!~?:=+-*/%^$"],
    key=len, reverse=True,
))  # fmt: skip
_KEYWORDS = names(
    "BEGIN END BEGINFILE ENDFILE function func if else while for do break continue next "
    "nextfile exit return delete in print printf switch case default"
)
_HEADERS = names("if while for switch")  # after their `( ... )` a statement starts
_CONTINUES = names(", && || { ? : do else")  # a newline after these does not end a statement


def awk_program_problem(program: str) -> str | None:
    """Deliberately coarse for what can run code: system(), @load/@include and indirect
    calls, /inet networking; exact for `>` and `|`, which are mostly comparisons and
    regular-expression alternatives."""
    if "system" in program:
        return "calls system(), which runs a command"
    if "@" in program:
        return "uses @load/@include or an indirect call"
    if "/inet" in program:
        return "opens a network connection"
    if ">" not in program and "|" not in program:
        return None
    try:
        return _output_problem(list(_tokens(program)))
    except ValueError as exc:
        return f"cannot be read unambiguously ({exc}), and it contains > or |"


def _output_problem(tokens: list[tuple[str, str]]) -> str | None:
    printing, depth = False, 0  # inside a print/printf statement; parentheses open in it
    for k, (kind, text) in enumerate(tokens):
        if kind == "name" and text in ("print", "printf"):
            printing, depth = True, 0
        elif kind != "op":
            continue
        elif text in ("|", "|&"):
            return "uses a pipe (| or |&), which runs a command"
        elif not printing:
            continue
        elif text in ("(", "["):
            depth += 1
        elif text in (")", "]"):
            depth = max(depth - 1, 0)
        elif depth == 0 and (text in (";", "}") or (text == "\n" and not _continued(tokens, k))):
            printing = False
        elif depth == 0 and text in (">", ">>") and not _to_sink(tokens, k):
            return (
                f"redirects print output with {text}, which writes a file (for a comparison "
                "inside print, use parentheses: print ($1 > 0))"
            )
    return None


def _continued(tokens: list[tuple[str, str]], k: int) -> bool:
    return k > 0 and tokens[k - 1][1] in _CONTINUES


def _to_sink(tokens: list[tuple[str, str]], k: int) -> bool:
    """`print > "/dev/stderr"`, and nothing after the name that could extend it."""
    target = tokens[k + 1] if k + 1 < len(tokens) else ("", "")
    after = tokens[k + 2] if k + 2 < len(tokens) else ("op", ";")
    return target[0] == "string" and target[1] in SINKS and after in _ENDS


_ENDS = frozenset((("op", ";"), ("op", "}"), ("op", "\n")))


def _tokens(program: str) -> Iterator[tuple[str, str]]:
    """(kind, text) with kind name, number, string, regex or op. A `/` starts a regular
    expression unless it follows an operand (then it divides), as in awk's grammar."""
    i, n = 0, len(program)
    divides, ambiguous = False, False  # what a `/` at i means
    parens: list[bool] = []  # per open '(': whether it is an if/while/for header
    last = ""
    while i < n:
        c = program[i]
        if c in " \t\r" or program.startswith("\\\n", i):
            i += 1 if c != "\\" else 2
            continue
        if c == "#":
            end = program.find("\n", i)
            i = n if end == -1 else end
            continue
        if c == "/" and not divides:
            if ambiguous:
                raise ValueError(f"'/' after '{last}' may divide or start a regular expression")
            end = _regex_end(program, i)
            kind, text, i = "regex", program[i + 1 : end - 1], end
        elif c == '"':
            end = _string_end(program, i)
            kind, text, i = "string", program[i + 1 : end - 1], end
        elif m := _NAME.match(program, i):
            kind, text, i = "name", m.group(), m.end()
        elif m := _NUMBER.match(program, i):
            kind, text, i = "number", m.group(), m.end()
        else:
            text = next((op for op in _OPERATORS if program.startswith(op, i)), c)
            kind, i = "op", i + len(text)
        divides, ambiguous = _after(kind, text, last, parens)
        last = text
        yield kind, text


def _after(kind: str, text: str, last: str, parens: list[bool]) -> tuple[bool, bool]:
    """Whether a `/` after this token divides, and whether that is uncertain."""
    if kind == "name":
        return text not in _KEYWORDS and text != "getline", text == "getline"
    if kind != "op":
        return True, False
    if text == "(":
        parens.append(last in _HEADERS)
    elif text == ")":
        return not (parens.pop() if parens else False), False
    return text in ("]", "++", "--", "$"), False


def _string_end(s: str, i: int) -> int:
    i += 1
    while i < len(s):
        if s[i] == "\\":
            i += 2
        elif s[i] == '"':
            return i + 1
        elif s[i] == "\n":
            break
        else:
            i += 1
    raise ValueError("an unterminated string")


def _regex_end(s: str, i: int) -> int:
    i += 1
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
        elif c == "/":
            return i + 1
        elif c == "\n":
            break
        elif c == "[":
            i = _bracket_end(s, i)
        else:
            i += 1
    raise ValueError("an unterminated regular expression")


def _bracket_end(s: str, i: int) -> int:
    """Past the `]` of a bracket expression; awks disagree about `/` inside one."""
    j = i + 1
    j += s.startswith("^", j)
    j += s.startswith("]", j)
    end = s.find("]", j)
    if end == -1 or "/" in s[i:end] or "\n" in s[i:end]:
        raise ValueError("a '/' or newline inside a [...] bracket expression")
    return end + 1
