"""Test doubles for agents built on rho-agent: wire-level fakes of the services it talks to,
and an in-process scripted model.

- `FakeAnthropic`: a scripted Anthropic Messages API server (JSON and SSE) on 127.0.0.1.
- `ScriptedModel`: the same script as an in-process `Model` (`Agent(config, model=...)`):
  no server, no SDK, no API key.
- `LocalDaytona` (in `rho_agent.testing.daytona`): a local Daytona API whose sandboxes are
  bubblewrap jails.
- `assert_valid_history`: checks a conversation is one the Messages API accepts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "FakeAnthropic",
    "Fault",
    "RecordedRequest",
    "Reply",
    "ScriptedModel",
    "Step",
    "TokenUsage",
    "assert_valid_history",
    "fault",
    "history_problems",
    "load_script",
    "redacted_thinking",
    "reply",
    "text",
    "thinking",
    "tool_call",
]

_HOME = {name: "rho_agent.testing.history" for name in ("assert_valid_history", "history_problems")}
_HOME["ScriptedModel"] = "rho_agent.testing.scripted_model"

if TYPE_CHECKING:
    from rho_agent.testing.fake_anthropic import (
        FakeAnthropic,
        Fault,
        RecordedRequest,
        Reply,
        Step,
        TokenUsage,
        fault,
        load_script,
        redacted_thinking,
        reply,
        text,
        thinking,
        tool_call,
    )
    from rho_agent.testing.history import assert_valid_history, history_problems
    from rho_agent.testing.scripted_model import ScriptedModel


def __getattr__(name: str) -> Any:
    # Lazy, so `python -m rho_agent.testing.fake_anthropic` does not import itself twice.
    if name not in __all__:
        raise AttributeError(f"module 'rho_agent.testing' has no attribute {name!r}")
    module = importlib.import_module(_HOME.get(name, "rho_agent.testing.fake_anthropic"))
    return getattr(module, name)
