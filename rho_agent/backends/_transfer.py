"""Moving files into and out of a workspace as one archive, not a request per file.

Upload: local files and directories are packed into one `.tar.gz` (directories filtered, see
`_filters.py`: `.gitignore`d files, junk directories such as `.git` and `node_modules`, and
secrets such as `.env` and private keys are left out), the archive is put into the workspace with one
transfer, and one `tar -x` command unpacks every mapping in place. Download: one command packs
the remote path (a file or a whole directory), one transfer fetches it, and it is unpacked
locally with tarfile's `data` filter (no absolute paths, no `..`, no device files).

Everything here acts through an `Endpoint` (the few `Workspace` methods it uses: `resolve`,
`exec`, `put_file`, `get_file`), so it works the same on every backend; `Workspace` calls in
here, never the other way round.
"""

from __future__ import annotations

import asyncio
import math
import os
import posixpath
import secrets
import shlex
import shutil
import stat
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rho_agent.backends._filters import SKIP_DIRS, IgnoreStack, is_secret, outer_gitignores
from rho_agent.backends._types import ExecResult, Notify
from rho_agent.errors import ConfigError, SandboxError

#: Archives at least this big report progress while they upload.
PROGRESS_BYTES = 8 * 1024 * 1024
#: Beyond these an upload is refused (most likely a directory uploaded by mistake).
MAX_FILES = 100_000
MAX_BYTES = 4 * 1024**3


# ------------------------------------------------------------------ specs


@dataclass(frozen=True)
class Upload:
    """One `--upload LOCAL:REMOTE` mapping, validated."""

    local: Path
    remote: str  # absolute POSIX path in the workspace

    @property
    def is_dir(self) -> bool:
        return self.local.is_dir()


def parse_upload(spec: str, *, working_dir: str, flag: str = "--upload") -> Upload:
    """`./local/path:/remote/path` → Upload. The local path must exist.

    The split is at the last `:` (remote paths have none). A relative remote path is taken
    from `working_dir`.
    """
    local, sep, remote = spec.rpartition(":")
    if not sep or not local.strip() or not remote.strip():
        raise ConfigError(f"{flag} {spec!r}: expected LOCAL:REMOTE, e.g. {flag} ./data:/work/data")
    source = Path(local).expanduser()
    if not source.exists():
        raise ConfigError(f"{flag} {spec!r}: {local} does not exist (relative to {Path.cwd()})")
    if not (source.is_file() or source.is_dir()):
        raise ConfigError(f"{flag} {spec!r}: {local} is not a regular file or directory")
    remote = posixpath.normpath(posixpath.join(working_dir, remote.strip()))
    if remote == "/":
        raise ConfigError(f"{flag} {spec!r}: the remote path cannot be / itself")
    return Upload(source.resolve(), remote)


def parse_download(spec: str, *, flag: str = "--download") -> tuple[str, Path]:
    """`/remote/path:./local/path` → (remote, local); split at the first `:`."""
    remote, sep, local = spec.partition(":")
    if not sep or not remote.strip() or not local.strip():
        raise ConfigError(
            f"{flag} {spec!r}: expected REMOTE:LOCAL, e.g. {flag} /work/results.json:./results.json"
        )
    return remote.strip(), Path(local).expanduser()


# ------------------------------------------------------------------ packing


@dataclass
class PackReport:
    """What went into an archive and what was left out."""

    files: int = 0
    bytes: int = 0
    archive_bytes: int = 0
    #: Members under the mappings (files, directories, links): 0 means nothing to send.
    entries: int = 0
    secrets: list[str] = field(default_factory=list)
    gitignored: list[str] = field(default_factory=list)
    skipped_dirs: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.entries == 0

    def summary(self, uploads: list[Upload]) -> str:
        """One line: what is uploaded (or that nothing is), what was skipped, and how to
        include it."""
        where = ", ".join(u.remote for u in uploads)
        if self.empty:
            sources = ", ".join(str(u.local) for u in uploads)
            line = f"Nothing to upload from {sources} (no request sent)"
        else:
            line = (
                f"Uploading {plural(self.files, 'file')}, {format_size(self.bytes)} "
                f"({format_size(self.archive_bytes)} compressed), to {where}"
            )
        self.secrets.sort()
        self.gitignored.sort()
        skipped = []
        if self.secrets:
            skipped.append(f"{len(self.secrets)} secret file(s): {_few(self.secrets)}")
        if self.gitignored:
            skipped.append(f"{len(self.gitignored)} .gitignored: {_few(self.gitignored)}")
        if self.skipped_dirs:
            skipped.append(f"directories {_few(sorted(set(self.skipped_dirs)))}")
        if not skipped:
            return line + "." if self.empty else line
        example = (self.secrets or self.gitignored or self.skipped_dirs)[0]
        dest = (
            posixpath.join(uploads[0].remote, example) if uploads[0].is_dir else uploads[0].remote
        )
        return (
            f"{line}; skipped {'; '.join(skipped)}. To include one, name it: "
            f"--upload ./{example}:{dest}"
        )


def _few(items: list[str], n: int = 4) -> str:
    shown = ", ".join(items[:n])
    return f"{shown}, +{len(items) - n} more" if len(items) > n else shown


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 file`, `12 files`, `1,204 files` (`many` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def format_size(n: float) -> str:
    """A size the one way every transfer message gives it: `512 B`, `9.8 KB`, `980 KB`,
    `2.4 MB`, `1.1 GB` (1 KB = 1024 bytes; one decimal below 10, none above)."""
    value, unit = float(n), "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if round(value, 1 if value < 10 else 0) < 1024 or unit == "TB":
            break
        value /= 1024
    if unit == "B":
        return f"{value:.0f} B"
    return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"


def _walk(root: Path, report: PackReport) -> Iterator[tuple[Path, str]]:
    """(host path, path relative to root) of everything under `root` that is uploaded."""
    stack = outer_gitignores(root).entered(root)
    pending: list[tuple[Path, IgnoreStack]] = [(root, stack)]
    while pending:
        directory, rules = pending.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            raise ConfigError(f"Cannot read {directory} for upload: {exc.strerror}") from None
        for entry in entries:
            path = Path(entry.path)
            rel = path.relative_to(root).as_posix()
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir and (entry.name in SKIP_DIRS):
                report.skipped_dirs.append(entry.name + "/")
                continue
            if is_secret(rel, is_dir=is_dir):
                report.secrets.append(rel + ("/" if is_dir else ""))
                continue
            if rules.ignored(path, is_dir):
                report.gitignored.append(rel + ("/" if is_dir else ""))
                continue
            yield path, rel
            if is_dir:
                pending.append((path, rules.entered(path)))


def _tarinfo_filter(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def pack(uploads: list[Upload], out: Path, *, compresslevel: int = 1) -> PackReport:
    """Write one .tar.gz at `out` holding every mapping at its remote path (relative to /)."""
    report = PackReport()
    with tarfile.open(out, "w:gz", compresslevel=compresslevel) as tar:
        for upload in uploads:
            arc_root = upload.remote.lstrip("/")
            items: Iterator[tuple[Path, str]]
            items = (
                iter([(upload.local, "")])
                if upload.local.is_file()
                else _walk(upload.local, report)
            )
            if upload.local.is_dir():
                tar.add(upload.local, arcname=arc_root, recursive=False, filter=_tarinfo_filter)
            for path, rel in items:
                arcname = posixpath.join(arc_root, rel) if rel else arc_root
                try:
                    st = path.lstat()
                    if not (
                        stat.S_ISREG(st.st_mode)
                        or stat.S_ISDIR(st.st_mode)
                        or stat.S_ISLNK(st.st_mode)
                    ):
                        continue  # sockets, fifos, devices
                    tar.add(path, arcname=arcname, recursive=False, filter=_tarinfo_filter)
                except OSError as exc:
                    raise ConfigError(f"Cannot read {path} for upload: {exc.strerror}") from None
                report.entries += 1
                if stat.S_ISREG(st.st_mode):
                    report.files += 1
                    report.bytes += st.st_size
                    if report.files > MAX_FILES or report.bytes > MAX_BYTES:
                        raise ConfigError(
                            f"Uploading {upload.local} would send more than {MAX_FILES:,} files or "
                            f"{MAX_BYTES // 1024**3} GB. Leave the bulk out with .gitignore, or upload "
                            "only what the agent needs with --upload LOCAL:REMOTE."
                        )
    report.archive_bytes = out.stat().st_size
    return report


def extract_command(archive: str, uploads: list[Upload]) -> str:
    """One shell command: make each mapping's parent directory, unpack at /, delete the archive.

    A parent the sandbox user may not create (e.g. `/work`) is made with `sudo -n` when
    available and handed to the user.
    """
    parents = sorted({posixpath.dirname(u.remote) for u in uploads})
    q = shlex.quote
    make = " ".join(q(p) for p in parents)
    return (
        f'a={q(archive)}; for d in {make}; do [ -d "$d" ] || mkdir -p "$d" 2>/dev/null || '
        f'{{ sudo -n mkdir -p "$d" && sudo -n chown "$(id -u):$(id -g)" "$d"; }} || exit 1; done; '
        f'tar -xzf "$a" -C / --no-same-owner --no-overwrite-dir; s=$?; rm -f "$a"; exit $s'
    )


# ------------------------------------------------------------------ workspace operations


class Endpoint(Protocol):
    """What moving an archive needs of a workspace."""

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

    async def put_file(self, local: Path, path: str, *, notify: Notify | None = None) -> None: ...

    async def get_file(self, path: str, local: Path) -> None: ...


@dataclass
class Packed:
    """An archive on local disk, ready to send (`prepare`), and what went into it."""

    uploads: list[Upload]
    archive: Path
    report: PackReport

    def discard(self) -> None:
        self.archive.unlink(missing_ok=True)


def prepare(uploads: list[Upload]) -> Packed:
    """Pack `uploads` into a temporary .tar.gz (blocking: run it in a thread)."""
    fd, name = tempfile.mkstemp(prefix="rho-upload-", suffix=".tar.gz")
    os.close(fd)
    archive = Path(name)
    try:
        return Packed(uploads, archive, pack(uploads, archive))
    except BaseException:
        archive.unlink(missing_ok=True)
        raise


#: Extracting an upload may take this long at least, and longer the bigger it is (slow disks,
#: many small files): seconds = max(floor, bytes / EXTRACT_BYTES_PER_SECOND + files / EXTRACT_FILES_PER_SECOND).
EXTRACT_MIN_SECONDS = 60.0
EXTRACT_BYTES_PER_SECOND = 5 * 1024 * 1024
EXTRACT_FILES_PER_SECOND = 500


def extract_timeout(report: PackReport) -> float:
    """Seconds the extract command of an archive with this report may take."""
    scaled = report.bytes / EXTRACT_BYTES_PER_SECOND + report.files / EXTRACT_FILES_PER_SECOND
    return float(math.ceil(max(EXTRACT_MIN_SECONDS, scaled)))


async def send(ws: Endpoint, packed: Packed, *, notify: Notify | None = None) -> PackReport:
    """One transfer of the archive and one extract command; the local archive is removed.
    An archive with nothing in it is not sent at all (no request); the notice says so."""
    try:
        if notify:
            await notify(packed.report.summary(packed.uploads))
        if packed.report.empty:
            return packed.report
        remote = f"/tmp/.rho-upload-{secrets.token_hex(6)}.tar.gz"
        big = packed.report.archive_bytes >= PROGRESS_BYTES
        await ws.put_file(packed.archive, remote, notify=notify if big else None)
        await _extract(ws, remote, packed)
        return packed.report
    finally:
        packed.discard()


async def _extract(ws: Endpoint, remote: str, packed: Packed) -> None:
    """Run the extract command, bounded by `extract_timeout`; a failure or a hang says what
    ran, on what, and for how long."""
    report = packed.report
    seconds = extract_timeout(report)
    what = (
        f"`tar -xzf {remote} -C /` (a {format_size(report.archive_bytes)} archive: "
        f"{plural(report.files, 'file')}, {format_size(report.bytes)} unpacked, "
        f"for {', '.join(u.remote for u in packed.uploads)})"
    )
    hung = (
        f"Unpacking the upload in the sandbox hung: {what} did not finish within its limit "
        f"of {seconds:g}s"
    )
    advice = (
        "Is the sandbox's disk full or very slow? Upload less (.gitignore the bulk, or "
        "--upload only what the agent needs)."
    )
    started = time.monotonic()
    try:
        result = await ws.exec(
            extract_command(remote, packed.uploads), cwd="/", timeout=seconds, confined=False
        )
    except SandboxError as exc:
        if time.monotonic() - started >= seconds:
            raise SandboxError(f"{hung} (Daytona: {exc.message}). {advice}") from exc
        raise SandboxError(
            f"Unpacking the upload in the sandbox failed: {what}: {exc.message}"
        ) from exc
    if result.timed_out:
        raise SandboxError(f"{hung} and was killed. {advice}")
    if result.exit_code != 0:
        raise SandboxError(
            f"Unpacking the upload in the sandbox failed (exit {result.exit_code}): {what}: "
            f"{result.output.strip()[-500:] or 'no output'}"
        )


async def upload(
    ws: Endpoint, uploads: list[Upload], *, notify: Notify | None = None
) -> PackReport:
    """Put every mapping into `ws` with one archive transfer and one extract command."""
    return await send(ws, await asyncio.to_thread(prepare, uploads), notify=notify)


async def download(ws: Endpoint, remote: str, local: str | os.PathLike[str]) -> Path:
    """Copy a file or a whole directory from `ws` to `local`, like `cp -r`.

    When `local` is an existing directory the copy goes inside it. Raises FileNotFoundError
    when `remote` does not exist.
    """
    remote = ws.resolve(remote)
    target = Path(local).expanduser()
    if target.is_dir():
        target = target / posixpath.basename(remote.rstrip("/"))
    tmp = f"/tmp/.rho-download-{secrets.token_hex(6)}.tar.gz"
    q = shlex.quote
    parent, name = posixpath.split(remote.rstrip("/") or "/")
    probe = await ws.exec(
        f"if [ -d {q(remote)} ]; then tar -czf {q(tmp)} -C {q(parent or '/')} -- {q(name)} && echo dir; "
        f"elif [ -e {q(remote)} ]; then echo file; else echo none; fi",
        cwd="/",
        timeout=600,
        confined=False,
    )
    kind = probe.output.strip().splitlines()[-1:] or [""]
    if kind[0] == "none":
        raise FileNotFoundError(f"No such file or directory in the workspace: {remote}")
    if kind[0] == "file":
        target.parent.mkdir(parents=True, exist_ok=True)
        await ws.get_file(remote, target)
        return target
    if kind[0] != "dir":
        raise SandboxError(f"Packing {remote} for download failed: {probe.output.strip()[-500:]}")
    fd, name_ = tempfile.mkstemp(prefix="rho-download-", suffix=".tar.gz")
    os.close(fd)
    archive = Path(name_)
    try:
        await ws.get_file(tmp, archive)
        await asyncio.to_thread(_unpack_dir, archive, name, target)
    finally:
        archive.unlink(missing_ok=True)
        try:
            await ws.exec(f"rm -f {q(tmp)}", cwd="/", timeout=60, confined=False)
        except Exception:  # the archive is in /tmp; leaving it is harmless
            pass
    return target


def _unpack_dir(archive: Path, name: str, target: Path) -> None:
    """Unpack the tree stored under `name` in `archive` as `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".rho-download-", dir=target.parent))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")
        source = staging / name
        if target.exists():
            _merge(source, target)
        else:
            os.replace(source, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _merge(source: Path, target: Path) -> None:
    for item in source.iterdir():
        dest = target / item.name
        if item.is_dir() and not item.is_symlink() and dest.is_dir():
            _merge(item, dest)
        else:
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(item, dest)
