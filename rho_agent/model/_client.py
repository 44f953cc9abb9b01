"""The Anthropic model: one streamed Messages API call per turn, with retries and caching.

One retry policy, ours: the SDK client is made with `max_retries=0`, and `AnthropicModel.turn`
retries every failure worth another try itself (429, 408, 409, 5xx and connection errors
before the stream starts; an `error` event or a dropped connection midway, which the SDK
never retries). Each retry is announced through `on_retry` with its delay (the server's
`retry-after` when it gives one, else exponential backoff), so the user sees every wait, and
the attempt count in an error is the number of HTTP requests made.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

from rho_agent._preload import soon
from rho_agent.errors import MissingCredentialsError, ModelError
from rho_agent.model._base import StreamCallbacks, TurnResult
from rho_agent.model._usage import Price, Usage

# Error types (the API's `error.type`) worth another try when they arrive mid-stream.
_RETRYABLE_STREAM_ERRORS = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}

NO_KEY_MESSAGE = (
    "No Anthropic API key. Set ANTHROPIC_API_KEY (export ANTHROPIC_API_KEY=sk-ant-...), "
    "or set ANTHROPIC_BASE_URL to a compatible server (Ollama, vLLM, a LiteLLM proxy) "
    "together with any non-empty ANTHROPIC_API_KEY."
)


@dataclass
class AnthropicModel:
    """The `Model` of the Messages API: a thin async wrapper over `anthropic.AsyncAnthropic`."""

    model: str
    api_key: str | None = None
    base_url: str | None = None
    max_tokens: int = 32_000
    #: Retries of a failed call, HTTP error or broken stream alike: a turn makes at most
    #: `max_retries + 1` requests. The SDK does not retry on its own.
    max_retries: int = 4
    backoff_base_s: float = 0.5
    timeout_s: float = 600.0
    #: The model's price, if the table and config.toml should not be asked (see `Price`).
    price: Price | None = None
    _client: Any = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return self.model

    async def prepare(self) -> None:
        """Import the SDK (about a second) off the event loop, so other work goes on meanwhile;
        after any import asked for before (a sandbox's SDK), not against it for the GIL."""
        await soon(lambda: importlib.import_module("anthropic"))

    def check_credentials(self) -> None:
        """Raise MissingCredentialsError now, before a run creates anything."""
        import os

        if not (
            self.api_key
            or os.environ.get("ANTHROPIC_API_KEY")
            or os.environ.get("ANTHROPIC_AUTH_TOKEN")
        ):
            raise MissingCredentialsError(NO_KEY_MESSAGE)

    def _sdk(self) -> Any:
        if self._client is None:
            import os

            import anthropic  # heavy: imported only when a model call is made

            self.check_credentials()
            key = self.api_key or os.environ.get("ANTHROPIC_API_KEY")
            self._client = anthropic.AsyncAnthropic(
                api_key=key,
                base_url=self.base_url or os.environ.get("ANTHROPIC_BASE_URL") or None,
                max_retries=0,  # we retry, announced (see the module docstring)
                timeout=self.timeout_s,
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def turn(
        self,
        *,
        system: str,
        tools: list[dict[str, Any]],
        messages: list[dict[str, Any]],
        callbacks: StreamCallbacks | None = None,
    ) -> TurnResult:
        """Stream one assistant turn, retrying a broken stream with backoff."""
        import anthropic
        import httpx2

        cb = callbacks or StreamCallbacks()
        request = build_request(self.model, self.max_tokens, system, tools, messages)
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                result = await self._stream_once(request, cb)
            except anthropic.AuthenticationError as exc:
                raise ModelError(
                    f"The model API rejected the API key (401): {_api_message(exc)}. "
                    "Check ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL if you use a proxy)."
                ) from exc
            except (
                anthropic.PermissionDeniedError,
                anthropic.NotFoundError,
                anthropic.BadRequestError,
            ) as exc:
                raise ModelError(
                    f"The model API refused the request ({exc.status_code}): {_api_message(exc)}"
                ) from exc
            except (
                anthropic.APIStatusError,
                anthropic.APIConnectionError,
                httpx2.TransportError,
            ) as exc:
                if not _worth_retrying(exc) or attempt > self.max_retries:
                    raise ModelError(
                        f"The model API call failed after {attempt} attempt(s): {_describe(exc)}"
                    ) from exc
                delay = _retry_after(exc)
                if delay is None:
                    delay = min(self.backoff_base_s * 2 ** (attempt - 1), 8.0) * (
                        1 - 0.25 * random.random()
                    )
                if cb.on_retry:
                    await cb.on_retry(attempt, _describe(exc), delay)
                await asyncio.sleep(delay)
                continue
            result.duration_s = time.monotonic() - started
            result.attempts = attempt
            return result

    async def _stream_once(self, request: dict[str, Any], cb: StreamCallbacks) -> TurnResult:
        async with self._sdk().messages.stream(**request) as stream:
            async for event in stream:
                if event.type in ("message_start", "message_delta") and cb.on_usage:
                    cb.on_usage(Usage.from_api(stream.current_message_snapshot.usage))
                if event.type == "text" and cb.on_text:
                    await cb.on_text(event.text)
                elif event.type == "thinking" and cb.on_thinking:
                    await cb.on_thinking(event.thinking)
            message = await stream.get_final_message()
        details: Any = getattr(message, "stop_details", None)
        return TurnResult(
            content=[block_to_param(b) for b in message.content],
            stop_reason=message.stop_reason,
            usage=Usage.from_api(message.usage),
            stop_details=details.to_dict(mode="json") if hasattr(details, "to_dict") else details,
        )


def block_to_param(block: Any) -> dict[str, Any]:
    """A response content block as an input block; thinking signatures pass back unchanged."""
    data = block.to_dict(mode="json", exclude_none=True)
    if data.get("type") == "text":
        return {"type": "text", "text": data.get("text", "")}
    if data.get("type") == "tool_use":
        return {
            "type": "tool_use",
            "id": data["id"],
            "name": data["name"],
            "input": data.get("input") or {},
        }
    return data


def build_request(
    model: str,
    max_tokens: int,
    system: str,
    tools: list[dict[str, Any]],
    messages: list[dict[str, Any]],
) -> dict[str, Any]:
    """The request body, with cache breakpoints on tools, system and the newest message.

    History is not mutated: the newest message is copied before it gets its breakpoint.
    """
    cached_tools: list[dict[str, Any]] = [dict(t) for t in tools]
    if cached_tools:
        cached_tools[-1]["cache_control"] = {"type": "ephemeral"}
    sent = list(messages)
    if sent:
        last = copy.deepcopy(sent[-1])
        content: list[dict[str, Any]] | str = last["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
            last["content"] = content
        for block in reversed(content):
            if block.get("type") not in ("thinking", "redacted_thinking"):
                block["cache_control"] = {"type": "ephemeral"}
                break
        sent[-1] = last
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": sent,
        "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
    }
    if cached_tools:
        request["tools"] = cached_tools
    return request


def _worth_retrying(exc: Exception) -> bool:
    import anthropic

    response = getattr(exc, "response", None)
    should = response.headers.get("x-should-retry") if response is not None else None
    if should in ("true", "false"):  # the server says; the SDK obeys it too
        return should == "true"
    if isinstance(exc, anthropic.APIStatusError):
        if exc.status_code == 200:  # an `error` event inside a stream that had started
            return (
                getattr(exc, "type", None) in _RETRYABLE_STREAM_ERRORS
                or _body_type(exc) in _RETRYABLE_STREAM_ERRORS
            )
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return True  # connection errors, timeouts, dropped streams


def _retry_after(exc: Exception) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `retry-after`), up to a minute."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            seconds = float(response.headers.get(header, "")) * scale
        except ValueError:
            continue
        if 0 < seconds <= 60:
            return seconds
    return None


def _body_type(exc: Any) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return err.get("type")
    return None


def _api_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", exc))
    return str(getattr(exc, "message", exc))


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    kind = getattr(exc, "type", None) or _body_type(exc) or type(exc).__name__
    prefix = f"{status} " if status and status != 200 else ""
    return f"{prefix}{kind}: {_api_message(exc)}"
