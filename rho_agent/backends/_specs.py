"""`--upload LOCAL:REMOTE` and `--download REMOTE:LOCAL` specs, parsed and validated the one
way every front end uses."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from rho_agent.errors import ConfigError


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
