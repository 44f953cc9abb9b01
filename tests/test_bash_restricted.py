"""The restricted-shell table through the real `bash` tool on a local workspace.

A denied command must come back as the policy's error and change nothing; an allowed one
must really run (no denial) and change nothing either.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _fixtures import make_shell_fixture, snapshot
from shell_cases import ALLOWED, DENIED

from rho_agent.backends import LocalWorkspace
from rho_agent.permissions.profile import READONLY, UNRESTRICTED
from rho_agent.permissions.shell_policy import check_command
from rho_agent.tools import BashTool, ToolContext
from rho_agent.tools._bash import restricted_env


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shell_fixture(tmp_path_factory.mktemp("shell") / "repo")


@pytest.fixture(scope="module")
def readonly_ctx(repo: Path) -> ToolContext:
    return ToolContext(workspace=LocalWorkspace(repo), profile=READONLY, bash_timeout=10)


@pytest.mark.parametrize(("command", "technique"), DENIED, ids=[c for c, _ in DENIED])
async def test_denied_through_the_bash_tool(
    command: str, technique: str, repo: Path, readonly_ctx: ToolContext
) -> None:
    before = snapshot(repo)
    result = await BashTool()({"command": command}, readonly_ctx)
    assert result.is_error, technique
    assert result.text == check_command(command).reason
    assert snapshot(repo) == before, f"{technique}: the command changed the workspace"


@pytest.mark.parametrize("command", ALLOWED)
async def test_allowed_through_the_bash_tool(
    command: str, repo: Path, readonly_ctx: ToolContext
) -> None:
    before = snapshot(repo)
    result = await BashTool()({"command": command}, readonly_ctx)
    assert "read-only mode" not in result.text, result.text
    assert snapshot(repo) == before, "an allowed command changed the workspace"


# --- git: a repository's own config must not make read-only git commands run programs --


def _git_version() -> tuple[int, ...]:
    out = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True).stdout
    return tuple(int(n) for n in re.findall(r"\d+", out)[:2])


needs_git_config_env = pytest.mark.skipif(
    shutil.which("git") is None or _git_version() < (2, 31),
    reason="config from GIT_CONFIG_COUNT needs git >= 2.31",
)
GIT_READS = ("git status", "git diff", "git log -p", "git show", "git log --show-signature -1")


def _hostile_repo(root: Path, extra: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A repository whose .git/config names programs for git to run: each leaves a marker
    file in the returned markers directory. `extra` maps more config keys to program names."""
    markers = root / "markers"
    markers.mkdir()
    repo = make_shell_fixture(root / "repo")

    def program(name: str) -> str:
        script = root / f"{name}.sh"
        script.write_text(f"#!/bin/sh\ntouch '{markers / name}'\ncat >/dev/null\nexit 1\n")
        script.chmod(0o755)
        return str(script)

    git = ["git", "-C", str(repo)]
    # HEAD becomes a commit with a (bogus) signature, so log.showSignature runs gpg.program.
    head = subprocess.run(
        [*git, "cat-file", "commit", "HEAD"], capture_output=True, text=True, check=True
    )
    header, _, message = head.stdout.partition("\n\n")
    signature = "gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----"
    signed = subprocess.run(
        [*git, "hash-object", "-t", "commit", "-w", "--stdin"],
        input=f"{header}\n{signature}\n\n{message}",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run([*git, "update-ref", "HEAD", signed], check=True)
    config = {
        "core.fsmonitor": program("fsmonitor"),
        "core.pager": program("pager"),  # a pager starts only on a terminal; kept for completeness
        "log.showSignature": "true",
        "gpg.program": program("gpg"),
        **{key: program(name) for key, name in (extra or {}).items()},
    }
    for key, value in config.items():
        subprocess.run([*git, "config", key, value], check=True)
    (repo / "f.txt").write_text("alpha\nBETA\ngamma\n")  # something for status and diff to show
    readme = repo / "README.md"  # unchanged, but its stat no longer matches the index
    os.utime(readme, (readme.stat().st_mtime - 100,) * 2)
    return repo, markers


@needs_git_config_env
async def test_restricted_git_does_not_run_programs_from_the_repo_config(tmp_path: Path) -> None:
    repo, markers = _hostile_repo(tmp_path)
    ctx = ToolContext(workspace=LocalWorkspace(repo), profile=READONLY, bash_timeout=30)
    index = (repo / ".git" / "index").stat().st_mtime_ns
    assert "f.txt" in (await BashTool()({"command": "git status --short"}, ctx)).text
    # only status: git diff and describe --dirty still refresh the index (git 2.39)
    assert (repo / ".git" / "index").stat().st_mtime_ns == index, "git status rewrote the index"
    for command in GIT_READS:
        result = await BashTool()({"command": command}, ctx)
        assert "read-only mode" not in result.text, result.text
        assert [p.name for p in markers.iterdir()] == [], (
            f"{command} ran a program from .git/config"
        )
    assert "+BETA" in (await BashTool()({"command": "git diff"}, ctx)).text


@needs_git_config_env
async def test_the_same_repo_runs_its_programs_in_an_unrestricted_shell(tmp_path: Path) -> None:
    """The control for the test above: the repository really is hostile."""
    repo, markers = _hostile_repo(tmp_path)
    ctx = ToolContext(workspace=LocalWorkspace(repo), profile=UNRESTRICTED, bash_timeout=30)
    index = (repo / ".git" / "index").stat().st_mtime_ns
    await BashTool()({"command": "git status"}, ctx)
    assert (repo / ".git" / "index").stat().st_mtime_ns != index
    for command in GIT_READS:
        await BashTool()({"command": command}, ctx)
    assert {"fsmonitor", "gpg"} <= {p.name for p in markers.iterdir()}


@needs_git_config_env
@pytest.mark.xfail(
    strict=True, reason="known gap: no config outranks diff.external (see tools/_bash.py)"
)
async def test_restricted_git_diff_does_not_run_diff_external(tmp_path: Path) -> None:
    """Pins the residual risk: an empty diff.external makes `git diff` fail rather than
    fall back, so the restricted shell cannot neutralise it through config."""
    repo, markers = _hostile_repo(tmp_path, {"diff.external": "extdiff"})
    ctx = ToolContext(workspace=LocalWorkspace(repo), profile=READONLY, bash_timeout=30)
    await BashTool()({"command": "git diff"}, ctx)
    assert [p.name for p in markers.iterdir()] == []


def test_restricted_env_keeps_the_users_env_and_config_list() -> None:
    env = restricted_env(
        {
            "FOO": "1",
            "GIT_PAGER": "less",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "user.name",
            "GIT_CONFIG_VALUE_0": "me",
        }
    )
    assert env["FOO"] == "1" and env["GIT_PAGER"] == "cat"
    assert (env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"]) == ("user.name", "me")
    pairs = [
        (env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"])
        for i in range(int(env["GIT_CONFIG_COUNT"]))
    ]
    assert pairs[0] == ("user.name", "me") and ("core.fsmonitor", "false") in pairs[1:]
