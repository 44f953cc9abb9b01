"""The parse tree: words after quote removal, simple and compound commands, scripts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")


@dataclass
class Word:
    """One shell word after quote removal.

    `value` is exact only when `exact`; expansions stay in it as their source text.
    `starts` is the first character of every field the word can expand to, or None
    when that is unknown (so it could be an option).
    """

    raw: str
    value: str
    exact: bool
    starts: str | None
    splits: bool  # unquoted expansion or glob: may become several fields
    proc_only: bool = False  # the word is exactly one process substitution <(...)
    nested: list[tuple[str, Script]] = field(default_factory=list)  # ("cmd"|"in"|"out", script)
    hazards: list[str] = field(default_factory=list)  # constructs that can run hidden code


@dataclass
class Redirect:
    op: str
    fd: str
    target: Word
    body: Word | None = None  # heredoc text


@dataclass
class Simple:
    assigns: list[Word]
    argv: list[Word]
    redirects: list[Redirect]


@dataclass
class Compound:
    """Subshell, group, if/while/until/for/select/case, [[ ]], (( )), function."""

    kind: str
    bodies: list[Script] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    name: str = ""


Command = Simple | Compound


@dataclass
class Pipeline:
    commands: list[Command]


@dataclass
class Script:
    pipelines: list[Pipeline]  # `;`, `&`, `&&`, `||` and newlines do not change what runs


def names(text: str) -> frozenset[str]:
    return frozenset(text.split())


def lit_word(text: str) -> Word:
    return Word(text, text, True, text[:1], False)


def opaque_word(raw: str, starts: str | None = None) -> Word:
    """A word whose value comes from outside the command line (xargs input, find paths)."""
    return Word(raw, raw, False, starts, starts is None)


def may_be_option(word: Word) -> bool:
    if word.exact:
        return word.value.startswith("-")
    return word.starts in (None, "-")


def walk_words(command: Command) -> Iterator[Word]:
    """Every word of one command whose expansions run when it runs."""
    if isinstance(command, Simple):
        yield from command.assigns
        yield from command.argv
    else:
        yield from command.words
    for redirect in command.redirects:
        yield redirect.target
        if redirect.body is not None:
            yield redirect.body
