"""What an upload sends, decided before a byte moves: the walk of every mapping.

    Upload mappings ──walk (filters)──► Manifest
        trees: per mapping, the names GNU tar packs (directories, files, links)
        loose: big files (8 MB or more), sent beside the tar (through zstd if they shrink)
        compress_tree: whether the tar stream goes through zstd (see `_shrink.py`)
        report: counts, sizes, and what was left out (secrets, .gitignored, junk directories)

Directories are filtered by `_filters.py` exactly as before (junk directories, `.gitignore`,
secrets); tar is given explicit names only (`--no-recursion`), so nothing the walk left out
can reach the archive. Walking is blocking filesystem work: run `scan` in a thread.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rho_agent.backends import _programs
from rho_agent.backends._filters import SKIP_DIRS, IgnoreStack, is_secret, outer_gitignores
from rho_agent.backends._report import PackReport
from rho_agent.backends._shrink import shrinks
from rho_agent.backends._specs import Upload
from rho_agent.errors import ConfigError

#: Files at least this big go beside the tar instead of through it: the
#: bytes then flow from the file to the socket and on to their place without a repack.
LOOSE_BYTES = 8 * 1024 * 1024
#: Beyond these an upload is refused (most likely a directory uploaded by mistake).
MAX_FILES = 100_000
MAX_BYTES = 4 * 1024**3
#: What one tar member costs beyond its data (a 512-byte header, padding on average).
_TAR_OVERHEAD = 768


@dataclass(frozen=True)
class Tree:
    """One mapping: `names` (relative POSIX paths under `root`) land under `remote`; or, for a
    file mapping (`file`), the one name in `root` lands at `remote` itself."""

    root: Path
    remote: str
    names: list[str]
    file: bool = False


@dataclass(frozen=True)
class LooseFile:
    """A file sent as its own request, then moved to `remote` with its mode and mtime."""

    local: Path
    remote: str
    size: int
    mode: int
    mtime: int
    #: Sent through zstd (its content shrinks; see `_shrink.py`).
    compress: bool = False


@dataclass
class Manifest:
    uploads: list[Upload]
    trees: list[Tree] = field(default_factory=list)
    loose: list[LooseFile] = field(default_factory=list)
    report: PackReport = field(default_factory=PackReport)
    #: About how many bytes the tar stream of `trees` will be (for progress).
    tar_bytes: int = 0
    #: The tar stream goes through zstd (what it holds shrinks; see `_shrink.py`).
    compress_tree: bool = False

    def uncompressed(self) -> Manifest:
        """The same upload with nothing compressed (for a sandbox without zstd)."""
        loose = [dataclasses.replace(f, compress=False) for f in self.loose]
        return dataclasses.replace(self, loose=loose, compress_tree=False)

    @property
    def remote_dirs(self) -> list[str]:
        """Directories to exist before unpacking: each mapping's parent and each tree's root."""
        dirs = {posixpath.dirname(u.remote) for u in self.uploads}
        dirs.update(t.remote for t in self.trees if not t.file)
        return sorted(dirs)


def scan(uploads: list[Upload], *, loose_bytes: int = LOOSE_BYTES) -> Manifest:
    """Walk every mapping (blocking). Raises ConfigError for an unreadable path or an upload
    over MAX_FILES / MAX_BYTES."""
    manifest = Manifest(uploads)
    report = manifest.report
    in_tree: list[tuple[str | Path, int]] = []  # regular files in the tar, for the shrink sample
    for upload in uploads:
        if not upload.local.is_dir():
            st = _lstat(upload.local)
            if st.st_size >= loose_bytes:
                manifest.loose.append(_loose(upload.local, upload.remote, st))
            else:
                names = [upload.local.name]
                manifest.trees.append(Tree(upload.local.parent, upload.remote, names, file=True))
                manifest.tar_bytes += _TAR_OVERHEAD + st.st_size
                in_tree.append((upload.local, st.st_size))
            _count(report, upload, st)
            continue
        names: list[str] = []
        for path, rel, st in _walk(upload.local, report):
            regular = stat.S_ISREG(st.st_mode)
            if regular and st.st_size >= loose_bytes:
                manifest.loose.append(_loose(Path(path), posixpath.join(upload.remote, rel), st))
            else:
                names.append(rel)
                manifest.tar_bytes += _TAR_OVERHEAD + (st.st_size if regular else 0)
                if regular:
                    in_tree.append((path, st.st_size))
            _count(report, upload, st)
        manifest.trees.append(Tree(upload.local, upload.remote, names))
    # Compressing needs GNU tar's pipeline (tarfile's fallback sends it as it is).
    manifest.compress_tree = shrinks(in_tree) and _programs.gnu_tar() is not None
    return manifest


def _loose(path: Path, remote: str, st: os.stat_result) -> LooseFile:
    mode, mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
    return LooseFile(path, remote, st.st_size, mode, mtime, shrinks([(path, st.st_size)]))


def _lstat(path: Path) -> os.stat_result:
    try:
        return path.lstat()
    except OSError as exc:
        raise ConfigError(f"Cannot read {path} for upload: {exc.strerror}") from None


def _count(report: PackReport, upload: Upload, st: os.stat_result) -> None:
    report.entries += 1
    if not stat.S_ISREG(st.st_mode):
        return
    report.files += 1
    report.bytes += st.st_size
    if report.files > MAX_FILES or report.bytes > MAX_BYTES:
        raise ConfigError(
            f"Uploading {upload.local} would send more than {MAX_FILES:,} files or "
            f"{MAX_BYTES // 1024**3} GB. Leave the bulk out with .gitignore, or upload "
            "only what the agent needs with --upload LOCAL:REMOTE."
        )


def _walk(root: Path, report: PackReport) -> Iterator[tuple[str, str, os.stat_result]]:
    """(host path, path relative to root, lstat) of everything under `root` that is uploaded:
    directories, regular files and symlinks (sockets, FIFOs and devices are skipped). Paths
    are strings: a Path per file would cost as much as the rest of the walk."""
    root = Path(os.path.abspath(root))  # the rules' bases and the walk's paths alike
    stack: IgnoreStack = outer_gitignores(root).entered(root)
    pending: list[tuple[str, str, IgnoreStack]] = [(os.fspath(root), "", stack)]
    while pending:
        directory, prefix, rules = pending.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise ConfigError(f"Cannot read {directory} for upload: {exc.strerror}") from None
        for entry in entries:
            rel = prefix + entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                raise ConfigError(f"Cannot read {entry.path} for upload: {exc.strerror}") from None
            is_dir = stat.S_ISDIR(st.st_mode)
            if is_dir and entry.name in SKIP_DIRS:
                report.skipped_dirs.append(entry.name + "/")
                continue
            if is_secret(rel, is_dir=is_dir):
                report.secrets.append(rel + ("/" if is_dir else ""))
                continue
            path = entry.path
            if rules.sets and rules.ignored(path, is_dir):
                report.gitignored.append(rel + ("/" if is_dir else ""))
                continue
            if not (is_dir or stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                continue  # sockets, fifos, devices
            yield path, rel, st
            if is_dir:
                pending.append((path, rel + "/", rules.entered(path)))
