"""How a run looks in a notebook: the kit's run state (`RunState`), rendered to HTML/Markdown.

`RunView` only renders. `LiveDisplay` publishes it while the run goes, at most 10 times a
second (a ticker on the runner loop, so bursts of text deltas cost one update), to any sink:
a cell's display handle or a panel's HTML widget. Long output is capped in view; the full
trace is on disk (the path is shown). Secret values are hidden (`rho_agent.redact`) before
anything is shown, since a notebook's outputs are saved with it and shared.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable
from typing import Any

from rho_agent.events import Event
from rho_agent.frontend import RunState, escape_markdown, no_math

#: Characters of streamed text and lines of tool log shown live; the rest is on disk.
MAX_LIVE_TEXT = 3000
MAX_LIVE_LINES = 12
#: Tool lines kept in the final collapsible log.
MAX_LOG_LINES = 200
#: Seconds between live updates (at most 10 a second).
UPDATE_INTERVAL = 0.1

#: The run's own output type: the JupyterLab extension renders it (tool calls collapsible,
#: edits as diffs, the cost line); other front ends (GitHub, nbviewer) show the Markdown
#: beside it, and the answer is an output of its own, in Markdown.
RUN_MIME = "application/vnd.rho-agent.run+json"
#: Characters of a call's output and of each side of an edit kept in the run output.
MAX_SAVED_OUTPUT = 1500
MAX_SAVED_CHANGE = 4000

Bundle = dict[str, Any]


class RunView(RunState):
    """A run's state with the notebook's renderings: live HTML, the answer, the tool log."""

    def summary(self) -> str:
        """The kit's status line; a demo run says it is one (`rho_agent.notebook.demo`)."""
        line = super().summary()
        if self.model.startswith("rho-demo"):
            return f"DEMO (scripted model, no API calls) · {line}"
        return line

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

    def answer_markdown(self, with_failure: bool = True) -> str:
        """The final answer as Markdown that reads as written (no math, no HTML); a failed run
        says why (unless the caller shows that itself)."""
        if self.status == "completed" or not with_failure:
            return escape_markdown(self.answer) if self.answer else "_(no answer)_"
        reason = escape_markdown(self.error or self.status)
        answer = escape_markdown(self.answer) + "\n\n" if self.answer else ""
        return f"{answer}**Run {self.status}:** {reason}"

    def answer_text(self, with_failure: bool = True) -> str:
        """The final answer as plain text; a failed run says why (unless the caller does)."""
        if self.status == "completed" or not with_failure:
            return self.answer or "(no answer)"
        reason = self.error or self.status
        return (self.answer + "\n\n" if self.answer else "") + f"Run {self.status}: {reason}"

    def answer_bundle(self, with_failure: bool = True) -> Bundle:
        return {
            "text/markdown": no_math(self.answer_markdown(with_failure)),
            "text/plain": self.answer_text(with_failure),
        }

    def log_bundle(self) -> Bundle:
        """The run output: `RUN_MIME` for the extension's renderer, always with a Markdown
        fallback (the status line, then a line per tool call) that GitHub and nbviewer show,
        and text. No HTML: those viewers prefer it to Markdown, and the answer before this
        output is Markdown already."""
        return {
            RUN_MIME: self.run_data(),
            "text/markdown": self.log_markdown(),
            "text/plain": "\n".join([self.summary(), *self.tool_lines()[-MAX_LOG_LINES:]]),
        }

    def log_markdown(self) -> str:
        """The tool log as Markdown that reads as written (no math, no HTML): the status line,
        a line per tool call, where the trace is."""
        lines = self.tool_lines()
        kept = lines[-MAX_LOG_LINES:]
        calls = [f"- {_code_span(line)}" for line in kept]
        if len(lines) > len(kept):
            calls.insert(0, f"- _… {len(lines) - len(kept)} earlier line(s)_")
        parts = [f"**{escape_markdown(self.summary())}** · {len(self.tools)} tool call(s)"]
        if calls:
            parts.append("\n".join(calls))
        if self.trace_path:
            parts.append(f"trace: {_code_span(self.trace_path)}")
        return no_math("\n\n".join(parts))

    def run_data(self) -> dict[str, Any]:
        """The run as `RUN_MIME` data: status, the cost line, and each tool call with its
        summary, status, the end of its output and, for an edit, the text it replaced."""
        calls = [line for line in self.log if not isinstance(line, str)][-MAX_LOG_LINES:]
        return {
            "version": 1,
            "status": self.status,
            "summary": self.summary(),
            "cost_usd": self.cost_usd,
            "turns": self.turns,
            "trace": self.trace_path,
            "notices": [line for line in self.log if isinstance(line, str)][-MAX_LOG_LINES:],
            "tools": [
                {
                    "name": line.name,
                    "summary": line.summary,
                    "status": line.status,
                    "duration_s": line.duration_s,
                    "detail": line.detail,
                    "output": line.output[-MAX_SAVED_OUTPUT:],
                    "change": None
                    if line.change is None
                    else {
                        "path": line.change.path,
                        "before": line.change.before[:MAX_SAVED_CHANGE],
                        "after": line.change.after[:MAX_SAVED_CHANGE],
                    },
                }
                for line in calls
            ],
        }

    def _trace_note(self) -> str:
        return f" — full trace: {html.escape(self.trace_path)}" if self.trace_path else ""


def _code_span(text: str) -> str:
    """`text` as one inline code span (CommonMark: fenced by more backticks than it holds,
    padded when it starts or ends with one), so nothing in it is read as Markdown or HTML."""
    text = " ".join(text.split()) or " "
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


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
