"""The one event vocabulary: the live stream, the trace file and resume all use it.

Each event is a small pydantic record with a `type` literal. `Event` is their
discriminated union; `parse_event` reads one back from a trace line.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from rho_agent.model import Usage

RunStatus = Literal[
    "completed", "cancelled", "error", "max_turns", "max_cost", "refused", "truncated"
]


class _Event(BaseModel):
    time: float = Field(default_factory=time.time)


class RunStarted(_Event):
    type: Literal["run_started"] = "run_started"
    session_id: str
    prompt: str
    model: str


class MessageAdded(_Event):
    """A message entered the conversation history (what resume replays)."""

    type: Literal["message"] = "message"
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]]


class HistoryCleared(_Event):
    type: Literal["history_cleared"] = "history_cleared"


class TextDelta(_Event):
    type: Literal["text"] = "text"
    text: str


class ThinkingDelta(_Event):
    type: Literal["thinking"] = "thinking"
    text: str


class ToolCallStarted(_Event):
    type: Literal["tool_started"] = "tool_started"
    id: str
    name: str
    input: dict[str, Any]


class ToolCallFinished(_Event):
    type: Literal["tool_finished"] = "tool_finished"
    id: str
    name: str
    output: str
    is_error: bool
    duration_s: float
    #: The profile refused the call; a `ToolDenied` with the reason follows.
    denied: bool = False


class ToolDenied(_Event):
    """A call the profile refused, or the user did not approve."""

    type: Literal["tool_denied"] = "tool_denied"
    id: str
    name: str
    reason: str


class ApprovalRequested(_Event):
    type: Literal["approval_requested"] = "approval_requested"
    id: str
    name: str
    input: dict[str, Any]
    reason: str


class ModelCall(_Event):
    """One finished model call, with its usage and cost."""

    type: Literal["model_call"] = "model_call"
    model: str
    stop_reason: str | None
    usage: Usage
    cost_usd: float
    duration_s: float
    #: The model's price is unknown: `cost_usd` is at the fallback price (see `Price`).
    cost_estimated: bool = False


class ModelRetry(_Event):
    """A call failed in a way worth retrying; output streamed since the call began is void.

    `attempt` is how many requests this call has made; `delay_s` the wait before the next."""

    type: Literal["model_retry"] = "model_retry"
    attempt: int
    error: str
    delay_s: float


class Notice(_Event):
    """Progress a person may want to see (provisioning, uploads, setup)."""

    type: Literal["notice"] = "notice"
    message: str


class Transfer(_Event):
    """How far an upload or a download of 8 MB or more has got (about one per hundredth)."""

    type: Literal["transfer"] = "transfer"
    direction: Literal["upload", "download"]
    done: int
    total: int


class RunFinished(_Event):
    type: Literal["run_finished"] = "run_finished"
    status: RunStatus
    text: str
    usage: Usage
    cost_usd: float
    turns: int
    error: str | None = None
    cost_estimated: bool = False


Event = Annotated[
    RunStarted
    | MessageAdded
    | HistoryCleared
    | TextDelta
    | ThinkingDelta
    | ToolCallStarted
    | ToolCallFinished
    | ToolDenied
    | ApprovalRequested
    | ModelCall
    | ModelRetry
    | Notice
    | Transfer
    | RunFinished,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(line: str | bytes) -> Event:
    """One event from a JSON trace line."""
    return _adapter.validate_json(line)
