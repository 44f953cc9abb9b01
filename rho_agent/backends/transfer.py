"""Moving files into and out of a workspace as one archive, not a request per file.

Upload: local files and directories are packed into one `.tar.gz` (directories filtered:
`.gitignore`d files, junk directories such as `.git` and `node_modules`, and secrets such as
`.env` and private keys are left out), the archive is put into the workspace with one
transfer, and one `tar -x` command unpacks every mapping in place. Download: one command packs
the remote path (a file or a whole directory), one transfer fetches it, and it is unpacked
locally with tarfile's `data` filter (no absolute paths, no `..`, no device files).

Everything here acts through `Workspace.exec` / `put_file` / `get_file`, so it works the
same on every backend.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import posixpath
import re
import secrets
import shlex
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from rho_agent.errors import ConfigError, SandboxError

if TYPE_CHECKING:
    from rho_agent.backends.base import Workspace

Notify = Callable[[str], Awaitable[None]]

#: Directories never uploaded from inside an uploaded directory (the contract's list plus caches).
SKIP_DIRS = frozenset(
    {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox",
     ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)  # fmt: skip

# Credentials are left out of uploaded directories unless named on purpose (`--upload FILE:...`).
# The lists follow the default locations each tool documents for its logins and keys, and the
# default path rules of secret scanners (gitleaks, trufflehog): dotenv files; SSH keys; TLS/Java
# keystores; netrc, pip, npm and git logins; GitHub CLI (`~/.config/gh/hosts.yml`); Docker
# (`~/.docker/config.json`, legacy `~/.dockercfg`); PostgreSQL libpq (`~/.pgpass`); MySQL
# (`~/.my.cnf`); HashiCorp Vault (`~/.vault-token`); Apple App Store Connect / APNs keys
# (`AuthKey_*.p8`); Cargo (`~/.cargo/credentials[.toml]`); kubectl (`~/.kube/`, kubeconfig files);
# GnuPG (`~/.gnupg/`, `private-keys-v1.d/`, `secring.*`, exported `*.asc` keys); Terraform
# (`*.tfvars`, `*.tfstate`, `*.tfstate.backup`, `~/.terraform.d/credentials.tfrc.json`); cloud
# CLIs (`~/.aws/`, `~/.azure/`, gcloud's `application_default_credentials.json`, `.boto`, `.s3cfg`).

#: File names that hold credentials wherever they are.
SECRET_FILES = (
    ".env", ".env.*", ".envrc", "*.env",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", "*.pem", "*.key", "*.p12", "*.pfx", "*.p8",
    "*.jks", "*.keystore", "*.ppk", "*.kdbx",
    ".netrc", ".pypirc", ".npmrc", ".git-credentials", ".htpasswd",
    ".pgpass", ".my.cnf", ".vault-token", ".dockercfg", ".boto", ".s3cfg",
    "credentials", "credentials.json", "*.credentials.json", "service-account*.json",
    "credentials.toml", "credentials.tfrc.json", "application_default_credentials.json",
    "kubeconfig", "kubeconfig.*", "*.kubeconfig",
    "*.asc", "secring.*",
    "*.tfvars", "*.tfvars.json", "*.tfstate", "*.tfstate.*",
)  # fmt: skip
#: Ordinary file names that hold credentials only in one tool's directory: the last parts of
#: the path inside the uploaded directory (a `config.json` elsewhere is uploaded).
SECRET_PATHS = (".docker/config.json", "gh/hosts.yml", "gh/hosts.yaml")
#: Templates that look like secrets by name but are meant to be shared.
SECRET_TEMPLATES = (".env.example", ".env.sample", ".env.template", ".env.dist")
#: Directories that hold credentials (ssh and gpg keys, cloud and cluster logins).
SECRET_DIRS = frozenset({".ssh", ".aws", ".gnupg", ".azure", ".kube", "private-keys-v1.d"})

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


# ------------------------------------------------------------------ .gitignore


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _glob_regex(glob: str) -> str:
    """A gitignore glob (no leading/trailing slash handling) as a regex fragment."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if glob.startswith("**/", i) and (i == 0 or glob[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i) and (i == 0 or glob[i - 1] == "/") and i + 2 == n:
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "^", "]") else i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = glob[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def compile_gitignore(text: str) -> list[_Rule]:
    """The rules of one `.gitignore` file, in order."""
    rules = []
    for raw in text.splitlines():
        line = re.sub(r"(?<!\\)\s+$", "", raw)
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate or line.startswith(("\\!", "\\#")):
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        body = _glob_regex(line.lstrip("/"))
        pattern = body if anchored else f"(?:.*/)?{body}"
        rules.append(_Rule(re.compile(f"^{pattern}$", re.DOTALL), negate, dir_only))
    return rules


@dataclass
class _IgnoreStack:
    """`.gitignore` rule sets from the outermost directory in, each with its base directory."""

    sets: list[tuple[Path, list[_Rule]]] = field(default_factory=list)

    def ignored(self, path: Path, is_dir: bool) -> bool:
        verdict = False
        for base, rules in self.sets:
            try:
                rel = path.relative_to(base).as_posix()
            except ValueError:
                continue
            for rule in rules:
                if rule.dir_only and not is_dir:
                    continue
                if rule.regex.match(rel):
                    verdict = not rule.negate
        return verdict

    def entered(self, directory: Path) -> _IgnoreStack:
        """The stack for the contents of `directory` (its own .gitignore added)."""
        rules = _read_gitignore(directory)
        return _IgnoreStack([*self.sets, (directory, rules)]) if rules else self


def _read_gitignore(directory: Path) -> list[_Rule]:
    try:
        return compile_gitignore((directory / ".gitignore").read_text(errors="replace"))
    except OSError:
        return []


def _outer_gitignores(root: Path) -> _IgnoreStack:
    """`.gitignore` files of the git repository around `root`, above it (git applies them)."""
    top = next((p for p in [root, *root.parents] if (p / ".git").exists()), None)
    if top is None or top == root:
        return _IgnoreStack()
    chain = [p for p in [root, *root.parents] if p != root and (p == top or top in p.parents)]
    stack = _IgnoreStack()
    for directory in reversed(chain):
        stack = stack.entered(directory)
    return stack


def is_secret(path: str, *, is_dir: bool = False) -> bool:
    """Whether `path` (relative to the uploaded directory, or a bare name) holds credentials."""
    parts = PurePosixPath(path).parts
    if not parts:
        return False
    if is_dir:
        return parts[-1] in SECRET_DIRS
    if parts[-1] in SECRET_TEMPLATES:
        return False
    return any(_tail_matches(parts, pattern) for pattern in (*SECRET_FILES, *SECRET_PATHS))


def _tail_matches(parts: tuple[str, ...], pattern: str) -> bool:
    """`a/b.json` matches a path whose last two parts are `a` and `b.json`."""
    wanted = pattern.split("/")
    if len(parts) < len(wanted):
        return False
    tail = parts[len(parts) - len(wanted) :]
    return all(fnmatch.fnmatchcase(part, glob) for part, glob in zip(tail, wanted, strict=True))


# ------------------------------------------------------------------ packing


@dataclass
class PackReport:
    """What went into an archive and what was left out."""

    files: int = 0
    bytes: int = 0
    archive_bytes: int = 0
    secrets: list[str] = field(default_factory=list)
    gitignored: list[str] = field(default_factory=list)
    skipped_dirs: list[str] = field(default_factory=list)

    def summary(self, uploads: list[Upload]) -> str:
        """One line: what is uploaded, what was skipped, and how to include it."""
        where = ", ".join(u.remote for u in uploads)
        line = f"Uploading {self.files:,} files ({_size(self.bytes)}, {_size(self.archive_bytes)} compressed) to {where}"
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
            return line
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


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _walk(root: Path, report: PackReport) -> Iterator[tuple[Path, str]]:
    """(host path, path relative to root) of everything under `root` that is uploaded."""
    stack = _outer_gitignores(root).entered(root)
    pending: list[tuple[Path, _IgnoreStack]] = [(root, stack)]
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


async def send(ws: Workspace, packed: Packed, *, notify: Notify | None = None) -> PackReport:
    """One transfer of the archive and one extract command; the local archive is removed."""
    try:
        if notify:
            await notify(packed.report.summary(packed.uploads))
        remote = f"/tmp/.rho-upload-{secrets.token_hex(6)}.tar.gz"
        big = packed.report.archive_bytes >= PROGRESS_BYTES
        await ws.put_file(packed.archive, remote, notify=notify if big else None)
        result = await ws.exec(
            extract_command(remote, packed.uploads), cwd="/", timeout=600, confined=False
        )
        if result.exit_code != 0:
            raise SandboxError(
                f"Unpacking the upload in the sandbox failed (exit {result.exit_code}): "
                f"{result.output.strip()[-500:] or 'no output'}"
            )
        return packed.report
    finally:
        packed.discard()


async def upload(
    ws: Workspace, uploads: list[Upload], *, notify: Notify | None = None
) -> PackReport:
    """Put every mapping into `ws` with one archive transfer and one extract command."""
    return await send(ws, await asyncio.to_thread(prepare, uploads), notify=notify)


async def download(ws: Workspace, remote: str, local: str | os.PathLike[str]) -> Path:
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
