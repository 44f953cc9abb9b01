"""The model seam: what the agent loop asks of a model, and what it gets back.

A `Model` streams one assistant turn: the system prompt, the tool schemas and the history go
in; content blocks (plain dicts, as history stores them), usage and the stop reason come out.
`AnthropicModel` (the Messages API, with retries and prompt caching) is one implementation;
`rho_agent.testing.ScriptedModel` (in-process, scripted) is another. Give yours to
`Agent(config, model=...)`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from rho_agent.model._usage import Usage


@dataclass
class TurnResult:
    """One assistant turn: content blocks as plain dicts, ready to go back into history."""

    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: Usage
    stop_details: dict[str, Any] | None = None
    duration_s: float = 0.0
    attempts: int = 1


@dataclass
class StreamCallbacks:
    """How a model reports a turn while it streams. Every callback is optional."""

    on_text: Callable[[str], Awaitable[None]] | None = None
    on_thinking: Callable[[str], Awaitable[None]] | None = None
    #: `(attempt, error, delay_s)`: the call failed and is retried; output streamed so far is void.
    on_retry: Callable[[int, str, float], Awaitable[None]] | None = None
    #: Usage as the stream reports it so far (input side at the start, output at the end),
    #: so a cancelled call can still be accounted for.
    on_usage: Callable[[Usage], None] | None = None


@runtime_checkable
class Model(Protocol):
    """One streamed assistant turn at a time.

    - `name`: the model id, used for prices (`Usage.cost_usd`), events and session metadata.
    - `check_credentials()`: raise `MissingCredentialsError` before a session creates anything;
      a model that needs no key does nothing.
    - `turn(...)`: stream one turn; report deltas through `callbacks`; raise `ModelError` (a
      `RunError`) for a failure the run should end with.
    - `close()`: release connections; a later `turn` may open them again.

    A model may also have `async def prepare(self) -> None`, awaited once when a session
    starts (the Anthropic model imports its SDK there, off the event loop), and a `price`
    (a `Price`, or None) that wins over the price table and config.toml.
    """

    @property
    def name(self) -> str: ...

    def check_credentials(self) -> None: ...

    async def turn(
        self,
        *,
        system: str,
        tools: list[dict[str, Any]],
        messages: list[dict[str, Any]],
        callbacks: StreamCallbacks | None = None,
    ) -> TurnResult: ...

    async def close(self) -> None: ...
