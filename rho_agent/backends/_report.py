"""What an upload sends and leaves out, said in one line; sizes and counts in one style."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from rho_agent.backends._specs import Upload


@dataclass
class PackReport:
    """What went into an archive and what was left out."""

    files: int = 0
    bytes: int = 0
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
            line = f"Uploading {plural(self.files, 'file')}, {format_size(self.bytes)}, to {where}"
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
