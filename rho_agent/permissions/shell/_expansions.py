"""The parser's middle layer: expansions and substitutions inside words."""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Iterable
from types import MappingProxyType

from rho_agent.permissions.shell._lexer import Lexer, ParseError, WordBuilder
from rho_agent.permissions.shell._syntax import NAME_RE, Script
from rho_agent.permissions.shell._variables import unsafe_variable

_SPECIAL_PARAMETER = re.compile(r"\d+|[@*#?$!0-]")
_HEX_DIGITS = MappingProxyType({n: re.compile(rf"[0-9a-fA-F]{{1,{n}}}") for n in (2, 4, 8)})
_OCTAL_DIGITS = re.compile(r"[0-7]{1,3}")
_ARITH_SAFE = frozenset("0123456789 \t\n+-*/%<>=!&|^~?:,()#")
_ANSI_ESCAPES = MappingProxyType({
    "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
})  # fmt: skip


class Expander(Lexer):
    """`$name`, `${...}`, `$(...)`, backquotes, `$((...))`, `$'...'`, `<(...)` and
    `name=(...)`: what each can run is recorded in the word (`nested`, `hazards`)."""

    def _dollar(self, b: WordBuilder, quoted: bool) -> None:
        with self._deeper():
            self._dollar_here(b, quoted)

    def _dollar_here(self, b: WordBuilder, quoted: bool) -> None:
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
            raise ParseError(f"${nxt}...{nxt} quoting is bash syntax; run the script with bash -c")
        elif nxt == "'" and not quoted:
            self._ansi_c(b)
        elif nxt == '"' and not quoted:
            self.pos += 2
            self._double_quoted(b)
        elif nxt == "[":
            raise ParseError("the old $[...] arithmetic syntax is not supported")
        elif (m := NAME_RE.match(src, start + 1)) is not None:
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

    def _nested_list(self, closer: str) -> Script:
        """Parse `...)` of `$(...)`, `<(...)`, `>(...)`."""
        with self._deeper():
            peeked, self._peeked = self._peeked, None
            script = self._list(stop_ops=(closer,))
            if not self._next().is_op(closer):
                raise ParseError(f"missing '{closer}'")
            self._peeked = peeked
            return script

    def _process_substitution(self, b: WordBuilder) -> None:
        start, kind = self.pos, "in" if self.src[self.pos] == "<" else "out"
        self.pos += 2
        b.nested.append((kind, self._nested_list(")")))
        b.add("proc", self.src[start : self.pos])

    def _array_value(self, b: WordBuilder) -> None:
        """`name=(a b c)`: element words are checked like any other word."""
        with self._deeper():
            self._array_elements(b)

    def _array_elements(self, b: WordBuilder) -> None:
        start = self.pos
        self.pos += 1
        while True:
            tok = self._lex()
            if tok.is_op(")"):
                break
            if tok.is_op("\n"):
                continue
            if tok.word is None:
                raise ParseError(f"unexpected '{self._tok_text(tok)}' in an array value")
            b.nested += tok.word.nested
            b.hazards += tok.word.hazards
            if tok.word.raw.startswith("["):
                b.hazards.append(
                    "An array subscript [...] is evaluated as arithmetic, which can run code."
                )
        b.add("exp", self.src[start : self.pos])

    def _backquote(self, b: WordBuilder, quoted: bool) -> None:
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
            raise ParseError("unterminated backquote (`)")
        self.pos = i + 1
        b.nested.append(("cmd", self._nested("".join(out)).parse()))
        b.add("exp" if quoted else "uexp", src[start : self.pos])

    def _arithmetic(self, b: WordBuilder, opener: str) -> None:
        """Scan to the `))` closing `$((` or `((`. Names in arithmetic are evaluated
        recursively (`x='a[$(cmd)]'; echo $((x))` runs cmd), so only numbers are safe."""
        depth, safe, src = 0, True, self.src
        while True:
            if self.pos >= len(src):
                raise ParseError(f"unterminated {opener}")
            c = src[self.pos]
            if c in "$`":
                safe = False
                inner = WordBuilder()
                (
                    self._dollar(inner, quoted=True)
                    if c == "$"
                    else self._backquote(inner, quoted=True)
                )
                b.absorb(inner)
                continue
            if c == ")" and depth == 0:
                if not src.startswith("))", self.pos):
                    raise ParseError(f"unbalanced parentheses in {opener}")
                self.pos += 2
                break
            depth += {"(": 1, ")": -1}.get(c, 0)
            safe = safe and c in _ARITH_SAFE
            self.pos += 1
        if not safe:
            b.hazards.append(
                f"Arithmetic {opener}...)) on names or substitutions can run code hidden in a variable."
            )

    def _parameter(self, b: WordBuilder) -> None:
        """`${...}`. Plain, default-value, length, trim and replace forms are fine;
        indirection, subscripts, substring offsets and @ transforms can run hidden code."""
        src = self.src
        if src.startswith("!", self.pos):
            b.hazards.append("Indirect expansion ${!name} can run code hidden in a variable.")
            self.pos += 1
        elif src.startswith("#", self.pos) and not src.startswith("#}", self.pos):
            self.pos += 1
        m = NAME_RE.match(src, self.pos) or _SPECIAL_PARAMETER.match(src, self.pos)
        if m is None:
            raise ParseError("bad ${...} substitution")
        name, self.pos = m.group(), m.end()
        op = src[self.pos : self.pos + 2]
        if not op:
            raise ParseError("unterminated ${...}")
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
            raise ParseError(f"bad ${{{name}{op[:1]}...}} substitution")
        if "=" in op[:2] and op[:1] in ":=" and unsafe_variable(name):
            b.hazards.append(f"Assigning {name} with ${{{name}:=...}} changes which programs run.")
        self._parameter_word(b)

    def _parameter_word(self, b: WordBuilder) -> None:
        """The rest of `${name op word}` up to the matching `}` (bash counts braces).
        Single quotes delimit text here, but inside "${x:-'...'}" bash then expands
        what they enclose, so their text is scanned for substitutions too."""
        depth, src = 0, self.src
        while self.pos < len(src):
            c = src[self.pos]
            if c == "}" and depth == 0:
                self.pos += 1
                return
            inner = WordBuilder()
            if c == "\\":
                self.pos += 2
            elif c == "'":
                end = src.find("'", self.pos + 1)
                if end == -1:
                    raise ParseError("unterminated single quote (') in ${...}")
                inner.absorb(self._nested(src[self.pos + 1 : end])._as_expanding())
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
        raise ParseError("unterminated ${...}")

    def _ansi_c(self, b: WordBuilder) -> None:
        """`$'...'`, decoded, so `$'\\x72m'` is the command `rm`."""
        src, i, out = self.src, self.pos + 2, []
        known = True
        while True:
            if i >= len(src):
                raise ParseError("unterminated $'...' quote")
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

    # grammar: provided by _parser.Parser ----------------------------------------------

    @abstractmethod
    def parse(self) -> Script: ...

    @abstractmethod
    def _list(self, stop_ops: Iterable[str] = (), stop_words: Iterable[str] = ()) -> Script: ...
