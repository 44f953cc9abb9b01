"""Session directories: `<home>/sessions/<id>/{trace.jsonl, meta.json, live}`; listing and resume.

`live` holds the pid of the process that has the session open: written with the trace's first
line, removed when the session closes. A session whose `live` names a running process is
running (`SessionDir.is_live()`); one left by a process that died is not.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rho_agent.config import home_dir
from rho_agent.errors import ConfigError
from rho_agent.events import (
    Event,
    HistoryCleared,
    MessageAdded,
    ModelCall,
    RunFinished,
    parse_event,
)
from rho_agent.model import Usage
from rho_agent.redact import Redactor, default_redactor

# Live-only events: the finished message they add up to is in the trace already.
_NOT_TRACED = {"text", "thinking"}


def append_message(history: list[dict[str, Any]], role: str, content: list[dict[str, Any]]) -> None:
    """Add a message, merging it into the last one when both are from the same role.

    A prompt typed after a cancelled run follows the user message of tool results; the
    API wants roles to alternate, so the two become one message (results first).
    """
    if history and history[-1]["role"] == role:
        history[-1] = {"role": role, "content": [*history[-1]["content"], *content]}
    else:
        history.append({"role": role, "content": list(content)})


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def sessions_root() -> Path:
    return home_dir() / "sessions"


@dataclass
class SessionDir:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def trace_path(self) -> Path:
        return self.path / "trace.jsonl"

    @property
    def meta_path(self) -> Path:
        return self.path / "meta.json"

    @property
    def live_path(self) -> Path:
        return self.path / "live"

    def is_live(self) -> bool:
        """Whether a running process on this machine has the session open."""
        try:
            pid = int(self.live_path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        if pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # alive, but another user's
            return True
        except OSError:
            return False
        return True

    def read_meta(self) -> dict[str, Any]:
        try:
            return json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return {"id": self.id}

    def write_meta(self, meta: dict[str, Any]) -> None:
        tmp = self.meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(default_redactor().data(meta), indent=2))  # the title is a prompt
        tmp.replace(self.meta_path)

    def events(self) -> list[Event]:
        if not self.trace_path.exists():
            return []
        out: list[Event] = []
        for line in self.trace_path.read_text().splitlines():
            if line.strip():
                try:
                    out.append(parse_event(line))
                except ValueError:
                    continue  # a line cut short by a crash
        return out


class TraceWriter:
    """Appends events to trace.jsonl, one JSON object a line, secrets redacted.

    `redactor` defaults to the environment's secrets and the user config's passthrough_env.
    """

    def __init__(self, directory: SessionDir, redactor: Redactor | None = None) -> None:
        self._directory = directory
        self._file: Any = (
            None  # opened on the first event, so a session that never ran leaves nothing
        )
        self._closed = False
        self._redact = redactor if redactor is not None else default_redactor()

    def write(self, event: Event) -> None:
        if event.type in _NOT_TRACED or self._closed:
            return
        if self._file is None:
            self._directory.path.mkdir(parents=True, exist_ok=True)
            self._file = self._directory.trace_path.open("a", encoding="utf-8")
            self._directory.live_path.write_text(f"{os.getpid()}\n")
        # Strings are redacted before they are JSON-escaped: the line stays valid JSON.
        data = self._redact.data(event.model_dump(mode="json"))
        self._file.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._directory.live_path.unlink(missing_ok=True)


@dataclass
class RestoredState:
    history: list[dict[str, Any]]
    usage: Usage
    cost_usd: float
    status: str | None
    turns: int


def restore(directory: SessionDir) -> RestoredState:
    """History, usage and status of a stored session, from its trace."""
    history: list[dict[str, Any]] = []
    usage = Usage()
    cost = 0.0
    status = None
    turns = 0
    for event in directory.events():
        if isinstance(event, MessageAdded):
            append_message(history, event.role, event.content)
        elif isinstance(event, HistoryCleared):
            history = []
        elif isinstance(event, ModelCall):
            usage = usage + event.usage
            cost += event.cost_usd
            turns += 1
        elif isinstance(event, RunFinished):
            status = event.status
    return RestoredState(history=history, usage=usage, cost_usd=cost, status=status, turns=turns)


def list_sessions(root: Path | None = None) -> list[SessionDir]:
    """Stored sessions, newest first."""
    root = root or sessions_root()
    if not root.is_dir():
        return []
    dirs = [SessionDir(p) for p in root.iterdir() if p.is_dir()]
    return sorted(
        dirs,
        key=lambda d: (d.meta_path.stat().st_mtime if d.meta_path.exists() else 0, d.id),
        reverse=True,
    )


def find_session(spec: str, root: Path | None = None) -> SessionDir:
    """`latest`, a full id, or a unique prefix of one."""
    sessions = list_sessions(root)
    if not sessions:
        raise ConfigError(f"No stored sessions in {root or sessions_root()}; nothing to resume.")
    if spec == "latest":
        return sessions[0]
    matches = [s for s in sessions if s.id == spec] or [
        s for s in sessions if s.id.startswith(spec)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(f"No session '{spec}'. See `rho-agent sessions list`.")
    raise ConfigError(f"'{spec}' matches {len(matches)} sessions; give more of the id.")
