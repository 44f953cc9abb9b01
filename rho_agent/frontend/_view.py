"""The run view model: events folded into what a person sees of a run.

Status, streamed text, one line per tool call (with the tool's own summary), notices, usage
and cost. The terminal renderer, the notebook's renderers and any later front end render
this state; none of them interprets events on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rho_agent.events import (
    ApprovalRequested,
    Event,
    ModelCall,
    ModelRetry,
    Notice,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolDenied,
)
from rho_agent.model import Usage
from rho_agent.redact import EventRedactor, Redactor
from rho_agent.tools import TextChange, summarize_call, tool_class

#: What a tool line keeps of a call's output (its end).
MAX_OUTPUT = 2000


@dataclass
class ToolLine:
    name: str
    summary: str
    status: str = "running"  # running | ok | error | denied | waiting | stopped
    duration_s: float | None = None
    detail: str = ""
    #: The end of what the tool returned (secrets hidden), for a renderer that shows it.
    output: str = ""
    #: The text the call replaces in a file, when the tool says so (`Tool.change`).
    change: TextChange | None = None

    def render(self) -> str:
        mark = {
            "running": "…",
            "ok": "✓",
            "error": "✗",
            "denied": "⊘",
            "waiting": "?",
            "stopped": "■",
        }[self.status]
        took = f" ({self.duration_s:.1f}s)" if self.duration_s is not None else ""
        detail = f" — {self.detail}" if self.detail else ""
        return f"{mark} {self.summary}{took}{detail}"


class RunState:
    """The state of one run as a person sees it; feed it events with `on_event`.

    Secret values are hidden (`rho_agent.redact`) as events come in, so nothing rendered
    from the state can show one."""

    def __init__(
        self, prompt: str = "", trace_path: str | None = None, redactor: Redactor | None = None
    ) -> None:
        self._redact = EventRedactor(redactor)
        self.prompt = prompt
        self.trace_path = trace_path
        self.started = time.monotonic()
        self.finished_at: float | None = None
        self.text = ""  # streamed assistant text, all turns
        self._call_start = 0  # where the current model call's text began (a retry voids it)
        self.voided = ""  # the text the last retry voided
        self.tools: dict[str, ToolLine] = {}
        self.log: list[ToolLine | str] = []  # tool lines and notices, in order
        self.usage = Usage()
        self.cost_usd = 0.0
        self.turns = 0
        self.status = "running"
        self.answer = ""
        self.error: str | None = None
        self.model = ""

    @property
    def redactor(self) -> Redactor:
        return self._redact.redactor

    def on_event(self, event: Event) -> list[Event]:
        """Fold `event` in; returns it as it may be shown (secrets hidden; a long text delta
        may come back split), for renderers that also draw event by event."""
        shown = list(self._redact(event))
        for each in shown:
            self._apply(each)
        return shown

    def _apply(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.model = event.model
        elif isinstance(event, TextDelta):
            self.text += event.text
        elif isinstance(event, ModelRetry):
            # What the failed attempt streamed is void; `voided` keeps it for renderers that
            # already showed it (the terminal cannot unprint).
            self.voided = self.text[self._call_start :]
            self.text = self.text[: self._call_start]
            self.log.append(
                f"· model call failed ({event.error}); retrying in {event.delay_s:.1f}s"
            )
        elif isinstance(event, ModelCall):
            self.usage, self.cost_usd, self.turns = (
                self.usage + event.usage,
                self.cost_usd + event.cost_usd,
                self.turns + 1,
            )
            if self.text and not self.text.endswith("\n"):
                self.text += "\n"
            self._call_start = len(self.text)
        elif isinstance(event, ApprovalRequested):
            line = self._line(event.id, event.name, event.input)
            line.status, line.detail = "waiting", event.reason
        elif isinstance(event, ToolCallStarted):
            line = self._line(event.id, event.name, event.input)
            line.status, line.detail = "running", ""
        elif isinstance(event, ToolCallFinished):
            line = self._line(event.id, event.name)
            line.status, line.duration_s, line.detail = (
                ("error" if event.is_error else "ok"),
                event.duration_s,
                "",
            )
            line.output = event.output[-MAX_OUTPUT:]
            if event.is_error:
                line.detail = (event.output.strip().splitlines() or [""])[-1][:120]
        elif isinstance(event, ToolDenied):
            line = self._line(event.id, event.name)
            line.status, line.detail = "denied", event.reason[:120]
        elif isinstance(event, Notice):
            self.log.append(f"· {event.message}")
        elif isinstance(event, RunFinished):
            self.answer, self.error = event.text, event.error
            self.usage, self.cost_usd, self.turns = event.usage, event.cost_usd, event.turns
            self.finish(event.status)

    def finish(self, status: str) -> None:
        """The run is over (also when it ended without a `RunFinished`, e.g. it failed to
        start): nothing is shown as still running or waiting."""
        if self.status == "running":
            self.status = status
        if self.finished_at is None:
            self.finished_at = time.monotonic()
        for line in self.tools.values():
            if line.status in ("running", "waiting"):
                line.status = "stopped"

    def _line(self, call_id: str, name: str, tool_input: dict[str, Any] | None = None) -> ToolLine:
        if call_id not in self.tools:
            summary = summarize_call(name, tool_input or {}, redactor=self._redact.redactor)
            self.tools[call_id] = ToolLine(name, summary, change=_change(name, tool_input or {}))
            self.log.append(self.tools[call_id])
        return self.tools[call_id]

    # ------------------------------------------------------------------ text

    @property
    def elapsed(self) -> float:
        return (self.finished_at or time.monotonic()) - self.started

    def summary(self) -> str:
        """`completed · 3 turns · 4.2s · 1,234 in / 56 out tokens · $0.0123`."""
        u = self.usage
        tokens_in = u.input_tokens + u.cache_read_tokens + u.cache_write_tokens
        return (
            f"{self.status} · {self.turns} turn(s) · {self.elapsed:.1f}s · "
            f"{tokens_in:,} in / {u.output_tokens:,} out tokens · ${self.cost_usd:.4f}"
        )

    def tool_lines(self) -> list[str]:
        """The log: a line per tool call (with its status) and per notice, in order."""
        return [entry if isinstance(entry, str) else entry.render() for entry in self.log]


def _change(name: str, tool_input: dict[str, Any]) -> TextChange | None:
    """The tool's own account of the text the call replaces (its input is already redacted)."""
    tool_cls = tool_class(name)
    if tool_cls is None:
        return None
    try:
        return tool_cls().change(tool_input)
    except Exception:  # a courtesy to the renderer: never let it break the view
        return None
