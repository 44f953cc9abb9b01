"""The user's credentials are out of the agent's reach under every profile but unrestricted.

A real CLI process, a home directory with an SSH key, cloud keys and a .netrc, and a model
that tries to read them every way it can — shell (cat, find, python, tar, /proc/self/root,
a symlink planted in the project) and the file tools (read, grep, glob, write, edit). No tool
result may hold the secret, and no credential file may change. Under `unrestricted` the
same probes do read it: the probes work, the profiles hide.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _fixtures import run_cli

from rho_agent.sandbox._credentials import credential_paths, hidden_by
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
MARKER = f"CREDENTIAL-{secrets.token_hex(8)}"


@pytest.fixture
def home() -> Iterator[Path]:
    """A home directory outside /tmp (the sandbox hides /tmp anyway) with credentials in it."""
    root = Path(f"/var/tmp/rho-home-{os.getpid()}-{secrets.token_hex(4)}")
    (root / ".ssh").mkdir(parents=True)
    (root / ".ssh" / "id_ed25519").write_text(f"-----BEGIN KEY-----\n{MARKER}\n")
    (root / ".ssh" / "authorized_keys").write_text("ssh-ed25519 AAAA mine\n")
    (root / ".aws").mkdir()
    (root / ".aws" / "credentials").write_text(f"aws_secret_access_key = {MARKER}\n")
    (root / ".netrc").write_text(f"machine example.com login me password {MARKER}\n")
    (root / "notes.txt").write_text("not a secret\n")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def attempts(home: Path) -> list[dict]:
    shell = [
        f"cat {home}/.ssh/id_ed25519",
        "cat ~/.aws/credentials; cat ~/.netrc",
        "find ~ -type f -exec cat {} + 2>/dev/null",
        f"python3 -c \"print(open('{home}/.netrc').read())\"",
        "tar cf - -C ~ .ssh 2>&1 | strings",
        f"cat /proc/self/root{home}/.ssh/id_ed25519",
        "cat planted-link",
        "cat ~/notes.txt",  # the rest of the home stays readable
    ]
    return [
        *(tool_call("bash", {"command": c}) for c in shell),
        tool_call("read", {"path": f"{home}/.ssh/id_ed25519"}),
        tool_call("read", {"path": "planted-link"}),
        tool_call("read", {"path": f"{home}/.netrc"}),
        tool_call("grep", {"pattern": "CREDENTIAL", "path": str(home)}),
        tool_call("glob", {"pattern": "**/*", "path": f"{home}/.aws"}),
        tool_call(
            "write",
            {"path": f"{home}/.ssh/authorized_keys", "content": "ssh-ed25519 AAAA attacker\n"},
        ),
        tool_call(
            "edit",
            {"path": f"{home}/.netrc", "old_string": "login me", "new_string": "login them"},
        ),
    ]


def run_attempts(profile: str, home: Path, project: Path) -> str:
    (project / "planted-link").symlink_to(home / ".ssh" / "id_ed25519")
    script = [reply(*attempts(home)), reply(text("done"))]
    with FakeAnthropic(script) as fake:
        env = {**fake.env(), "HOME": str(home)}
        run = run_cli(
            "main", "--profile", profile, "--yes", "--working-dir", str(project), "look", env=env
        )
        assert run.returncode == 0, run.stderr
        results = [r for req in fake.requests for r in req.tool_results]
    assert len(results) == len(attempts(home))
    return "\n".join(str(r["content"]) for r in results)


@needs_bwrap
@pytest.mark.parametrize("profile", ["readonly", "developer"])
def test_no_profile_but_unrestricted_reaches_the_credentials(
    profile: str, home: Path, project: Path
) -> None:
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    outputs = run_attempts(profile, home, project)
    assert MARKER not in outputs
    print(outputs)
    assert "not a secret" in outputs  # the probes ran; only the credentials are hidden
    assert "hidden from the agent" in outputs  # the file tools say why
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before


@needs_bwrap
def test_unrestricted_reads_them_so_the_probes_are_real(home: Path, project: Path) -> None:
    assert MARKER in run_attempts("unrestricted", home, project)


def test_the_hidden_places_are_the_existing_credential_locations(home: Path) -> None:
    hidden = credential_paths(str(home))
    assert set(hidden) == {str(home / ".ssh"), str(home / ".aws"), str(home / ".netrc")}
    assert hidden_by(str(home / ".ssh" / "id_ed25519"), hidden) == str(home / ".ssh")
    assert hidden_by(str(home / ".sshx"), hidden) is None  # a prefix is not a parent
    assert hidden_by(str(home / "notes.txt"), hidden) is None
