"""The seam between tools and the place they act on.

A `Workspace` is a filesystem plus a shell, local or remote. Tools are written once
against these few primitives; backends differ only in how they carry them out.
Everything a tool needs beyond them (listing, globbing, grepping) is built from `exec`
so that it costs one round trip on a remote workspace and behaves the same everywhere.
"""

from __future__ import annotations

import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from rho_agent.backends._report import PackReport
from rho_agent.backends._specs import Upload
from rho_agent.backends._tarpipe import file_stream
from rho_agent.backends._transfer import download as _download
from rho_agent.backends._transfer import upload as _upload
from rho_agent.backends._types import ExecResult, Notify, Progress


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
        confined: bool = True,
    ) -> ExecResult:
        """Run `command` with bash in `cwd` (default: working_dir).

        `env` is added to the workspace's base environment. On timeout the whole
        process group is killed and `timed_out` is set. Cancelling the awaiting task
        kills the process too. Every command a tool runs is `confined`: the OS enforces the
        session profile's `Confinement` on it. rho-agent's own work for the user (setup
        commands, extracting uploads, packing downloads) passes `confined=False`.
        """

    @abstractmethod
    async def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        """Contents of the regular file at `path`: the first `limit` bytes, or all of them.

        Raises FileNotFoundError / IsADirectoryError / PermissionError, and
        NotRegularFileError for a FIFO, device or socket, at once and without blocking on it.
        Cancelling the awaiting task ends the read promptly.
        """

    @abstractmethod
    async def write_bytes(self, path: str, data: bytes) -> None:
        """Write the file at absolute `path`, creating parent directories."""

    async def real_path(self, path: str) -> str:
        """Where `path` really leads: absolute, with `..` and every symlink resolved (in
        parent directories too, and a dangling one to its target), as far as the path exists.

        Permission checks compare these, never the strings the model gave. This default
        only normalises the path; a backend that can see its filesystem resolves links.
        """
        return posixpath.normpath(self.resolve(path))

    async def close(self) -> None:
        """Release what the workspace holds. Safe to call twice."""

    # -- built on the primitives (a backend may override them to do better) --------------

    #: Whether `zstd` exists where the workspace unpacks uploads (an upload finds out).
    unzstd: bool = True

    #: Whether transfers cross a network, so compressing what shrinks pays (not on this
    #: machine: compressing would only spend CPU).
    over_network: bool = True

    #: Set when a workspace that provisions in the background could not be made ready; the
    #: same error is raised by every later call.
    failure: BaseException | None = None

    async def ready(self) -> None:
        """Wait until the workspace can be used (a remote one may still be provisioning)."""

    async def put_stream(
        self, chunks: Callable[[], AsyncIterator[bytes]], path: str, *, size: int
    ) -> None:
        """Write the bytes `chunks()` yields (about `size` of them) to the file at absolute
        `path`. `chunks` may be called again to retry from the start."""
        data = b"".join([chunk async for chunk in chunks()])
        await self.write_bytes(path, data)

    async def put_files(self, files: list[tuple[Path, str]], *, size: int) -> None:
        """Copy each local file to its absolute path in the workspace (`size`: their total)."""
        for local, path in files:
            await self.put_stream(
                lambda local=local: file_stream(local, compress=False),
                path,
                size=local.stat().st_size,
            )

    async def get_stream(self, path: str) -> AsyncIterator[bytes]:
        """The contents of the file at absolute `path`, in chunks."""
        yield await self.read_bytes(path)

    async def upload(
        self,
        uploads: list[Upload],
        *,
        notify: Notify | None = None,
        progress: Progress | None = None,
        make_dirs: Iterable[str] = (),
    ) -> PackReport:
        """Copy local files and directories in: one streamed tar archive (big files beside
        it), and one command that unpacks everything and makes `make_dirs`. `notify` gets
        what is sent and a progress bar, `progress` (done, total) bytes."""
        return await _upload(self, uploads, notify=notify, progress=progress, make_dirs=make_dirs)

    async def download(
        self,
        path: str,
        local: str | os.PathLike[str],
        *,
        notify: Notify | None = None,
        progress: Progress | None = None,
    ) -> Path:
        """Copy a file or a whole directory out to `local` (into it, if it is a directory);
        `notify` gets a progress bar, `progress` (done, total) bytes."""
        return await _download(self, path, local, notify=notify, progress=progress)
