"""Wire-format helpers shared by the control plane and the toolbox: the error envelope and
timestamps, in the shapes the daytona SDK 0.226.1 parses."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

DAEMON = "DAYTONA_DAEMON"

_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


class ApiError(Exception):
    """Raised by a handler; the server's middleware turns it into the error envelope.

    `daemon=True` marks errors the in-sandbox daemon would raise: the SDK maps
    (`source`, `code`) to precise classes such as `DaytonaFileNotFoundError`.
    """

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        *,
        daemon: bool = False,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _STATUS_CODES.get(status, "ERROR")
        self.daemon = daemon
        self.headers = headers or {}

    def payload(self, request: web.Request | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "statusCode": self.status,
            "message": self.message,
            "code": self.code,
            "timestamp": iso_now(),
        }
        if request is not None:
            body["path"] = request.path
            body["method"] = request.method
        if self.daemon:
            body["source"] = DAEMON
        return body


def not_found(path: str) -> ApiError:
    return ApiError(404, f"file not found: {path}", "FILE_NOT_FOUND", daemon=True)


def error_response(err: ApiError, request: web.Request | None = None, **extra: Any) -> web.Response:
    return web.json_response(
        {**err.payload(request), **extra}, status=err.status, headers=err.headers
    )


def iso(ts: float) -> str:
    """RFC 3339 with milliseconds and a `Z`, as the Daytona API writes timestamps."""
    return (
        datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(ts * 1000) % 1000:03d}Z"
    )


def iso_now() -> str:
    return iso(time.time())


def go_time(ts: float) -> str:
    """Go's `time.Time.String()` form, which the daemon uses for `FileInfo.modTime`."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond:06d}000 +0000 UTC"


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (an empty body reads as `{}`); 400 if it is not an object."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"invalid JSON body: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "JSON body must be an object")
    return body
