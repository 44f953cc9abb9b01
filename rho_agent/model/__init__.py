"""Models: the `Model` protocol the agent loop holds, and the Anthropic implementation.

Importing this package stays light: the `anthropic` SDK is imported on the first model call.
"""

from __future__ import annotations

from rho_agent.model._base import Model, StreamCallbacks, TurnResult
from rho_agent.model._client import AnthropicModel, build_request
from rho_agent.model._usage import (
    DEFAULT_MODEL,
    FALLBACK_PRICE,
    FREE,
    Price,
    Usage,
    known_models,
    price_for,
    resolve_price,
    unknown_price_notice,
)

__all__ = [
    "DEFAULT_MODEL",
    "FALLBACK_PRICE",
    "FREE",
    "AnthropicModel",
    "Model",
    "Price",
    "StreamCallbacks",
    "TurnResult",
    "Usage",
    "build_request",
    "known_models",
    "price_for",
    "resolve_price",
    "unknown_price_notice",
]
