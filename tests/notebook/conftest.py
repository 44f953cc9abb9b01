"""Fixtures for the notebook tests: an IPython shell with the extension, a FakeAnthropic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _daytona import daytona, daytona_server  # noqa: F401  (fixtures: LocalDaytona, no sandbox left)
from _lab import page  # noqa: F401  (fixture: a page of Debian's chromium)

from rho_agent.notebook import magics
from rho_agent.notebook.registry import reset_registry
from rho_agent.testing.fake_anthropic import FakeAnthropic


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The kernel's current directory (the local backend's working dir): a fresh tmp dir."""
    root = tmp_path / "nb"
    root.mkdir()
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def ip(workdir: Path) -> Iterator[object]:
    """`InteractiveShell.instance()` with `%load_ext rho_agent`; every session ends afterwards."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    if "RhoMagics" not in shell.magics_manager.registry:
        shell.run_line_magic("load_ext", "rho_agent")
    yield shell
    reset_registry()
    for name in [n for n in shell.user_ns if not n.startswith("_")]:
        if name not in ("In", "Out", "exit", "quit", "get_ipython"):
            shell.user_ns.pop(name, None)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """A FakeAnthropic with an empty script (tests `add()` steps), its env exported."""
    with FakeAnthropic() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        yield server


class Answers:
    """Answers the person gives to `input()` prompts (confirmations, approvals), in order."""

    def __init__(self) -> None:
        self.queue: list[str] = []
        self.asked: list[str] = []

    def __call__(self, question: str) -> str:
        self.asked.append(question)
        if not self.queue:
            raise EOFError("no answer scripted")
        return self.queue.pop(0)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    person = Answers()
    monkeypatch.setattr(magics, "_ask", person)
    return person
