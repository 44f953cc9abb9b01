"""The Run-All guard: has this exact agent cell already run?

An agent cell costs money, and "Run All" on a notebook that was opened again re-runs every
cell. The kernel cannot see the saved outputs, and "Run All" looks like any other execution,
so the guard remembers what ran instead: a small ledger in `$RHO_AGENT_HOME/notebook/` of
cells that completed, keyed by the notebook's path, the cell's id (nbformat ≥ 4.5 ids are
stable across saves and reopenings) and the cell's exact text. A cell whose key is in the
ledger — from this kernel or an earlier one — asks before it runs again; an edited prompt is a
new cell and runs without asking.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from rho_agent.config import home_dir

#: Entries kept in the ledger (oldest dropped first).
MAX_ENTRIES = 2000


def cell_key(source: str, cell_id: str | None, notebook: str | None) -> str:
    raw = "\0".join([notebook or "", cell_id or "", source])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def notebook_path() -> str | None:
    """The notebook's path as the Jupyter server tells the kernel (None outside Jupyter)."""
    return os.environ.get("JPY_SESSION_NAME") or None


class RunLedger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home_dir() / "notebook" / "cells-run.json"

    def _load(self) -> dict[str, float]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def ran_at(self, key: str) -> float | None:
        """When a cell with this key last completed, or None."""
        return self._load().get(key)

    def record(self, key: str) -> None:
        entries = self._load()
        entries[key] = time.time()
        if len(entries) > MAX_ENTRIES:
            entries = dict(sorted(entries.items(), key=lambda kv: kv[1])[-MAX_ENTRIES:])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries))
        tmp.replace(self.path)
