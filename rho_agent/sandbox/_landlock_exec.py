"""`python -m rho_agent.sandbox._landlock_exec [--write PATH]... [--no-network] -- COMMAND...`

Runs COMMAND restricted by Landlock (see `rho_agent.sandbox._landlock`). A module of its own,
which the package does not import, so `-m` runs it without a second copy in sys.modules.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

from rho_agent.sandbox._landlock import restrict_self
from rho_agent.sandbox._seccomp import apply_to_self as apply_seccomp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rho_agent.sandbox._landlock_exec")
    parser.add_argument("--write", action="append", default=[], metavar="PATH")
    parser.add_argument("--no-network", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    # A throwaway temporary directory stands in for a private /tmp; this (unconfined)
    # process removes it after the confined child is done.
    scratch = tempfile.mkdtemp(prefix="rho-sandbox-")
    pid = os.fork()
    if pid == 0:
        try:
            os.environ["TMPDIR"] = scratch
            restrict_self([*args.write, scratch], network=not args.no_network)
            if args.no_network:
                apply_seccomp()  # Landlock leaves Unix sockets open
            os.execvp(command[0], command)
        except OSError as exc:
            print(f"rho-agent sandbox: {exc}", file=sys.stderr)
            os._exit(126)
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(scratch, ignore_errors=True)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    code = main()
    sys.exit(128 - code if code < 0 else code)
