"""`python -m rho_agent.testing.daytona [--port N]`: serve until Ctrl-C, printing the
environment a Daytona client needs."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import LocalDaytona


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rho_agent.testing.daytona",
        description="Serve a local Daytona API whose sandboxes are bubblewrap jails.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--require-key", metavar="KEY", help="accept only this API key")
    parser.add_argument(
        "--create-delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep new sandboxes 'creating' this long",
    )
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with LocalDaytona(
        host=args.host, port=args.port, require_key=args.require_key, create_delay=args.create_delay
    ) as server:
        for key, value in server.env().items():
            print(f"export {key}={value}", flush=True)
        print(
            "LocalDaytona is serving; Ctrl-C stops it and deletes its sandboxes.",
            file=sys.stderr,
            flush=True,
        )
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
