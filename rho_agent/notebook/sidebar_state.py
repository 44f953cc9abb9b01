"""What the rho sidebar of JupyterLab shows of this kernel, as typed messages.

A `Snapshot` lists the registry's sessions (backend, profile, model, status, turns, cost),
their recent runs (status, elapsed, whether a cell waits for the run), the sandboxes of
remote workspaces, and the kernel's total cost and budget. `RunFollower`s fold each session's
events into `RunState`s, so the sidebar sees runs however they started (a `%%rho` cell, a
background run, the Panel or the sidebar's own prompt box). The comm
(`rho_agent.notebook.comm`) sends snapshots; this module only builds them.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from rho_agent.frontend import RunState

if TYPE_CHECKING:
    from rho_agent.events import Event
    from rho_agent.notebook.registry import NotebookSession, Registry

#: Runs kept per session for the sidebar (the newest last).
RECENT_RUNS = 5

_run_ids = itertools.count(1)


class RunInfo(BaseModel):
    id: str
    prompt: str
    status: str
    elapsed_s: float
    turns: int
    cost_usd: float
    #: True while the cell that started the run waits for it (Cancel then interrupts the kernel:
    #: a busy kernel handles no comm message until the cell ends).
    blocks_cell: bool


class SandboxInfo(BaseModel):
    session: str
    kind: str
    id: str | None
    state: str
    age_s: float
    #: Left running when its session ends (`--keep`, or Keep in the sidebar).
    kept: bool = False


class SessionInfo(BaseModel):
    name: str
    backend: str
    profile: str
    model: str
    status: Literal["running", "open", "closed"]
    runs: int
    turns: int
    cost_usd: float
    session_id: str | None
    recent: list[RunInfo]


class Snapshot(BaseModel):
    type: Literal["state"] = "state"
    sessions: list[SessionInfo]
    sandboxes: list[SandboxInfo]
    cost_usd: float
    budget_usd: float | None
    defaults: dict[str, Any]

    def changes_from(self, other: Snapshot | None) -> bool:
        """Whether this differs from `other` in more than the clock (elapsed times, ages)."""
        if other is None:
            return True
        return _without_clock(self) != _without_clock(other)


def _without_clock(snapshot: Snapshot) -> dict[str, Any]:
    data = snapshot.model_dump()
    for session in data["sessions"]:
        for run in session["recent"]:
            run.pop("elapsed_s")
    for box in data["sandboxes"]:
        box.pop("age_s")
    return data


class CellClock:
    """Which cell execution is going on now: a run started during an execution blocks it
    until that execution ends (`pre_run_cell` / `post_run_cell` hooks move the clock)."""

    def __init__(self) -> None:
        self.execution = 0
        self.executing = False

    def pre_run_cell(self, info: Any = None) -> None:
        self.execution += 1
        self.executing = True

    def post_run_cell(self, result: Any = None) -> None:
        self.executing = False

    def now(self) -> int | None:
        return self.execution if self.executing else None

    def still(self, execution: int | None) -> bool:
        return execution is not None and self.executing and execution == self.execution


class FollowedRun:
    def __init__(self, state: RunState, execution: int | None) -> None:
        self.id = f"run-{next(_run_ids)}"
        self.state = state
        self.execution = execution
        self.started = False  # its RunStarted was seen


class RunFollower:
    """Follows one session's events (on the runner thread) into its recent runs."""

    def __init__(self, session: NotebookSession, clock: CellClock) -> None:
        self.session = session
        self.clock = clock
        self.runs: deque[FollowedRun] = deque(maxlen=RECENT_RUNS)
        self.turns = 0
        self._lock = threading.Lock()
        self.stop = session.watch(self.on_event)

    def on_event(self, event: Event) -> None:
        with self._lock:
            current = self.runs[-1] if self.runs else None
            fresh = current is None or current.state.status != "running"
            if event.type == "run_started":
                if not fresh and current is not None and not current.started:
                    # Events before RunStarted (a sandbox being made) belong to this run.
                    current.state.prompt = event.prompt
                else:
                    fresh = True
            if fresh or current is None:
                if current is not None:
                    current.state.finish("stopped")  # a run whose end was not seen
                current = FollowedRun(RunState(), self.clock.now())
                self.runs.append(current)
            if event.type == "run_started":
                current.started = True
                current.state.prompt = event.prompt
            elif event.type == "model_call":
                self.turns += 1
            current.state.on_event(event)

    def infos(self) -> list[RunInfo]:
        with self._lock:
            runs = list(self.runs)
        job_over = not self.session.busy
        infos = []
        for run in runs:
            state = run.state
            if state.status == "running" and job_over and run is runs[-1]:
                state.finish("cancelled" if _job_cancelled(self.session) else "failed")
            infos.append(
                RunInfo(
                    id=run.id,
                    prompt=state.prompt[:200],
                    status=state.status,
                    elapsed_s=round(state.elapsed, 1),
                    turns=state.turns,
                    cost_usd=state.cost_usd,
                    blocks_cell=state.status == "running" and self.clock.still(run.execution),
                )
            )
        return infos

    def find(self, run_id: str) -> FollowedRun | None:
        with self._lock:
            return next((run for run in self.runs if run.id == run_id), None)


def _job_cancelled(session: NotebookSession) -> bool:
    return session.job is not None and session.job.cancelled()


class SidebarState:
    """Followers for the sessions of the registry in use, and snapshots of it."""

    def __init__(self) -> None:
        self.clock = CellClock()
        self.followers: dict[int, RunFollower] = {}  # by id() of the NamedSession
        self._sandbox_seen: dict[int, float] = {}
        self._registry: Registry | None = None
        # Snapshots are made on the publishing thread and for a comm that opens (a shell);
        # sessions appear on whichever thread runs a cell or a request.
        self._lock = threading.RLock()

    def attach(self, registry: Registry) -> None:
        """Follow every session of `registry`, now and as they are made."""
        with self._lock:
            if registry is self._registry:
                return
            self.detach()
            self._registry = registry
            registry.on_new_session.append(self.follow)
            for session in list(registry.sessions.values()):
                self.follow(session)

    def detach(self) -> None:
        with self._lock:
            if self._registry is not None:
                try:
                    self._registry.on_new_session.remove(self.follow)
                except ValueError:
                    pass
            for follower in self.followers.values():
                follower.stop()
            self.followers.clear()
            self._registry = None

    def follow(self, session: NotebookSession) -> None:
        with self._lock:
            if id(session) not in self.followers:
                self.followers[id(session)] = RunFollower(session, self.clock)

    def follower(self, session: NotebookSession) -> RunFollower:
        with self._lock:
            self.follow(session)
            return self.followers[id(session)]

    def snapshot(self, registry: Registry) -> Snapshot:
        with self._lock:
            return self._snapshot(registry)

    def _snapshot(self, registry: Registry) -> Snapshot:
        self.attach(registry)
        sessions = list(registry.sessions.values())
        # Sessions replaced or reset since are no longer followed.
        live = {id(s) for s in sessions}
        for key in [k for k in self.followers if k not in live]:
            self.followers.pop(key).stop()
        return Snapshot(
            sessions=[self._session_info(s) for s in sessions],
            sandboxes=self._sandboxes(sessions),
            cost_usd=registry.cost_usd,
            budget_usd=registry.budget_usd,
            defaults=dict(registry.defaults),
        )

    def _session_info(self, s: NotebookSession) -> SessionInfo:
        follower = self.follower(s)
        agent = s.session.agent if s.session is not None else None
        settings = s.settings
        return SessionInfo(
            name=s.name,
            backend=agent.backend.name if agent else str(settings.get("backend") or "local"),
            profile=agent.profile.name if agent else str(settings.get("profile") or "readonly"),
            model=agent.model if agent else str(settings.get("model") or "(default)"),
            status="running" if s.busy else ("open" if s.session is not None else "closed"),
            runs=s.runs,
            turns=follower.turns,
            cost_usd=s.cost_usd,
            session_id=s.session_id,
            recent=follower.infos(),
        )

    def _sandboxes(self, sessions: list[NotebookSession]) -> list[SandboxInfo]:
        from rho_agent.backends import RemoteWorkspace
        from rho_agent.frontend import is_kept

        boxes = []
        now = time.monotonic()
        live = {id(s.workspace) for s in sessions if s.workspace is not None}
        for key in [k for k in self._sandbox_seen if k not in live]:
            del self._sandbox_seen[key]  # an ended workspace: forget when it was first seen
        for s in sessions:
            workspace = s.workspace
            if not isinstance(workspace, RemoteWorkspace):
                continue
            seen = self._sandbox_seen.setdefault(id(workspace), now)
            sandbox = getattr(workspace, "sandbox", None)
            boxes.append(
                SandboxInfo(
                    session=s.name,
                    kind=workspace.kind,
                    id=getattr(sandbox, "id", None),
                    state="ready" if sandbox is not None else workspace.phase,
                    age_s=round(now - seen, 1),
                    kept=is_kept(workspace),
                )
            )
        return boxes
