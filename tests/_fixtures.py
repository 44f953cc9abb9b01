"""Fixtures shared by the whole suite (imported by conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Variables that change rho-agent's or the SDKs' behaviour: never inherited by a test.
_BEHAVIOUR_ENV = ("RHO_AGENT_", "ANTHROPIC_", "DAYTONA_")


@pytest.fixture(autouse=True)
def clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Each test gets its own RHO_AGENT_HOME and none of the user's rho/Anthropic/Daytona settings."""
    for name in list(os.environ):
        if name.startswith(_BEHAVIOUR_ENV):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("rho-home")
    monkeypatch.setenv("RHO_AGENT_HOME", str(home))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return home


@pytest.fixture
def rho_home(clean_environ: Path) -> Path:
    return clean_environ


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project directory to point an agent at."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "README.md").write_text("# demo\n")
    return root


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`rho-agent ARGS` in a real subprocess, with the test's environment plus `env`."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rho_agent", *args],
        env=full_env,
        cwd=cwd,
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def markdown_text(markdown: str) -> str:
    """An answer's Markdown without the block that keeps MathJax off it (`frontend.no_math`)."""
    from rho_agent.frontend import no_math

    head, tail = no_math("\0").split("\0")
    if markdown.startswith(head) and markdown.endswith(tail):
        return markdown[len(head) : -len(tail)]
    return markdown


def make_shell_fixture(root: Path) -> Path:
    """The directory `tests/shell_cases.py` assumes: a few files and a git repo with one commit."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "README.md").write_text("# demo\nhello world\n")
    (root / "f.txt").write_text("alpha\nbeta\ngamma\n")
    (root / "data.json").write_text('{"a": 1, "b": [1, 2, 3]}\n')
    (root / "src").mkdir(exist_ok=True)
    (root / "src" / "a.py").write_text("def main():\n    return 42\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "initial"], cwd=root, check=True)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file and directory below `root` (outside .git) with its contents."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] == ".git":
            continue
        out[str(rel)] = (
            path.read_bytes() if path.is_file() and not path.is_symlink() else b"<dir-or-link>"
        )
    return out


def pids_running(token: str) -> list[int]:
    """Host pids of processes whose command line holds `token` (a command in a PID
    namespace cannot tell the host its pid, so tests mark it with a unique argument)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmdline.split(b"\0"):
                found.append(int(entry.name))
    return found


def copy_of_clone(dest: Path) -> Path:
    """The working tree's files a clone would have (tracked and untracked, not ignored), as a
    git repository of one commit. The real repository is only read."""
    root = Path(__file__).resolve().parent.parent
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in sorted(set(filter(None, listed.split("\0")))):
        source = root / name
        if source.is_file() or source.is_symlink():  # a tracked file deleted in the tree is not
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "copy of the working tree"]):
        subprocess.run([*git, *args], cwd=dest, check=True, capture_output=True)
    return dest
