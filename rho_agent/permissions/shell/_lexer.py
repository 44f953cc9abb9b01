"""The parser's bottom layer: tokens, words, quoting and heredocs."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Self

from rho_agent.permissions.shell._syntax import Redirect, Script, Word, lit_word, names


class ParseError(Exception):
    pass


TOO_DEEP = "commands are nested too deeply"
MAX_DEPTH = 32  # nesting of substitutions, compound commands, wrappers and sh -c, together

#: The longest command line that is analysed, in UTF-8 bytes. Parsing is linear, but it
#: costs a few microseconds a byte, so a 1 MB command would block for seconds; a longer
#: command is refused (read-only) or asked about (approvals) without being parsed.
MAX_COMMAND_BYTES = 64 * 1024


def oversize(command: str) -> int | None:
    """The command's size in bytes if it is over MAX_COMMAND_BYTES, else None."""
    if len(command) <= MAX_COMMAND_BYTES // 4:  # no encoding needed: 4 bytes a character at most
        return None
    size = len(command.encode("utf-8", "surrogatepass"))
    return size if size > MAX_COMMAND_BYTES else None


class Budget:
    """How much more text nested parsers (`sh -c`, `eval`, `watch`) may read, shared by the
    whole check: each level can re-read nearly all of its parent's text (`eval eval ...
    cmd`), so without it nesting would cost depth x length."""

    def __init__(self, chars: int = MAX_COMMAND_BYTES) -> None:
        self.left = chars

    def spend(self, source: str) -> None:
        self.left -= len(source)
        if self.left < 0:
            raise ParseError(
                f"its nested command strings add up to more than {MAX_COMMAND_BYTES} bytes"
            )


_META = frozenset(" \t\n|&;()<>")
_OPERATORS = tuple(sorted(  # longest first, so `;;&` wins over `;;` and `;`
    [";;&", ";;", ";&", "&&", "||", "|&", "|", "&", ";", "(", ")",
     "&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", ">&", ">>", ">|", "<", ">"],
    key=len, reverse=True,
))  # fmt: skip
_POSIX_OPERATORS = tuple(op for op in _OPERATORS if op not in ("&>>", "&>", "|&", "<<<"))
_OPERATOR_RE = re.compile("|".join(map(re.escape, _OPERATORS)))  # alternatives longest first
_POSIX_OPERATOR_RE = re.compile("|".join(map(re.escape, _POSIX_OPERATORS)))
_BLANKS = re.compile(r"(?:[ \t]|\\\n)*")  # blanks and line continuations
_REDIRECTIONS = names("&>> &> <<< <<- << <> <& >& >> >| < >")
_FD_RE = re.compile(r"\d+|\{[A-Za-z_][A-Za-z0-9_]*\}")
_POSIX_FD_RE = re.compile(r"\d+")
_PLAIN_RUN = re.compile(r"[^\s|&;()<>\\'\"$`]+")  # characters that need no attention in a word
_QUOTED_RUN = re.compile(r'[^"\\$`]+')
_BODY_RUN = re.compile(r"[^\\$`]+")


@dataclass
class _Tok:
    kind: str  # "word", "op", "redir", "eof"
    text: str = ""
    word: Word | None = None
    fd: str = ""

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.text in ops

    def is_word(self, *names: str) -> bool:
        # reserved words count only when unquoted, so raw == the name
        return self.kind == "word" and self.word is not None and self.word.raw in names


def _brackets(text: str) -> bool:
    """A [...] glob or a {a,b} / {1..3} brace expansion may be in `text` (linear time;
    over-approximating is fine, it only makes the word's value unknown)."""
    bracket, brace = text.find("["), text.find("{")
    if bracket != -1 and "]" in text[bracket:]:
        return True
    if brace == -1 or "}" not in text[brace:]:
        return False
    tail = text[brace:]
    return "," in tail or ".." in tail


class WordBuilder:
    """Collects the parts of one word: literal (quoted or not) and expansions."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []  # (kind, text): lit, qlit, exp, uexp, proc
        self.nested: list[tuple[str, Script]] = []
        self.hazards: list[str] = []

    def add(self, kind: str, text: str) -> None:
        self.parts.append((kind, text))

    def absorb(self, other: WordBuilder) -> None:
        self.nested += other.nested
        self.hazards += other.hazards

    def assignment_prefix(self) -> bool:
        text = "".join(t for _, t in self.parts)
        return all(k == "lit" for k, _ in self.parts) and bool(
            re.fullmatch(r"[A-Za-z_]\w*\+?=", text)
        )

    def finish(self, raw: str) -> Word:
        if len(self.parts) == 1 and self.parts[0][0] == "lit" and not self.nested:
            return self._finish_plain(raw, self.parts[0][1])
        unquoted = "".join(t if k == "lit" else "\0" for k, t in self.parts)
        globbed = (
            "*" in unquoted or "?" in unquoted or unquoted.startswith("~") or _brackets(unquoted)
        )
        expands = any(k in ("exp", "uexp", "proc") for k, _ in self.parts)
        splits = globbed or any(k == "uexp" for k, _ in self.parts)
        return Word(
            raw=raw,
            value="".join(t for _, t in self.parts),
            exact=not (globbed or expands),
            starts=self._starts(),
            splits=splits,
            proc_only=len(self.parts) == 1 and self.parts[0][0] == "proc",
            nested=self.nested,
            hazards=self.hazards,
        )

    def _finish_plain(self, raw: str, text: str) -> Word:
        """The common case, a word of plain unquoted characters, without the joins."""
        globbed = "*" in text or "?" in text or text.startswith("~") or _brackets(text)
        starts = None if text[:1] in ("*", "?", "[", "{", "~") else text[:1]
        return Word(raw, text, not globbed, starts, globbed, hazards=self.hazards)

    def _starts(self) -> str | None:
        if any(k == "uexp" for k, _ in self.parts):
            return None  # word splitting can produce a field starting with anything
        for kind, text in self.parts:
            if not text:
                continue
            if kind == "lit":
                return None if text[0] in "*?[{~" else text[0]
            if kind == "qlit":
                return text[0]
            return "/" if kind == "proc" else None
        return ""


class Lexer(ABC):  # the layers above supply the abstract methods
    """The parser's bottom layer: tokens, words, quoting and heredocs. The lexer shares
    the parser's cursor, because `$(...)` inside a word is parsed as a nested command
    list; the layers above provide the expansions (`_expansions.Expander`) and the
    grammar (`_parser.Parser`)."""

    def __init__(self, src: str, depth: int = 0, *, posix: bool = False) -> None:
        """`posix` parses the way dash does (`sh -c` on Debian): without bash's $'...',
        {fd}> redirections, &>, |&, <<< and process substitution, which then fail closed
        or split the way dash splits them."""
        if depth > MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        if "\0" in src:
            raise ParseError("it contains a NUL byte")
        self.src = src
        self.pos = 0
        self.depth = depth
        self.posix = posix
        self._operator_re = _POSIX_OPERATOR_RE if posix else _OPERATOR_RE
        self._peeked: _Tok | None = None
        # heredocs whose bodies start after the next newline: (redirect, delimiter,
        # strip leading tabs, delimiter quoted)
        self._heredocs: list[tuple[Redirect, str, bool, bool]] = []

    def _nested(self, src: str) -> Self:
        """A parser for text nested in this one: backquotes, heredoc bodies, ${x:-'...'}."""
        return type(self)(src, self.depth + 1, posix=self.posix)

    @contextmanager
    def _deeper(self) -> Iterator[None]:
        """One level of nesting; the limit keeps hostile input from exhausting the stack."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError(TOO_DEEP)
        try:
            yield
        finally:
            self.depth -= 1

    # lexer ----------------------------------------------------------------------------

    def _peek(self) -> _Tok:
        if self._peeked is None:
            self._peeked = self._lex()
        return self._peeked

    def _next(self) -> _Tok:
        tok = self._peek()
        self._peeked = None
        return tok

    def _lex(self) -> _Tok:
        src = self.src
        while True:
            self._skip_blanks()
            if self.pos >= len(src):
                return _Tok("eof")
            if src[self.pos] != "#":
                break
            end = src.find("\n", self.pos)  # a comment: # at the start of a word
            self.pos = len(src) if end == -1 else end
        if src[self.pos] == "\n":
            self.pos += 1
            self._read_heredocs()
            return _Tok("op", "\n")
        if src.startswith(("<(", ">("), self.pos) and not self.posix:
            return self._word_tok()
        if (m := self._operator_re.match(src, self.pos)) is not None:
            op, self.pos = m.group(), m.end()
            return _Tok("redir" if op in _REDIRECTIONS else "op", op)
        return self._word_tok()

    def _skip_blanks(self) -> None:
        self.pos = _BLANKS.match(self.src, self.pos).end()  # type: ignore[union-attr]

    def _word_tok(self) -> _Tok:
        word = self._scan_word()
        rest = self.src[self.pos : self.pos + 2]
        fd = _POSIX_FD_RE if self.posix else _FD_RE
        substitution = rest in ("<(", ">(") and not self.posix
        if rest[:1] in ("<", ">") and not substitution and fd.fullmatch(word.raw):
            tok = self._lex()  # `2>`, `{fd}>`: the number belongs to the redirection
            return _Tok("redir", tok.text, fd=word.raw)
        return _Tok("word", word=word)

    @staticmethod
    def _tok_text(tok: _Tok) -> str:
        if tok.word is not None:
            return tok.word.raw
        return "newline" if tok.text == "\n" else tok.text or "end of input"

    # words ----------------------------------------------------------------------------

    def _scan_word(self, literal: str = "") -> Word:
        """One word; `literal` lists metacharacters that are plain text here."""
        b, start, src = WordBuilder(), self.pos, self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c in literal:
                b.add("lit", c)
                self.pos += 1
            elif c in "<>" and src.startswith("(", self.pos + 1) and not self.posix:
                self._process_substitution(b)
            elif c == "(" and b.assignment_prefix():
                self._array_value(b)
            elif c in _META:
                break
            elif c == "\\":
                nxt = src[self.pos + 1 : self.pos + 2]
                if nxt != "\n":  # backslash-newline is a line continuation
                    b.add("qlit", nxt or "\\")
                self.pos += 2
            elif c == "'":
                end = src.find("'", self.pos + 1)
                if end == -1:
                    raise ParseError("unterminated single quote (')")
                b.add("qlit", src[self.pos + 1 : end])
                self.pos = end + 1
            elif c == '"':
                self.pos += 1
                self._double_quoted(b)
            elif c == "$":
                self._dollar(b, quoted=False)
            elif c == "`":
                self._backquote(b, quoted=False)
            else:
                run = _PLAIN_RUN.match(src, self.pos)
                end = run.end() if run and run.end() > self.pos else self.pos + 1
                b.add("lit", src[self.pos : end])
                self.pos = end
        return b.finish(src[start : self.pos])

    def _double_quoted(self, b: WordBuilder) -> None:
        src = self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c == '"':
                self.pos += 1
                return
            if c == "\\":
                nxt = src[self.pos + 1 : self.pos + 2]
                if nxt in ("$", "`", '"', "\\"):
                    b.add("qlit", nxt)
                elif nxt != "\n":
                    b.add("qlit", "\\" + nxt)
                self.pos += 2
            elif c == "$":
                self._dollar(b, quoted=True)
            elif c == "`":
                self._backquote(b, quoted=True)
            else:
                run = _QUOTED_RUN.match(src, self.pos)
                end = run.end() if run and run.end() > self.pos else self.pos + 1
                b.add("qlit", src[self.pos : end])
                self.pos = end
        raise ParseError('unterminated double quote (")')

    # expansions: provided by _expansions.Expander -----------------------------------

    @abstractmethod
    def _dollar(self, b: WordBuilder, quoted: bool) -> None: ...

    @abstractmethod
    def _backquote(self, b: WordBuilder, quoted: bool) -> None: ...

    @abstractmethod
    def _process_substitution(self, b: WordBuilder) -> None: ...

    @abstractmethod
    def _array_value(self, b: WordBuilder) -> None: ...

    # heredocs -------------------------------------------------------------------------

    def _read_heredocs(self) -> None:
        """Bodies start after the newline that ends the line holding `<<WORD`."""
        for redirect, delim, strip, quoted in self._heredocs:
            lines = []
            while self.pos < len(self.src):
                line = self._heredoc_line(quoted)
                if (line.lstrip("\t") if strip else line) == delim:
                    break
                lines.append(line)
            body = "\n".join(lines)
            if quoted:
                redirect.body = lit_word(body)
            else:
                redirect.body = self._nested(body)._expanding_text()
        self._heredocs.clear()

    def _heredoc_line(self, quoted: bool) -> str:
        """One logical line; in an unquoted heredoc backslash-newline joins lines even
        before the delimiter is compared (`EO\\<newline>F` ends a heredoc for EOF)."""
        line = ""
        while True:
            end = self.src.find("\n", self.pos)
            end = len(self.src) if end == -1 else end
            part, self.pos = self.src[self.pos : end], end + 1
            trailing = len(part) - len(part.rstrip("\\"))
            if quoted or trailing % 2 == 0 or end >= len(self.src):
                return line + part
            line += part[:-1]

    def _as_expanding(self) -> WordBuilder:
        builder = WordBuilder()
        word = self._expanding_text()
        builder.nested, builder.hazards = word.nested, word.hazards
        return builder

    def _expanding_text(self) -> Word:
        """An unquoted heredoc body: `$`, backquotes and backslash work as in "..."."""
        b, src = WordBuilder(), self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c == "\\" and src[self.pos + 1 : self.pos + 2] in ("$", "`", "\\", "\n"):
                b.add("qlit", src[self.pos + 1])
                self.pos += 2
            elif c == "$":
                self._dollar(b, quoted=True)
            elif c == "`":
                self._backquote(b, quoted=True)
            else:
                run = _BODY_RUN.match(src, self.pos)
                end = run.end() if run and run.end() > self.pos else self.pos + 1
                b.add("qlit", src[self.pos : end])
                self.pos = end
        return b.finish(src)
