"""Token usage and its price. Prices live in one table keyed by model id."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

# USD per million tokens: input, 5-minute cache write, cache read, output.
# Keep this the only place prices are written down; they change often.
_PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-fable-5-2": (8.0, 10.0, 0.20, 40.0),
    "claude-fable-5-1": (10.0, 12.5, 0.25, 50.0),
    "claude-fable-5": (10.0, 12.5, 1.00, 50.0),
    "claude-mythos-5": (10.0, 12.5, 1.00, 50.0),
    "claude-opus-5-5": (4.0, 5.0, 0.20, 20.0),
    "claude-opus-5": (5.0, 6.25, 0.50, 25.0),
    "claude-sonnet-5-5": (2.0, 2.5, 0.10, 10.0),
    "claude-sonnet-5": (2.0, 2.5, 0.20, 10.0),
    "claude-haiku-5-5": (0.10, 0.125, 0.01, 0.50),
    "claude-opus-4-8": (5.0, 6.25, 0.50, 25.0),
    "claude-opus-4-7": (5.0, 6.25, 0.50, 25.0),
    "claude-opus-4-6": (5.0, 6.25, 0.50, 25.0),
    "claude-opus-4-5": (5.0, 6.25, 0.50, 25.0),
    "claude-sonnet-4-6": (3.0, 3.75, 0.30, 15.0),
    "claude-sonnet-4-5": (3.0, 3.75, 0.30, 15.0),
    "claude-haiku-4-5": (1.0, 1.25, 0.10, 5.0),
}

DEFAULT_MODEL = "claude-sonnet-5-5"


def price_for(model: str) -> tuple[float, float, float, float] | None:
    """Per-million prices for a model id; dated ids (`claude-haiku-4-5-20251001`) match their family."""
    if model in _PRICES:
        return _PRICES[model]
    for known in sorted(_PRICES, key=len, reverse=True):
        if model.startswith(known + "-"):
            return _PRICES[known]
    return None


class Usage(BaseModel):
    """Tokens for one model call, or summed over many."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
        )

    @classmethod
    def from_api(cls, usage: Any) -> Usage:
        """From the SDK's `Usage` object (fields may be None on compatible servers)."""
        return cls(
            input_tokens=getattr(usage, "input_tokens", 0) or 0,
            output_tokens=getattr(usage, "output_tokens", 0) or 0,
            cache_write_tokens=getattr(usage, "cache_creation_input_tokens", 0) or 0,
            cache_read_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
        )

    def cost_usd(self, model: str) -> float:
        """Cost at list price; 0.0 for a model with no known price (e.g. a local server)."""
        prices = price_for(model)
        if prices is None:
            return 0.0
        p_in, p_write, p_read, p_out = prices
        return (
            self.input_tokens * p_in
            + self.cache_write_tokens * p_write
            + self.cache_read_tokens * p_read
            + self.output_tokens * p_out
        ) / 1_000_000

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_write_tokens
            + self.cache_read_tokens
        )
