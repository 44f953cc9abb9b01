"""The fake servers a bench talks to, each in its own process.

A fake served from a thread of the bench process would compete with the code under test for
the GIL and slow it down (or the baseline); in their own processes they cost what a remote
server costs: nothing on this side but the socket. They are driven over a pipe:

    with DaytonaProcess(tmpdir="/dev/shm") as daytona:     # LocalDaytona, sandboxes on tmpfs
        os.environ.update(daytona.env)
        daytona.inject("*", delay=0.02)                    # any LocalDaytona method
        len(daytona.requests)                              # what it received, (method, path, time)
    with AnthropicProcess(script) as fake:                 # FakeAnthropic; steps are pickled
        fake.env, fake.requests                            # (path, time) per request
"""

from __future__ import annotations

import multiprocessing
import tempfile
from multiprocessing.connection import Connection
from typing import Any

_spawn = multiprocessing.get_context("spawn")


def _serve_daytona(conn: Connection, create_delay: float, tmpdir: str | None) -> None:
    from rho_agent.testing.daytona import LocalDaytona

    if tmpdir:
        tempfile.tempdir = tmpdir  # where the sandboxes' root directories go
    with LocalDaytona(create_delay=create_delay) as server:
        conn.send(server.env())
        _answer(conn, server, lambda s: [tuple(r) for r in s.requests])


def _serve_anthropic(conn: Connection, script: list[Any]) -> None:
    from rho_agent.testing.fake_anthropic import FakeAnthropic

    with FakeAnthropic(script) as fake:
        conn.send(fake.env())
        _answer(conn, fake, lambda f: [(r.path, r.time, r.body) for r in f.requests])


def _answer(conn: Connection, server: Any, requests: Any) -> None:
    while True:
        name, args, kwargs = conn.recv()
        if name == "close":
            return
        try:
            conn.send(
                (
                    "ok",
                    requests(server)
                    if name == "requests"
                    else getattr(server, name)(*args, **kwargs),
                )
            )
        except Exception as exc:  # said on the bench's side
            conn.send(("error", repr(exc)))


class _ServerProcess:
    def __init__(self, target: Any, *args: Any) -> None:
        self._conn, child = _spawn.Pipe()
        self._process = _spawn.Process(target=target, args=(child, *args), daemon=True)
        self._process.start()
        self.env: dict[str, str] = self._conn.recv()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self._conn.send((name, args, kwargs))
        status, value = self._conn.recv()
        if status == "error":
            raise RuntimeError(f"{name} failed in the server process: {value}")
        return value

    @property
    def requests(self) -> list[tuple]:
        return self.call("requests")

    def close(self) -> None:
        if self._process.is_alive():
            self._conn.send(("close", (), {}))
            self._process.join(60)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaytonaProcess(_ServerProcess):
    """LocalDaytona in its own process."""

    def __init__(self, *, create_delay: float = 0.0, tmpdir: str | None = None) -> None:
        super().__init__(_serve_daytona, create_delay, tmpdir)

    def inject(self, *args: Any, **kwargs: Any) -> None:
        self.call("inject", *args, **kwargs)

    def clear_faults(self) -> None:
        self.call("clear_faults")


class AnthropicProcess(_ServerProcess):
    """FakeAnthropic in its own process, serving `script`."""

    def __init__(self, script: list[Any]) -> None:
        super().__init__(_serve_anthropic, script)
