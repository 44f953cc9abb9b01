"""What moving files needs of a workspace: the few `Workspace` methods `_transfer.py` and
`_download.py` use, so they work the same on every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Protocol

from rho_agent.backends._types import ExecResult

Chunks = Callable[[], AsyncIterator[bytes]]


class Endpoint(Protocol):
    """What moving files needs of a workspace."""

    #: Whether the workspace can unpack zstd (learned by the first compressed upload).
    unzstd: bool
    #: Whether transfers cross a network (else nothing is compressed).
    over_network: bool

    def resolve(self, path: str) -> str: ...

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
        confined: bool = True,
    ) -> ExecResult: ...

    async def put_stream(self, chunks: Chunks, path: str, *, size: int) -> None: ...

    async def put_files(self, files: list[tuple[Path, str]], *, size: int) -> None: ...

    def get_stream(self, path: str) -> AsyncIterator[bytes]: ...
