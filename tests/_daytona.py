"""Fixtures for the Daytona backend tests: one LocalDaytona per test module, the environment
pointing the real SDK at it, and a check after every test that no sandbox was left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rho_agent import Agent, AgentConfig
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic

needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="LocalDaytona needs bubblewrap"
)


@pytest.fixture(scope="module")
def daytona_server() -> Iterator[LocalDaytona]:
    pytest.importorskip("daytona")
    if shutil.which("bwrap") is None:
        pytest.skip("LocalDaytona needs bubblewrap")
    with LocalDaytona() as server:
        yield server


@pytest.fixture
def daytona(
    daytona_server: LocalDaytona,
    clean_environ: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[LocalDaytona]:
    """The server, with DAYTONA_API_URL/KEY set, run from a directory without a .env, and
    failing the test if it leaves a sandbox behind."""
    for key, value in daytona_server.env().items():
        monkeypatch.setenv(key, value)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    daytona_server.clear_faults()
    daytona_server.create_delay = 0.0
    yield daytona_server
    daytona_server.clear_faults()
    daytona_server.create_delay = 0.0
    leftovers = wait_for_no_sandboxes(daytona_server, timeout=5)
    for box in leftovers:  # clean up so the next test starts empty, then fail
        delete_sandbox(daytona_server, box.id)
    assert not leftovers, f"sandboxes left behind: {[(b.id, b.state) for b in leftovers]}"


def wait_for_no_sandboxes(server: LocalDaytona, timeout: float) -> list[Any]:
    """The live sandboxes once none are left or `timeout` passed (a CLI subprocess may
    still be deleting its sandbox when it has just exited)."""
    deadline = time.monotonic() + timeout
    while (boxes := server.sandboxes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return boxes


def delete_sandbox(server: LocalDaytona, sandbox_id: str) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"{server.api_url}/sandbox/{sandbox_id}",
        method="DELETE",
        headers={"Authorization": f"Bearer {server.api_key}"},
    )
    urllib.request.urlopen(request, timeout=10).read()


def agent_for(fake: FakeAnthropic, backend: Any = "daytona", **config: Any) -> Agent:
    config.setdefault("profile", "developer")
    config.setdefault("auto_approve", True)
    return Agent(AgentConfig(base_url=fake.base_url, api_key="test-key", backend=backend, **config))


def tool_output(fake: FakeAnthropic, request: int, index: int = 0) -> str:
    """The text of tool result `index` the agent sent in model request number `request`."""
    block = fake.requests[request].body["messages"][-1]["content"][index]
    assert block["type"] == "tool_result", block
    content = block["content"]
    return content if isinstance(content, str) else "".join(c.get("text", "") for c in content)


def toolbox_calls(server: LocalDaytona, since: int) -> list[str]:
    """`METHOD /path` of every request after index `since` (socket.io probes left out)."""
    return [f"{r.method} {r.path}" for r in server.requests[since:] if "socket.io" not in r.path]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    """`rho-agent ARGS` in a subprocess with this test's environment plus `env`."""
    return subprocess.run(
        [sys.executable, "-m", "rho_agent", *args],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        input="",
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_project(root: Path, name: str = "myapp") -> Path:
    """A small project with the things that must not be uploaded by default."""
    project = root / name
    (project / "src").mkdir(parents=True)
    (project / "README.md").write_text("# myapp\n")
    (project / "src" / "app.py").write_text("print('hello from myapp')\n")
    (project / ".env").write_text("SECRET_TOKEN=do-not-upload\n")
    (project / ".env.example").write_text("SECRET_TOKEN=\n")
    (project / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (project / "certs").mkdir()
    (project / "certs" / "server.key").write_text("private\n")
    (project / ".gitignore").write_text("build/\n*.log\n!keep.log\n")
    (project / "build").mkdir()
    (project / "build" / "artifact.bin").write_bytes(b"\0" * 10)
    (project / "debug.log").write_text("noise\n")
    (project / "keep.log").write_text("kept on purpose\n")
    (project / "node_modules" / "x").mkdir(parents=True)
    (project / "node_modules" / "x" / "index.js").write_text("//\n")
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return project
