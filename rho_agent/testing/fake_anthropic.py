"""FakeAnthropic: a scripted Anthropic Messages API server on 127.0.0.1, for tests.

It speaks the real wire protocol (`POST /v1/messages` as JSON or SSE, and
`POST /v1/messages/count_tokens`), so the real `anthropic` SDK, a CLI in a subprocess, or any
other client can be pointed at it. Each `/v1/messages` request consumes the next step of a
script::

    from rho_agent.testing.fake_anthropic import FakeAnthropic, fault, reply, text, tool_call

    script = [
        reply(text("I'll look."), tool_call("bash", {"command": "ls"})),  # stop_reason: tool_use
        fault.overloaded(),                                               # 529, the SDK retries
        reply(text("Done.")),                                             # stop_reason: end_turn
    ]
    with FakeAnthropic(script) as fake:           # or `async with`
        client = anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test-key")
        ...                                       # or subprocess.run(..., env=fake.env())
        fake.requests[-1].tool_results            # what the agent sent back
        fake.assert_done()                        # every step used, nothing unexpected

Steps are `reply(...)` (blocks: `text`, `tool_call`, `thinking`, `redacted_thinking`),
`fault.*(...)`, or a callable `request -> reply(...)` for answers that depend on the request
(`lambda r: reply(text(r.last_user_text()))`). A request past the end of the script gets a
500 "FakeAnthropic: unexpected request #N (script has M steps)" with `x-should-retry: false`,
and `assert_done()` reports it.

Default usage (override any field with `reply(..., usage=TokenUsage(...))`): 4 characters per
token. Input tokens count the prompt (tools, system, messages as compact JSON, `cache_control`
left out). With `cache_control` breakpoints, the longest prefix ending on a breakpoint of an
earlier reply is `cache_read_input_tokens`, the rest up to the last breakpoint is
`cache_creation_input_tokens`, and what follows is `input_tokens`. Output tokens count the
generated text, tool-input JSON, thinking text and redacted data (at least 1).

From a shell, ``python -m rho_agent.testing.fake_anthropic SCRIPT.json`` serves a JSON script
and prints `export ANTHROPIC_BASE_URL=...` / `export ANTHROPIC_API_KEY=...`. The JSON form
mirrors the helpers, one object per step::

    [
      {"reply": [{"text": "I'll look."}, {"tool_call": "bash", "input": {"command": "ls"}}]},
      {"fault": "overloaded"},
      {"fault": "slow_first_byte", "seconds": 2, "then": {"reply": [{"text": "late"}]}},
      {"reply": [{"thinking": "hmm", "signature": "abc"}, {"text": "Done."}],
       "usage": {"input": 10, "output": 5}, "stop_reason": "end_turn"}
    ]

Blocks: `{"text": s}`, `{"tool_call": name, "input": {...}, "id": ...}`,
`{"thinking": s, "signature": ...}`, `{"redacted_thinking": data}`. Faults:
`{"fault": "<name of a fault.* function>", ...its keyword arguments}`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from . import _sse
from ._fake_http import Handler
from ._fake_script import (
    Fault,
    RedactedThinking,
    Reply,
    Step,
    Text,
    Thinking,
    TokenUsage,
    ToolCall,
    check_step,
    fault,
    load_script,
    redacted_thinking,
    reply,
    text,
    thinking,
    tool_call,
    unmet,
)

__all__ = [
    "FakeAnthropic",
    "Fault",
    "RecordedRequest",
    "RedactedThinking",
    "Reply",
    "Step",
    "Text",
    "Thinking",
    "TokenUsage",
    "ToolCall",
    "fault",
    "load_script",
    "main",
    "redacted_thinking",
    "reply",
    "text",
    "thinking",
    "tool_call",
]

API_KEY = "test-key"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received.

    `body` is the parsed JSON, `headers` have lower-case names, `time` is `time.time()` on
    arrival, `request_id` is the `request-id` the server answered with.
    """

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    time: float
    request_id: str = field(default_factory=lambda: _sse.new_id("req"))

    @property
    def stream(self) -> bool:
        """True if the request asked for SSE (`"stream": true`)."""
        return self.body.get("stream") is True

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages") or []

    @property
    def tools(self) -> list[dict[str, Any]]:
        return self.body.get("tools") or []

    @property
    def system(self) -> str | list[dict[str, Any]] | None:
        return self.body.get("system")

    @property
    def tool_results(self) -> list[dict[str, Any]]:
        """The `tool_result` blocks of the last user message."""
        content = self._last_user_content()
        return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]

    def last_user_text(self) -> str:
        """All text of the last user message, tool_result contents included, joined by newlines."""
        parts: list[str] = []
        for block in self._last_user_content():
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text":
                parts.append(block.get("text", ""))
            elif block.get("type") == "tool_result":
                inner = block.get("content")
                if isinstance(inner, str):
                    parts.append(inner)
                elif isinstance(inner, list):
                    parts.extend(
                        b.get("text", "")
                        for b in inner
                        if isinstance(b, dict) and b.get("type") == "text"
                    )
        return "\n".join(parts)

    def _last_user_content(self) -> list[Any]:
        for message in reversed(self.messages):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                return (
                    [{"type": "text", "text": content}]
                    if isinstance(content, str)
                    else list(content or [])
                )
        return []


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeAnthropic

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # a client hanging up is not news
            super().handle_error(request, client_address)


class FakeAnthropic:
    """A scripted Messages API server on 127.0.0.1 (ephemeral port), served from a thread.

    Use it as a context manager (`with` or `async with`), or call `start()` / `close()`.
    `script` is a list of steps (see the module docstring); `add()` appends more while it runs.
    """

    def __init__(
        self, script: Iterable[Step] = (), *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._script: list[Step] = []
        self._used: list[int] = []  # responses given per step
        self._cursor = 0
        self._requests: list[RecordedRequest] = []
        self._count_requests: list[RecordedRequest] = []
        self._problems: list[str] = []
        self._lock = threading.Lock()
        self._cache = _sse.PromptCache()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.add(*script)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        """Bind the port and serve in a daemon thread. Returns self."""
        if self._server is not None:
            return self
        self._closing.clear()
        server = _Server((self._host, self._port), Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeAnthropic",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and close open connections (pending sleeps end at once)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> FakeAnthropic:
        return self.start()

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.close)

    def __repr__(self) -> str:
        where = self.base_url if self._server else "not started"
        return f"<FakeAnthropic {where}, step {self._cursor}/{len(self._script)}, {len(self._requests)} requests>"

    # -- what tests use ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, for `base_url=` or `ANTHROPIC_BASE_URL`."""
        if self._server is None:
            raise RuntimeError(
                "FakeAnthropic is not running; use `with FakeAnthropic(...)` or call start()"
            )
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """`ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY` ("test-key"), to merge into a subprocess env."""
        return {"ANTHROPIC_BASE_URL": self.base_url, "ANTHROPIC_API_KEY": API_KEY}

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every `/v1/messages` request so far, in arrival order (SDK retries included)."""
        with self._lock:
            return list(self._requests)

    @property
    def count_tokens_requests(self) -> list[RecordedRequest]:
        """Every `/v1/messages/count_tokens` request (these do not consume steps)."""
        with self._lock:
            return list(self._count_requests)

    def add(self, *steps: Step) -> None:
        """Append steps to the script (also while serving)."""
        for i, step in enumerate(steps):
            check_step(step, f"script step {len(self._script) + i}")
        with self._lock:
            self._script.extend(steps)
            self._used.extend(0 for _ in steps)

    def assert_done(self) -> None:
        """Raise AssertionError listing unused steps, unexpected requests and other problems."""
        with self._lock:
            lines = [*self._problems, *unmet(self._script, self._used)]
        if lines:
            raise AssertionError("FakeAnthropic script not satisfied:\n  " + "\n  ".join(lines))

    # -- used by the request handler ---------------------------------------------------------

    def _record(
        self,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any],
        *,
        count_tokens: bool = False,
    ) -> tuple[RecordedRequest, Step | str]:
        """Log a request and, for a messages request, take the next step.

        Returns the request and its step, or an error message when the script is used up.
        """
        request = RecordedRequest(path, headers, body, time.time())
        with self._lock:
            if count_tokens:
                self._count_requests.append(request)
                return request, ""
            self._requests.append(request)
            if self._cursor >= len(self._script):
                number, size = len(self._requests), len(self._script)
                message = f"FakeAnthropic: unexpected request #{number} (script has {size} steps)"
                self._problems.append(message)
                return request, message
            step = self._script[self._cursor]
            self._used[self._cursor] += 1
            times = step.times if isinstance(step, Fault) else 1
            if times is not None and self._used[self._cursor] >= times:
                self._cursor += 1
            return request, step

    def _problem(self, message: str) -> None:
        with self._lock:
            self._problems.append(message)

    def _track(self, conn: socket.socket, active: bool) -> None:
        with self._lock:
            (self._connections.add if active else self._connections.discard)(conn)


# -------------------------------------------------------------------------------------------
# `python -m rho_agent.testing.fake_anthropic SCRIPT.json`


def main(argv: list[str] | None = None) -> int:
    """Serve a JSON script until SIGINT/SIGTERM; exit 1 if the script was not satisfied."""
    faults = ", ".join(n for n in vars(fault) if not n.startswith("_"))
    parser = argparse.ArgumentParser(
        prog="python -m rho_agent.testing.fake_anthropic",
        description="Serve a scripted fake Anthropic Messages API and print the env vars to export.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "SCRIPT is a JSON list of steps, one per /v1/messages request:\n"
            '  {"reply": [BLOCK, ...], "stop_reason": ..., "usage": {"input": N, "output": N}}\n'
            '  {"fault": NAME, ...keyword arguments}   NAME: ' + faults + "\n"
            'BLOCK: {"text": S} | {"tool_call": NAME, "input": {...}} | {"thinking": S} |'
            ' {"redacted_thinking": DATA}\n'
            "Exit status: 0 if every step was used and nothing unexpected came, 1 if not, 2 for a bad script."
        ),
    )
    parser.add_argument("script", help="JSON file: a list of steps")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args(argv)
    try:
        steps = load_script(args.script)
    except (OSError, ValueError) as exc:
        print(f"Error: {args.script}: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with FakeAnthropic(steps, host=args.host, port=args.port) as fake:
        for name, value in fake.env().items():
            print(f"export {name}={value}", flush=True)
        print(
            f"FakeAnthropic: serving {len(steps)} steps at {fake.base_url}; Ctrl-C to stop",
            file=sys.stderr,
        )
        while not stop.wait(0.2):
            pass
        started = len(fake.requests)
    print(f"FakeAnthropic: {started} requests served", file=sys.stderr)
    try:
        fake.assert_done()
    except AssertionError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
