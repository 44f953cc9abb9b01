"""Daytona's failures, translated at the seam: which are worth retrying, how long to wait,
which OSError a file tool expects, what state a sandbox is in, and which of our errors a
failed call becomes.

    SandboxError (rho_agent.errors)
     └─ SandboxNotFound       the sandbox is not there (deleted, or never was)
"""

from __future__ import annotations

import errno
import random
from typing import Any

from rho_agent.errors import SandboxError


class SandboxNotFound(SandboxError):
    """The sandbox a call was about does not exist (any more)."""


RETRIES = 3
#: Statuses a gateway answers when the request did not reach (or could not reach) the daemon.
GATEWAY = frozenset({429, 502, 503, 504})
GONE_STATES = frozenset({"error", "build_failed", "destroyed", "destroying"})
STOPPED_STATES = frozenset({"stopped", "stopping", "archived", "archiving", "paused"})


def state_of(sandbox: Any) -> str:
    state = getattr(sandbox, "state", None)
    return str(getattr(state, "value", state) or "unknown").lower()


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind a Daytona error; the SDK drops it for some transfers (it is
    then on the aiohttp/httpx error the DaytonaError was raised from)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for status in (
            getattr(current, "status_code", None),
            getattr(current, "status", None),
            getattr(getattr(current, "response", None), "status_code", None),
        ):
            if isinstance(status, int) and 100 <= status < 600:
                return status
        current = current.__cause__ or current.__context__
    return None


def transient(exc: Any, idempotent: bool) -> bool:
    from daytona.common.errors import DaytonaConnectionError, DaytonaTimeoutError

    status = status_of(exc)
    if status in GATEWAY:
        return True
    if not idempotent:
        return False
    if status is not None and status >= 500:
        return True
    return isinstance(exc, DaytonaConnectionError) and not isinstance(exc, DaytonaTimeoutError)


def backoff(attempt: int, exc: Any) -> float:
    retry_after = (getattr(exc, "headers", None) or {}).get("Retry-After")
    try:
        if retry_after is not None:
            return min(float(retry_after), 5.0)
    except ValueError:
        pass
    return 0.2 * 2 ** (attempt - 1) * (1 + random.random() / 2)


def message_of(exc: Any) -> str:
    message = str(getattr(exc, "message", None) or exc)
    return message if message.endswith(".") else message + "."


def os_error(exc: Any, path: str) -> OSError | None:
    """The OSError a file tool expects for a daemon's file error, or None."""
    from daytona.common.errors import DaytonaForbiddenError, DaytonaNotFoundError

    message = str(getattr(exc, "message", "") or "").lower()
    if isinstance(exc, DaytonaNotFoundError) or "no such file" in message:
        return FileNotFoundError(errno.ENOENT, "No such file or directory", path)
    if "is a directory" in message:
        return IsADirectoryError(errno.EISDIR, "Is a directory", path)
    if "not a directory" in message:
        return NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
    if (
        isinstance(exc, DaytonaForbiddenError)
        or "permission denied" in message
        or "read-only" in message
    ):
        return PermissionError(errno.EACCES, "Permission denied", path)
    return None


def as_sandbox_error(exc: Any, what: str) -> SandboxError:
    """The error a failed SDK call (trying to `what`) leaves the seam as."""
    from daytona.common.errors import DaytonaNotFoundError

    kind = SandboxNotFound if isinstance(exc, DaytonaNotFoundError) else SandboxError
    return kind(f"Could not {what} in the Daytona sandbox: {message_of(exc)}")
