"""Models: the `Model` protocol the agent loop holds, and the Anthropic implementation.

Importing this package stays light: the `anthropic` SDK is imported on the first model call.
"""

from __future__ import annotations

from rho_agent.model.base import Model, StreamCallbacks, TurnResult
from rho_agent.model.client import AnthropicModel
from rho_agent.model.usage import DEFAULT_MODEL, Price, Usage

__all__ = [
    "DEFAULT_MODEL",
    "AnthropicModel",
    "Model",
    "Price",
    "StreamCallbacks",
    "TurnResult",
    "Usage",
]
