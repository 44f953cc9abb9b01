"""The `rho-agent` command. `run` is its entry point: it loads the CLI (a few tenths of a
second of imports) under the same Ctrl-C handling as the command itself."""

from __future__ import annotations

import sys


def run(argv: list[str] | None = None) -> int:
    """Console-script entry point: a Ctrl-C while the CLI is still loading ends quietly too."""
    try:
        from rho_agent.cli.app import run as run_app
    except KeyboardInterrupt:
        sys.stderr.write("Cancelled.\n")
        return 130
    return run_app(argv)
