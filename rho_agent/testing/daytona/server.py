"""`LocalDaytona`: the server object, its background thread, and the middleware that records
requests, injects faults, checks auth and finds the sandbox of a toolbox call."""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Self

from aiohttp import web

from .control import SANDBOX, CreateRequest, Registry, SandboxInfo, SandboxRecord, control_routes
from .files import RECEIVED, SENT, TransferredFile, file_routes
from .jail import BWRAP
from .process import process_routes
from .wire import ApiError, error_response

log = logging.getLogger(__name__)

DEFAULT_API_KEY = "local-daytona-key"


class RequestRecord(NamedTuple):
    method: str
    path: str
    time: float


@dataclass
class Fault:
    """One `inject()` rule. `hits` counts the requests it has affected so far."""

    method: str
    path: str
    status: int | None = None
    delay: float = 0.0
    timeout: bool = False
    times: int | None = None
    retry_after: float | None = None
    message: str = "fault injected by LocalDaytona"
    lose_answer: bool = False
    hits: int = 0

    def matches(self, method: str, paths: tuple[str, ...]) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if not fnmatch.fnmatchcase(method, self.method):
            return False
        return any(fnmatch.fnmatchcase(p, self.path) for p in paths)


class LocalDaytona:
    """A local Daytona API + toolbox for the real `daytona` SDK, served from a thread.

    Each sandbox is a directory run as `/` in a bubblewrap jail (see `jail.py`)::

        with LocalDaytona() as server:
            daytona = Daytona(DaytonaConfig(api_url=server.api_url, api_key=server.api_key))
            sandbox = daytona.create()

    Any `Bearer` token is accepted unless `require_key` is given. Sandbox directories live in
    a temp directory that `close()` removes, along with every process still running.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        require_key: str | None = None,
        create_delay: float = 0.0,
    ):
        self.host = host
        self.api_key = require_key or DEFAULT_API_KEY
        self._require_key = require_key
        self._want_port = port
        self._create_delay = create_delay
        self._faults: list[Fault] = []
        self._requests: list[RequestRecord] = []
        self._received: list[TransferredFile] = []
        self._sent: list[TransferredFile] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._registry: Registry | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._tmp: Path | None = None
        self.port = 0

    def __repr__(self) -> str:
        state = f"serving {self.api_url}" if self._thread else "not started"
        return f"<LocalDaytona {state}>"

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            return self
        if not os.access(BWRAP, os.X_OK):
            raise RuntimeError(
                f"LocalDaytona runs sandboxes with bubblewrap, and {BWRAP} is missing: "
                "install it (apt-get install bubblewrap)"
            )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._want_port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._closing.clear()
        self._tmp = Path(tempfile.mkdtemp(prefix="local-daytona-"))
        self._registry = Registry(self._tmp)
        self._registry.create_delay = self._create_delay
        self._registry.toolbox_url = f"http://{self.host}:{self.port}/toolbox"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="LocalDaytona", daemon=True
        )
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(sock), self._loop).result(10)
        return self

    def close(self) -> None:
        """Stop serving, kill every sandbox process and delete every sandbox directory."""
        if self._thread is None or self._loop is None:
            return
        self._closing.set()
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
            self._thread = None
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def _serve(self, sock: socket.socket) -> None:
        assert self._registry is not None
        app = web.Application(middlewares=[self._middleware], client_max_size=1 << 40)
        app[RECEIVED] = self._received
        app[SENT] = self._sent
        app.add_routes(control_routes(self._registry) + process_routes() + file_routes())
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def _shutdown(self) -> None:
        assert self._registry is not None and self._runner is not None
        for record in self._registry.all():
            self._registry.stop(record, "stopped")
        await self._runner.cleanup()
        await asyncio.to_thread(self._registry.remove_all)

    # -- what tests use ---------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    def env(self) -> dict[str, str]:
        """`DAYTONA_API_URL` and `DAYTONA_API_KEY` for a subprocess's environment."""
        return {"DAYTONA_API_URL": self.api_url, "DAYTONA_API_KEY": self.api_key}

    @property
    def create_delay(self) -> float:
        """Seconds a new sandbox stays `creating`/`starting` before it is `started`."""
        return self._registry.create_delay if self._registry else self._create_delay

    @property
    def missing_programs(self) -> tuple[str, ...]:
        """Host programs that sandboxes created from now on lack, as if their image had
        none (e.g. `("/usr/bin/bwrap",)`)."""
        return self._registry.missing_programs if self._registry else ()

    @missing_programs.setter
    def missing_programs(self, paths: tuple[str, ...]) -> None:
        if self._registry is None:
            raise RuntimeError("start the server first")
        self._registry.missing_programs = tuple(paths)

    @create_delay.setter
    def create_delay(self, seconds: float) -> None:
        self._create_delay = seconds
        if self._registry is not None:
            self._registry.create_delay = seconds

    def sandboxes(self) -> list[SandboxInfo]:
        """Live (not yet deleted) sandboxes, oldest first."""
        return [r.info() for r in self._registry.all()] if self._registry else []

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far, as (method, path, time.time())."""
        with self._lock:
            return list(self._requests)

    @property
    def create_requests(self) -> list[CreateRequest]:
        """Every create request received so far: its headers and JSON body."""
        if self._registry is None:
            return []
        with self._registry.lock:
            return list(self._registry.create_requests)

    @property
    def received_files(self) -> list[TransferredFile]:
        """Every file a bulk-upload request delivered so far: (path, size, head, time), where
        `head` is its first 512 bytes (what a test checks to see what was sent: a tar, gzip…)."""
        return list(self._received)

    @property
    def sent_files(self) -> list[TransferredFile]:
        """Every file a bulk-download request served so far, as `received_files` has them
        (`time`: when its bytes began to go out)."""
        return list(self._sent)

    def inject(
        self,
        route: str = "*",
        *,
        status: int | None = None,
        times: int | None = None,
        delay: float = 0.0,
        timeout: bool = False,
        retry_after: float | None = None,
        message: str | None = None,
        lose_answer: bool = False,
    ) -> Fault:
        """Make matching requests fail (`status`), slow (`delay` seconds) or hang until the
        client gives up (`timeout`), for the next `times` requests (default: all).
        `lose_answer`: carry the request out, then cut the connection instead of answering
        (a create whose sandbox exists although the client never heard of it).
        `retry_after` adds that header to the error (urllib3, under the sync SDK, then retries
        idempotent requests; nothing retries a 5xx without it).

        `route` is `"METHOD PATH"` or `"PATH"`; both parts are globs. PATH matches the full
        path (`/api/sandbox`, `/toolbox/*/files`) or the toolbox path after the sandbox id
        (`/process/execute`). `"*"` matches every request.
        """
        method, _, path = route.strip().rpartition(" ")
        fault = Fault(
            method=(method or "*").upper(),
            path=path or "*",
            status=status,
            delay=delay,
            timeout=timeout,
            times=times,
            retry_after=retry_after,
            lose_answer=lose_answer,
        )
        if message:
            fault.message = message
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def kill(self, sandbox_id: str, reason: str = "sandbox killed by LocalDaytona.kill()") -> None:
        """The sandbox dies: its processes are killed, its state becomes `error`, and its
        toolbox answers 502."""
        registry, loop = self._registry, self._loop
        assert registry is not None and loop is not None, "start the server first"
        record = registry.get(sandbox_id)

        async def die() -> None:
            registry.stop(record, "error", reason)

        asyncio.run_coroutine_threadsafe(die(), loop).result(10)

    # -- middleware -------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        with self._lock:
            self._requests.append(RequestRecord(request.method, path, time.time()))
        if path.startswith("/api/socket.io"):  # the SDK falls back to polling
            return web.json_response({"message": "socket.io is not served"}, status=404)
        parts = path.split("/", 3)
        toolbox_path = "/" + parts[3] if parts[1] == "toolbox" and len(parts) > 3 else None
        try:
            hits = await self._apply_faults(
                request, (path, toolbox_path) if toolbox_path else (path,)
            )
            self._check_auth(request)
            if toolbox_path is not None:
                request[SANDBOX] = self._toolbox_sandbox(parts[2])
            response = await handler(request)
            if any(f.lose_answer for f in hits) and request.transport is not None:
                request.transport.abort()
            return response
        except ApiError as err:
            return error_response(err, request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return error_response(ApiError(exc.status, exc.reason), request)
        except Exception as exc:
            log.exception("LocalDaytona: %s %s failed", request.method, path)
            return error_response(ApiError(500, f"{type(exc).__name__}: {exc}"), request)

    async def _apply_faults(self, request: web.Request, paths: tuple[str, ...]) -> list[Fault]:
        with self._lock:
            hits = [f for f in self._faults if f.matches(request.method, paths)]
            for fault in hits:
                fault.hits += 1
        delay = sum(f.delay for f in hits)
        if delay:
            await asyncio.sleep(delay)
        if any(f.timeout for f in hits):
            while not self._closing.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                await asyncio.sleep(0.05)
            raise ApiError(504, "request hung by LocalDaytona until the client gave up")
        failing = next((f for f in hits if f.status), None)
        if failing is not None and failing.status is not None:
            retry = (
                {} if failing.retry_after is None else {"Retry-After": f"{failing.retry_after:g}"}
            )
            raise ApiError(failing.status, failing.message, headers=retry)
        return hits

    def _check_auth(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Unauthorized: send Authorization: Bearer <api key>")
        if self._require_key is not None and token.strip() != self._require_key:
            raise ApiError(401, "Unauthorized: invalid API key")

    def _toolbox_sandbox(self, sandbox_id: str) -> SandboxRecord:
        assert self._registry is not None
        record = self._registry.get(sandbox_id)
        if record.status == "error":
            raise ApiError(502, f"sandbox {record.id} is unreachable: {record.error_reason}")
        if record.state != "started":
            raise ApiError(409, f"sandbox {record.id} is not started (state: {record.state})")
        return record
