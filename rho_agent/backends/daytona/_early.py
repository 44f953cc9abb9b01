"""The sandbox create request, sent before the Daytona SDK is imported.

Importing the SDK takes most of a second, and the sandbox's start waits on the create
request, which needs nothing from the SDK: one JSON POST. So when every setting is plain
(credentials in the environment or its `.env` files, an image name or a snapshot, no SDK
config object, no proxy, no tracing), that request goes out from a thread at once, as the
SDK would send it: same URL, headers and body (`test_daytona_early.py` compares them with
the SDK's own). The lifecycle then takes over the sandbox by id once the SDK is in.

    early = send_early(plan)          # None: the SDK creates, as before
    outcome = await early.outcome()   # Created(id) · Refused(status) · Unanswered(reason)

`Refused` (a 4xx answer) means nothing was created: the SDK sends the request again and
reports the error as it always has. `Unanswered` (no answer, a 5xx, a garbled one) means the
sandbox may exist: it is looked up by its unique name, as for an SDK create whose answer
was lost.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from rho_agent.backends.daytona._plan import Plan, create_intervals

#: What the SDK sends by default (`AsyncDaytona.__init__`).
DEFAULT_API_URL = "https://app.daytona.io/api"
SOURCE = "sdk-python-async"
LANGUAGE_LABEL = "code-toolbox-language"  # the SDK's CODE_TOOLBOX_LANGUAGE_LABEL
#: Settings the SDK honours that change how (or through what) the request is sent.
_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy"}
_TRACING = ("DAYTONA_OTEL_ENABLED", "DAYTONA_EXPERIMENTAL_OTEL_ENABLED")


@dataclass(frozen=True)
class Created:
    sandbox_id: str


@dataclass(frozen=True)
class Refused:
    """A 4xx answer: nothing was created."""

    status: int


@dataclass(frozen=True)
class Unanswered:
    """No usable answer: the sandbox may or may not exist."""

    reason: str


Outcome = Created | Refused | Unanswered


@dataclass(frozen=True)
class CreateRequest:
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    timeout: float


class EarlyCreate:
    """One create request in flight on its own thread."""

    def __init__(self, request: CreateRequest) -> None:
        self.request = request
        self._done: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
        threading.Thread(target=self._send, name="rho-agent-early-create", daemon=True).start()

    async def outcome(self, timeout: float | None = None) -> Outcome:
        """The answer; `Unanswered` if none came within `timeout` seconds (it may still).
        Neither a timeout nor a cancel of the caller cancels the request's own future: the
        answer stays there for the next caller (the teardown, after a cancelled create)."""
        answer = asyncio.wrap_future(self._done)
        await asyncio.wait({answer}, timeout=timeout)
        if not answer.done():
            return Unanswered(f"no answer within {timeout:g}s")
        return answer.result()

    def undo(self, outcome: Outcome | None) -> None:
        """Delete what the request made, without the SDK (blocking; for when the SDK failed
        to load): by id when the answer gave one, else looked up by the sandbox's name."""
        sandbox_id = outcome.sandbox_id if isinstance(outcome, Created) else None
        base, headers = self.request.url, self.request.headers
        if sandbox_id is None:
            name = quote(self.request.body["name"], safe="")
            status, data = _http("GET", f"{base}/{name}", headers, None, 30)
            if status != 200:
                return  # never made (404), or not to be found now
            sandbox_id = json.loads(data)["id"]
        _http("DELETE", f"{base}/{quote(sandbox_id, safe='')}", headers, None, 30)

    def _send(self) -> None:
        try:
            outcome = post(self.request)
        except Exception as exc:  # the request may have gone out: never a guess that it did not
            outcome = Unanswered(f"{type(exc).__name__}: {exc}")
        self._done.set_result(outcome)


def send_early(plan: Plan, environ: Any = None) -> EarlyCreate | None:
    """Send `plan`'s create request now, or None when it needs the SDK to build it."""
    try:
        request = create_request(plan, os.environ if environ is None else environ)
    except Exception:  # e.g. an unreadable .env: the SDK reads it again and says what is wrong
        return None
    return EarlyCreate(request) if request is not None else None


def create_request(plan: Plan, environ: Any) -> CreateRequest | None:
    """The request `AsyncDaytona(None).create(params)` sends for `plan`, or None when the SDK
    would do more than one plain POST (or read settings this does not)."""
    kind, source = plan.image
    if plan.sdk_config is not None or plan.resources is not None or not isinstance(source, str):
        return None
    if any(k.lower() in _PROXY_VARIABLES for k in environ):
        return None
    settings = _DaytonaSettings(environ)
    if any(settings.get(k) == "true" for k in _TRACING):
        return None  # the SDK's tracing adds its own headers
    api_key = settings.get("DAYTONA_API_KEY")
    token = api_key or settings.get("DAYTONA_JWT_TOKEN")
    organization = settings.get("DAYTONA_ORGANIZATION_ID")
    if not token or (not api_key and not organization):
        return None  # the SDK raises its own error for this
    # The endpoint comes from the process environment only (never a .env file), as in the SDK.
    api_url = environ.get("DAYTONA_API_URL") or environ.get("DAYTONA_SERVER_URL") or DEFAULT_API_URL
    if "@" in api_url.partition("//")[2].partition("/")[0]:
        return None  # credentials in the URL: aiohttp's business
    version = _sdk_version()
    headers = {
        "Authorization": f"Bearer {token}",
        "X-Daytona-Source": SOURCE,
        "X-Daytona-SDK-Version": version,
        "User-Agent": f"{SOURCE}/{version}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    if not api_key:
        headers["X-Daytona-Organization-ID"] = organization or ""
    auto_stop, auto_delete = create_intervals(plan)
    body: dict[str, Any] = {
        "name": plan.name,
        "env": dict(plan.env),
        "labels": {**plan.labels, LANGUAGE_LABEL: "python"},
        "autoStopInterval": auto_stop,
        "autoDeleteInterval": auto_delete,
        "volumes": [],
    }
    if target := settings.get("DAYTONA_TARGET"):
        body["target"] = target
    if kind == "snapshot":
        body["snapshot"] = source
    else:
        body["buildInfo"] = {"dockerfileContent": f"FROM {source}\n"}  # Image.base(source)
    # The SDK's generated client appends the path as it is, even after a trailing slash.
    return CreateRequest(f"{api_url}/sandbox", headers, body, plan.create_timeout)


def post(request: CreateRequest) -> Outcome:
    """Send it (blocking) and read the answer."""
    body = json.dumps(request.body).encode()
    status, data = _http("POST", request.url, request.headers, body, request.timeout)
    if 400 <= status < 500:
        return Refused(status)
    if status >= 300:
        return Unanswered(f"HTTP {status}")
    sandbox_id = json.loads(data).get("id")
    if not isinstance(sandbox_id, str) or not sandbox_id:
        return Unanswered("the answer had no sandbox id")
    return Created(sandbox_id)


def _http(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[int, bytes]:
    """One request on its own connection (stdlib only: it runs before anything is imported)."""
    import http.client
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(parts.netloc, timeout=timeout, context=context)
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class _DaytonaSettings:
    """`DAYTONA_*` settings as the SDK's `DaytonaEnvReader.get` reads them: the process
    environment, then `.env.local`, then `.env` (in the current directory)."""

    def __init__(self, environ: Any) -> None:
        from dotenv import dotenv_values  # a dependency of the SDK, and light

        self._environ = environ
        self._files = [dotenv_values(name) for name in (".env.local", ".env")]

    def get(self, name: str) -> str | None:
        if (value := self._environ.get(name)) is not None:
            return value
        for values in self._files:
            if (value := values.get(name)) is not None:
                return value
        return None


def _sdk_version() -> str:
    from importlib.metadata import version

    for package in ("daytona", "daytona_sdk"):
        try:
            return version(package)
        except Exception:
            continue
    return "unknown"
