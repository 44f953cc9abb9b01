"""Answers of background runs, written by the JupyterLab extension into the cell that ran them.

Without the extension a `--background` run's answer becomes an output of the next cell that
executes (`deliveries`). With it, the answer goes where the run was started: each background
run is tied to the cell whose execution made it (its `cell_id`, which JupyterLab sends with
every execution), a Panel's run to the cell that shows the Panel; when the run ends the kernel sends its outputs (the notification, the
answer as Markdown with a text fallback, the tool log) to the extension, which appends them
to that cell's outputs. They are saved with the notebook and still there after reopening
it with a fresh kernel. Only when the extension says it did (`delivered`) is the answer
claimed, so a front end without the extension, or a notebook closed meanwhile, still gets
it in the next cell.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rho_agent.notebook.deliveries import Delivery

_ids = itertools.count(1)


@dataclass
class Pending:
    id: str
    cell_id: str
    delivery: Delivery
    sent: bool = False


class DurableAnswers:
    """Background and Panel runs by the cell that started them, until the extension wrote
    their answers."""

    def __init__(self) -> None:
        self._by_delivery: dict[int, Pending] = {}
        self._lock = threading.Lock()
        self.cell_id: str | None = None  # of the execution going on

    def pre_run_cell(self, info: Any = None) -> None:
        self.cell_id = getattr(info, "cell_id", None)

    def post_run_cell(self, result: Any = None) -> None:
        """Runs made by the execution that just ended belong to its cell."""
        from rho_agent.notebook.deliveries import get_deliveries

        cell_id, self.cell_id = self.cell_id, None
        if not cell_id:
            return
        with self._lock:
            for delivery in get_deliveries().pending:
                if id(delivery) not in self._by_delivery and not delivery.delivered:
                    self._by_delivery[id(delivery)] = Pending(
                        f"answer-{next(_ids)}", cell_id, delivery
                    )

    def tie(self, delivery: Delivery, cell_id: str | None) -> None:
        """`delivery`'s answer belongs to `cell_id` (a Panel's run: the cell showing the Panel)."""
        if not cell_id:
            return
        with self._lock:
            if id(delivery) not in self._by_delivery:
                self._by_delivery[id(delivery)] = Pending(f"answer-{next(_ids)}", cell_id, delivery)

    def due(self) -> list[dict[str, Any]]:
        """`answer` messages for the runs that ended and were not sent yet (marked sent)."""
        messages = []
        with self._lock:
            for pending in list(self._by_delivery.values()):
                delivery = pending.delivery
                if delivery.delivered:  # a cell showed it already (`await handle`, the next cell)
                    del self._by_delivery[id(delivery)]
                    continue
                if pending.sent or not delivery.job.done():
                    continue
                pending.sent = True
                messages.append(
                    {
                        "type": "answer",
                        "id": pending.id,
                        "cell_id": pending.cell_id,
                        "session": delivery.session,
                        "kind": delivery.kind,
                        "outputs": delivery.bundles(),
                    }
                )
        return messages

    def delivered(self, answer_id: str) -> bool:
        """The extension wrote answer `answer_id` into its cell: claim it (no cell shows it
        again). False if a cell had shown it meanwhile."""
        with self._lock:
            pending = next((p for p in self._by_delivery.values() if p.id == answer_id), None)
            if pending is None:
                return False
            del self._by_delivery[id(pending.delivery)]
        return pending.delivery.take()
