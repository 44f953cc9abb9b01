"""The seam between tools and the place they act on.

A `Workspace` is a filesystem plus a shell, local or remote. Tools are written once
against these few primitives; backends differ only in how they carry them out.
Everything a tool needs beyond them (listing, globbing, grepping) is built from `exec`
so that it costs one round trip on a remote workspace and behaves the same everywhere.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rho_agent.backends.transfer import PackReport, Upload

Notify = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str  # stdout and stderr, merged in the order they were written
    timed_out: bool = False


class Workspace(ABC):
    """Files and a shell rooted at `working_dir` (an absolute POSIX path in the workspace)."""

    #: Absolute path relative paths resolve against.
    working_dir: str
    #: Short name for prompts and events, e.g. "local" or "daytona".
    kind: str = "workspace"

    def resolve(self, path: str) -> str:
        """An absolute, normalised path in the workspace for a path the model gave."""
        if not posixpath.isabs(path):
            path = posixpath.join(self.working_dir, path)
        return posixpath.normpath(path)

    @abstractmethod
    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run `command` with bash in `cwd` (default: working_dir).

        `env` is added to the workspace's base environment. On timeout the whole
        process group is killed and `timed_out` is set. Cancelling the awaiting task
        kills the process too.
        """

    @abstractmethod
    async def read_bytes(self, path: str) -> bytes:
        """Contents of the file at absolute `path`. Raises FileNotFoundError / IsADirectoryError."""

    @abstractmethod
    async def write_bytes(self, path: str, data: bytes) -> None:
        """Write the file at absolute `path`, creating parent directories."""

    async def close(self) -> None:
        """Release what the workspace holds. Safe to call twice."""

    # -- built on the primitives (a backend may override them to do better) --------------

    #: Set when a workspace that provisions in the background could not be made ready; the
    #: same error is raised by every later call.
    failure: BaseException | None = None

    async def ready(self) -> None:
        """Wait until the workspace can be used (a remote one may still be provisioning)."""

    async def put_file(self, local: Path, path: str, *, notify: Notify | None = None) -> None:
        """Copy the local file `local` to absolute `path` (`notify` gets progress lines)."""
        await self.write_bytes(path, await asyncio.to_thread(local.read_bytes))

    async def get_file(self, path: str, local: Path) -> None:
        """Copy the file at absolute `path` to the local file `local`."""
        data = await self.read_bytes(path)
        await asyncio.to_thread(local.write_bytes, data)

    async def upload(self, uploads: list[Upload], *, notify: Notify | None = None) -> PackReport:
        """Copy local files and directories in: one archive, one extract command."""
        from rho_agent.backends import transfer

        return await transfer.upload(self, uploads, notify=notify)

    async def download(self, path: str, local: str | os.PathLike[str]) -> Path:
        """Copy a file or a whole directory out to `local` (into it, if it is a directory)."""
        from rho_agent.backends import transfer

        return await transfer.download(self, path, local)
