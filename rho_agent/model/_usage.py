"""Token usage and its price. Prices live in one table keyed by model id.

A model's price comes from, in order: the `Model` object (`price`), the user's
`config.toml` (`[prices."model-id"]`), this table. A model none of them knows is priced at
`FALLBACK_PRICE`, the highest list price in the table, and its cost is marked estimated:
`--max-cost` then errs on stopping early rather than never.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# USD per million tokens: input, 5-minute cache write, cache read, output.
# Keep this the only place prices are written down; they change often.
# Source: https://platform.claude.com/docs/en/about-claude/pricing (the 4.x and 3.x rows too).
_PRICES: dict[str, tuple[float, float, float, float]] = {
    "claude-fable-5-2": (8.0, 10.0, 0.20, 40.0),
    "claude-fable-5-1": (10.0, 12.5, 0.25, 50.0),
    "claude-mythos-5-1": (10.0, 12.5, 0.25, 50.0),
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
    "claude-opus-4-1": (15.0, 18.75, 1.50, 75.0),
    "claude-opus-4-0": (15.0, 18.75, 1.50, 75.0),
    "claude-opus-4": (15.0, 18.75, 1.50, 75.0),  # dated: claude-opus-4-20250514
    "claude-sonnet-4-6": (3.0, 3.75, 0.30, 15.0),
    "claude-sonnet-4-5": (3.0, 3.75, 0.30, 15.0),
    "claude-sonnet-4-0": (3.0, 3.75, 0.30, 15.0),
    "claude-sonnet-4": (3.0, 3.75, 0.30, 15.0),  # dated: claude-sonnet-4-20250514
    "claude-haiku-4-5": (1.0, 1.25, 0.10, 5.0),
    "claude-3-7-sonnet": (3.0, 3.75, 0.30, 15.0),
    "claude-3-5-sonnet": (3.0, 3.75, 0.30, 15.0),
    "claude-3-5-haiku": (0.80, 1.0, 0.08, 4.0),
    "claude-3-opus": (15.0, 18.75, 1.50, 75.0),
    "claude-3-haiku": (0.25, 0.30, 0.03, 1.25),
}

DEFAULT_MODEL = "claude-sonnet-5-5"

# What may follow a known id: a snapshot date (`-20251001`) or `-latest`. Nothing else, so a
# new version (`claude-opus-4-9`) is unknown rather than priced as `claude-opus-4`.
_SUFFIX = re.compile(r"-(\d{8}|latest)")

PriceSource = Literal["table", "config", "model", "fallback"]


class Price(BaseModel):
    """A model's price in USD per million tokens, and where it came from.

    In `config.toml`, `[prices."model-id"]` with `input` and `output` (required),
    `cache_write` and `cache_read` (default: 1.25x and 0.1x `input`, the API's usual ratios).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    cache_read: float | None = Field(default=None, ge=0)
    source: PriceSource = "config"

    @model_validator(mode="after")
    def _cache_defaults(self) -> Price:
        if self.cache_write is None:
            object.__setattr__(self, "cache_write", self.input * 1.25)
        if self.cache_read is None:
            object.__setattr__(self, "cache_read", self.input * 0.1)
        return self

    @property
    def estimated(self) -> bool:
        """True when the model's price is unknown and `FALLBACK_PRICE` stands in for it."""
        return self.source == "fallback"

    def cost(self, usage: Usage) -> float:
        """USD for `usage` at this price."""
        return (
            usage.input_tokens * self.input
            + usage.cache_write_tokens * (self.cache_write or 0.0)
            + usage.cache_read_tokens * (self.cache_read or 0.0)
            + usage.output_tokens * self.output
        ) / 1_000_000

    def describe(self) -> str:
        return f"${self.input:g} in / ${self.output:g} out per million tokens"


def _from_row(row: tuple[float, float, float, float], source: PriceSource) -> Price:
    p_in, p_write, p_read, p_out = row
    return Price(input=p_in, cache_write=p_write, cache_read=p_read, output=p_out, source=source)


#: The price of a model nobody priced: the highest of each rate in the table, so a cost
#: limit stops such a model early rather than never.
FALLBACK_PRICE: Price = Price(
    input=max(row[0] for row in _PRICES.values()),
    cache_write=max(row[1] for row in _PRICES.values()),
    cache_read=max(row[2] for row in _PRICES.values()),
    output=max(row[3] for row in _PRICES.values()),
    source="fallback",
)

FREE: Price = Price(input=0, output=0, cache_write=0, cache_read=0, source="model")


def _lookup(model: str, table: Mapping[str, Any]) -> Any:
    if model in table:
        return table[model]
    for known in sorted(table, key=len, reverse=True):
        if model.startswith(known) and _SUFFIX.fullmatch(model[len(known) :]):
            return table[known]
    return None


def known_models() -> list[str]:
    """Model ids with a built-in price (what completion and help offer)."""
    return sorted(_PRICES)


def price_for(model: str) -> tuple[float, float, float, float] | None:
    """Per-million prices from the table; dated ids (`claude-haiku-4-5-20251001`) and
    `-latest` aliases match their family. None for a model the table does not know."""
    return _lookup(model, _PRICES)


def resolve_price(
    model: str, configured: Mapping[str, Price] | None = None, given: Price | None = None
) -> Price:
    """The price of `model`: `given` (by the Model object), else `configured` (config.toml's
    `[prices]`, matched like the table), else the table, else `FALLBACK_PRICE` (estimated)."""
    if given is not None:
        return given.model_copy(update={"source": "model"})
    from_config = _lookup(model, configured or {})
    if from_config is not None:
        return from_config.model_copy(update={"source": "config"})
    row = price_for(model)
    return _from_row(row, "table") if row is not None else FALLBACK_PRICE


def unknown_price_notice(model: str) -> str:
    """The one-time warning for a model with no known price."""
    return (
        f"No price known for model '{model}': costs are estimated at "
        f"{FALLBACK_PRICE.describe()} (the highest list price, so --max-cost stops early "
        f'rather than never). Set its price in config.toml: [prices."{model}"] '
        "input = ..., output = ... (USD per million tokens; 0 for a free local model)."
    )


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

    def cost_usd(self, model: str | Price) -> float:
        """Cost at `model`'s list price (`resolve_price`: an unknown model costs the fallback
        price, never 0), or at a `Price` given directly."""
        price = model if isinstance(model, Price) else resolve_price(model)
        return price.cost(self)

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_write_tokens
            + self.cache_read_tokens
        )
