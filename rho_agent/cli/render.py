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


def format_usage(finished: RunFinished, model: str = "") -> str:
    """`2 turn(s) · tokens in … · $0.0123`; a cost at the fallback price (the model has no known
    price) reads `~$0.0123 (estimated: unknown model 'x')`."""
    u = finished.usage
    cost = f"${finished.cost_usd:.4f}"
    if finished.cost_estimated:
        cost = f"~{cost} (estimated: unknown model{f' {model!r}' if model else ''})"
    return (
        f"{finished.turns} turn(s) · tokens in {u.input_tokens:,} / out {u.output_tokens:,} / "
        f"cache write {u.cache_write_tokens:,} / cache read {u.cache_read_tokens:,} · {cost}"
    )


class TextRenderer:
    """Streams the answer to stdout and a line per tool call (with a spinner on a TTY) to stderr.

    On a terminal (`markdown=None` and stdout a TTY) the answer is rendered as Markdown with
    rich, a block at a time: text is held until a blank line outside a code fence ends a block
    (or a tool call or the end of the run ends the text), then that block is printed. Piped,
    the text is written as it arrives, byte for byte.

    What it shows comes from the kit's run state (`RunState`): the same tool summaries and
    totals as every other front end.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        redactor: Redactor | None = None,
        markdown: bool | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.state = RunState(redactor=redactor)
        self._status: Any = None
        self._at_line_start = True
        self._pending = ""  # Markdown not yet rendered
        self._blocks = 0  # Markdown blocks rendered of the current text
        if self.err.isatty():
            from rich.console import Console

            self._console = Console(file=self.err)
        else:
            self._console = None
        self._markdown: Any = None
        if self.out.isatty() if markdown is None else markdown:
            from rich.console import Console

            self._markdown = Console(file=self.out)

    def _write_markdown(self, text: str) -> None:
        from rich.markdown import Markdown

        if text.strip():
            if self._blocks:  # rendered one block at a time: keep the gap between them
                self._markdown.print()
            self._markdown.print(Markdown(text))
            self.out.flush()
            self._blocks += 1
        self._at_line_start = True

    def _flush_markdown(self) -> None:
        """Render what is held back (the text has ended)."""
        if self._markdown is not None and self._pending:
            pending, self._pending = self._pending, ""
            self._write_markdown(pending)
        self._blocks = 0

    def end_line(self) -> None:
        """Finish the answer: render what is held back, end the last line."""
        self._flush_markdown()
        if not self._at_line_start:
            self.out.write("\n")
            self.out.flush()
            self._at_line_start = True

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
        self._flush_markdown()
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
        if isinstance(event, TextDelta) and self._markdown is not None:
            self._pending += event.text
            cut = complete_blocks(self._pending)
            if cut:
                self._spin(None)
                done, self._pending = self._pending[:cut], self._pending[cut:]
                self._write_markdown(done)
            self._spin("writing…")
        elif isinstance(event, TextDelta):
            self._spin(None)
            self.out.write(event.text)
            self.out.flush()
            self._at_line_start = event.text.endswith("\n")
        elif isinstance(event, ToolCallStarted):
            self._progress(f"  → {state.tools[event.id].summary}")
            self._spin(f"running {event.name}…")
        elif isinstance(event, ToolCallFinished) and event.denied:
            self._spin("thinking…")  # the ToolDenied that follows says why, once
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
            # The failed attempt's text is void: drop what is held back (Markdown), and say so
            # of what was printed already, which cannot be taken back.
            void, held = state.voided, self._pending
            if held.endswith(void):
                printed, self._pending = "", held[: len(held) - len(void)]
            else:
                printed, self._pending = void[: len(void) - len(held)], ""
            self._progress(
                f"  ↻ model call failed ({event.error}); retrying in {event.delay_s:.1f}s"
            )
            if printed.strip():
                self._progress(
                    "  ↻ the partial answer above is discarded; the answer starts again below"
                )
        elif isinstance(event, Notice):
            self._progress(f"  · {event.message}")
        elif isinstance(event, RunFinished):
            for line in state.tools.values():  # killed by a cancel: no ToolCallFinished came
                if line.status == "stopped":
                    self._progress(f"  ■ {line.name} stopped")
            self._progress("")
            if event.error:
                self.err.write(f"{event.error}\n")
            self.err.write(format_usage(event, state.model) + "\n")
            self.err.flush()
        elif isinstance(event, RunStarted):
            self._spin("thinking…")


def complete_blocks(text: str) -> int:
    """How much of `text` is whole Markdown blocks: up to its last blank line outside a fenced
    code block (0 if none)."""
    cut = pos = 0
    fence = False
    for line in text.splitlines(keepends=True):
        pos += len(line)
        if not line.endswith("\n"):
            break
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fence = not fence
        elif not stripped and not fence:
            cut = pos
    return cut


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
