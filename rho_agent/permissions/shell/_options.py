"""GNU-style option parsing for the per-command rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rho_agent.permissions.shell._syntax import Word, lit_word, may_be_option


@dataclass
class Opts:
    opts: list[tuple[str, Word | None]]  # ("-o", value) / ("--output", value) / ("-n", None)
    operands: list[Word]
    unknown: Word | None  # the first word that may be an option but is only known at run time

    def names(self) -> set[str]:
        return {name for name, _ in self.opts}


def getopt(
    words: list[Word],
    short_args: str = "",
    long_args: Iterable[str] = (),
    *,
    optional: str = "",
    posix: bool = False,
) -> Opts:
    """GNU-style option parsing: clusters (-ni), attached values (-oFILE, --output=F),
    abbreviated long options, `--`. `posix` stops at the first operand, like env/xargs."""
    long_args = tuple(long_args)
    opts: list[tuple[str, Word | None]] = []
    operands: list[Word] = []
    unknown: Word | None = None
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        value = word.value
        if not word.exact or not value.startswith("-") or value == "-":
            if unknown is None and not word.exact and may_be_option(word):
                unknown = word
            operands.append(word)
            if posix:
                operands += words[i:]
                break
            continue
        if value == "--":
            operands += words[i:]
            break
        if value.startswith("--"):
            name, eq, attached = value.partition("=")
            if eq:
                opts.append((name, lit_word(attached)))
            elif _takes_value(name, long_args) and i < len(words):
                opts.append((name, words[i]))
                i += 1
            else:
                opts.append((name, None))
            continue
        for j, ch in enumerate(value[1:], start=2):
            if ch in optional:
                opts.append(("-" + ch, lit_word(value[j:])))
                break
            if ch in short_args:
                if value[j:]:
                    opts.append(("-" + ch, lit_word(value[j:])))
                elif i < len(words):
                    opts.append(("-" + ch, words[i]))
                    i += 1
                else:
                    opts.append(("-" + ch, None))
                break
            opts.append(("-" + ch, None))
    return Opts(opts, operands, unknown)


def _before_dashdash(words: list[Word]) -> list[Word]:
    """Exact words up to `--`: where a mistaken idea of which option takes a value
    cannot hide a long option."""
    out = []
    for word in words:
        if word.exact and word.value == "--":
            break
        if word.exact and word.value.startswith("--"):
            out.append(word)
    return out


def _takes_value(name: str, long_args: tuple[str, ...]) -> bool:
    return any(arg == name or (len(name) > 3 and arg.startswith(name)) for arg in long_args)


def _matches(name: str, option: str) -> bool:
    """`name` selects `option`, counting GNU's unambiguous abbreviations (`--in` is --in-place)."""
    if name == option:
        return True
    return name.startswith("--") and option.startswith(name) and len(name) >= 3


def first_match(opts: Opts, denied: Iterable[str]) -> str | None:
    for name, _ in opts.opts:
        for option in denied:
            if _matches(name, option):
                return name
    return None


def denied_hit(opts: Opts, words: list[Word], option: str) -> str | None:
    """`option` given, either as getopt saw it or, for long options, as any word before
    `--` (so a wrong idea of which option takes a value cannot hide it)."""
    if hit := first_match(opts, (option,)):
        return hit
    if not option.startswith("--"):
        return None
    names = [w.value.partition("=")[0] for w in _before_dashdash(words)]
    return next((name for name in names if _matches(name, option)), None)


def first_unlisted(opts: Opts, allowed: Iterable[str]) -> str | None:
    allowed = frozenset(allowed)
    return next((name for name, _ in opts.opts if name not in allowed), None)


def values(opts: Opts, *names: str) -> list[Word]:
    return [v for name, v in opts.opts if name in names and v is not None]
