"""Terminal renderers: small functions over events. Data to stdout, progress to stderr.

Every renderer hides secret values (`rho_agent.redact`) in what it prints, streamed text too.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO, cast

from rho_agent.events import (
    ApprovalRequested,
    Event,
    ModelRetry,
    Notice,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolDenied,
)
from rho_agent.frontend import RunState
from rho_agent.redact import EventRedactor, Redactor, default_redactor
from rho_agent.tools import summarize_call as summarize_call  # the old import path


def format_usage(finished: RunFinished) -> str:
    u = finished.usage
    return (
        f"{finished.turns} turn(s) · tokens in {u.input_tokens:,} / out {u.output_tokens:,} / "
        f"cache write {u.cache_write_tokens:,} / cache read {u.cache_read_tokens:,} · ${finished.cost_usd:.4f}"
    )


class TextRenderer:
    """Streams the answer to stdout and a line per tool call (with a spinner on a TTY) to stderr.

    What it shows comes from the kit's run state (`RunState`): the same tool summaries and
    totals as every other front end.
    """

    def __init__(
        self, out: TextIO | None = None, err: TextIO | None = None, redactor: Redactor | None = None
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.state = RunState(redactor=redactor)
        self._status: Any = None
        self._at_line_start = True
        if self.err.isatty():
            from rich.console import Console

            self._console = Console(file=self.err)
        else:
            self._console = None

    def _spin(self, message: str | None) -> None:
        if self._console is None:
            return
        if message is None:
            if self._status is not None:
                self._status.stop()
                self._status = None
            return
        if self._status is None:
            self._status = self._console.status(message)
            self._status.start()
        else:
            self._status.update(message)

    def _progress(self, line: str) -> None:
        self._spin(None)
        if not self._at_line_start:
            self.out.write("\n")
            self.out.flush()
            self._at_line_start = True
        self.err.write(line + "\n")
        self.err.flush()

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.state = RunState(event.prompt, redactor=self.state.redactor)  # one per run
        for shown in self.state.on_event(event):
            self._render(shown)

    def _render(self, event: Event) -> None:
        state = self.state
        if isinstance(event, TextDelta):
            self._spin(None)
            self.out.write(event.text)
            self.out.flush()
            self._at_line_start = event.text.endswith("\n")
        elif isinstance(event, ToolCallStarted):
            self._progress(f"  → {state.tools[event.id].summary}")
            self._spin(f"running {event.name}…")
        elif isinstance(event, ToolCallFinished):
            line = state.tools[event.id]
            mark = "✗" if event.is_error else "✓"
            detail = f" — {line.detail[:100]}" if line.detail else ""
            self._progress(f"  {mark} {line.name} ({event.duration_s:.1f}s){detail}")
            self._spin("thinking…")
        elif isinstance(event, ToolDenied):
            self._progress(f"  ✗ {event.name} denied: {event.reason}")
        elif isinstance(event, ApprovalRequested):
            self._progress(f"  ! {state.tools[event.id].summary} needs approval: {event.reason}")
        elif isinstance(event, ModelRetry):
            self._progress(
                f"  ↻ model call failed ({event.error}); retrying in {event.delay_s:.1f}s"
            )
        elif isinstance(event, Notice):
            self._progress(f"  · {event.message}")
        elif isinstance(event, RunFinished):
            self._progress("")
            if event.error:
                self.err.write(f"{event.error}\n")
            self.err.write(format_usage(event) + "\n")
            self.err.flush()
        elif isinstance(event, RunStarted):
            self._spin("thinking…")


class JsonlRenderer:
    """Every event as one JSON line on stdout (the trace schema)."""

    def __init__(self, out: TextIO | None = None, redactor: Redactor | None = None) -> None:
        self.out = out or sys.stdout
        self._redact = EventRedactor(redactor)

    def __call__(self, event: Event) -> None:
        for shown in self._redact(event):
            self.out.write(shown.model_dump_json() + "\n")
        self.out.flush()


class QuietRenderer:
    """For `--output-format json`: only progress lines on stderr; the result is printed at the end."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        nowhere = cast(TextIO, _NullWriter())
        self._text = TextRenderer(out=nowhere, err=sys.stderr, redactor=redactor)

    def __call__(self, event: Event) -> None:
        if not isinstance(event, TextDelta | RunFinished):
            self._text(event)


class _NullWriter:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def result_json(result: Any, redactor: Redactor | None = None) -> str:
    redact = redactor if redactor is not None else default_redactor()
    return json.dumps(redact.data(result.model_dump(mode="json")), indent=2)
