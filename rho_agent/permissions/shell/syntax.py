"""The parse tree: words after quote removal, simple and compound commands, scripts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")


@dataclass
class _Word:
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
    nested: list[tuple[str, _Script]] = field(default_factory=list)  # ("cmd"|"in"|"out", script)
    hazards: list[str] = field(default_factory=list)  # constructs that can run hidden code


@dataclass
class _Redirect:
    op: str
    fd: str
    target: _Word
    body: _Word | None = None  # heredoc text


@dataclass
class _Simple:
    assigns: list[_Word]
    argv: list[_Word]
    redirects: list[_Redirect]


@dataclass
class _Compound:
    """Subshell, group, if/while/until/for/select/case, [[ ]], (( )), function."""

    kind: str
    bodies: list[_Script] = field(default_factory=list)
    words: list[_Word] = field(default_factory=list)
    redirects: list[_Redirect] = field(default_factory=list)
    name: str = ""


_Command = _Simple | _Compound


@dataclass
class _Pipeline:
    commands: list[_Command]


@dataclass
class _Script:
    pipelines: list[_Pipeline]  # `;`, `&`, `&&`, `||` and newlines do not change what runs


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _lit_word(text: str) -> _Word:
    return _Word(text, text, True, text[:1], False)


def _opaque_word(raw: str, starts: str | None = None) -> _Word:
    """A word whose value comes from outside the command line (xargs input, find paths)."""
    return _Word(raw, raw, False, starts, starts is None)


def _may_be_option(word: _Word) -> bool:
    if word.exact:
        return word.value.startswith("-")
    return word.starts in (None, "-")


def _walk_words(command: _Command) -> Iterator[_Word]:
    """Every word of one command whose expansions run when it runs."""
    if isinstance(command, _Simple):
        yield from command.assigns
        yield from command.argv
    else:
        yield from command.words
    for redirect in command.redirects:
        yield redirect.target
        if redirect.body is not None:
            yield redirect.body
