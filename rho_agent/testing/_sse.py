"""Wire rendering for FakeAnthropic: token usage, the `Message` JSON, SSE events, error bodies.

Pure functions over a `Reply` and a request body (plus `PromptCache`, the one piece of state
the default usage rule needs). No sockets here, so the same events could feed an
`httpx2.MockTransport`.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
from typing import Any

from ._fake_script import RedactedThinking, Reply, Text, Thinking, TokenUsage, ToolCall

Event = tuple[str, dict[str, Any]]


def tokens(chars: int) -> int:
    """The fake tokenizer: four characters per token, rounded up."""
    return (chars + 3) // 4


def _compact(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _segments(body: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """The prompt in cache order (tools, system, messages) as (compact JSON, cache_control).

    One segment per tool, system block and message content block; `cache_control` is left
    out of the JSON so moving a breakpoint does not change the prefix.
    """
    raw: list[tuple[Any, Any]] = [(None, tool) for tool in body.get("tools") or []]
    system = body.get("system")
    if isinstance(system, str):
        raw.append((None, {"type": "text", "text": system}))
    elif isinstance(system, list):
        raw.extend((None, block) for block in system)
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        raw.extend((message.get("role"), block) for block in content or [])
    out = []
    for role, block in raw:
        if isinstance(block, dict):
            control = block.get("cache_control")
            block = {k: v for k, v in block.items() if k != "cache_control"}
        else:
            control = None
        out.append((_compact([role, block]), control if isinstance(control, dict) else None))
    if out and isinstance(body.get("cache_control"), dict):  # automatic caching: the last block
        out[-1] = (out[-1][0], body["cache_control"])
    return out


class PromptCache:
    """The default input-side usage rule, with the prefixes this server has cached.

    The prompt (tools, then system, then messages, one segment per tool/block, compact JSON
    without `cache_control`) is counted at 4 characters per token. A block with
    `cache_control` (or the last block, for a top-level `cache_control`) is a breakpoint:

    - `cache_read_input_tokens`: the longest prefix that ends on a breakpoint of an earlier
      reply of this server;
    - `cache_creation_input_tokens`: the rest of the prompt up to this request's last
      breakpoint (all counted as 1h if that breakpoint has `ttl: "1h"`, else 5m);
    - `input_tokens`: everything after the last breakpoint.

    No minimum cacheable length and no expiry. An HTTP error answer writes nothing to the cache.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def count(self, body: dict[str, Any]) -> int:
        """All prompt tokens, what `count_tokens` answers."""
        return tokens(sum(len(seg) for seg, _ in _segments(body)))

    def measure(self, body: dict[str, Any]) -> dict[str, Any]:
        """Input-side usage for a reply to `body`, remembering its breakpoints."""
        segments = _segments(body)
        chars, running, prefixes = 0, hashlib.sha256(), []
        for seg, control in segments:
            chars += len(seg)
            running.update(seg.encode() + b"\0")
            prefixes.append((chars, running.hexdigest(), control))
        breakpoints = [p for p in prefixes if p[2] is not None]
        total = tokens(chars)
        if not breakpoints:
            return _input_usage(total, 0, 0, "5m")
        last_chars, _, last_control = breakpoints[-1]
        with self._lock:
            read_chars = max(
                (c for c, digest, _ in prefixes if c <= last_chars and digest in self._seen),
                default=0,
            )
            self._seen.update(digest for _, digest, _ in breakpoints)
        read = tokens(read_chars)
        write = tokens(last_chars) - read
        return _input_usage(total - tokens(last_chars), write, read, last_control.get("ttl", "5m"))


def _input_usage(input_tokens: int, write: int, read: int, ttl: str) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": 0 if ttl == "1h" else write,
            "ephemeral_1h_input_tokens": write if ttl == "1h" else 0,
        },
    }


def output_tokens(reply: Reply) -> int:
    """Default output tokens: the generated text, JSON and signatures at 4 chars/token, at least 1."""
    chars = 0
    for block in reply.blocks:
        if isinstance(block, Text):
            chars += len(block.text)
        elif isinstance(block, ToolCall):
            chars += len(block.name) + len(_compact(block.input))
        elif isinstance(block, Thinking):
            chars += len(block.thinking)
        else:
            chars += len(block.data)
    return max(1, tokens(chars))


def usage(reply: Reply, body: dict[str, Any], cache: PromptCache) -> dict[str, Any]:
    """The full `usage` object of the reply, defaults overridden by `reply.usage`."""
    out = {**cache.measure(body), "output_tokens": output_tokens(reply)}
    override = reply.usage or TokenUsage()
    for field, key in (
        ("input", "input_tokens"),
        ("output", "output_tokens"),
        ("cache_write", "cache_creation_input_tokens"),
        ("cache_read", "cache_read_input_tokens"),
    ):
        if getattr(override, field) is not None:
            out[key] = getattr(override, field)
    if override.cache_write is not None:
        out["cache_creation"] = {
            "ephemeral_5m_input_tokens": override.cache_write,
            "ephemeral_1h_input_tokens": 0,
        }
    out.update(server_tool_use=None, service_tier="standard")
    return out


def _content(block: Any) -> dict[str, Any]:
    if isinstance(block, Text):
        return {"type": "text", "text": block.text, "citations": None}
    if isinstance(block, ToolCall):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    if isinstance(block, Thinking):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    assert isinstance(block, RedactedThinking)
    return {"type": "redacted_thinking", "data": block.data}


def _model(body: dict[str, Any]) -> str:
    return str(body.get("model") or "claude-fake")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def message(reply: Reply, body: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    """The non-streaming `Message` JSON."""
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": _model(body),
        "content": [_content(b) for b in reply.blocks],
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "stop_details": reply.stop_details,
        "container": None,
        "usage": usage,
    }


def _pieces(value: str, chunk: int | None) -> list[str]:
    size = chunk or max(1, math.ceil(len(value) / 3))
    return [value[i : i + size] for i in range(0, len(value), size)]


def _block_events(index: int, block: Any, chunk: int | None) -> list[Event]:
    def delta(d: dict[str, Any]) -> Event:
        return "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}

    if isinstance(block, Text):
        start = {"type": "text", "text": ""}
        deltas = [delta({"type": "text_delta", "text": p}) for p in _pieces(block.text, chunk)]
    elif isinstance(block, ToolCall):
        start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
        raw = json.dumps(block.input, ensure_ascii=False)
        deltas = [
            delta({"type": "input_json_delta", "partial_json": p}) for p in _pieces(raw, chunk)
        ]
    elif isinstance(block, Thinking):
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            delta({"type": "thinking_delta", "thinking": p}) for p in _pieces(block.thinking, chunk)
        ]
        deltas.append(delta({"type": "signature_delta", "signature": block.signature}))
    else:
        start, deltas = _content(block), []
    return [
        (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        ),
        *deltas,
        ("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def stream_events(reply: Reply, body: dict[str, Any], usage: dict[str, Any]) -> list[Event]:
    """The SSE events of a streamed reply, in API order.

    `message_start` carries the input-side usage with `output_tokens: 1`; `message_delta`
    carries the cumulative totals (output and, as the API does, the input-side numbers again).
    """
    start = message(reply, body, {**usage, "output_tokens": 1})
    start.update(content=[], stop_reason=None, stop_sequence=None, stop_details=None)
    events: list[Event] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(reply.blocks):
        events.extend(_block_events(index, block, reply.chunk))
    delta_usage = {
        k: usage[k]
        for k in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
        )
    }
    delta = {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence}
    if reply.stop_details is not None:
        delta["stop_details"] = reply.stop_details
    events.append(
        ("message_delta", {"type": "message_delta", "delta": delta, "usage": delta_usage})
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def sse(name: str, data: dict[str, Any]) -> bytes:
    """One SSE frame: `event:` line, one-line `data:` JSON, blank line."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def error_body(error_type: str, message: str, request_id: str | None) -> dict[str, Any]:
    """The API's error JSON (also the `data` of an `event: error`)."""
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id is not None:
        body["request_id"] = request_id
    return body
