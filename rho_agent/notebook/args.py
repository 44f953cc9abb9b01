"""Parsing `%%rho` and `%rho` lines into typed objects.

The options the magics share with the CLI (`--backend --profile --model --working-dir
--max-turns --max-cost --yes --upload --download`, and those backends contribute, such as
daytona's `--image --snapshot --dockerfile --keep --sandbox`) come from the front-end kit's
option table, as `rho-agent main`'s do, so their names, help and limits have one definition.
The notebook adds its own (`--session --new --background --out --var --allow-rerun`). Lines are split with
`shlex`; every mistake raises a ConfigError that names the option and points at `%rho help`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from rho_agent.errors import ConfigError
from rho_agent.frontend import option_table, session_option_names
from rho_agent.options import Option

# ---------------------------------------------------------------------------- typed results


@dataclass(frozen=True)
class CellArgs:
    """A `%%rho` line. `agent` holds only the agent options that were given."""

    agent: dict[str, Any] = field(default_factory=dict)
    upload: tuple[str, ...] = ()
    download: tuple[str, ...] = ()
    session: str | None = None
    new: bool = False
    background: bool = False
    out: str | None = None
    vars: tuple[str, ...] = ()
    allow_rerun: bool = False


@dataclass(frozen=True)
class Status:
    pass


@dataclass(frozen=True)
class Upload:
    local: str
    remote: str | None
    session: str | None


@dataclass(frozen=True)
class Download:
    remote: str
    local: str | None
    session: str | None


@dataclass(frozen=True)
class Sandboxes:
    action: str  # list | cleanup


@dataclass(frozen=True)
class Reset:
    session: str | None
    all: bool


@dataclass(frozen=True)
class Config:
    """`%rho config [options]`: `agent` and `allow_rerun` are new defaults; `clear` forgets them."""

    agent: dict[str, Any]
    allow_rerun: bool | None
    clear: bool
    #: USD all sessions of the kernel may spend together; 0 removes the cap; None: unchanged.
    budget: float | None = None


@dataclass(frozen=True)
class PanelArgs:
    session: str | None


@dataclass(frozen=True)
class Help:
    text: str


@dataclass(frozen=True)
class Demo:
    """`%rho demo`: the scripted demo model if this kernel has no API key (`off`: end it)."""

    off: bool = False


@dataclass(frozen=True)
class Login:
    """`%rho login`: type an Anthropic API key once, kept in the kernel's memory."""


LineArgs = Status | Upload | Download | Sandboxes | Reset | Config | PanelArgs | Help | Demo | Login


# ---------------------------------------------------------------------------- parsers


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting."""

    def error(self, message: str) -> typing.NoReturn:
        raise ConfigError(f"{self.prog}: {message}. See `%rho help`.")

    def exit(self, status: int = 0, message: str | None = None) -> typing.NoReturn:
        raise ConfigError(message or f"{self.prog}: see `%rho help`.")


def _add_options(parser: argparse.ArgumentParser, options: tuple[Option, ...]) -> None:
    """The kit's options as argparse arguments: the same flags, help and limits as the CLI."""
    for option in options:
        kwargs: dict[str, Any] = {"help": option.help, "dest": option.name}
        if option.is_flag:
            kwargs.update(action="store_true", default=None)
        elif option.multiple:
            kwargs.update(action="append", metavar=option.metavar)
        else:
            kwargs.update(type=_converter(option), metavar=option.metavar or option.name.upper())
        parser.add_argument(*option.flags, **kwargs)


def _converter(option: Option) -> Any:
    def convert(text: str) -> Any:
        try:
            return option.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = option.type.__name__
    return convert


def _notebook_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--session", metavar="NAME", help="Conversation to continue (default: this notebook's)."
    )
    parser.add_argument(
        "--new", action="store_true", help="Start a fresh conversation in that session."
    )
    parser.add_argument(
        "--background",
        action="store_true",
        help="Return at once; a live panel shows the run (Cancel works).",
    )
    parser.add_argument(
        "--out", metavar="VAR", help="Store the RunResult in this notebook variable."
    )
    parser.add_argument(
        "--var",
        action="append",
        metavar="NAME",
        dest="vars",
        help="Ship a notebook variable into the workspace (repeatable).",
    )
    parser.add_argument(
        "--allow-rerun",
        action="store_true",
        help="Run even if this exact cell already ran (otherwise its earlier answer is shown).",
    )


@cache
def cell_parser() -> _Parser:
    parser = _Parser(
        prog="%%rho", add_help=False, allow_abbrev=False, description="The cell body is the prompt."
    )
    _add_options(parser, option_table())
    _notebook_options(parser)
    return parser


@cache
def line_parser() -> _Parser:
    parser = _Parser(prog="%rho", add_help=False, allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    sub.add_parser("status", add_help=False, help="Sessions, sandboxes and cost so far.")
    up = sub.add_parser(
        "upload",
        add_help=False,
        help="Copy LOCAL into the workspace (default: its name in the working dir).",
    )
    up.add_argument("local")
    up.add_argument("remote", nargs="?")
    up.add_argument("--session", metavar="NAME")
    down = sub.add_parser(
        "download", add_help=False, help="Copy REMOTE from the workspace (default: its name here)."
    )
    down.add_argument("remote")
    down.add_argument("local", nargs="?")
    down.add_argument("--session", metavar="NAME")
    boxes = sub.add_parser(
        "sandboxes", add_help=False, help="List this kernel's sandboxes; `cleanup` deletes them."
    )
    boxes.add_argument("action", nargs="?", choices=("list", "cleanup"), default="list")
    reset = sub.add_parser(
        "reset",
        add_help=False,
        help="End a session (default: this notebook's) and forget its conversation.",
    )
    reset.add_argument("session", nargs="?")
    reset.add_argument("--all", action="store_true", help="Every session in this kernel.")
    config = sub.add_parser(
        "config",
        add_help=False,
        help="Defaults for later cells, e.g. --backend daytona --profile developer.",
    )
    session_names = set(session_option_names())
    _add_options(config, tuple(o for o in option_table() if o.name in session_names))
    config.add_argument(
        "--allow-rerun",
        action="store_true",
        default=None,
        help="Run cells that already ran again (no Run-All guard).",
    )
    config.add_argument(
        "--budget",
        type=_converter(Option("budget", "", type=float, minimum=0)),
        metavar="USD",
        help="Cap what all sessions of this kernel spend together (every model call counts, "
        "cancelled ones too); 0 removes the cap.",
    )
    config.add_argument("--clear", action="store_true", help="Forget the defaults.")
    panel = sub.add_parser("panel", add_help=False, help="Show the widget panel.")
    panel.add_argument("--session", metavar="NAME")
    demo = sub.add_parser(
        "demo",
        add_help=False,
        help="Without an API key: a scripted demo model plays the agent (no API calls, $0).",
    )
    demo.add_argument("--off", action="store_true", help="End the demo.")
    sub.add_parser(
        "login",
        add_help=False,
        help="Type an Anthropic API key once (kept in this kernel's memory, never saved).",
    )
    sub.add_parser("help", add_help=False, help="This text.")
    return parser


def parse_cell_line(line: str) -> CellArgs:
    ns = cell_parser().parse_args(_split(line, "%%rho"))
    return CellArgs(
        agent=_given(ns, session_option_names()),
        upload=tuple(ns.upload or ()),
        download=tuple(ns.download or ()),
        session=ns.session,
        new=ns.new,
        background=ns.background,
        out=_identifier(ns.out, "--out"),
        vars=tuple(_identifier(v, "--var") for v in ns.vars or ()),
        allow_rerun=ns.allow_rerun,
    )


def parse_line(line: str) -> LineArgs:
    words = _split(line, "%rho")
    if not words or words[0] in ("help", "--help", "-h"):
        return Help(help_text())
    ns = line_parser().parse_args(words)
    match ns.command:
        case "status":
            return Status()
        case "upload":
            return Upload(ns.local, ns.remote, ns.session)
        case "download":
            return Download(ns.remote, ns.local, ns.session)
        case "sandboxes":
            return Sandboxes(ns.action)
        case "reset":
            return Reset(ns.session, ns.all)
        case "config":
            return Config(_given(ns, session_option_names()), ns.allow_rerun, ns.clear, ns.budget)
        case "panel":
            return PanelArgs(ns.session)
        case "demo":
            return Demo(ns.off)
        case "login":
            return Login()
    raise ConfigError(f"%rho: unknown command {words[0]!r}. See `%rho help`.")  # pragma: no cover


def help_text() -> str:
    cell = cell_parser().format_help().replace("usage: ", "", 1)
    line = line_parser().format_help().replace("usage: ", "", 1)
    config = subparsers(line_parser())["config"].format_help().replace("usage: ", "", 1)
    return (
        "%%rho [options]   — the cell body is the prompt; {name} is replaced by the notebook "
        "variable `name` if it exists (other braces are left alone).\n\n"
        f"{cell}\n{line}\n{config}"
    )


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of `parser` by name (none: empty)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _split(line: str, prog: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise ConfigError(f"{prog}: cannot parse the line ({exc}); check its quotes.") from None


def _given(ns: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    given = {name: getattr(ns, name) for name in names if getattr(ns, name, None) is not None}
    if "working_dir" in given:
        # Settings outlive the line: a relative path means the directory the kernel is in now,
        # not wherever it is when a later cell (or a Daytona upload of the project) uses it.
        given["working_dir"] = os.path.abspath(os.path.expanduser(given["working_dir"]))
    return given


def _identifier(name: str | None, flag: str) -> Any:
    if name is not None and not name.isidentifier():
        raise ConfigError(f"{flag} {name!r}: not a valid Python variable name.")
    return name
