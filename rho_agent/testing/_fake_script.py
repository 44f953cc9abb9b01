"""The script of a FakeAnthropic server: content blocks, replies, faults, and their JSON form.

Everything here is plain data. `rho_agent.testing.fake_anthropic` re-exports the public names;
`_sse.py` turns a `Reply` into wire JSON and SSE events.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

STOP_REASONS = (
    "end_turn",
    "tool_use",
    "max_tokens",
    "stop_sequence",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
)

# ---------------------------------------------------------------------------------------------
# Content blocks


@dataclass(frozen=True)
class Text:
    """A `text` block; build it with `text()`."""

    text: str

    def __repr__(self) -> str:
        return f"text({self.text!r})"


@dataclass(frozen=True)
class ToolCall:
    """A `tool_use` block; build it with `tool_call()`. `id` is what the tool_result must echo."""

    name: str
    input: dict[str, Any]
    id: str

    def __repr__(self) -> str:
        return f"tool_call({self.name!r}, {self.input!r}, id={self.id!r})"


@dataclass(frozen=True)
class Thinking:
    """A `thinking` block with its `signature`; build it with `thinking()`."""

    thinking: str
    signature: str

    def __repr__(self) -> str:
        return f"thinking({self.thinking!r})"


@dataclass(frozen=True)
class RedactedThinking:
    """A `redacted_thinking` block (opaque `data`); build it with `redacted_thinking()`."""

    data: str

    def __repr__(self) -> str:
        return f"redacted_thinking({self.data!r})"


Block: TypeAlias = Text | ToolCall | Thinking | RedactedThinking


def text(value: str) -> Text:
    """A text block: `text("I'll look.")`. Streamed as a few `text_delta` events."""
    if not isinstance(value, str):
        raise TypeError(f"text() takes a str, got {type(value).__name__}")
    return Text(value)


def tool_call(name: str, input: dict[str, Any] | None = None, id: str | None = None) -> ToolCall:
    """A tool_use block: `tool_call("bash", {"command": "ls"})`.

    `id` defaults to a fresh unique `toolu_...` id, fixed when the block is built, so a test can
    keep the block and compare `call.id` with the `tool_use_id` its agent sends back. `input` is
    streamed as several `input_json_delta` fragments.
    """
    input = {} if input is None else input
    if not isinstance(input, dict):
        raise TypeError(
            f"tool_call() input must be a dict (a JSON object), got {type(input).__name__}"
        )
    json.dumps(input)  # fail here, not in the server thread, if it is not JSON
    return ToolCall(name, input, id or f"toolu_{secrets.token_hex(12)}")


def thinking(value: str, signature: str | None = None) -> Thinking:
    """A thinking block. `signature` defaults to a stable value derived from the text."""
    if signature is None:
        digest = hashlib.sha256(value.encode()).digest()
        signature = base64.b64encode(b"fake-signature:" + digest).decode()
    return Thinking(value, signature)


def redacted_thinking(data: str) -> RedactedThinking:
    """A redacted_thinking block carrying opaque `data` (sent whole, in `content_block_start`)."""
    return RedactedThinking(data)


# ---------------------------------------------------------------------------------------------
# Steps


@dataclass(frozen=True, kw_only=True)
class TokenUsage:
    """Token counts that override the default usage rule for one reply.

    Each field left as None keeps its default (see `rho_agent.testing.fake_anthropic`).
    `input` is `usage.input_tokens` (uncached input), `cache_write` is
    `cache_creation_input_tokens`, `cache_read` is `cache_read_input_tokens`.
    """

    input: int | None = None
    output: int | None = None
    cache_write: int | None = None
    cache_read: int | None = None


@dataclass(frozen=True)
class Reply:
    """One model turn the server answers with; build it with `reply()`."""

    blocks: tuple[Block, ...]
    stop_reason: str
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    usage: TokenUsage | None = None
    delay: float = 0.0
    chunk: int | None = None

    def __repr__(self) -> str:
        args = [repr(b) for b in self.blocks]
        args.append(f"stop_reason={self.stop_reason!r}")
        return f"reply({', '.join(args)})"


def reply(
    *blocks: Block,
    stop_reason: str | None = None,
    stop_sequence: str | None = None,
    stop_details: dict[str, Any] | None = None,
    usage: TokenUsage | None = None,
    delay: float = 0.0,
    chunk: int | None = None,
) -> Reply:
    """A successful model turn made of `blocks`.

    - `stop_reason`: defaults to "tool_use" if any block is a `tool_call`, "stop_sequence" if
      `stop_sequence` is given, else "end_turn". Any API value is accepted ("max_tokens",
      "pause_turn", "refusal", "model_context_window_exceeded", ...).
    - `stop_details`: sent with "refusal"; defaults to
      `{"type": "refusal", "category": None, "explanation": None}` for that stop reason.
    - `usage`: a `TokenUsage` overriding some or all of the default token counts.
    - `delay`: seconds between streamed events (a non-streaming answer waits it once).
    - `chunk`: characters per text/thinking/tool-JSON delta; by default each block is split
      into three deltas.
    """
    for block in blocks:
        if not isinstance(block, Text | ToolCall | Thinking | RedactedThinking):
            raise TypeError(
                f"reply() takes blocks made by text(), tool_call(), thinking() or "
                f"redacted_thinking(), got {block!r}"
            )
    if stop_reason is None:
        if any(isinstance(b, ToolCall) for b in blocks):
            stop_reason = "tool_use"
        elif stop_sequence is not None:
            stop_reason = "stop_sequence"
        else:
            stop_reason = "end_turn"
    if stop_reason not in STOP_REASONS:
        raise ValueError(
            f"unknown stop_reason {stop_reason!r}; expected one of {', '.join(STOP_REASONS)}"
        )
    if stop_reason == "refusal" and stop_details is None:
        stop_details = {"type": "refusal", "category": None, "explanation": None}
    if chunk is not None and (not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"reply() chunk must be a positive number of characters, got {chunk!r}")
    if usage is not None and not isinstance(usage, TokenUsage):
        raise TypeError(f"reply() usage must be a TokenUsage(...), got {usage!r}")
    return Reply(tuple(blocks), stop_reason, stop_sequence, stop_details, usage, delay, chunk)


@dataclass(frozen=True)
class Fault:
    """A failure the server answers with instead of a reply; build it with `fault.*()`.

    `kind` is one of "http_error", "stream_error", "drop_connection", "slow_first_byte";
    the other fields apply to some kinds only. `times` is how many consecutive requests this
    step answers (None: every request from here on).
    """

    kind: str
    label: str
    status: int = 500
    error_type: str = "api_error"
    message: str = ""
    retry_after: float | None = None
    after_events: int = 3
    seconds: float = 0.0
    then: Step | None = None
    partial: Reply | None = None
    times: int | None = 1

    def __repr__(self) -> str:
        return self.label


# Error type -> HTTP status, for error events answered on a non-streaming request.
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def _check_times(times: int | None) -> None:
    if times is not None and (not isinstance(times, int) or times < 1):
        raise ValueError(
            f"times must be a positive int, or None for every later request; got {times!r}"
        )


class fault:  # a namespace: `fault.overloaded()`
    """Fault steps. Each answers one request (or `times` requests) instead of a reply.

    HTTP errors carry the API's body `{"type": "error", "error": {"type", "message"},
    "request_id"}` and a `request-id` header. Retryable ones (429, 500, 529) also carry
    `retry-after` and `retry-after-ms` (at least 1 ms, since the SDK reads 0 as "back off"),
    so SDK retries happen at once.
    """

    __slots__ = ()

    @staticmethod
    def http_error(
        status: int,
        error_type: str,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        times: int | None = 1,
    ) -> Fault:
        """Any HTTP error: `fault.http_error(400, "invalid_request_error", "prompt is too long")`."""
        _check_times(times)
        label = f"fault.http_error({status}, {error_type!r})"
        message = message or error_type.replace("_", " ").capitalize()
        return Fault("http_error", label, status, error_type, message, retry_after, times=times)

    @staticmethod
    def rate_limited(retry_after: float = 0, *, times: int | None = 1) -> Fault:
        """429 rate_limit_error with `retry-after: <retry_after>`."""
        f = fault.http_error(
            429, "rate_limit_error", "Rate limited", retry_after=retry_after, times=times
        )
        return _relabel(f, "fault.rate_limited()")

    @staticmethod
    def overloaded(retry_after: float = 0, *, times: int | None = 1) -> Fault:
        """529 overloaded_error (the SDK raises `OverloadedError` once retries are used up)."""
        f = fault.http_error(
            529, "overloaded_error", "Overloaded", retry_after=retry_after, times=times
        )
        return _relabel(f, "fault.overloaded()")

    @staticmethod
    def server_error(retry_after: float = 0, *, times: int | None = 1) -> Fault:
        """500 api_error."""
        f = fault.http_error(
            500, "api_error", "Internal server error", retry_after=retry_after, times=times
        )
        return _relabel(f, "fault.server_error()")

    @staticmethod
    def unauthorized(*, times: int | None = 1) -> Fault:
        """401 authentication_error, not retried by the SDK. `times=None`: every later request."""
        f = fault.http_error(401, "authentication_error", "invalid x-api-key", times=times)
        return _relabel(f, "fault.unauthorized()")

    @staticmethod
    def stream_error(
        after_events: int = 3,
        error_type: str = "overloaded_error",
        message: str = "Overloaded",
        *,
        partial: Reply | None = None,
    ) -> Fault:
        """HTTP 200, the first `after_events` SSE events of `partial`, then `event: error`.

        `partial` defaults to a short text reply. A non-streaming request gets the HTTP error
        that `error_type` maps to (529 for overloaded_error) instead.
        """
        label = f"fault.stream_error(after_events={after_events}, error_type={error_type!r})"
        return Fault(
            "stream_error", label, ERROR_STATUS.get(error_type, 500), error_type, message,
            after_events=after_events, partial=partial,
        )  # fmt: skip

    @staticmethod
    def drop_connection(after_events: int = 3, *, partial: Reply | None = None) -> Fault:
        """HTTP 200, the first `after_events` SSE events, then the socket is closed mid-body.

        A non-streaming request gets its headers and half of its JSON body, then the close.
        """
        label = f"fault.drop_connection(after_events={after_events})"
        return Fault("drop_connection", label, 200, after_events=after_events, partial=partial)

    @staticmethod
    def slow_first_byte(seconds: float, then: Step | None = None) -> Fault:
        """Wait `seconds` before sending anything, then answer with step `then`.

        With `then=None` the connection is closed without a response after the wait (a hung
        upstream). A client whose timeout is shorter sees a timeout.
        """
        if then is not None:
            check_step(then, "slow_first_byte(then=...)")
        label = f"fault.slow_first_byte({seconds}, then={then!r})"
        return Fault("slow_first_byte", label, 200, seconds=seconds, then=then)


def _relabel(f: Fault, label: str) -> Fault:
    return dataclasses.replace(f, label=label)


Step: TypeAlias = Reply | Fault | Callable[[Any], Reply | Fault]
"""A script step: a `Reply`, a `Fault`, or a callable `(RecordedRequest) -> Reply | Fault`."""


def unmet(script: list[Any], used: list[int]) -> list[str]:
    """What a finished script left undone: steps never used, faults used fewer times than set."""
    lines = []
    for i, step in enumerate(script):
        times = step.times if isinstance(step, Fault) else 1
        if used[i] == 0:
            lines.append(f"step {i} was never used: {step!r}")
        elif times is not None and used[i] < times:
            lines.append(f"step {i} answered {used[i]} of {times} times: {step!r}")
    return lines


def check_step(step: Any, where: str) -> None:
    """Raise TypeError with a fix if `step` cannot be a script step."""
    if isinstance(step, Reply | Fault):
        return
    if isinstance(step, Text | ToolCall | Thinking | RedactedThinking):
        raise TypeError(f"{where} is a content block, not a step; wrap it: reply({step!r})")
    if not callable(step):
        raise TypeError(
            f"{where} must be reply(...), fault.<kind>(...) or a callable "
            f"(request) -> reply(...); got {step!r}"
        )


# ---------------------------------------------------------------------------------------------
# The JSON form (for `python -m rho_agent.testing.fake_anthropic SCRIPT.json`)

_BLOCK_KEYS = ("text", "tool_call", "thinking", "redacted_thinking")


def _block_from_json(obj: Any, where: str) -> Block:
    keys = [k for k in _BLOCK_KEYS if isinstance(obj, dict) and k in obj]
    if len(keys) != 1:
        raise ValueError(
            f"{where}: a block needs exactly one of the keys {', '.join(_BLOCK_KEYS)}; got {obj!r}"
        )
    kind = keys[0]
    extra = {k: v for k, v in obj.items() if k != kind}
    allowed = {
        "text": set(),
        "tool_call": {"input", "id"},
        "thinking": {"signature"},
        "redacted_thinking": set(),
    }
    if unknown := set(extra) - allowed[kind]:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)} in a {kind} block")
    return {
        "text": text,
        "tool_call": tool_call,
        "thinking": thinking,
        "redacted_thinking": redacted_thinking,
    }[kind](obj[kind], **extra)


def step_from_json(obj: Any, where: str = "step") -> Reply | Fault:
    """One step from its JSON form (see the module docstring of `fake_anthropic`)."""
    if not isinstance(obj, dict) or ("reply" in obj) == ("fault" in obj):
        raise ValueError(
            f'{where}: a step is an object with a "reply" or a "fault" key; got {obj!r}'
        )
    kwargs = {k: v for k, v in obj.items() if k not in ("reply", "fault")}
    for key in ("then", "partial"):
        if isinstance(kwargs.get(key), dict):
            kwargs[key] = step_from_json(kwargs[key], f"{where}.{key}")
    try:
        if isinstance(kwargs.get("usage"), dict):
            kwargs["usage"] = TokenUsage(**kwargs["usage"])
        if "reply" in obj:
            if not isinstance(obj["reply"], list):
                raise ValueError(f'{where}: "reply" must be a list of blocks')
            blocks = [
                _block_from_json(b, f"{where}.reply[{i}]") for i, b in enumerate(obj["reply"])
            ]
            return reply(*blocks, **kwargs)
        make = getattr(fault, str(obj["fault"]), None)
        if make is None or str(obj["fault"]).startswith("_"):
            kinds = [n for n in vars(fault) if not n.startswith("_")]
            raise ValueError(
                f"{where}: unknown fault {obj['fault']!r}; expected one of {', '.join(kinds)}"
            )
        return make(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def load_script(source: str | Path | list[Any]) -> list[Reply | Fault]:
    """Steps from a JSON file path, or from an already parsed JSON list."""
    data = json.loads(Path(source).read_text()) if isinstance(source, str | Path) else source
    if not isinstance(data, list):
        raise ValueError("a FakeAnthropic script is a JSON list of steps")
    return [step_from_json(obj, f"step {i}") for i, obj in enumerate(data)]
