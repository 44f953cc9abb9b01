"""The `rho-agent` command: a thin client of the Python API.

Only `RhoError` is caught: it prints `Error: <message>` and exits with the error's code.
Set RHO_AGENT_DEBUG=1 to see tracebacks.
"""

from __future__ import annotations

import os
import sys

import typer

from rho_agent.errors import RhoError

app = typer.Typer(
    name="rho-agent",
    help="A Claude coding agent whose tools run on your machine or in a Daytona sandbox.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    from rho_agent.cli import main_cmd, sandboxes_cmd, sessions_cmd

    app.command("main", context_settings={"allow_interspersed_args": True})(main_cmd.main)
    app.add_typer(sessions_cmd.app, name="sessions")
    app.add_typer(sandboxes_cmd.app, name="sandboxes")


_register()


def run(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    try:
        code = app(args=argv, standalone_mode=False)
    except RhoError as exc:
        if os.environ.get("RHO_AGENT_DEBUG"):
            raise
        sys.stderr.write(f"Error: {exc.message}\n")
        return exc.exit_code
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
