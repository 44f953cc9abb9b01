"""The `rho-agent` command: a thin client of the Python API.

Only `RhoError` is caught: it prints `Error: <message>` and exits with the error's code.
Set RHO_AGENT_DEBUG=1 to see tracebacks.

Before any command runs, credentials missing from the environment are read from `./.env`
(`rho_agent.envfile`). `rho-agent PROMPT` (or `rho-agent -p PROMPT`, `rho-agent --model X ...`)
is `rho-agent main PROMPT`, as `llm PROMPT` is `llm prompt PROMPT`; see `_default_command`.
"""

from __future__ import annotations

import os
import sys

import typer

from rho_agent import __version__
from rho_agent.errors import ConfigError, RhoError

HELP = """\
A Claude coding agent whose tools run on your machine or in a Daytona sandbox.

`rho-agent PROMPT [OPTIONS]` is short for `rho-agent main PROMPT [OPTIONS]`, and so is any first
argument that is an option of `main` (`rho-agent -p "fix the test"`). A first word within two
typing mistakes of a command name (`sesions`) is taken for that command mistyped, not sent to the
model: use `rho-agent main WORD` to send such a word. `rho-agent help [COMMAND]` shows help.

Credentials (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, DAYTONA_API_KEY, ...) missing from the
environment are read from a .env file in the current directory; it is never written.
"""

app = typer.Typer(
    name="rho-agent",
    help=HELP,
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Options of the top level itself: a first argument among these is not sent to `main`.
ROOT_OPTIONS = ("-h", "--help", "--version", "--install-completion", "--show-completion")

#: Python modules of optional extras, by the extra that installs them.
EXTRAS = {"daytona": "daytona", "ipywidgets": "notebook"}


def _show_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"rho-agent {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    pass


def _register() -> None:
    from rho_agent.cli import main_cmd, sandboxes_cmd, sessions_cmd

    app.command("main", context_settings={"allow_interspersed_args": True})(main_cmd.main)
    app.add_typer(sessions_cmd.app, name="sessions")
    app.add_typer(sandboxes_cmd.app, name="sandboxes")


_register()


def _commands() -> list[str]:
    names = [c.name for c in app.registered_commands]
    names += [g.name for g in app.registered_groups]
    return [n for n in names if n]


def _edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (a swap of neighbours is one edit)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _default_command(argv: list[str]) -> list[str]:
    """`argv` with `main` put first when it does not start with a command or a root option.

    The rule (also in `rho-agent --help`): a first argument that names a command, or is one of
    ROOT_OPTIONS, is left alone; `help [COMMAND]` is `[COMMAND] --help`; a single word within two
    edits of a command name is a mistyped command (ConfigError with the did-you-mean and how to
    send it as a prompt); anything else starts `main`.
    """
    if not argv:
        return argv
    first = argv[0]
    commands = _commands()
    if first in commands or first.partition("=")[0] in ROOT_OPTIONS:
        return argv
    if first == "help":  # `rho-agent help [COMMAND]`: the help, not a billed prompt
        return [*argv[1:], "--help"]
    if not first.startswith("-") and first.replace("-", "").replace("_", "").isalpha():
        close = sorted(commands, key=lambda c: _edits(first.lower(), c))[0]
        if _edits(first.lower(), close) <= 2:
            raise ConfigError(
                f'No such command "{first}" (did you mean "{close}"?). '
                f'To send it to the model as a prompt: rho-agent main "{first}"'
            )
    return ["main", *argv]


def _missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The sentence for a missing optional dependency, or None when it is not one of ours."""
    module = (exc.name or "").partition(".")[0]
    extra = EXTRAS.get(module)
    if extra is None:
        return None
    return f"This command needs the {module} package, which is not installed: pip install 'rho-agent[{extra}]'"


def run(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    from rho_agent.envfile import load_env_file

    load_env_file(".env")
    try:
        args = _default_command(list(sys.argv[1:] if argv is None else argv))
        code = app(args=args, prog_name="rho-agent", standalone_mode=False)
    except RhoError as exc:
        if os.environ.get("RHO_AGENT_DEBUG"):
            raise
        sys.stderr.write(f"Error: {exc.message}\n")
        return exc.exit_code
    except ModuleNotFoundError as exc:
        message = _missing_extra(exc)
        if message is None or os.environ.get("RHO_AGENT_DEBUG"):
            raise
        sys.stderr.write(f"Error: {message}\n")
        return ConfigError.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("Cancelled.\n")
        return 130
    except typer.Abort:
        sys.stderr.write("Aborted.\n")
        return 130
    except typer.TyperException as exc:  # usage errors (bad flag values) in non-standalone mode
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show(file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(run())
