"""The parser's top layer: the grammar of bash command lines."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import MappingProxyType

from rho_agent.permissions.shell._expansions import Expander
from rho_agent.permissions.shell._lexer import ParseError, WordBuilder
from rho_agent.permissions.shell._syntax import (
    ASSIGN_RE,
    NAME_RE,
    Command,
    Compound,
    Pipeline,
    Redirect,
    Script,
    Simple,
    Word,
    lit_word,
    names,
)

_CLOSERS = names("then elif else fi do done esac } ]]")


class Parser(Expander):
    """A recursive-descent parser for bash command lines: the grammar of lists,
    pipelines, simple and compound commands, on top of the lexer and expansions."""

    def parse(self) -> Script:
        script = self._list()
        tok = self._peek()
        if tok.kind != "eof":
            raise ParseError(f"unexpected '{self._tok_text(tok)}'")
        return script

    # grammar --------------------------------------------------------------------------

    def _list(self, stop_ops: Iterable[str] = (), stop_words: Iterable[str] = ()) -> Script:
        stop_ops, stop_words = tuple(stop_ops), tuple(stop_words)
        pipelines: list[Pipeline] = []
        while True:
            while self._peek().is_op("\n"):
                self._next()
            tok = self._peek()
            if tok.kind == "eof" or tok.is_op(*stop_ops) or tok.is_word(*stop_words):
                return Script(pipelines)
            pipelines += self._and_or()
            tok = self._peek()
            if tok.is_op(";", "&", "\n"):
                self._next()
            elif not (tok.kind == "eof" or tok.is_op(*stop_ops) or tok.is_word(*stop_words)):
                raise ParseError(f"unexpected '{self._tok_text(tok)}'")

    def _and_or(self) -> list[Pipeline]:
        pipelines = [self._pipeline()]
        while self._peek().is_op("&&", "||"):
            self._next()
            while self._peek().is_op("\n"):
                self._next()
            pipelines.append(self._pipeline())
        return pipelines

    def _pipeline(self) -> Pipeline:
        while self._peek().is_word("!", "time"):
            if self._next().word.raw == "time" and self._peek().is_word("-p"):  # type: ignore[union-attr]
                self._next()
        commands = [self._command()]
        while self._peek().is_op("|", "|&"):
            self._next()
            while self._peek().is_op("\n"):
                self._next()
            commands.append(self._command())
        return Pipeline(commands)

    def _command(self) -> Command:
        with self._deeper():
            return self._command_here()

    def _command_here(self) -> Command:
        tok = self._peek()
        if tok.is_op("("):
            self._next()
            if self.src.startswith("(", self.pos):  # `((`: an arithmetic command
                self.pos += 1
                b, start = WordBuilder(), self.pos
                self._arithmetic(b, "((")
                command = Compound("arith", words=[b.finish(self.src[start : self.pos])])
            else:
                command = Compound("subshell", [self._list(stop_ops=(")",))])
                self._expect_op(")")
        elif tok.kind == "word" and tok.word is not None and tok.word.raw in _COMPOUND_PARSERS:
            command = _COMPOUND_PARSERS[tok.word.raw](self)
        elif tok.kind == "word" and tok.word is not None and tok.word.raw in _CLOSERS:
            raise ParseError(f"unexpected '{tok.word.raw}'")
        else:
            return self._simple()
        while self._peek().kind == "redir":
            command.redirects.append(self._redirect())
        return command

    def _simple(self) -> Command:
        assigns: list[Word] = []
        argv: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            tok = self._peek()
            if tok.kind == "redir":
                redirects.append(self._redirect())
            elif tok.kind == "word" and tok.word is not None:
                self._next()
                if not argv and ASSIGN_RE.match(tok.word.raw):
                    assigns.append(tok.word)
                else:
                    argv.append(tok.word)
                if len(argv) == 1 and not assigns and not redirects and self._peek().is_op("("):
                    return self._function_body(tok.word.value)  # name() { ...; }
            else:
                break
        if not (assigns or argv or redirects):
            raise ParseError(f"unexpected '{self._tok_text(self._peek())}'")
        return Simple(assigns, argv, redirects)

    def _redirect(self) -> Redirect:
        tok = self._next()
        target = self._next()
        if target.word is None:
            raise ParseError(f"redirection '{tok.text}' has no target")
        redirect = Redirect(tok.text, tok.fd, target.word)
        if tok.text in ("<<", "<<-"):
            quoted = target.word.raw != target.word.value
            self._heredocs.append((redirect, target.word.value, tok.text == "<<-", quoted))
        return redirect

    def _expect_op(self, op: str) -> None:
        tok = self._next()
        if not tok.is_op(op):
            raise ParseError(f"expected '{op}' but found '{self._tok_text(tok)}'")

    def _expect_word(self, word: str) -> None:
        tok = self._next()
        if not tok.is_word(word):
            raise ParseError(f"expected '{word}' but found '{self._tok_text(tok)}'")

    def _group(self) -> Compound:
        self._next()
        body = self._list(stop_words=("}",))
        self._expect_word("}")
        return Compound("group", [body])

    def _if(self) -> Compound:
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
                return Compound("if", bodies)
            if word is not None and word.raw == "fi":
                return Compound("if", bodies)
            raise ParseError("unterminated if")

    def _loop(self) -> Compound:
        kind = self._next().word.raw  # type: ignore[union-attr]
        condition = self._list(stop_words=("do",))
        return Compound(kind, [condition, self._do_done()])

    def _do_done(self) -> Script:
        while self._peek().is_op("\n", ";"):
            self._next()
        self._expect_word("do")
        body = self._list(stop_words=("done",))
        self._expect_word("done")
        return body

    def _for(self) -> Compound:
        kind = self._next().word.raw  # type: ignore[union-attr]  # for or select
        if self._peek().is_op("(") and self.src.startswith("(", self.pos):
            self._next()
            self.pos += 1
            b, start = WordBuilder(), self.pos
            self._arithmetic(b, "((")
            return Compound("arith-for", [self._do_done()], [b.finish(self.src[start : self.pos])])
        name = self._next().word
        if name is None or not NAME_RE.fullmatch(name.raw):
            raise ParseError(f"bad variable name in '{kind}'")
        while self._peek().is_op("\n"):
            self._next()
        words = []
        if self._peek().is_word("in"):
            self._next()
            while self._peek().kind == "word":
                words.append(self._next().word)
        return Compound(kind, [self._do_done()], words, name=name.raw)  # type: ignore[arg-type]

    def _case(self) -> Compound:
        self._next()
        subject = self._next().word
        if subject is None:
            raise ParseError("case without a word")
        while self._peek().is_op("\n"):
            self._next()
        self._expect_word("in")
        words, bodies = [subject], []
        while True:
            while self._peek().is_op("\n"):
                self._next()
            if self._peek().is_word("esac"):
                self._next()
                return Compound("case", bodies, words)
            if self._peek().is_op("("):
                self._next()
            while True:
                pattern = self._next().word
                if pattern is None:
                    raise ParseError("bad case pattern")
                words.append(pattern)
                if not self._peek().is_op("|"):
                    break
                self._next()
            self._expect_op(")")
            bodies.append(self._list(stop_ops=(";;", ";&", ";;&"), stop_words=("esac",)))
            if self._peek().is_op(";;", ";&", ";;&"):
                self._next()

    def _conditional(self) -> Compound:
        """`[[ ... ]]`: < > ( ) && || are operators here, not redirections or lists."""
        self._next()
        words = []
        while True:
            tok = self._next()
            if tok.is_word("]]"):
                return Compound("cond", words=words)
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
                words.append(lit_word(tok.text))
            else:
                raise ParseError("unterminated [[")

    def _function(self) -> Compound:
        self._next()
        name = self._next().word
        if name is None:
            raise ParseError("function without a name")
        if self._peek().is_op("("):
            self._next()
            self._expect_op(")")
        return self._function_body(name.value, parens_read=True)

    def _function_body(self, name: str, parens_read: bool = False) -> Compound:
        if not parens_read:
            self._expect_op("(")
            self._expect_op(")")
        while self._peek().is_op("\n"):
            self._next()
        body = self._command()
        return Compound("function", [Script([Pipeline([body])])], name=name)

    def _unsupported(self) -> Compound:
        raise ParseError(f"'{self._peek().word.raw}' is not supported")  # type: ignore[union-attr]


_COMPOUND_PARSERS: MappingProxyType[str, Callable[[Parser], Compound]] = MappingProxyType({
    "{": Parser._group, "if": Parser._if, "while": Parser._loop, "until": Parser._loop,
    "for": Parser._for, "select": Parser._for, "case": Parser._case,
    "[[": Parser._conditional, "function": Parser._function, "coproc": Parser._unsupported,
})  # fmt: skip
