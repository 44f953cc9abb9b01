"""The restricted shell: which command lines the `readonly` profile may run.

The whole command line is parsed the way bash parses it (lists, pipelines, subshells,
groups, compound commands, quoting, substitutions, redirections, heredocs), and every
command in it, however deeply nested or wrapped (`env`, `xargs`, `sh -c`, `find -exec`,
...), must come from a read-only set with read-only options. It is never prefix
matching, and it fails closed: syntax the parser does not understand, words whose
value is only known at run time where that value matters, and unknown commands are
all denied, with a reason the model can act on.

`dangerous_reason` walks the same parse tree for the `developer` profile's approvals.

Bash semantics are assumed (the bash tool runs `bash -c`). The module reads top to
bottom: public API, syntax tree, parser, option parsing, read-only rules, dangerous
commands.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["ShellVerdict", "check_command", "dangerous_reason"]


@dataclass(frozen=True)
class ShellVerdict:
    allowed: bool
    reason: str  # when denied: a sentence for the model; "" when allowed


def check_command(command: str) -> ShellVerdict:
    """Whether the read-only shell may run `command`, and if not, why.

    An empty command (or only blanks and comments) is allowed: it runs nothing.
    """
    try:
        reason = _ReadOnly().script(_Parser(command).parse())
    except _ParseError as exc:
        return ShellVerdict(False, _parse_reason(exc))
    except RecursionError:  # the depth limit should prevent this; fail closed regardless
        return ShellVerdict(False, _parse_reason(_ParseError(_TOO_DEEP)))
    return ShellVerdict(reason is None, reason or "")


def dangerous_reason(command: str) -> str | None:
    """For the `developer` profile's approvals: a short reason if the command is destructive
    (rm -r/-f, git push/reset --hard/clean -f, dd, mkfs, chmod -R/chown -R, sudo, shutdown/reboot,
    kill -9/pkill/killall, curl|sh style pipes into a shell, > to a device, truncate, etc.), else None.
    Uses the same parser.

    This is an aid for asking the user, not a sandbox: a command the parser cannot read
    is reported (so the user decides), but a destructive command hidden behind a variable
    is not found.
    """
    try:
        return _Danger().script(_Parser(command).parse())
    except _ParseError as exc:
        return f"it could not be checked for destructive commands ({exc})"
    except RecursionError:
        return f"it could not be checked for destructive commands ({_TOO_DEEP})"


# --- syntax tree --------------------------------------------------------------------------


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


# --- parser -------------------------------------------------------------------------------


class _ParseError(Exception):
    pass


def _parse_reason(exc: _ParseError) -> str:
    return (
        f"The command could not be parsed ({exc}), and read-only mode runs only command "
        "lines it can check completely. Fix the syntax or split it into simpler commands."
    )


_TOO_DEEP = "commands are nested too deeply"
_MAX_DEPTH = 32  # nesting of substitutions, compound commands and sh -c, together
_META = frozenset(" \t\n|&;()<>")
_OPERATORS = tuple(sorted(  # longest first, so `;;&` wins over `;;` and `;`
    [";;&", ";;", ";&", "&&", "||", "|&", "|", "&", ";", "(", ")",
     "&>>", "&>", "<<<", "<<-", "<<", "<>", "<&", ">&", ">>", ">|", "<", ">"],
    key=len, reverse=True,
))  # fmt: skip
_POSIX_OPERATORS = tuple(op for op in _OPERATORS if op not in ("&>>", "&>", "|&", "<<<"))
_REDIRECTIONS = _names("&>> &> <<< <<- << <> <& >& >> >| < >")
_FD_RE = re.compile(r"\d+|\{[A-Za-z_][A-Za-z0-9_]*\}")
_POSIX_FD_RE = re.compile(r"\d+")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")
_PLAIN_RUN = re.compile(r"[^\s|&;()<>\\'\"$`]+")  # characters that need no attention in a word
_QUOTED_RUN = re.compile(r'[^"\\$`]+')
_BODY_RUN = re.compile(r"[^\\$`]+")
_SPECIAL_PARAMETER = re.compile(r"\d+|[@*#?$!0-]")
_HEX_DIGITS = MappingProxyType({n: re.compile(rf"[0-9a-fA-F]{{1,{n}}}") for n in (2, 4, 8)})
_OCTAL_DIGITS = re.compile(r"[0-7]{1,3}")
_ARITH_SAFE = frozenset("0123456789 \t\n+-*/%<>=!&|^~?:,()#")
_CLOSERS = _names("then elif else fi do done esac } ]]")
_ANSI_ESCAPES = MappingProxyType({
    "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
})  # fmt: skip


@dataclass
class _Tok:
    kind: str  # "word", "op", "redir", "eof"
    text: str = ""
    word: _Word | None = None
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


class _WordBuilder:
    """Collects the parts of one word: literal (quoted or not) and expansions."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []  # (kind, text): lit, qlit, exp, uexp, proc
        self.nested: list[tuple[str, _Script]] = []
        self.hazards: list[str] = []

    def add(self, kind: str, text: str) -> None:
        self.parts.append((kind, text))

    def absorb(self, other: _WordBuilder) -> None:
        self.nested += other.nested
        self.hazards += other.hazards

    def assignment_prefix(self) -> bool:
        text = "".join(t for _, t in self.parts)
        return all(k == "lit" for k, _ in self.parts) and bool(
            re.fullmatch(r"[A-Za-z_]\w*\+?=", text)
        )

    def finish(self, raw: str) -> _Word:
        unquoted = "".join(t if k == "lit" else "\0" for k, t in self.parts)
        globbed = (
            "*" in unquoted or "?" in unquoted or unquoted.startswith("~") or _brackets(unquoted)
        )
        expands = any(k in ("exp", "uexp", "proc") for k, _ in self.parts)
        splits = globbed or any(k == "uexp" for k, _ in self.parts)
        return _Word(
            raw=raw,
            value="".join(t for _, t in self.parts),
            exact=not (globbed or expands),
            starts=self._starts(),
            splits=splits,
            proc_only=len(self.parts) == 1 and self.parts[0][0] == "proc",
            nested=self.nested,
            hazards=self.hazards,
        )

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


class _Parser:
    """A recursive-descent parser for bash command lines; the lexer shares its cursor,
    because `$(...)` inside a word is parsed as a nested command list."""

    def __init__(self, src: str, depth: int = 0, *, posix: bool = False) -> None:
        """`posix` parses the way dash does (`sh -c` on Debian): without bash's $'...',
        {fd}> redirections, &>, |&, <<< and process substitution, which then fail closed
        or split the way dash splits them."""
        if depth > _MAX_DEPTH:
            raise _ParseError(_TOO_DEEP)
        if "\0" in src:
            raise _ParseError("it contains a NUL byte")
        self.src = src
        self.pos = 0
        self.depth = depth
        self.posix = posix
        self._operators = _POSIX_OPERATORS if posix else _OPERATORS
        self._peeked: _Tok | None = None
        # heredocs whose bodies start after the next newline: (redirect, delimiter,
        # strip leading tabs, delimiter quoted)
        self._heredocs: list[tuple[_Redirect, str, bool, bool]] = []

    def parse(self) -> _Script:
        script = self._list()
        tok = self._peek()
        if tok.kind != "eof":
            raise _ParseError(f"unexpected '{self._tok_text(tok)}'")
        return script

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
        for op in self._operators:
            if src.startswith(op, self.pos):
                self.pos += len(op)
                return _Tok("redir" if op in _REDIRECTIONS else "op", op)
        return self._word_tok()

    def _skip_blanks(self) -> None:
        while self.pos < len(self.src):
            if self.src[self.pos] in " \t":
                self.pos += 1
            elif self.src.startswith("\\\n", self.pos):
                self.pos += 2
            else:
                return

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

    def _scan_word(self, literal: str = "") -> _Word:
        """One word; `literal` lists metacharacters that are plain text here."""
        b, start, src = _WordBuilder(), self.pos, self.src
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
                    raise _ParseError("unterminated single quote (')")
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

    def _double_quoted(self, b: _WordBuilder) -> None:
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
        raise _ParseError('unterminated double quote (")')

    def _dollar(self, b: _WordBuilder, quoted: bool) -> None:
        with self._deeper():
            self._dollar_here(b, quoted)

    def _dollar_here(self, b: _WordBuilder, quoted: bool) -> None:
        src, start = self.src, self.pos
        nxt = src[start + 1 : start + 2]
        exp = "exp" if quoted else "uexp"
        if src.startswith("$((", start):
            self.pos += 3
            self._arithmetic(b, "$((")
            b.add("exp", src[start : self.pos])  # a number: no word splitting
        elif nxt == "(":
            self.pos += 2
            b.nested.append(("cmd", self._nested_list(")")))
            b.add(exp, src[start : self.pos])
        elif nxt == "{":
            self.pos += 2
            self._parameter(b)
            b.add(exp, src[start : self.pos])
        elif nxt in ("'", '"') and not quoted and self.posix:
            raise _ParseError(f"${nxt}...{nxt} quoting is bash syntax; run the script with bash -c")
        elif nxt == "'" and not quoted:
            self._ansi_c(b)
        elif nxt == '"' and not quoted:
            self.pos += 2
            self._double_quoted(b)
        elif nxt == "[":
            raise _ParseError("the old $[...] arithmetic syntax is not supported")
        elif (m := _NAME_RE.match(src, start + 1)) is not None:
            self.pos = m.end()
            b.add(exp, src[start : self.pos])
        elif nxt and nxt in "@*#?-$!0123456789":
            self.pos += 2
            b.add("exp" if nxt in "#?$!" else exp, src[start : self.pos])  # numbers never split
        elif nxt and nxt in "~=^+":  # zsh's $~x $=x $^x $+x; a plain $ in bash
            self.pos += 1
            b.add(exp, "$")
        else:
            self.pos += 1
            b.add("qlit" if quoted else "lit", "$")

    @contextmanager
    def _deeper(self) -> Iterator[None]:
        """One level of nesting; the limit keeps hostile input from exhausting the stack."""
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _ParseError(_TOO_DEEP)
        try:
            yield
        finally:
            self.depth -= 1

    def _nested_list(self, closer: str) -> _Script:
        """Parse `...)` of `$(...)`, `<(...)`, `>(...)`."""
        with self._deeper():
            peeked, self._peeked = self._peeked, None
            script = self._list(stop_ops=(closer,))
            if not self._next().is_op(closer):
                raise _ParseError(f"missing '{closer}'")
            self._peeked = peeked
            return script

    def _process_substitution(self, b: _WordBuilder) -> None:
        start, kind = self.pos, "in" if self.src[self.pos] == "<" else "out"
        self.pos += 2
        b.nested.append((kind, self._nested_list(")")))
        b.add("proc", self.src[start : self.pos])

    def _array_value(self, b: _WordBuilder) -> None:
        """`name=(a b c)`: element words are checked like any other word."""
        with self._deeper():
            self._array_elements(b)

    def _array_elements(self, b: _WordBuilder) -> None:
        start = self.pos
        self.pos += 1
        while True:
            tok = self._lex()
            if tok.is_op(")"):
                break
            if tok.is_op("\n"):
                continue
            if tok.word is None:
                raise _ParseError(f"unexpected '{self._tok_text(tok)}' in an array value")
            b.nested += tok.word.nested
            b.hazards += tok.word.hazards
            if tok.word.raw.startswith("["):
                b.hazards.append(
                    "An array subscript [...] is evaluated as arithmetic, which can run code."
                )
        b.add("exp", self.src[start : self.pos])

    def _backquote(self, b: _WordBuilder, quoted: bool) -> None:
        src, start = self.src, self.pos
        i, out = start + 1, []
        while i < len(src) and src[i] != "`":
            if (
                src[i] == "\\"
                and i + 1 < len(src)
                and (src[i + 1] in "$`\\" or (quoted and src[i + 1] == '"'))
            ):
                i += 1
            out.append(src[i])
            i += 1
        if i >= len(src):
            raise _ParseError("unterminated backquote (`)")
        self.pos = i + 1
        b.nested.append(("cmd", _Parser("".join(out), self.depth + 1, posix=self.posix).parse()))
        b.add("exp" if quoted else "uexp", src[start : self.pos])

    def _arithmetic(self, b: _WordBuilder, opener: str) -> None:
        """Scan to the `))` closing `$((` or `((`. Names in arithmetic are evaluated
        recursively (`x='a[$(cmd)]'; echo $((x))` runs cmd), so only numbers are safe."""
        depth, safe, src = 0, True, self.src
        while True:
            if self.pos >= len(src):
                raise _ParseError(f"unterminated {opener}")
            c = src[self.pos]
            if c in "$`":
                safe = False
                inner = _WordBuilder()
                (
                    self._dollar(inner, quoted=True)
                    if c == "$"
                    else self._backquote(inner, quoted=True)
                )
                b.absorb(inner)
                continue
            if c == ")" and depth == 0:
                if not src.startswith("))", self.pos):
                    raise _ParseError(f"unbalanced parentheses in {opener}")
                self.pos += 2
                break
            depth += {"(": 1, ")": -1}.get(c, 0)
            safe = safe and c in _ARITH_SAFE
            self.pos += 1
        if not safe:
            b.hazards.append(
                f"Arithmetic {opener}...)) on names or substitutions can run code hidden in a variable."
            )

    def _parameter(self, b: _WordBuilder) -> None:
        """`${...}`. Plain, default-value, length, trim and replace forms are fine;
        indirection, subscripts, substring offsets and @ transforms can run hidden code."""
        src = self.src
        if src.startswith("!", self.pos):
            b.hazards.append("Indirect expansion ${!name} can run code hidden in a variable.")
            self.pos += 1
        elif src.startswith("#", self.pos) and not src.startswith("#}", self.pos):
            self.pos += 1
        m = _NAME_RE.match(src, self.pos) or _SPECIAL_PARAMETER.match(src, self.pos)
        if m is None:
            raise _ParseError("bad ${...} substitution")
        name, self.pos = m.group(), m.end()
        op = src[self.pos : self.pos + 2]
        if not op:
            raise _ParseError("unterminated ${...}")
        if op[:1] == "}":
            self.pos += 1
            return
        if op[:1] == "[":
            b.hazards.append(
                "An array subscript ${name[...]} is evaluated as arithmetic, which can run code."
            )
        elif op[:1] == "@":
            b.hazards.append("A ${name@...} transformation can run command substitutions (@P).")
        elif op[:1] == ":" and op[1:] not in ("-", "=", "+", "?"):
            b.hazards.append(
                "A ${name:offset} substring is evaluated as arithmetic, which can run code."
            )
        elif op[:1] not in ("-", "=", "+", "?", "#", "%", "/", "^", ",", ":"):
            raise _ParseError(f"bad ${{{name}{op[:1]}...}} substitution")
        if "=" in op[:2] and op[:1] in ":=" and _unsafe_variable(name):
            b.hazards.append(f"Assigning {name} with ${{{name}:=...}} changes which programs run.")
        self._parameter_word(b)

    def _parameter_word(self, b: _WordBuilder) -> None:
        """The rest of `${name op word}` up to the matching `}` (bash counts braces).
        Single quotes delimit text here, but inside "${x:-'...'}" bash then expands
        what they enclose, so their text is scanned for substitutions too."""
        depth, src = 0, self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c == "}" and depth == 0:
                self.pos += 1
                return
            inner = _WordBuilder()
            if c == "\\":
                self.pos += 2
            elif c == "'":
                end = src.find("'", self.pos + 1)
                if end == -1:
                    raise _ParseError("unterminated single quote (') in ${...}")
                inner.absorb(
                    _Parser(
                        src[self.pos + 1 : end], self.depth + 1, posix=self.posix
                    )._as_expanding()
                )
                self.pos = end + 1
            elif c == '"':
                self.pos += 1
                self._double_quoted(inner)
            elif c == "$":
                self._dollar(inner, quoted=True)
            elif c == "`":
                self._backquote(inner, quoted=True)
            else:
                depth += {"{": 1, "}": -1}.get(c, 0)
                self.pos += 1
            b.absorb(inner)
        raise _ParseError("unterminated ${...}")

    def _ansi_c(self, b: _WordBuilder) -> None:
        """`$'...'`, decoded, so `$'\\x72m'` is the command `rm`."""
        src, i, out = self.src, self.pos + 2, []
        known = True
        while True:
            if i >= len(src):
                raise _ParseError("unterminated $'...' quote")
            c = src[i]
            if c == "'":
                break
            if c != "\\":
                out.append(c)
                i += 1
                continue
            e = src[i + 1 : i + 2]
            digits = {"x": 2, "u": 4, "U": 8}.get(e, 0)
            m = _HEX_DIGITS[digits].match(src, i + 2) if digits else None
            if e in _ANSI_ESCAPES:
                out.append(_ANSI_ESCAPES[e])
                i += 2
            elif m is not None:
                code = int(m.group(), 16)
                known = known and code <= 0x10FFFF
                out.append(chr(min(code, 0x10FFFF)))
                i = m.end()
            elif (m := _OCTAL_DIGITS.match(src, i + 1)) is not None:
                out.append(chr(int(m.group(), 8) & 0xFF))
                i = m.end()
            else:  # \cX and friends: not decoded, so the value is unknown
                known = known and e not in ("c", "")
                out.append("\\" + e)
                i += 2
        self.pos = i + 1
        b.add("qlit" if known else "exp", "".join(out))

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
                redirect.body = _lit_word(body)
            else:
                redirect.body = _Parser(body, self.depth + 1, posix=self.posix)._expanding_text()
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

    def _as_expanding(self) -> _WordBuilder:
        builder = _WordBuilder()
        word = self._expanding_text()
        builder.nested, builder.hazards = word.nested, word.hazards
        return builder

    def _expanding_text(self) -> _Word:
        """An unquoted heredoc body: `$`, backquotes and backslash work as in "..."."""
        b, src = _WordBuilder(), self.src
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

    # grammar --------------------------------------------------------------------------

    def _list(self, stop_ops: Iterable[str] = (), stop_words: Iterable[str] = ()) -> _Script:
        stop_ops, stop_words = tuple(stop_ops), tuple(stop_words)
        pipelines: list[_Pipeline] = []
        while True:
            while self._peek().is_op("\n"):
                self._next()
            tok = self._peek()
            if tok.kind == "eof" or tok.is_op(*stop_ops) or tok.is_word(*stop_words):
                return _Script(pipelines)
            pipelines += self._and_or()
            tok = self._peek()
            if tok.is_op(";", "&", "\n"):
                self._next()
            elif not (tok.kind == "eof" or tok.is_op(*stop_ops) or tok.is_word(*stop_words)):
                raise _ParseError(f"unexpected '{self._tok_text(tok)}'")

    def _and_or(self) -> list[_Pipeline]:
        pipelines = [self._pipeline()]
        while self._peek().is_op("&&", "||"):
            self._next()
            while self._peek().is_op("\n"):
                self._next()
            pipelines.append(self._pipeline())
        return pipelines

    def _pipeline(self) -> _Pipeline:
        while self._peek().is_word("!", "time"):
            if self._next().word.raw == "time" and self._peek().is_word("-p"):  # type: ignore[union-attr]
                self._next()
        commands = [self._command()]
        while self._peek().is_op("|", "|&"):
            self._next()
            while self._peek().is_op("\n"):
                self._next()
            commands.append(self._command())
        return _Pipeline(commands)

    def _command(self) -> _Command:
        with self._deeper():
            return self._command_here()

    def _command_here(self) -> _Command:
        tok = self._peek()
        if tok.is_op("("):
            self._next()
            if self.src.startswith("(", self.pos):  # `((`: an arithmetic command
                self.pos += 1
                b, start = _WordBuilder(), self.pos
                self._arithmetic(b, "((")
                command = _Compound("arith", words=[b.finish(self.src[start : self.pos])])
            else:
                command = _Compound("subshell", [self._list(stop_ops=(")",))])
                self._expect_op(")")
        elif tok.kind == "word" and tok.word is not None and tok.word.raw in _COMPOUND_PARSERS:
            command = _COMPOUND_PARSERS[tok.word.raw](self)
        elif tok.kind == "word" and tok.word is not None and tok.word.raw in _CLOSERS:
            raise _ParseError(f"unexpected '{tok.word.raw}'")
        else:
            return self._simple()
        while self._peek().kind == "redir":
            command.redirects.append(self._redirect())
        return command

    def _simple(self) -> _Command:
        assigns: list[_Word] = []
        argv: list[_Word] = []
        redirects: list[_Redirect] = []
        while True:
            tok = self._peek()
            if tok.kind == "redir":
                redirects.append(self._redirect())
            elif tok.kind == "word" and tok.word is not None:
                self._next()
                if not argv and _ASSIGN_RE.match(tok.word.raw):
                    assigns.append(tok.word)
                else:
                    argv.append(tok.word)
                if len(argv) == 1 and not assigns and not redirects and self._peek().is_op("("):
                    return self._function_body(tok.word.value)  # name() { ...; }
            else:
                break
        if not (assigns or argv or redirects):
            raise _ParseError(f"unexpected '{self._tok_text(self._peek())}'")
        return _Simple(assigns, argv, redirects)

    def _redirect(self) -> _Redirect:
        tok = self._next()
        target = self._next()
        if target.word is None:
            raise _ParseError(f"redirection '{tok.text}' has no target")
        redirect = _Redirect(tok.text, tok.fd, target.word)
        if tok.text in ("<<", "<<-"):
            quoted = target.word.raw != target.word.value
            self._heredocs.append((redirect, target.word.value, tok.text == "<<-", quoted))
        return redirect

    def _expect_op(self, op: str) -> None:
        tok = self._next()
        if not tok.is_op(op):
            raise _ParseError(f"expected '{op}' but found '{self._tok_text(tok)}'")

    def _expect_word(self, word: str) -> None:
        tok = self._next()
        if not tok.is_word(word):
            raise _ParseError(f"expected '{word}' but found '{self._tok_text(tok)}'")

    def _group(self) -> _Compound:
        self._next()
        body = self._list(stop_words=("}",))
        self._expect_word("}")
        return _Compound("group", [body])

    def _if(self) -> _Compound:
        self._next()
        bodies = []
        while True:
            bodies.append(self._list(stop_words=("then",)))
            self._expect_word("then")
            bodies.append(self._list(stop_words=("elif", "else", "fi")))
            word = self._next().word
            if word is not None and word.raw == "elif":
                continue
            if word is not None and word.raw == "else":
                bodies.append(self._list(stop_words=("fi",)))
                self._expect_word("fi")
                return _Compound("if", bodies)
            if word is not None and word.raw == "fi":
                return _Compound("if", bodies)
            raise _ParseError("unterminated if")

    def _loop(self) -> _Compound:
        kind = self._next().word.raw  # type: ignore[union-attr]
        condition = self._list(stop_words=("do",))
        return _Compound(kind, [condition, self._do_done()])

    def _do_done(self) -> _Script:
        while self._peek().is_op("\n", ";"):
            self._next()
        self._expect_word("do")
        body = self._list(stop_words=("done",))
        self._expect_word("done")
        return body

    def _for(self) -> _Compound:
        kind = self._next().word.raw  # type: ignore[union-attr]  # for or select
        if self._peek().is_op("(") and self.src.startswith("(", self.pos):
            self._next()
            self.pos += 1
            b, start = _WordBuilder(), self.pos
            self._arithmetic(b, "((")
            return _Compound("arith-for", [self._do_done()], [b.finish(self.src[start : self.pos])])
        name = self._next().word
        if name is None or not _NAME_RE.fullmatch(name.raw):
            raise _ParseError(f"bad variable name in '{kind}'")
        while self._peek().is_op("\n"):
            self._next()
        words = []
        if self._peek().is_word("in"):
            self._next()
            while self._peek().kind == "word":
                words.append(self._next().word)
        return _Compound(kind, [self._do_done()], words, name=name.raw)  # type: ignore[arg-type]

    def _case(self) -> _Compound:
        self._next()
        subject = self._next().word
        if subject is None:
            raise _ParseError("case without a word")
        while self._peek().is_op("\n"):
            self._next()
        self._expect_word("in")
        words, bodies = [subject], []
        while True:
            while self._peek().is_op("\n"):
                self._next()
            if self._peek().is_word("esac"):
                self._next()
                return _Compound("case", bodies, words)
            if self._peek().is_op("("):
                self._next()
            while True:
                pattern = self._next().word
                if pattern is None:
                    raise _ParseError("bad case pattern")
                words.append(pattern)
                if not self._peek().is_op("|"):
                    break
                self._next()
            self._expect_op(")")
            bodies.append(self._list(stop_ops=(";;", ";&", ";;&"), stop_words=("esac",)))
            if self._peek().is_op(";;", ";&", ";;&"):
                self._next()

    def _conditional(self) -> _Compound:
        """`[[ ... ]]`: < > ( ) && || are operators here, not redirections or lists."""
        self._next()
        words = []
        while True:
            tok = self._next()
            if tok.is_word("]]"):
                return _Compound("cond", words=words)
            if tok.word is not None:
                words.append(tok.word)
                if tok.word.raw == "=~":  # ( ) | < > belong to the regular expression
                    self._skip_blanks()
                    words.append(self._scan_word(literal="()|<>"))
            elif tok.is_op("\n"):
                continue
            elif (
                tok.kind in ("op", "redir")
                and tok.text in ("&&", "||", "(", ")", "<", ">")
                and not tok.fd
            ):
                words.append(_lit_word(tok.text))
            else:
                raise _ParseError("unterminated [[")

    def _function(self) -> _Compound:
        self._next()
        name = self._next().word
        if name is None:
            raise _ParseError("function without a name")
        if self._peek().is_op("("):
            self._next()
            self._expect_op(")")
        return self._function_body(name.value, parens_read=True)

    def _function_body(self, name: str, parens_read: bool = False) -> _Compound:
        if not parens_read:
            self._expect_op("(")
            self._expect_op(")")
        while self._peek().is_op("\n"):
            self._next()
        body = self._command()
        return _Compound("function", [_Script([_Pipeline([body])])], name=name)

    def _unsupported(self) -> _Compound:
        raise _ParseError(f"'{self._peek().word.raw}' is not supported")  # type: ignore[union-attr]


_COMPOUND_PARSERS: MappingProxyType[str, Callable[[_Parser], _Compound]] = MappingProxyType({
    "{": _Parser._group, "if": _Parser._if, "while": _Parser._loop, "until": _Parser._loop,
    "for": _Parser._for, "select": _Parser._for, "case": _Parser._case,
    "[[": _Parser._conditional, "function": _Parser._function, "coproc": _Parser._unsupported,
})  # fmt: skip


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


# --- option parsing -----------------------------------------------------------------------


@dataclass
class _Opts:
    opts: list[tuple[str, _Word | None]]  # ("-o", value) / ("--output", value) / ("-n", None)
    operands: list[_Word]
    unknown: _Word | None  # the first word that may be an option but is only known at run time

    def names(self) -> set[str]:
        return {name for name, _ in self.opts}


def _getopt(
    words: list[_Word],
    short_args: str = "",
    long_args: Iterable[str] = (),
    *,
    optional: str = "",
    posix: bool = False,
) -> _Opts:
    """GNU-style option parsing: clusters (-ni), attached values (-oFILE, --output=F),
    abbreviated long options, `--`. `posix` stops at the first operand, like env/xargs."""
    long_args = tuple(long_args)
    opts: list[tuple[str, _Word | None]] = []
    operands: list[_Word] = []
    unknown: _Word | None = None
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        value = word.value
        if not word.exact or not value.startswith("-") or value == "-":
            if unknown is None and not word.exact and _may_be_option(word):
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
                opts.append((name, _lit_word(attached)))
            elif _takes_value(name, long_args) and i < len(words):
                opts.append((name, words[i]))
                i += 1
            else:
                opts.append((name, None))
            continue
        for j, ch in enumerate(value[1:], start=2):
            if ch in optional:
                opts.append(("-" + ch, _lit_word(value[j:])))
                break
            if ch in short_args:
                if value[j:]:
                    opts.append(("-" + ch, _lit_word(value[j:])))
                elif i < len(words):
                    opts.append(("-" + ch, words[i]))
                    i += 1
                else:
                    opts.append(("-" + ch, None))
                break
            opts.append(("-" + ch, None))
    return _Opts(opts, operands, unknown)


def _before_dashdash(words: list[_Word]) -> list[_Word]:
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


def _first_match(opts: _Opts, denied: Iterable[str]) -> str | None:
    for name, _ in opts.opts:
        for option in denied:
            if _matches(name, option):
                return name
    return None


def _denied_hit(opts: _Opts, words: list[_Word], option: str) -> str | None:
    """`option` given, either as getopt saw it or, for long options, as any word before
    `--` (so a wrong idea of which option takes a value cannot hide it)."""
    if hit := _first_match(opts, (option,)):
        return hit
    if not option.startswith("--"):
        return None
    names = [w.value.partition("=")[0] for w in _before_dashdash(words)]
    return next((name for name in names if _matches(name, option)), None)


def _first_unlisted(opts: _Opts, allowed: Iterable[str]) -> str | None:
    allowed = frozenset(allowed)
    return next((name for name, _ in opts.opts if name not in allowed), None)


def _values(opts: _Opts, *names: str) -> list[_Word]:
    return [v for name, v in opts.opts if name in names and v is not None]


# --- read-only rules ----------------------------------------------------------------------

_SUGGEST = (
    "Read-only mode allows commands that only read, such as ls, cat, head, tail, grep, rg, "
    "find, wc, sort, sed -n, awk, jq, diff, and git status/log/diff/show/blame."
)
_SINKS = _names("/dev/null /dev/stdout /dev/stderr /dev/fd/1 /dev/fd/2")
_SYSTEM_DIRS = _names("/bin /usr/bin /usr/local/bin /sbin /usr/sbin")
_UNSAFE_VARIABLES = _names("PATH ENV IFS SHELLOPTS PROMPT_COMMAND HOME XDG_CONFIG_HOME SHELL PAGER MANPAGER EDITOR VISUAL BROWSER TAR_OPTIONS TAPE RIPGREP_CONFIG_PATH GCONV_PATH GREP_OPTIONS")  # fmt: skip
_UNSAFE_PREFIXES = tuple(_names("LD_ DYLD_ GIT_ BASH PYTHON PERL RUBY NODE_ LESS PS"))


def _unsafe_variable(name: str, value: str | None = None) -> bool:
    """Variables that make later commands run other code (PATH, LD_PRELOAD, GIT_*, PS4...).
    `value` is the assigned value when it is known exactly."""
    if name in ("PAGER", "GIT_PAGER") and value in ("", "cat"):
        return False
    return name in _UNSAFE_VARIABLES or name.startswith(_UNSAFE_PREFIXES)


def _assignment_problem(word: _Word) -> str | None:
    """NAME=value, from a shell assignment or an `env` argument."""
    m = _ASSIGN_RE.match(word.raw)
    name = m.group(1) if m else word.value.partition("=")[0]
    if _unsafe_variable(name, word.value.partition("=")[2] if word.exact else None):
        return (
            f"Setting {name} is not allowed in read-only mode: it changes which programs or "
            "code later commands run."
        )
    return None


_Check = Callable[["_ReadOnly", list[_Word]], "str | None"]


class _ReadOnly:
    """Walks a parse tree; each method returns the first reason to deny, or None."""

    def __init__(self, depth: int = 0) -> None:
        self.depth = depth

    def script(self, script: _Script) -> str | None:
        for pipeline in script.pipelines:
            for command in pipeline.commands:
                if reason := self.command(command):
                    return reason
        return None

    def command(self, command: _Command) -> str | None:
        for word in _walk_words(command):
            if reason := self.word(word):
                return reason
        for redirect in command.redirects:
            if reason := _redirect_problem(redirect):
                return reason
        if isinstance(command, _Compound):
            return self.compound(command)
        for word in command.assigns:
            if reason := _assignment_problem(word):
                return reason
        return self.argv(command.argv) if command.argv else None

    def word(self, word: _Word) -> str | None:
        if word.hazards:
            return (
                f"{word.hazards[0]} It is not allowed in read-only mode (in '{word.raw}'); use "
                "plain $name or ${name:-default} expansions and literal numbers."
            )
        for kind, script in word.nested:
            if kind == "out":
                return (
                    f"Process substitution >(...) is not allowed in read-only mode (in "
                    f"'{word.raw}'): it feeds output into another command. Use a pipe instead."
                )
            if reason := self.script(script):
                return reason
        return None

    def compound(self, command: _Compound) -> str | None:
        kind = command.kind
        if kind == "function":
            return (
                f"Defining a function ('{command.name}') is not allowed in read-only mode: it "
                "could shadow a command name. Run the commands directly."
            )
        if kind in ("arith", "arith-for"):
            return "Arithmetic commands (( ... )) are not allowed in read-only mode; use test or [ ... ]."
        if kind == "select":
            return "select is interactive and not allowed in read-only mode."
        if kind == "for" and _unsafe_variable(command.name):
            return f"A for loop over {command.name} is not allowed in read-only mode: it changes which programs run."
        if kind == "cond" and (reason := _conditional_problem(command.words)):
            return reason
        for body in command.bodies:
            if reason := self.script(body):
                return reason
        return None

    def argv(self, argv: list[_Word]) -> str | None:
        """One command with its arguments (also the inner command of a wrapper)."""
        head = argv[0]
        if not head.exact:
            return (
                f"The command name '{head.raw}' is only known when the command runs (it comes "
                "from a variable, substitution or glob), so read-only mode cannot check it. "
                "Write the command name literally."
            )
        name = head.value
        if "/" in name:
            directory, _, base = name.rpartition("/")
            if directory not in _SYSTEM_DIRS:
                return (
                    f"Running a program by path ('{name}') is not allowed in read-only mode; "
                    f"only system commands are. {_SUGGEST}"
                )
            name = base
        check = _CHECKS.get(name)
        if check is not None:
            return check(self, argv)
        if name in _ANY_ARGUMENTS:
            return None
        return _unknown_command(name)

    def text(self, source: str, *, posix: bool = False) -> str | None:
        """A command string run by `sh -c` and friends."""
        try:
            script = _Parser(source, self.depth + 1, posix=posix).parse()
        except _ParseError as exc:
            return _parse_reason(exc)
        return _ReadOnly(self.depth + 1).script(script)


def _redirect_problem(redirect: _Redirect) -> str | None:
    op, target = redirect.op, redirect.target
    if op in ("<<", "<<-", "<<<"):
        return None
    if op in ("<&", ">&") and target.exact and (target.value == "-" or target.value.isdigit()):
        return None  # fd duplication like 2>&1
    if op == "<&":
        return f"Input duplication '<&{target.raw}' is not allowed in read-only mode; use < FILE."
    if op == "<":
        if target.proc_only or (
            target.exact and not target.value.startswith(("/dev/tcp/", "/dev/udp/"))
        ):
            return None
        return (
            f"Input redirection from '{target.raw}' is not allowed in read-only mode: the "
            "file name is computed at run time or opens a network connection."
        )
    if target.exact and target.value in _SINKS:
        return None
    return (
        f"Output redirection '{op}{target.raw}' writes to a file, which read-only mode does not "
        "allow. Output may only go to /dev/null, /dev/stdout or /dev/stderr, or be "
        "duplicated like 2>&1."
    )


def _unknown_command(name: str) -> str:
    if name in _DENIED_BUILTINS:
        return f"'{name}' is not allowed in read-only mode: {_DENIED_BUILTINS[name]}. {_SUGGEST}"
    why = next((why for names, why in _DENIED_KINDS if name in names), None)
    return (
        f"'{name}' is not allowed in read-only mode: "
        f"{why or 'it is not one of the read-only commands'}. {_SUGGEST}"
    )


def _computed(name: str, word: _Word) -> str:
    return (
        f"'{name}': the argument '{word.raw}' is only known when the command runs and could "
        "turn into an option (a file named like -i matches a glob too), so read-only mode "
        "cannot check it. Write it literally, start globs with ./ (./*.txt), or put file "
        "arguments after --."
    )


def _bad_option(name: str, option: str, why: str) -> str:
    return f"'{name} {option}' is not allowed in read-only mode: {why}."


def _not_read_only(name: str, option: str) -> str:
    return _bad_option(name, option, "read-only mode allows only the options known to be read-only")


# simple commands ----------------------------------------------------------------------------


def _check_printf(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    first = argv[1] if len(argv) > 1 else None
    if (
        first is not None
        and _may_be_option(first)
        and (not first.exact or first.value.startswith("-v"))
    ):
        return _bad_option(
            "printf",
            "-v",
            "it assigns a variable, which can run code hidden in a subscript",
        )
    return None


_TEST_UNARY = _names("-a -b -c -d -e -f -g -h -k -p -r -s -t -u -w -x -G -L -N -O -S -z -n -o")
_TEST_BINARY = _names("= == != < > -eq -ne -lt -le -gt -ge -nt -ot -ef")
_TEST_OPERATORS = _TEST_UNARY | _TEST_BINARY


def _check_test(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    """`test -v 'a[$(cmd)]'` runs cmd, so -v/-R are denied, and a computed word must sit
    where it cannot become one of them: next to a binary operator or after a unary one."""
    args = argv[1:]
    if argv[0].value == "[" and args and args[-1].exact and args[-1].value == "]":
        args = args[:-1]
    for i, word in enumerate(args):
        if word.exact:
            if word.value in ("-v", "-R"):
                return _bad_option(
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


def _conditional_problem(words: list[_Word]) -> str | None:
    """`[[ $x -eq 1 ]]` evaluates $x as arithmetic (which can run code); -v too."""
    for i, word in enumerate(words):
        if not word.exact:
            continue
        if word.value in ("-v", "-R"):
            return _bad_option(
                "[[", word.value, "it evaluates array subscripts, which can run code"
            )
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


def _check_tee(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    opts = _getopt(argv[1:])
    if opts.unknown:
        return _computed("tee", opts.unknown)
    if bad := _first_unlisted(
        opts, ("-a", "--append", "-i", "--ignore-interrupts", "-p", "--output-error")
    ):
        return _not_read_only("tee", bad)
    for word in opts.operands:
        if not (word.exact and word.value in _SINKS):
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
) -> _Check:
    """A command that is read-only except for some options (and maybe extra operands)."""
    denied = MappingProxyType(dict(denied))

    def check(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
        opts = _getopt(argv[1:], short_args, long_args)
        if opts.unknown:
            return _computed(name, opts.unknown)
        for option, why in denied.items():
            if hit := _denied_hit(opts, argv[1:], option):
                return _bad_option(name, hit, why)
        if max_operands is not None and len(opts.operands) > max_operands:
            return f"'{name}' with {len(opts.operands)} file arguments is not allowed in read-only mode: {operand_why}."
        return None

    return check


_WRITES_FILE = "it writes a file"
_check_sort = _options_check(
    "sort",
    {"-o": _WRITES_FILE, "--output": _WRITES_FILE, "--compress-program": "it runs a program"},
    "kotST",
    ("--key", "--output", "--field-separator", "--buffer-size", "--temporary-directory",
     "--compress-program", "--files0-from", "--batch-size", "--parallel", "--random-source", "--sort"),
)  # fmt: skip
_check_shuf = _options_check(
    "shuf", {"-o": _WRITES_FILE, "--output": _WRITES_FILE}, "ion",
    ("--output", "--head-count", "--input-range", "--random-source"),
)  # fmt: skip
_check_uniq = _options_check(
    "uniq",
    {},
    "fsw",
    ("--skip-fields", "--skip-chars", "--check-chars"),
    1,
    "the second file is an output file",
)


def _check_xxd(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    """xxd parses whole words, not GNU clusters (`-ps` is one flag); its second operand
    is an output file. Value options are -c -g -l -s -o -n and their long spellings."""
    words, operands, i = argv[1:], [], 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.exact:
            if _may_be_option(word):
                return _computed("xxd", word)
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


_XXD_VALUED = _names("-c -cols -g -groupsize -l -len -s -seek -o -offset -n -name")
_check_file = _options_check(
    "file",
    {"-C": _WRITES_FILE, "--compile": _WRITES_FILE},
    "eFfmP",
    ("--magic-file", "--separator", "--exclude"),
)
_check_tree = _options_check(  # tree takes option values from the next words, never the cluster
    "tree", {"-o": _WRITES_FILE, "-R": "with -H it writes files in every directory"}
)
_check_rg = _options_check(
    "rg",
    {"--pre": "it runs a program on every file", "--hostname-bin": "it runs a program"},
    "ABCdefgjmMrtTE",
    ("--pre", "--pre-glob", "--hostname-bin", "--regexp", "--file", "--glob", "--iglob", "--type",
     "--type-not", "--max-count", "--max-depth", "--replace", "--context", "--after-context",
     "--before-context", "--encoding", "--threads", "--max-columns", "--type-add", "--sort", "--sortr"),
)  # fmt: skip


def _check_date(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    opts = _getopt(argv[1:], "dfr", ("--date", "--file", "--reference", "--set"), optional="I")
    if opts.unknown:
        return _computed("date", opts.unknown)
    if hit := _first_match(opts, ("-s", "--set")):
        return _bad_option("date", hit, "it sets the system clock")
    for word in opts.operands:
        if not (word.exact and word.value.startswith("+")):
            return f"'date {word.raw}' is not allowed in read-only mode: an operand without + sets the clock. Use date +FORMAT."
    return None


def _check_hostname(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    opts = _getopt(argv[1:])
    shows = ("-s", "--short", "-f", "--fqdn", "--long", "-i", "--ip-address", "-I", "--all-ip-addresses",
             "-d", "--domain", "-a", "--alias", "-A", "--all-fqdns", "-y", "--yp", "--nis", "-V", "--version")  # fmt: skip
    if opts.operands or opts.unknown or _first_unlisted(opts, shows):
        return "'hostname' may only show the host name in read-only mode (no arguments); with arguments it changes it."
    return None


def _check_python(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    if len(argv) == 2 and argv[1].exact and argv[1].value in ("-V", "--version", "-VV"):
        return None
    return (
        f"'{argv[0].value}' is not allowed in read-only mode: it is a language interpreter that "
        f"can do anything (only {argv[0].value} --version is). {_SUGGEST}"
    )


# sed ------------------------------------------------------------------------------------

_SED_ALLOWED = _names("-n --quiet --silent -e --expression -f --file -E -r --regexp-extended -s --separate -u --unbuffered -z --null-data -l --line-length --posix --sandbox --debug --help --version")  # fmt: skip


def _check_sed(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    opts = _getopt(argv[1:], "efl", ("--expression", "--file", "--line-length"))
    if opts.unknown:
        return _computed("sed", opts.unknown)
    if hit := _denied_hit(opts, argv[1:], "-i") or _denied_hit(opts, argv[1:], "--in-place"):
        return _bad_option(
            "sed",
            hit,
            "it edits files in place; run sed without -i to print the result instead",
        )
    if bad := _first_unlisted(opts, _SED_ALLOWED):
        return _not_read_only("sed", bad)
    sandboxed = "--sandbox" in opts.names()  # GNU sed then refuses w, e and r itself
    if _values(opts, "-f", "--file") and not sandboxed:
        return _bad_option(
            "sed", "-f", "the script file cannot be checked; pass the script with -e"
        )
    scripts = _values(opts, "-e", "--expression") or opts.operands[:1]
    if len(scripts) > 1 and all(w.exact for w in scripts):  # GNU sed joins them with newlines
        scripts = [*scripts, _lit_word("\n".join(w.value for w in scripts))]
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

_AWK_ALLOWED = _names("-F --field-separator -v --assign -e --source -S --sandbox -b --characters-as-bytes -c --traditional -P --posix -M --bignum -r --re-interval -n --non-decimal-data -N --use-lc-numeric --version")  # fmt: skip


def _check_awk(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    name = argv[0].value.rpartition("/")[2]
    opts = _getopt(
        argv[1:],
        "Fvfeil",
        ("--field-separator", "--assign", "--file", "--source", "--include", "--load"),
    )
    if opts.unknown:
        return _computed(name, opts.unknown)
    if _values(opts, "-f", "--file"):
        return _bad_option(
            name, "-f", "the program file cannot be checked; pass the program inline"
        )
    if bad := _first_unlisted(opts, _AWK_ALLOWED):
        return _not_read_only(name, bad)
    programs = _values(opts, "-e", "--source") or opts.operands[:1]
    files = opts.operands[0 if _values(opts, "-e", "--source") else 1 :]
    for program in programs:
        if not program.exact:
            return f"'{name}': the program '{program.raw}' is only known when the command runs, so it cannot be checked. Write it literally."
        if problem := _awk_program_problem(program.value):
            return f"'{name}' is not allowed here: the program {problem}. Programs that only read and print to stdout are allowed."
    for file in files:
        if file.value.startswith("/inet"):
            return f"'{name} {file.raw}' opens a network connection, which read-only mode does not allow."
    return None


def _awk_program_problem(program: str) -> str | None:
    """Deliberately simple, so it cannot be fooled by strings and regexes: awk runs
    commands only through system(), pipes (| and |&) and writes only through > inside
    an action; gawk adds @load/@include and /inet networking."""
    if "system" in program:
        return "calls system(), which runs a command"
    if "|" in program.replace("||", ""):
        return "uses a pipe (| or |&), which runs a command (write regex alternatives with grep -E)"
    if "@" in program:
        return "uses @load/@include or an indirect call"
    if "/inet" in program:
        return "opens a network connection"
    action = program.find("{")
    if action != -1 and ">" in program[action:]:
        return (
            "contains > inside an action, which may redirect output to a file (for a comparison, "
            "use a pattern like awk '$1 > 0 {print}')"
        )
    return None


# find ------------------------------------------------------------------------------------

_FIND_NULLARY = _names(
    "-print -print0 -ls -prune -quit -true -false -empty -readable -writable -executable "
    "-nouser -nogroup -depth -d -follow -xdev -mount -noleaf -daystart -ignore_readdir_race "
    "-noignore_readdir_race -not ! -a -and -o -or , ( ) -nowarn -warn -help --help "
    "-version --version"
)
_FIND_UNARY = _names(
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -lname -ilname -type "
    "-xtype -size -perm -user -group -uid -gid -links -inum -samefile -newer -anewer -cnewer "
    "-mtime -mmin -atime -amin -ctime -cmin -used -maxdepth -mindepth -regextype -printf "
    "-fstype -context -files0-from"
)
_FIND_WRITES = MappingProxyType({
    "-delete": "it deletes files", "-fprint": _WRITES_FILE, "-fprint0": _WRITES_FILE,
    "-fprintf": _WRITES_FILE, "-fls": _WRITES_FILE,
})  # fmt: skip


@dataclass
class _Find:
    problem: str | None = None
    writes: str | None = None  # the first -delete/-fprint... predicate
    execs: list[list[_Word]] = field(default_factory=list)


def _parse_find(argv: list[_Word]) -> _Find:
    words, i, result = argv[1:], 0, _Find()
    while i < len(words) and words[i].exact and re.fullmatch(r"-[HLP]|-O\d*|-D", words[i].value):
        i += 2 if words[i].value == "-D" else 1
    while (
        i < len(words)
        and not _may_be_option(words[i])
        and words[i].value not in ("(", ")", "!", ",")
    ):
        i += 1  # starting points
    while i < len(words):
        word = words[i]
        i += 1
        if not word.exact:
            result.problem = result.problem or _computed("find", word)
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
            result.problem = result.problem or _not_read_only("find", predicate)
    return result


def _find_path(word: _Word) -> _Word:
    """`{}` in -exec becomes a found path: unknown, but it never starts with '-'."""
    if "{}" not in word.value:
        return word
    return _opaque_word(word.raw, word.value[0] if not word.value.startswith("{}") else ".")


def _check_find(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    result = _parse_find(argv)
    if result.problem:
        return result.problem
    if result.writes:
        return _bad_option("find", result.writes, _FIND_WRITES[result.writes])
    for inner in result.execs:
        if not inner:
            return "'find -exec' without a command is not allowed in read-only mode."
        if reason := ctx.argv(inner):
            return reason
    return None


# tar -------------------------------------------------------------------------------------

_TAR_ALLOWED = _names("-t --list -v --verbose -f --file -z --gzip --gunzip -j --bzip2 -J --xz --zstd -a --auto-compress --wildcards --no-wildcards --exclude --full-time --numeric-owner --utc")  # fmt: skip


def _tar_new_style(words: list[_Word]) -> list[_Word]:
    """Old-style `tar tfv a.tar`: each letter is an option, and letters that take a value
    take the following words in order (so the archive is a.tar, not "v")."""
    if not words or not words[0].exact or words[0].value.startswith("-"):
        return words
    out, rest = [], words[1:]
    for letter in words[0].value:
        out.append(_lit_word("-" + letter))
        if letter in "fbCFgHIKLNTVX" and rest:
            out.append(rest.pop(0))
    return out + rest


def _check_tar(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    opts = _getopt(_tar_new_style(argv[1:]), "f", ("--file", "--exclude"))
    if opts.unknown:
        return _computed("tar", opts.unknown)
    if not opts.names() & {"-t", "--list"}:
        return "'tar' is allowed only for listing an archive in read-only mode (tar -tf archive.tar); extracting or creating writes files."
    if bad := _first_unlisted(opts, _TAR_ALLOWED):
        return _not_read_only("tar", bad)
    for archive in _values(opts, "-f", "--file"):
        if ":" in archive.value or not archive.exact:
            return f"'tar -f {archive.raw}' is not allowed in read-only mode: a name with ':' is a remote archive reached over the network."
    return None


# git -------------------------------------------------------------------------------------

_GIT_READ = _names("status log diff show blame annotate describe shortlog rev-parse ls-files ls-tree cat-file rev-list merge-base name-rev show-ref for-each-ref show-branch whatchanged diff-tree diff-files diff-index check-ignore check-attr count-objects version var cherry range-diff grep")  # fmt: skip
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
    args: list[_Word]
    problem: str | None = None


def _split_git(argv: list[_Word]) -> _Git:
    """Global options, then the subcommand. `-c` can set core.pager, alias.*,
    core.sshCommand... which run arbitrary commands, so it is refused outright."""
    words, i = argv[1:], 0
    while i < len(words):
        word = words[i]
        if not word.exact:
            return _Git(None, [], _computed("git", word))
        value = word.value
        name = value.partition("=")[0]
        if (
            value in ("-c", "--config-env")
            or name in ("--config-env", "--exec-path")
            or value in ("-p", "--paginate")
        ):
            why = "it can make git run arbitrary commands" if value != "-p" else "it runs a pager"
            return _Git(None, [], _bad_option("git", value, why))
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
            return _Git(None, [], _not_read_only("git", value))
        else:
            return _Git(value, words[i + 1 :])
    return _Git(None, [])


def _check_git(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
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


def _git_options_problem(sub: str, args: list[_Word]) -> str | None:
    """Options of otherwise read-only subcommands that write files or run programs."""
    denied = {
        "--output": _WRITES_FILE,
        "--ext-diff": "it runs an external diff program",
    }
    if sub == "grep":  # -O[pager] / --open-files-in-pager[=pager]
        denied |= {
            "-O": "it runs a pager program",
            "--open-files-in-pager": "it runs a pager program",
        }
        opts = _getopt(args, "efABCm", _GIT_GREP_VALUED, optional="O")
    else:
        opts = _getopt(args)
    if opts.unknown:
        return _computed(f"git {sub}", opts.unknown)
    for option, why in denied.items():
        if hit := _denied_hit(opts, args, option):
            return _bad_option(f"git {sub}", hit, why)
    return None


_GIT_GREP_VALUED = (
    "--regexp", "--file", "--after-context", "--before-context", "--context", "--max-count",
    "--max-depth", "--threads",
)  # fmt: skip


def _git_listing(
    command: str, flags: frozenset[str], flag_re: str
) -> Callable[[list[_Word]], str | None]:
    """`git branch` / `git tag`: listing options only. A name argument creates a branch or
    tag, unless a listing option (--list, --contains, ...) turns names into patterns."""

    def check(args: list[_Word]) -> str | None:
        listing, names, i = False, [], 0
        while i < len(args):
            word = args[i]
            i += 1
            value, name = word.value, word.value.partition("=")[0]
            if not word.exact or not value.startswith("-"):
                if not word.exact and _may_be_option(word):
                    return _computed(command, word)
                names.append(word)
                continue
            if name in _LISTING_VALUED:
                i += 0 if "=" in value else 1
            elif not (
                value in flags
                or re.fullmatch(flag_re, value)
                or name in ("--color", "--column", "--abbrev")
            ):
                return _bad_option(
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


_LISTING_VALUED = _names(
    "--contains --no-contains --merged --no-merged --points-at --sort --format"
)
_LISTING_FILTERS = _names("-l --list --contains --no-contains --merged --no-merged --points-at")
_git_branch = _git_listing(
    "git branch",
    _names("-a --all -r --remotes -v -vv --verbose -l --list --show-current -i --ignore-case "
           "--no-color --no-column --no-abbrev -q --quiet --omit-empty"),
    r"-[arvliq]+",
)  # fmt: skip
_git_tag = _git_listing(
    "git tag",
    _names("-l --list -i --ignore-case --no-column --omit-empty"),
    r"-[li]+|-n\d*",
)


def _git_remote(args: list[_Word]) -> str | None:
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


_GIT_CONFIG_READ = _names(
    "--get --get-all --get-regexp --get-urlmatch -l --list --get-color --get-colorbool"
)
_GIT_CONFIG_NEUTRAL = _names(
    "--global --system --local --worktree --show-origin --show-scope --name-only -z --null "
    "--includes --no-includes --bool --int --bool-or-int --path --expiry-date"
)


def _git_config(args: list[_Word]) -> str | None:
    opts = _getopt(args, "f", ("--file", "--blob", "--type", "--default"))
    if opts.unknown:
        return _computed("git config", opts.unknown)
    if bad := _first_unlisted(
        opts,
        _GIT_CONFIG_READ | _GIT_CONFIG_NEUTRAL | {"-f", "--file", "--blob", "--type", "--default"},
    ):
        return _bad_option(
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
) -> Callable[[list[_Word]], str | None]:
    """git stash/worktree/submodule/notes: only their listing subcommands."""

    def check(args: list[_Word]) -> str | None:
        first = next((w for w in args if not (w.exact and w.value.startswith("-"))), None)
        if (first is None and bare_ok) or (
            first is not None and first.exact and first.value in allowed
        ):
            return None
        shown = f"{command} {first.raw}" if first is not None else command
        use = " or ".join(f"{command} {a}" for a in allowed)
        return f"'{shown}' is not allowed in read-only mode: it changes the repository. Use {use}."

    return check


def _git_reflog(args: list[_Word]) -> str | None:
    first = next((w for w in args if not w.value.startswith("-")), None)
    if first is not None and (
        not first.exact or first.value in ("expire", "delete", "drop", "write")
    ):
        return f"'git reflog {first.raw}' is not allowed in read-only mode: it changes the reflog. Use git reflog or git reflog show."
    return None


_GIT_SPECIAL: MappingProxyType[str, Callable[[list[_Word]], str | None]] = MappingProxyType({
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


# wrappers --------------------------------------------------------------------------------


@dataclass
class _Unwrapped:
    """What a wrapper (env, xargs, timeout, ...) runs: another argv or a script string."""

    problem: str | None = None
    inner: list[_Word] | None = None
    script: str | None = None
    posix: bool = False  # the script is for sh/dash


_ENV_OPTIONS = _names("-i --ignore-environment -u --unset -C --chdir -0 --null -v --debug")


def _unwrap_env(argv: list[_Word]) -> _Unwrapped:
    opts = _getopt(argv[1:], "uC", ("--unset", "--chdir", "--split-string"), posix=True)
    if opts.unknown:
        return _Unwrapped(_computed("env", opts.unknown))
    if hit := _first_match(opts, ("-S", "--split-string")):
        return _Unwrapped(
            _bad_option(
                "env",
                hit,
                "it splits a string into a command; write the command directly",
            )
        )
    if bad := _first_unlisted(opts, _ENV_OPTIONS):
        return _Unwrapped(_not_read_only("env", bad))
    for unset in _values(opts, "-u", "--unset"):
        if not unset.exact or _unsafe_variable(unset.value):
            return _Unwrapped(
                _bad_option("env", f"-u {unset.raw}", "it changes which programs run")
            )
    operands = (
        opts.operands[1:] if opts.operands[:1] and opts.operands[0].value == "-" else opts.operands
    )
    while operands and "=" in operands[0].value:
        if not operands[0].exact or (reason := _assignment_problem(operands[0])):
            return _Unwrapped(reason if operands[0].exact else _computed("env", operands[0]))
        operands = operands[1:]
    return _Unwrapped(inner=operands or None)


def _unwrap_xargs(argv: list[_Word]) -> _Unwrapped:
    """The inner command gets arguments from stdin, which could be anything, options too."""
    opts = _getopt(
        argv[1:], "aEdIsnLP", ("--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars"),
        optional="eil", posix=True,
    )  # fmt: skip
    if opts.unknown:
        return _Unwrapped(_computed("xargs", opts.unknown))
    allowed = ("-0", "--null", "-a", "--arg-file", "-d", "--delimiter", "-E", "-e", "--eof", "-I", "-i",
               "--replace", "-L", "-l", "--max-lines", "-n", "--max-args", "-P", "--max-procs", "-r",
               "--no-run-if-empty", "-s", "--max-chars", "-t", "--verbose", "-x", "--exit")  # fmt: skip
    if bad := _first_unlisted(opts, allowed):
        return _Unwrapped(_not_read_only("xargs", bad))
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
        return _Unwrapped()  # xargs runs echo
    if replace:
        inner = [
            _opaque_word(w.raw, None if w.value.startswith(replace) else w.value[0])
            if replace in w.value
            else w
            for w in inner
        ]
        return _Unwrapped(inner=inner)
    return _Unwrapped(inner=[*inner, _opaque_word("<arguments from stdin>")])


def _option_wrapper(
    name: str,
    short_args: str,
    long_args: tuple[str, ...],
    allowed: tuple[str, ...],
    skip: int = 0,
) -> Callable[[list[_Word]], _Unwrapped]:
    """timeout, nice, nohup, stdbuf, command, time: options, maybe a fixed operand, a command."""

    def unwrap(argv: list[_Word]) -> _Unwrapped:
        opts = _getopt(argv[1:], short_args, long_args, posix=True)
        if opts.unknown:
            return _Unwrapped(_computed(name, opts.unknown))
        if name == "command" and opts.names() & {"-v", "-V"}:
            return _Unwrapped()  # only describes the command
        if bad := _first_unlisted(opts, allowed):
            return _Unwrapped(_not_read_only(name, bad))
        return _Unwrapped(inner=opts.operands[skip:] or None)

    return unwrap


def _unwrap_builtin(argv: list[_Word]) -> _Unwrapped:
    return _Unwrapped(inner=argv[1:] or None)


def _unwrap_shell(argv: list[_Word]) -> _Unwrapped:
    """`sh -c 'script'`: the script is parsed and checked like the outer command line.
    A shell reading a file or stdin runs commands nobody can check."""
    name, words = argv[0].value.rpartition("/")[2], argv[1:]
    wants_script, i = False, 0
    while i < len(words):
        word = words[i]
        if not word.exact:
            return _Unwrapped(_computed(name, word))
        value = word.value
        if value in ("--norc", "--noprofile", "--posix"):
            i += 1
        elif value in ("-o", "+o"):
            if i + 1 >= len(words) or words[i + 1].value not in _SET_OPTIONS:
                return _Unwrapped(_not_read_only(name, value))
            i += 2
        elif value[:1] in ("-", "+") and len(value) > 1 and not value.startswith("--"):
            if set(value[1:]) - set("euxvlc"):
                return _Unwrapped(_not_read_only(name, value))
            wants_script = wants_script or "c" in value
            i += 1
        elif wants_script:
            return _Unwrapped(script=value, posix=name in ("sh", "dash"))
        else:
            break
    return _Unwrapped(
        f"'{name}' without -c is not allowed in read-only mode: it would run commands from a "
        f"file or from stdin, which cannot be checked. Use {name} -c 'commands' or run them directly."
    )


_WRAPPERS: MappingProxyType[str, Callable[[list[_Word]], _Unwrapped]] = MappingProxyType({
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
    **dict.fromkeys(("sh", "bash", "dash", "zsh"), _unwrap_shell),
})  # fmt: skip


def _check_wrapper(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    unwrapped = _WRAPPERS[argv[0].value.rpartition("/")[2]](argv)
    if unwrapped.problem:
        return unwrapped.problem
    if unwrapped.script is not None:
        return ctx.text(unwrapped.script, posix=unwrapped.posix)
    return ctx.argv(unwrapped.inner) if unwrapped.inner else None


# shell builtins that change the shell ----------------------------------------------------


def _check_declare(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    """export/declare/local/readonly: plain names and NAME=value only; -n (nameref) and
    -i (arithmetic) could smuggle code in or point a harmless name at PATH."""
    name = argv[0].value
    flags = set("pn" if name == "export" else "pxrgluFfaA")
    for word in argv[1:]:
        if _ASSIGN_RE.match(word.raw):
            if reason := _assignment_problem(word):
                return reason
        elif word.exact and _NAME_RE.fullmatch(word.value):
            printing = any(w.exact and w.value == "-p" for w in argv[1:])
            if _unsafe_variable(word.value) and not printing:  # e.g. export -n PATH
                return f"'{name} {word.value}' is not allowed in read-only mode: it changes which programs run."
        elif not (
            word.exact
            and word.value[:1] in "-+"
            and len(word.value) > 1
            and set(word.value[1:]) <= flags
        ):
            return f"'{name} {word.raw}' is not allowed in read-only mode; use plain NAME=value assignments."
    return None


def _check_read(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    """`read` assigns variables, so the names get the same rules as assignments;
    a subscripted name (`a[$(cmd)]`) would run code."""
    opts = _getopt(argv[1:], "adinNptu", ())
    if opts.unknown:
        return _computed("read", opts.unknown)
    if bad := _first_unlisted(opts, ("-r", "-s", "-d", "-n", "-N", "-p", "-t", "-u", "-a")):
        return _not_read_only("read", bad)
    names = opts.operands + _values(opts, "-a")
    for word in names:
        if not (word.exact and _NAME_RE.fullmatch(word.value)) or _unsafe_variable(word.value):
            return f"'read {word.raw}' is not allowed in read-only mode; read into plain variable names like line."
    return None


def _check_unset(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    """`unset PATH` makes bash look for commands in the current directory."""
    for word in argv[1:]:
        if not (
            word.exact and (_NAME_RE.fullmatch(word.value) or word.value in ("-v", "-f", "-n"))
        ):
            return f"'unset {word.raw}' is not allowed in read-only mode; unset plain variable names only."
        if _unsafe_variable(word.value):
            return f"'unset {word.value}' is not allowed in read-only mode: it changes which programs run."
    return None


_SET_OPTIONS = _names("errexit nounset xtrace verbose pipefail noglob noclobber")


def _check_set(ctx: _ReadOnly, argv: list[_Word]) -> str | None:
    """Only options that make scripts stricter; -k would turn arguments into environment,
    -H enables history expansion."""
    words, i = argv[1:], 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.exact:
            return _computed("set", word)
        value = word.value
        if value in ("--", "-") or value[:1] not in ("-", "+") or len(value) < 2:
            return None  # positional parameters follow
        flags = value[1:]
        if set(flags.rstrip("o")) - set("euxvfC") or flags.count("o") > 1:
            return _not_read_only("set", value)
        if flags.endswith("o") and i < len(words):  # -o NAME, also at the end of a cluster
            if words[i].value not in _SET_OPTIONS:
                return _not_read_only(f"set {value}", words[i].raw)
            i += 1
    return None


_CHECKS: MappingProxyType[str, _Check] = MappingProxyType({
    "printf": _check_printf, "test": _check_test, "[": _check_test, "tee": _check_tee,
    "sort": _check_sort, "shuf": _check_shuf, "uniq": _check_uniq, "xxd": _check_xxd,
    "file": _check_file, "tree": _check_tree, "rg": _check_rg, "date": _check_date,
    "hostname": _check_hostname, "python": _check_python, "python3": _check_python,
    "sed": _check_sed, "find": _check_find, "tar": _check_tar, "git": _check_git,
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk"), _check_awk),
    **dict.fromkeys(_WRAPPERS, _check_wrapper),
    **dict.fromkeys(("export", "declare", "typeset", "local", "readonly"), _check_declare),
    "unset": _check_unset, "set": _check_set, "read": _check_read,
})  # fmt: skip

#: Commands whose arguments cannot make them write, run other programs or use the network.
_ANY_ARGUMENTS = _names(
    "ls cat head tail wc cut tr nl tac rev fold fmt pr expand unexpand column paste join comm "
    "diff cmp stat du df pwd echo true false : basename dirname realpath readlink which type "
    "whoami id groups logname uname arch nproc uptime free ps tty locale getconf printenv "
    "grep egrep fgrep zcat bzcat xzcat jq md5sum sha1sum sha224sum sha256sum sha384sum sha512sum "
    "b2sum cksum sum base64 base32 hexdump od strings seq sleep yes expr numfmt factor cal "
    "cd pushd popd dirs wait jobs exit return break continue shift times"
)

_DENIED_KINDS: tuple[tuple[frozenset[str], str], ...] = (
    (_names("rm rmdir mv cp touch mkdir ln chmod chown chgrp truncate dd install shred mkfifo "
            "mknod unlink patch split csplit ed ex sponge zip unzip gzip gunzip bzip2 xz 7z"),
     "it changes files"),
    (_names("curl wget ssh scp sftp nc ncat netcat telnet ftp socat rsync ping"),
     "it uses the network"),
    (_names("pip pip3 pipx npm npx yarn pnpm apt apt-get dpkg brew gem cargo go conda mamba uv "
            "poetry bundle composer apk yum dnf"),
     "it installs software or runs project code"),
    (_names("python2 perl ruby node nodejs deno bun php lua R Rscript julia irb tclsh java pwsh"),
     "it is a language interpreter that can do anything"),
    (_names("make cmake ninja gradle mvn ant bazel cc gcc g++ clang rustc javac tsc"),
     "it builds or runs project code"),
    (_names("sudo su doas pkexec runuser"), "it runs commands as another user"),
    (_names("kill pkill killall shutdown reboot halt poweroff systemctl service"),
     "it controls processes or the system"),
    (_names("less more most vi vim nano emacs top htop watch man"), "it is interactive"),
)  # fmt: skip
_DENIED_BUILTINS = MappingProxyType({
    "eval": "it runs a string as commands, which cannot be checked; run the commands directly",
    "source": "it runs commands from a file, which cannot be checked",
    ".": "it runs commands from a file, which cannot be checked",
    "exec": "it replaces the shell with another program",
    "alias": "an alias could make a read-only name run something else",
    "trap": "it runs a command string later",
    "hash": "it can remap command names to other programs",
    "enable": "it can load or disable shell builtins",
    "shopt": "it changes how later commands are parsed",
    "let": "it evaluates arithmetic, which can run code hidden in variables",
    "mapfile": "its -C callback runs commands",
    "readarray": "its -C callback runs commands",
    "compgen": "its -C option runs commands",
    "complete": "it changes completion, which can run commands",
    "fc": "it re-runs commands from history",
    "history": "it can write the history file",
    "coproc": "it starts a background command with pipes",
})  # fmt: skip


# --- dangerous commands (developer approvals) ---------------------------------------------

_DISK_WRITERS = _names("dd shred wipefs fdisk sfdisk parted mkswap")
_SHELLS = _names("sh bash dash zsh ksh fish python python3 perl ruby node")
_SAFE_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/fd/")


class _Danger:
    """Finds the first destructive command anywhere in a parse tree."""

    def __init__(self, depth: int = 0) -> None:
        self.depth = depth

    def script(self, script: _Script) -> str | None:
        for pipeline in script.pipelines:
            for index, command in enumerate(pipeline.commands):
                if reason := self.command(command, piped=index > 0):
                    return reason
        return None

    def command(self, command: _Command, piped: bool) -> str | None:
        for word in _walk_words(command):
            for _, nested in word.nested:
                if reason := self.script(nested):
                    return reason
        for redirect in command.redirects:
            target = redirect.target
            writes = redirect.op not in ("<", "<<", "<<-", "<<<", "<&", ">&") or (
                redirect.op == ">&" and not target.value.isdigit() and target.value != "-"
            )
            if (
                writes
                and target.value.startswith("/dev/")
                and not target.value.startswith(_SAFE_DEVICES)
            ):
                return f"it writes to the device {target.value}"
        if isinstance(command, _Compound):
            for body in command.bodies:
                if reason := self.script(body):
                    return reason
            return None
        return self.argv(command.argv, piped) if command.argv else None

    def argv(self, argv: list[_Word], piped: bool) -> str | None:
        if not argv[0].exact:
            return None
        name = argv[0].value.rpartition("/")[2]
        args = [w.value for w in argv[1:]]
        if reason := _danger_rule(name, args, argv, piped):
            return reason
        if name in _WRAPPERS:
            unwrapped = _WRAPPERS[name](argv)
            if unwrapped.script is not None:
                return self.text(unwrapped.script, posix=unwrapped.posix)
            if unwrapped.inner:
                return self.argv(unwrapped.inner, piped)
        if name == "find":
            for inner in _parse_find(argv).execs:
                if inner and (reason := self.argv(inner, piped=False)):
                    return reason
        if name == "eval" and all(w.exact for w in argv[1:]):
            return self.text(" ".join(args))
        return None

    def text(self, source: str, *, posix: bool = False) -> str | None:
        try:
            script = _Parser(source, self.depth + 1, posix=posix).parse()
        except _ParseError as exc:
            return f"it runs a command string that could not be checked ({exc})"
        return _Danger(self.depth + 1).script(script)


def _short_flags(args: list[str]) -> str:
    return "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))


def _danger_rule(name: str, args: list[str], argv: list[_Word], piped: bool) -> str | None:
    flags = _short_flags(args)
    if name == "rm" and (set(flags) & set("rRf") or {"--recursive", "--force"} & set(args)):
        return "rm -r/-f deletes files recursively or without asking"
    if name == "git":
        return _git_danger(argv)
    if name in _DISK_WRITERS or name.startswith(("mkfs", "mke2fs")):
        return f"{name} can overwrite disks or files irrecoverably"
    if name in ("chmod", "chown", "chgrp") and ("R" in flags or "--recursive" in args):
        return f"{name} -R changes permissions of a whole tree"
    if name in ("sudo", "su", "doas", "pkexec"):
        return f"{name} runs commands with elevated privileges"
    if name in ("shutdown", "reboot", "halt", "poweroff") or (
        name == "init" and args[:1] in (["0"], ["6"])
    ):
        return f"{name} shuts down or restarts the machine"
    if name == "systemctl" and set(args) & {"poweroff", "reboot", "halt", "kexec"}:
        return "systemctl shuts down or restarts the machine"
    if name == "kill" and _kills_hard(args):
        return "kill -9 kills processes without letting them clean up"
    if name in ("pkill", "killall"):
        return f"{name} kills processes by name"
    if name == "truncate":
        return "truncate cuts files to a size, destroying their contents"
    if name == "find" and _parse_find(argv).writes == "-delete":
        return "find -delete deletes files"
    if name in _SHELLS and piped and not [a for a in args if not a.startswith("-")]:
        return f"it pipes data into {name}, which runs it as a program"
    if name in _SHELLS and any(w.proc_only for w in argv[1:2]):
        return f"{name} runs a script produced by another command"
    if (name == "eval" or (name in _SHELLS and "c" in flags)) and not all(
        w.exact for w in argv[1:]
    ):
        return f"{name} runs a command string that is only known when it runs"
    return None


def _kills_hard(args: list[str]) -> bool:
    signals = {"9", "KILL", "SIGKILL"}
    pairs = itertools.pairwise(args)
    return bool({"-9", "-KILL", "-SIGKILL"} & set(args)) or any(
        a in ("-s", "-n") and b in signals for a, b in pairs
    )


def _git_danger(argv: list[_Word]) -> str | None:
    git = _split_git(argv)
    sub, args = git.sub, [w.value for w in git.args]
    flags = _short_flags(args)
    if sub == "push":
        return "git push publishes commits to a remote"
    if sub == "reset" and "--hard" in args:
        return "git reset --hard discards uncommitted changes"
    if sub == "clean" and ("f" in flags or "--force" in args):
        return "git clean -f deletes untracked files"
    if sub == "checkout" and ({".", "--", "--force"} & set(args) or "f" in flags):
        return "git checkout of paths discards uncommitted changes"
    if sub == "restore" and not ("--staged" in args and "--worktree" not in args):
        return "git restore discards uncommitted changes"
    if sub == "branch" and ("D" in flags or ("--delete" in args and "--force" in args)):
        return "git branch -D deletes a branch even if it is not merged"
    if sub == "stash" and args[:1] in (["drop"], ["clear"]):
        return f"git stash {args[0]} deletes stashed changes"
    if sub == "filter-branch":
        return "git filter-branch rewrites history"
    return None
