"""Where a user's credentials live, hidden from the agent's commands and file tools.

A read-only profile may read the whole machine, but not `~/.ssh/id_ed25519`, cloud keys or a
browser's cookies: anything the agent reads can reach the model, and a write there (an
`authorized_keys` line, a credential helper) outlasts the session. Under every profile but
`unrestricted` these paths are masked in the OS sandbox (an empty directory, an empty file)
and refused by the local file tools. The list is each tool's documented default location.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Directories under the home directory, hidden whole.
CREDENTIAL_DIRS = (
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".kube",
    ".docker",
    ".password-store",
    ".config/gcloud",
    ".config/gh",
    ".config/hub",
    ".local/share/keyrings",
    ".mozilla",
    ".config/google-chrome",
    ".config/chromium",
    ".cargo/credentials",
)
#: Files under the home directory.
CREDENTIAL_FILES = (
    ".netrc",
    ".git-credentials",
    ".pypirc",
    ".npmrc",
    ".pgpass",
    ".my.cnf",
    ".vault-token",
    ".cargo/credentials.toml",
    ".config/git/credentials",
)


def credential_paths(home: str | None = None) -> tuple[str, ...]:
    """The credential locations of this user's home that exist (real paths, sorted)."""
    root = Path(home or os.path.expanduser("~"))
    found = set()
    for name in (*CREDENTIAL_DIRS, *CREDENTIAL_FILES):
        path = root / name
        if os.path.lexists(path):
            found.add(os.path.realpath(path))
    return tuple(sorted(found))


def hidden_by(path: str, hidden: tuple[str, ...]) -> str | None:
    """The hidden location `path` is (or is inside, after symlinks), or None."""
    real = os.path.realpath(path)
    for place in hidden:
        if real == place or real.startswith(place.rstrip("/") + "/"):
            return place
    return None
