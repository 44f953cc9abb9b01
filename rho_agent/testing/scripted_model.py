"""ScriptedModel: an in-process `Model` that answers from a script — no server, no API key.

It speaks the same script as `FakeAnthropic` (`reply`, `text`, `tool_call`, `thinking`,
`redacted_thinking`, `fault.*`, callable steps), so one script runs over HTTP through the real
SDK or in-process, with the same history, usage and cost::

    from rho_agent import Agent, AgentConfig, Session
    from rho_agent.testing import ScriptedModel, reply, text, tool_call

    model = ScriptedModel([
        reply(tool_call("bash", {"command": "ls"})),
        reply(text("Done.")),
    ])
    async with Session(Agent(AgentConfig(profile="developer"), model=model)) as session:
        result = await session.run("look around")
    model.requests[-1].tool_results   # what the agent sent back (a RecordedRequest each turn)
    model.assert_done()               # every step used, nothing unexpected

Each turn takes the next step. The request it records is the body `AnthropicModel` would
send (system, tools and messages with their `cache_control` breakpoints), and usage follows
FakeAnthropic's rule. Text and thinking stream through the callbacks in a few deltas
(`reply(..., chunk=N, delay=S)` as for the server). A turn past the end of the script is
a `ModelError` that names the step, and `assert_done()` reports it.

`ScriptedModel(function=fn)` answers every turn with `fn(messages, tools)` (a `reply(...)`)
instead of a script.

Faults run the way the Anthropic model handles them: a retryable HTTP error (429, 5xx) and a
broken stream (`stream_error`, `drop_connection`) are reported through `on_retry` and retried,
at most four retries a turn (`AnthropicModel.max_retries`); any other error ends the run with
a `ModelError`; `slow_first_byte(s, then)` waits, then answers with `then`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from rho_agent.errors import ModelError
from rho_agent.model import FREE, Price, StreamCallbacks, TurnResult, Usage, build_request

from . import _sse
from ._fake_script import (
    Fault,
    RedactedThinking,
    Reply,
    Step,
    Text,
    Thinking,
    ToolCall,
    check_step,
    unmet,
)
from .fake_anthropic import RecordedRequest

__all__ = ["ScriptedModel"]

ReplyFunction = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Reply]

_RETRIES = 4  # AnthropicModel.max_retries
_RETRYABLE_STREAM_ERRORS = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


class ScriptedModel:
    """A `Model` answering from `script` (or `function`), recording every request it gets.

    `name` is the model id the agent reports and prices with; "scripted" is free, so costs
    are 0 unless you name a priced model (`name="claude-sonnet-5-5"`) or give a `price`.
    """

    def __init__(
        self,
        script: Iterable[Step] = (),
        *,
        function: ReplyFunction | None = None,
        name: str = "scripted",
        max_tokens: int = 32_000,
        price: Price | None = None,
    ) -> None:
        steps = list(script)
        if function is not None and steps:
            raise TypeError("ScriptedModel takes a script or function=..., not both")
        for i, step in enumerate(steps):
            check_step(step, f"script step {i}")
        self.name = name
        self.max_tokens = max_tokens
        self._price = price
        self._function = function
        self._script: list[Step] = steps
        self._used: list[int] = [0 for _ in steps]
        self._cursor = 0
        self._requests: list[RecordedRequest] = []
        self._problems: list[str] = []
        self._cache = _sse.PromptCache()

    def __repr__(self) -> str:
        where = "function" if self._function else f"step {self._cursor}/{len(self._script)}"
        return f"<ScriptedModel {self.name!r}, {where}, {len(self._requests)} requests>"

    # -- what tests use ----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every turn asked for, in order (retries included), as FakeAnthropic records them."""
        return list(self._requests)

    def add(self, *steps: Step) -> None:
        """Append steps to the script."""
        for i, step in enumerate(steps):
            check_step(step, f"script step {len(self._script) + i}")
        self._script.extend(steps)
        self._used.extend(0 for _ in steps)

    def assert_done(self) -> None:
        """Raise AssertionError listing unused steps and unexpected turns."""
        lines = [*self._problems, *unmet(self._script, self._used)]
        if lines:
            raise AssertionError("ScriptedModel script not satisfied:\n  " + "\n  ".join(lines))

    # -- the Model protocol ------------------------------------------------------------------

    @property
    def price(self) -> Price | None:
        """The `price` given; else free as "scripted", and under another name priced as that
        model id would be."""
        if self._price is not None:
            return self._price
        return FREE if self.name == "scripted" else None

    def check_credentials(self) -> None:
        """Nothing to check: a scripted model needs no key."""

    async def close(self) -> None:
        pass

    async def turn(
        self,
        *,
        system: str,
        tools: list[dict[str, Any]],
        messages: list[dict[str, Any]],
        callbacks: StreamCallbacks | None = None,
    ) -> TurnResult:
        cb = callbacks or StreamCallbacks()
        request = build_request(self.name, self.max_tokens, system, tools, messages)
        body = {**request, "stream": True}
        started = time.monotonic()
        attempt = 1
        while True:
            taken = self._take(body)
            if self._function is not None:
                taken = self._function(messages, tools)
            step = await self._answer(taken)
            if isinstance(step, Reply):
                result = await self._stream(step, body, cb)
                result.duration_s, result.attempts = time.monotonic() - started, attempt
                return result
            if step.kind == "http_error":
                described = f"{step.status} {step.error_type}: {step.message}"
                if not _retryable(step.status):
                    raise ModelError(_refused(step))
            else:  # a stream that broke midway, or a hung upstream
                described = f"{step.error_type}: {step.message}" if step.message else step.label
            if attempt > _RETRIES or (
                step.kind == "stream_error" and step.error_type not in _RETRYABLE_STREAM_ERRORS
            ):
                raise ModelError(
                    f"The model API call failed after {attempt} attempt(s): {described}"
                )
            if cb.on_retry:
                await cb.on_retry(attempt, described, 0.0)
            attempt += 1

    # -- inside ------------------------------------------------------------------------------

    def _take(self, body: dict[str, Any]) -> Step | str:
        """Record a request and take the next step (or say why there is none)."""
        self._requests.append(RecordedRequest("/v1/messages", {}, body, time.time()))
        if self._function is not None:
            return ""
        if self._cursor >= len(self._script):
            number, size = len(self._requests), len(self._script)
            message = f"ScriptedModel: unexpected model call #{number} (script has {size} steps)"
            self._problems.append(message)
            return message
        step = self._script[self._cursor]
        self._used[self._cursor] += 1
        times = step.times if isinstance(step, Fault) else 1
        if times is not None and self._used[self._cursor] >= times:
            self._cursor += 1
        return step

    async def _answer(self, step: Step | str) -> Reply | Fault:
        """The reply or fault a step comes to (callables called, slow starts waited out)."""
        if isinstance(step, str):
            raise ModelError(step)
        if not isinstance(step, Reply | Fault):
            answered = step(self._requests[-1])
            if not isinstance(answered, Reply | Fault):
                message = (
                    f"ScriptedModel: a step returned {answered!r}, not reply(...) or fault.*()"
                )
                self._problems.append(message)
                raise ModelError(message)
            step = answered
        if isinstance(step, Fault) and step.kind == "slow_first_byte":
            await asyncio.sleep(step.seconds)
            if step.then is not None:
                return await self._answer(step.then)
        return step

    async def _stream(self, step: Reply, body: dict[str, Any], cb: StreamCallbacks) -> TurnResult:
        usage = _sse.usage(step, body, self._cache)
        if cb.on_usage:  # as message_start reports it
            cb.on_usage(_usage({**usage, "output_tokens": 1}))
        for block in step.blocks:
            await asyncio.sleep(step.delay)
            if isinstance(block, Text) and cb.on_text:
                for piece in _pieces(block.text, step.chunk):
                    await cb.on_text(piece)
                    await asyncio.sleep(step.delay)
            elif isinstance(block, Thinking) and cb.on_thinking:
                for piece in _pieces(block.thinking, step.chunk):
                    await cb.on_thinking(piece)
                    await asyncio.sleep(step.delay)
        final = _usage(usage)
        if cb.on_usage:
            cb.on_usage(final)
        return TurnResult(
            content=[_block(b) for b in step.blocks],
            stop_reason=step.stop_reason,
            usage=final,
            stop_details=step.stop_details,
        )


def _usage(data: dict[str, Any]) -> Usage:
    return Usage(
        input_tokens=data.get("input_tokens") or 0,
        output_tokens=data.get("output_tokens") or 0,
        cache_write_tokens=data.get("cache_creation_input_tokens") or 0,
        cache_read_tokens=data.get("cache_read_input_tokens") or 0,
    )


def _pieces(value: str, chunk: int | None) -> list[str]:
    """Deltas as FakeAnthropic streams them: `chunk` characters each, else three pieces."""
    size = chunk or max(1, -(-len(value) // 3))
    return [value[i : i + size] for i in range(0, len(value), size)]


def _block(block: Text | ToolCall | Thinking | RedactedThinking) -> dict[str, Any]:
    """A block as history stores it (what `AnthropicModel` makes of the API's block)."""
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, ToolCall):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": dict(block.input)}
    if isinstance(block, Thinking):
        return {"type": "thinking", "thinking": block.thinking, "signature": block.signature}
    return {"type": "redacted_thinking", "data": block.data}


def _retryable(status: int) -> bool:
    return status in (408, 409, 429) or status >= 500


def _refused(step: Fault) -> str:
    if step.status == 401:
        return (
            f"The model API rejected the API key (401): {step.message}. "
            "Check ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL if you use a proxy)."
        )
    return f"The model API refused the request ({step.status}): {step.message}"
