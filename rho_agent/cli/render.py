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
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolDenied,
)
from rho_agent.redact import EventRedactor, Redactor, default_redactor


def summarize_call(
    name: str, tool_input: dict[str, Any], width: int = 80, redactor: Redactor | None = None
) -> str:
    """`bash: pytest -q` — the one argument a person wants to see (secrets hidden)."""
    key = {"bash": "command", "grep": "pattern", "glob": "pattern"}.get(name)
    value = tool_input.get(key) if key else None
    if value is None:
        value = tool_input.get("path") or tool_input.get("query") or tool_input.get("sql") or ""
    redact = redactor if redactor is not None else default_redactor()
    text = redact(" ".join(str(value).split()))
    return f"{name}: {text[: width - 3] + '...' if len(text) > width else text}" if text else name


def format_usage(finished: RunFinished) -> str:
    u = finished.usage
    return (
        f"{finished.turns} turn(s) · tokens in {u.input_tokens:,} / out {u.output_tokens:,} / "
        f"cache write {u.cache_write_tokens:,} / cache read {u.cache_read_tokens:,} · ${finished.cost_usd:.4f}"
    )


class TextRenderer:
    """Streams the answer to stdout and a line per tool call (with a spinner on a TTY) to stderr."""

    def __init__(
        self, out: TextIO | None = None, err: TextIO | None = None, redactor: Redactor | None = None
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._redact = EventRedactor(redactor)
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
        for shown in self._redact(event):
            self._render(shown)

    def _render(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._spin(None)
            self.out.write(event.text)
            self.out.flush()
            self._at_line_start = event.text.endswith("\n")
        elif isinstance(event, ToolCallStarted):
            summary = summarize_call(event.name, event.input, redactor=self._redact.redactor)
            self._progress(f"  → {summary}")
            self._spin(f"running {event.name}…")
        elif isinstance(event, ToolCallFinished):
            mark = "✗" if event.is_error else "✓"
            first = event.output.strip().splitlines()[-1:] if event.is_error else []
            detail = f" — {first[0][:100]}" if first else ""
            self._progress(f"  {mark} {event.name} ({event.duration_s:.1f}s){detail}")
            self._spin("thinking…")
        elif isinstance(event, ToolDenied):
            self._progress(f"  ✗ {event.name} denied: {event.reason}")
        elif isinstance(event, ApprovalRequested):
            self._spin(None)
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
        elif event.type == "run_started":
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
