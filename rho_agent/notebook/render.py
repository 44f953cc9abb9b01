"""How a run looks in a notebook: a small state built from events, rendered to HTML/Markdown.

`RunView` only renders. `LiveDisplay` publishes it while the run goes, at most 10 times a
second (a ticker on the runner loop, so bursts of text deltas cost one update), to any sink:
a cell's display handle or a panel's HTML widget. Long output is capped in view; the full
trace is on disk (the path is shown). Secret values are hidden (`rho_agent.redact`) before
anything is shown, since a notebook's outputs are saved with it and shared.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rho_agent.cli.render import summarize_call
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
from rho_agent.model.usage import Usage
from rho_agent.redact import EventRedactor, Redactor

#: Characters of streamed text and lines of tool log shown live; the rest is on disk.
MAX_LIVE_TEXT = 3000
MAX_LIVE_LINES = 12
#: Tool lines kept in the final collapsible log.
MAX_LOG_LINES = 200
#: Seconds between live updates (at most 10 a second).
UPDATE_INTERVAL = 0.1

Bundle = dict[str, str]


@dataclass
class ToolLine:
    name: str
    summary: str
    status: str = "running"  # running | ok | error | denied | waiting
    duration_s: float | None = None
    detail: str = ""

    def render(self) -> str:
        mark = {"running": "…", "ok": "✓", "error": "✗", "denied": "⊘", "waiting": "?"}[self.status]
        took = f" ({self.duration_s:.1f}s)" if self.duration_s is not None else ""
        detail = f" — {self.detail}" if self.detail else ""
        return f"{mark} {self.summary}{took}{detail}"


class RunView:
    """The state of one run as the user sees it; feed it events with `on_event`."""

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
        self.tools: dict[str, ToolLine] = {}
        self.log: list[ToolLine | str] = []  # tool lines and notices, in order
        self.usage = Usage()
        self.cost_usd = 0.0
        self.turns = 0
        self.status = "running"
        self.answer = ""
        self.error: str | None = None
        self.model = ""

    def on_event(self, event: Event) -> None:
        for shown in self._redact(event):
            self._apply(shown)

    def _apply(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.model = event.model
        elif isinstance(event, TextDelta):
            self.text += event.text
        elif isinstance(event, ModelRetry):
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
            if event.is_error:
                line.detail = (event.output.strip().splitlines() or [""])[-1][:120]
        elif isinstance(event, ToolDenied):
            line = self._line(event.id, event.name)
            line.status, line.detail = "denied", event.reason[:120]
        elif isinstance(event, Notice):
            self.log.append(f"· {event.message}")
        elif isinstance(event, RunFinished):
            self.status, self.answer, self.error = event.status, event.text, event.error
            self.usage, self.cost_usd, self.turns = event.usage, event.cost_usd, event.turns
            self.finished_at = time.monotonic()

    def _line(self, call_id: str, name: str, tool_input: dict[str, Any] | None = None) -> ToolLine:
        if call_id not in self.tools:
            summary = summarize_call(name, tool_input or {}, redactor=self._redact.redactor)
            self.tools[call_id] = ToolLine(name, summary)
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

    def plain(self) -> str:
        lines = self.tool_lines()[-MAX_LIVE_LINES:]
        return "\n".join([*lines, _tail(self.text, MAX_LIVE_TEXT), self.summary()])

    # ------------------------------------------------------------------ html

    def live_html(self) -> str:
        """The live view: capped tool lines and text, then the status line."""
        lines = self.tool_lines()
        hidden = len(lines) - MAX_LIVE_LINES
        shown = [html.escape(x) for x in lines[-MAX_LIVE_LINES:]]
        if hidden > 0:
            shown.insert(0, f"<i>… {hidden} earlier line(s){self._trace_note()}</i>")
        text = _tail(self.text, MAX_LIVE_TEXT)
        cut = len(self.text) - len(text)
        text_html = (
            f"<i>… {cut:,} characters above{self._trace_note()}</i>\n" if cut > 0 else ""
        ) + html.escape(text)
        return (
            '<div class="rho-live">'
            + (f'<pre class="rho-tools">{"<br>".join(shown)}</pre>' if shown else "")
            + (
                f'<pre class="rho-text" style="white-space:pre-wrap">{text_html}</pre>'
                if text
                else ""
            )
            + f'<div class="rho-status"><b>{"⏳" if self.status == "running" else ""}</b> {html.escape(self.summary())}</div>'
            + "</div>"
        )

    def live_bundle(self) -> Bundle:
        return {"text/html": self.live_html(), "text/plain": self.plain()}

    def answer_markdown(self) -> str:
        """The final answer; a failed run says why."""
        if self.status == "completed":
            return self.answer or "_(no answer)_"
        reason = self.error or self.status
        return (self.answer + "\n\n" if self.answer else "") + f"**Run {self.status}:** {reason}"

    def answer_bundle(self) -> Bundle:
        markdown = self.answer_markdown()
        return {"text/markdown": markdown, "text/plain": markdown}

    def log_bundle(self) -> Bundle:
        """A collapsible tool log with the status line as its summary."""
        lines = self.tool_lines()
        kept = lines[-MAX_LOG_LINES:]
        more = (
            f"<i>… {len(lines) - len(kept)} earlier line(s)</i><br>"
            if len(lines) > len(kept)
            else ""
        )
        body = (more + "<br>".join(html.escape(x) for x in kept)) or "<i>no tool calls</i>"
        trace = (
            f"<div><small>trace: {html.escape(self.trace_path)}</small></div>"
            if self.trace_path
            else ""
        )
        markup = (
            f'<details class="rho-log"><summary>{html.escape(self.summary())} · {len(self.tools)} tool call(s)</summary>'
            f'<pre style="white-space:pre-wrap">{body}</pre>{trace}</details>'
        )
        return {"text/html": markup, "text/plain": "\n".join([self.summary(), *kept])}

    def _trace_note(self) -> str:
        return f" — full trace: {html.escape(self.trace_path)}" if self.trace_path else ""


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[-limit:]


class LiveDisplay:
    """Feeds a RunView and publishes it to `sink` at most every UPDATE_INTERVAL seconds.

    `on_event` is a Session callback; `start()`/`stop()` run on the runner loop.
    """

    def __init__(
        self, view: RunView, sink: Callable[[Bundle], Any], interval: float = UPDATE_INTERVAL
    ) -> None:
        self.view = view
        self.sink = sink
        self.interval = interval
        self.updates = 0
        self._dirty = True
        self._task: asyncio.Task[None] | None = None

    def on_event(self, event: Event) -> None:
        self.view.on_event(event)
        self._dirty = True

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        shown_second = -1
        while True:
            second = int(self.view.elapsed)
            if (
                self._dirty or second != shown_second
            ):  # the elapsed time moves even when nothing else does
                self.publish()
                shown_second = second
            await asyncio.sleep(self.interval)

    def publish(self) -> None:
        self._dirty = False
        self.updates += 1
        self.sink(self.view.live_bundle())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
