"""The Run-All guard: a run a notebook cell already paid for is not paid for again.

An agent run costs money, and "Run All" on a notebook re-runs every cell, also after it was
reopened with a fresh kernel. The kernel cannot tell Run All from Shift+Enter, nor see the
saved outputs, so the guard remembers what ran: a small ledger in `$RHO_AGENT_HOME/notebook/`
of runs that completed, each keyed by the notebook's path, the cell's id (nbformat ≥ 4.5 ids
are stable across saves and reopenings), the cell's exact text, and which paid call of the
cell it was (a cell may run several prompts). A run whose key is in the ledger is skipped: its
answer is read back from the session's trace and shown again, and what the call returns (a
`RunResult`, the `--out` variable) is restored from it. An edited cell is a new cell.

Every paid entry point is guarded the same way when cell code starts it: `%%rho`,
`session().run()` / `.run_sync()`, `Panel.run()`, and `Session.run` of the plain API (through
a `rho_agent.session.RunHook`, `registry.SessionRunGuard`). A run started by a click (the
Panel's Run button) is not: a click is never Run All.

The notebook's path is the one the Jupyter server gives the kernel (`JPY_SESSION_NAME`); a
kernel started without a server (nbclient, papermill) has none, and is keyed by its working
directory instead, which those tools set to the notebook's folder: a copy of a notebook in
another folder is another notebook.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rho_agent.config import home_dir

if TYPE_CHECKING:
    from rho_agent.notebook.render import RunView
    from rho_agent.session import RunResult

#: Entries kept in the ledger (oldest dropped first).
MAX_ENTRIES = 2000


def notebook_path() -> str:
    """The notebook's path as the Jupyter server tells the kernel, else the kernel's folder."""
    return os.environ.get("JPY_SESSION_NAME") or f"{os.getcwd()}{os.sep}"


def cell_key(notebook: str, cell_id: str | None, source: str, call: int, prompt: str) -> str:
    raw = "\0".join([notebook, cell_id or "", source, str(call), prompt])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class PastRun:
    """What the ledger remembers of a completed run: when, and where its events are."""

    at: float
    trace: str | None = None  # the session's trace.jsonl
    started: float | None = None  # the run's `run_started` time in that trace

    @property
    def when(self) -> str:
        return datetime.datetime.fromtimestamp(self.at).strftime("%Y-%m-%d %H:%M")


class RunLedger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home_dir() / "notebook" / "cells-run.json"

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> PastRun | None:
        entry = self._load().get(key)
        if isinstance(entry, int | float):  # written by an earlier version: a time only
            return PastRun(at=float(entry))
        if isinstance(entry, dict):
            try:
                return PastRun(**entry)
            except TypeError:
                return None
        return None

    def record(self, key: str, run: PastRun) -> None:
        entries = self._load()
        entries[key] = asdict(run)
        if len(entries) > MAX_ENTRIES:
            entries = dict(sorted(entries.items(), key=lambda kv: _at(kv[1]))[-MAX_ENTRIES:])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries))
        tmp.replace(self.path)


def _at(entry: Any) -> float:
    return float(entry.get("at", 0) if isinstance(entry, dict) else entry or 0)


@dataclass
class Replay:
    """A past run read back from its trace: the view to show and the result to return."""

    past: PastRun
    view: RunView
    result: RunResult


@dataclass
class Claim:
    """One paid call of the executing cell: its ledger key, and the run it already made."""

    guard: Guard
    key: str
    past: PastRun | None
    replay: Replay | None

    @property
    def skip(self) -> bool:
        return self.replay is not None

    def record(self, result: RunResult, trace: str | None) -> None:
        """Remember a completed run (only a completed one: a failure is worth running again)."""
        if result.ok:
            self.guard.ledger.record(self.key, _past_run(trace))

    def settle(self, how: str) -> RunResult | None:
        """Before the call runs: if it is not to run again, show the past run in the cell and
        return its result; else None (saying why, if it runs although it ran). `how` says how
        to re-run this entry point."""
        if self.replay is not None:
            show_replay(self, how)
            return self.replay.result
        if why := self.rerun_notice():
            print(why)
        return None

    def notice(self, how: str) -> str:
        """The one line a skipped call shows; `how` says how to re-run this entry point."""
        assert self.replay is not None
        view = self.replay.view
        return (
            f"↺ Not run again: this cell already ran it on {self.replay.past.when} "
            f"({view.status} · ${view.cost_usd:.4f}). The answer below is that run's, from its "
            f"session's trace; the model was not called. To run it again: {how}."
        )

    def rerun_notice(self) -> str | None:
        """Why a call that already ran runs again (its answer is gone), if it does."""
        if self.past is None or self.replay is not None:
            return None
        return (
            f"↻ This cell already ran it on {self.past.when}, but that run's answer is no "
            "longer in its session's trace, so it runs again."
        )


@dataclass
class _Cell:
    cell_id: str | None
    source: str
    calls: int = 0


class Guard:
    """The executing cell, and the ledger of runs cells completed."""

    def __init__(self, ledger: RunLedger | None = None) -> None:
        self.ledger = ledger or RunLedger()
        self.allow_rerun = False  # `%rho config --allow-rerun`
        self._cell: _Cell | None = None

    # IPython's pre_run_cell / post_run_cell
    def enter_cell(self, cell_id: str | None, source: str) -> None:
        self._cell = _Cell(cell_id, source)

    def leave_cell(self) -> None:
        self._cell = None

    @property
    def cell_id(self) -> str | None:
        return self._cell.cell_id if self._cell else None

    def claim(
        self, prompt: str, *, source: str | None = None, allow_rerun: bool = False
    ) -> Claim | None:
        """The guard's decision for a paid call made now, on the kernel's main thread, by the
        executing cell's code (`source`: the text that identifies it, by default the cell's).
        None when no cell's code is making it: a click, or a thread of its own."""
        cell = self._cell
        if threading.current_thread() is not threading.main_thread():
            return None
        if cell is None:
            if source is None:
                return None
            cell = _Cell(None, source)  # a magic run without IPython's cell events (tests, %run)
        key = cell_key(notebook_path(), cell.cell_id, source or cell.source, cell.calls, prompt)
        cell.calls += 1
        if allow_rerun or self.allow_rerun:
            return Claim(self, key, None, None)
        past = self.ledger.get(key)
        return Claim(self, key, past, replay(past) if past else None)


def _past_run(trace: str | None) -> PastRun:
    """The ledger entry of the run that just ended: the last run of `trace`."""
    started = None
    if trace:
        started = next((e.time for e in reversed(_events(trace)) if e.type == "run_started"), None)
    return PastRun(at=time.time(), trace=trace, started=started)


def _events(trace: str) -> list[Any]:
    from rho_agent.store import SessionDir

    return SessionDir(Path(trace).parent).events()


def replay(past: PastRun) -> Replay | None:
    """The run `past` as its trace has it, or None if the trace (or the run) is gone."""
    from rho_agent.notebook.render import RunView
    from rho_agent.session import RunResult

    if past.trace is None or past.started is None or not Path(past.trace).exists():
        return None
    events = _events(past.trace)
    start = next(
        (i for i, e in enumerate(events) if e.type == "run_started" and e.time == past.started),
        None,
    )
    if start is None:
        return None
    first = events[start]
    view = RunView(first.prompt, trace_path=past.trace)
    finished = None
    for event in events[start:]:
        if event is not first and event.type == "run_started":
            break
        view.on_event(event)
        if event.type == "run_finished":
            finished = event
            break
    if finished is None:  # the process died during that run
        return None
    view.started, view.finished_at = first.time, finished.time  # as it took then
    return Replay(past, view, RunResult.of(finished, first.session_id))


#: How to re-run, per entry point, for the notice of a skipped call.
RERUN_CELL = "add --allow-rerun to the %%rho line, or run `%rho config --allow-rerun` once"
RERUN_CALL = "run `%rho config --allow-rerun` once (or edit the cell)"


def replay_bundles(claim: Claim, how: str) -> list[dict[str, str]]:
    """What a skipped call shows in its cell: the notice, the answer, the tool log."""
    from rho_agent.frontend import escape_markdown

    assert claim.replay is not None
    notice = claim.notice(how)
    view = claim.replay.view
    return [
        {"text/markdown": escape_markdown(notice), "text/plain": notice},
        view.answer_bundle(),
        view.log_bundle(),
    ]


def show_replay(claim: Claim, how: str) -> None:
    from IPython.display import display

    for bundle in replay_bundles(claim, how):
        display(bundle, raw=True)
