"""How far a transfer has got: `Uploading [###.......]  30% of 52 MB` lines for a person (one
per tenth), and (done, total) bytes for a program (one per hundredth), over all its requests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from rho_agent.backends._report import format_size
from rho_agent.backends._types import Notify, Progress

#: Transfers at least this big report how far they have got.
PROGRESS_BYTES = 8 * 1024 * 1024


class Meter:
    """Counts the bytes of a transfer of about `total` bytes as its streams go by."""

    def __init__(
        self, verb: str, total: int, notify: Notify | None, progress: Progress | None
    ) -> None:
        big = total >= PROGRESS_BYTES
        self.verb, self.total = verb, max(total, 1)
        self.notify = notify if big else None
        self.progress = progress if big else None
        self.done = 0
        self._tenth = self._hundredth = -1

    @property
    def watched(self) -> bool:
        return self.notify is not None or self.progress is not None

    def counted(
        self, chunks: Callable[[], AsyncIterator[bytes]]
    ) -> Callable[[], AsyncIterator[bytes]]:
        """`chunks`, counting what it yields (a retry's bytes count again: the bar may jump)."""
        if not self.watched:
            return chunks

        async def counting() -> AsyncIterator[bytes]:
            async for chunk in chunks():
                yield chunk
                await self.add(len(chunk))

        return counting

    async def add(self, n: int) -> None:
        self.done += n
        await self._show()

    async def finished(self) -> None:
        """All there: 100 % (compressed streams carry fewer bytes than were counted)."""
        if self.watched:
            self.done = self.total
            await self._show()

    async def _show(self) -> None:
        percent = min(100, self.done * 100 // self.total)
        if self.progress is not None and percent > self._hundredth:
            self._hundredth = percent
            await self.progress(min(self.done, self.total), self.total)
        if self.notify is not None and percent // 10 > self._tenth:
            self._tenth = percent // 10
            bar = "#" * (percent // 10) + "." * (10 - percent // 10)
            await self.notify(f"{self.verb} [{bar}] {percent:3d}% of {format_size(self.total)}")
