"""The HTTP side of FakeAnthropic: stdlib `http.server`, HTTP/1.1, one thread per connection.

The handler parses a request, asks the `FakeAnthropic` for the next step, and writes it as
JSON, chunked SSE, an API error, or a broken connection.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from . import _sse
from ._fake_script import Fault, Reply, reply, text

# What a stream fault sends before it fails, unless the step names its own `partial` reply.
_DEFAULT_PARTIAL = reply(text("This answer is cut off before it ends."))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeAnthropic/1"
    server: Any  # fake_anthropic._Server, with `.fake`

    def setup(self) -> None:
        super().setup()
        # Each SSE event is a small write of its own: with Nagle's algorithm on, one waits for
        # the client's delayed ACK of the one before (~40 ms), a stall no real API has.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read `fake.requests`, not stderr

    def do_GET(self) -> None:
        self._error(404, "not_found_error", f"FakeAnthropic: no route for GET {self.path}")

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        path = urlsplit(self.path).path.rstrip("/")
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        try:
            if not isinstance(body, dict):
                message = "FakeAnthropic: the request body is not a JSON object"
                fake._problem(message)
                self._error(400, "invalid_request_error", message)
            elif path == "/v1/messages/count_tokens":
                request, _ = fake._record(path, headers, body, count_tokens=True)
                self._json(200, {"input_tokens": fake._cache.count(body)}, request.request_id)
            elif path == "/v1/messages":
                request, step = fake._record(path, headers, body)
                if isinstance(step, str):
                    self._error(500, "api_error", step, request.request_id, retry=False)
                else:
                    self._serve(step, request)
            else:
                self._error(404, "not_found_error", f"FakeAnthropic: no route for POST {path}")
        except OSError:  # the client went away (timeout, cancel): nothing left to answer
            self.close_connection = True

    # -- steps -------------------------------------------------------------------------------

    def _serve(self, step: Any, request: Any) -> None:
        fake = self.server.fake
        if not isinstance(step, Reply | Fault):
            try:
                step = step(request)
                if not isinstance(step, Reply | Fault):
                    raise TypeError(f"it returned {step!r}, not reply(...) or fault.<kind>(...)")
            except Exception as exc:
                number = fake.requests.index(request) + 1
                message = f"FakeAnthropic: the callable step for request #{number} failed: {exc!r}"
                fake._problem(message)
                self._error(500, "api_error", message, request.request_id, retry=False)
                return
        if isinstance(step, Reply):
            self._reply(step, request)
        elif step.kind == "http_error":
            self._error(
                step.status,
                step.error_type,
                step.message,
                request.request_id,
                retry_after=step.retry_after,
            )
        elif step.kind == "slow_first_byte":
            if fake._closing.wait(step.seconds):
                return
            if step.then is None:
                self._drop()
            else:
                self._serve(step.then, request)
        elif not request.stream:
            if step.kind == "stream_error":
                retry_after = 0 if step.status == 429 or step.status >= 500 else None
                self._error(
                    step.status,
                    step.error_type,
                    step.message,
                    request.request_id,
                    retry_after=retry_after,
                )
            else:
                data = json.dumps(self._message(step.partial or _DEFAULT_PARTIAL, request)).encode()
                self._start(
                    200,
                    "application/json",
                    request.request_id,
                    [("content-length", str(len(data)))],
                )
                self.wfile.write(data[: len(data) // 2])
                self._drop()
        else:
            partial = step.partial or _DEFAULT_PARTIAL
            events = _sse.stream_events(
                partial, request.body, _sse.usage(partial, request.body, fake._cache)
            )
            self._stream(
                events[: max(0, min(step.after_events, len(events) - 1))],
                partial.delay,
                request.request_id,
                end="error" if step.kind == "stream_error" else "drop",
                error=_sse.error_body(step.error_type, step.message, request.request_id),
            )

    def _message(self, step: Reply, request: Any) -> dict[str, Any]:
        return _sse.message(
            step, request.body, _sse.usage(step, request.body, self.server.fake._cache)
        )

    def _reply(self, step: Reply, request: Any) -> None:
        if request.stream:
            usage = _sse.usage(step, request.body, self.server.fake._cache)
            self._stream(
                _sse.stream_events(step, request.body, usage), step.delay, request.request_id
            )
            return
        if step.delay and self.server.fake._closing.wait(step.delay):
            return
        self._json(200, self._message(step, request), request.request_id)

    # -- writing -----------------------------------------------------------------------------

    def _start(
        self, status: int, content_type: str, request_id: str, headers: list[tuple[str, str]]
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("request-id", request_id)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def _json(
        self,
        status: int,
        payload: dict[str, Any],
        request_id: str,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        data = json.dumps(payload).encode()
        self._start(
            status, "application/json", request_id, [("content-length", str(len(data))), *headers]
        )
        self.wfile.write(data)

    def _error(
        self,
        status: int,
        error_type: str,
        message: str,
        request_id: str | None = None,
        *,
        retry_after: float | None = None,
        retry: bool | None = None,
    ) -> None:
        request_id = request_id or _sse.new_id("req")
        headers = []
        if retry_after is not None:
            # The SDK treats `retry-after: 0` as "use the exponential backoff"; 1 ms is "now".
            headers += [
                ("retry-after", f"{retry_after:g}"),
                ("retry-after-ms", str(max(1, round(retry_after * 1000)))),
            ]
        if retry is not None:
            headers.append(("x-should-retry", "true" if retry else "false"))
        self._json(status, _sse.error_body(error_type, message, request_id), request_id, headers)

    def _stream(
        self,
        events: list[_sse.Event],
        delay: float,
        request_id: str,
        *,
        end: str = "",
        error: dict[str, Any] | None = None,
    ) -> None:
        closing = self.server.fake._closing
        self._start(
            200,
            "text/event-stream",
            request_id,
            [("cache-control", "no-cache"), ("transfer-encoding", "chunked")],
        )
        for n, (name, data) in enumerate(events):
            if n and delay and closing.wait(delay):
                return self._drop()
            self._chunk(_sse.sse(name, data))
        if end == "drop":
            return self._drop()
        if end == "error":
            self._chunk(_sse.sse("error", error or {}))
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _drop(self) -> None:
        """Close the socket now, whatever has been sent."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
