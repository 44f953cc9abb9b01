"""What a command may not change in a writable git working tree: where git finds code to run.

`developer` may write the working dir, and so its `.git`. But a file in `.git/hooks`, or a
line in `.git/config` (`core.hooksPath`, `core.fsmonitor`, a filter or alias), runs as you,
unconfined, the next time you use git there: a way out of the sandbox that outlasts the
session. So in the sandbox `.git/hooks` and `.git/config` are read-only, and `.git` itself is
a mount point, which cannot be renamed or removed (else `mv .git old; cp -r old .git` would
bring back a writable copy). Everything else git writes (objects, refs, the index) stays
writable: `git add` and `git commit` work. The local file tools refuse the same paths.
"""

from __future__ import annotations

import os


def guarded_paths(working_dir: str) -> tuple[str, ...]:
    """The paths of `working_dir`'s git repository that commands may not write."""
    git = os.path.join(working_dir, ".git")
    if not os.path.isdir(git) or os.path.islink(git):
        return ()  # a worktree's `.git` file points outside the working dir, out of reach
    return (os.path.join(git, "hooks"), os.path.join(git, "config"))


def bwrap_args(working_dir: str) -> list[str]:
    """bwrap arguments (after the working dir's own bind) that make `guarded_paths` read-only
    and pin `.git` in place."""
    paths = guarded_paths(working_dir)
    if not paths:
        return []
    git = os.path.join(working_dir, ".git")
    args = ["--bind", git, git]
    for path in paths:
        if os.path.lexists(path):
            args += ["--ro-bind", path, path]
        elif path.endswith("hooks"):  # none yet: an empty, read-only one, so none can be made
            args += ["--tmpfs", path, "--remount-ro", path]
    return args


def guarded_by(path: str, working_dir: str) -> str | None:
    """The guarded path `path` is (or is inside, after symlinks), or None."""
    real = os.path.realpath(path)
    for place in guarded_paths(os.path.realpath(working_dir)):
        if real == place or real.startswith(place + "/"):
            return place
    return None
