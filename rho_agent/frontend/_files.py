"""Files between the user's machine and a session's workspace, for every front end.

`--upload LOCAL:REMOTE` and `--download REMOTE:LOCAL` mean the same on the CLI and in a
notebook (same parsers); `%rho upload LOCAL [REMOTE]` and `%rho download REMOTE [LOCAL]`
default the other side to the same name. The moving itself is the Session's
(`Session.upload/download`: one archive per transfer on every backend). A workspace browser
lists files with one `find` command.
"""

from __future__ import annotations

import posixpath
import shlex
from pathlib import Path
from typing import Any

from rho_agent.errors import ConfigError

#: Files listed at most by `list_files` (the panel's workspace browser) and `list_folder`.
MAX_LISTED = 500
_SKIP = (".git", "node_modules", "__pycache__", ".venv", ".ipynb_checkpoints")


def check_upload(spec: str, flag: str = "--upload") -> str:
    """Validate a `LOCAL:REMOTE` spec as the CLI does (LOCAL must exist); returns it."""
    from rho_agent.backends import parse_upload

    parse_upload(spec, working_dir="/", flag=flag)
    return spec


def check_download(spec: str, flag: str = "--download") -> tuple[str, str]:
    """`REMOTE:LOCAL` → (remote, local), as the CLI parses it."""
    from rho_agent.backends import parse_download

    remote, local = parse_download(spec, flag=flag)
    return remote, str(local)


def upload_spec(local: str, remote: str | None = None) -> str:
    """`%rho upload LOCAL [REMOTE]` as a checked spec (REMOTE: LOCAL's name in the working dir)."""
    path = Path(local).expanduser()
    return check_upload(f"{local}:{remote or path.resolve().name}", flag="%rho upload")


async def upload(session: Any, spec: str) -> str:
    """Copy `LOCAL:REMOTE` into the workspace; returns the absolute remote path."""
    local, _, remote = spec.rpartition(":")
    await session.upload(local, remote)
    return session.workspace.resolve(remote)


async def upload_specs(session: Any, specs: list[str]) -> None:
    """Copy `LOCAL:REMOTE` specs into a started session's workspace, one archive each (for
    backends that do not take them while they provision)."""
    for spec in specs:
        await upload(session, spec)


async def download(session: Any, remote: str, local: str | None = None) -> str:
    """Copy a workspace file or directory to `local` (default: its name here); returns where."""
    target = local or posixpath.basename(remote.rstrip("/")) or "download"
    try:
        return str(await session.download(remote, target))
    except FileNotFoundError:
        raise ConfigError(f"download: {remote} does not exist in the workspace.") from None


async def list_files(
    session: Any, directory: str = ".", limit: int | None = MAX_LISTED
) -> list[tuple[str, int, float]]:
    """(path relative to `directory`, size, mtime) of the files under it, in one command."""
    workspace = session.workspace
    root = workspace.resolve(directory)
    skip = " ".join(f"-name {shlex.quote(d)} -prune -o" for d in _SKIP)
    head = f" | head -n {limit}" if limit else ""
    result = await workspace.exec(
        f"find . {skip} -type f -printf '%P\\t%s\\t%T@\\n'{head}", cwd=root, confined=False
    )
    if result.exit_code != 0:
        raise ConfigError(f"cannot list {root} in the workspace: {result.output.strip()[:200]}")
    files = []
    for line in result.output.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            files.append((parts[0], int(parts[1]), float(parts[2])))
    return sorted(files)


async def list_folder(
    session: Any, directory: str = ".", limit: int = MAX_LISTED
) -> tuple[str, list[tuple[str, bool, int]]]:
    """The absolute path of `directory` and what it holds, one level: (name, is a folder,
    size), folders first, in one command (the sidebar's folder view)."""
    workspace = session.workspace
    root = workspace.resolve(directory)
    result = await workspace.exec(
        f"cd -- {shlex.quote(root)} && find . -mindepth 1 -maxdepth 1 "
        "\\( -type d -printf 'd\\t0\\t%P\\n' \\) -o -printf 'f\\t%s\\t%P\\n' "
        f"| head -n {limit}",
        confined=False,
    )
    if result.exit_code != 0:
        raise ConfigError(f"cannot list {root} in the workspace: {result.output.strip()[:200]}")
    entries = []
    for line in result.output.splitlines():
        kind, _, rest = line.partition("\t")
        size, _, name = rest.partition("\t")
        if kind in ("d", "f") and name and size.isdigit():
            entries.append((name, kind == "d", 0 if kind == "d" else int(size)))
    return root, sorted(entries, key=lambda e: (not e[1], e[0].lower()))


def changed(before: list[tuple[str, int, float]], after: list[tuple[str, int, float]]) -> list[str]:
    """Files that are new or whose size or mtime changed."""
    old = {path: (size, mtime) for path, size, mtime in before}
    return [path for path, size, mtime in after if old.get(path) != (size, mtime)]
