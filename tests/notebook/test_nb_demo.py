"""Demo mode (`%rho demo`) and `%rho login`, in an IPython shell with the extension."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rho_agent.notebook.magics import CellError
from rho_agent.notebook.registry import get_registry
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

KEY = "sk-ant-api03-typed-at-the-prompt-0123456789abcdef"


def test_demo_plays_every_entry_point_with_the_scripted_model(ip, capsys) -> None:
    ip.run_line_magic("rho", "demo")
    line = capsys.readouterr().out
    assert "rho-agent DEMO" in line and "no API calls" in line and "%rho login" in line
    demo_dir = get_registry().demo_dir
    assert demo_dir and Path(demo_dir).is_dir()
    ip.run_cell_magic("rho", "--out r", "List the files in the working directory.")
    assert ip.user_ns["r"].text.startswith("Files:") and ip.user_ns["r"].cost_usd == 0
    # The plain API in a cell plays it too: no key, no request anywhere.
    ip.run_cell(
        "from rho_agent import Agent, AgentConfig, Session\n"
        "async with Session(Agent(AgentConfig())) as s:\n"
        '    plain = await s.run("what is the meaning of life?")\n'
    )
    assert "only knows the example notebooks' own prompts" in ip.user_ns["plain"].text
    ip.run_line_magic("rho", "demo --off")
    assert "Demo ended." in capsys.readouterr().out
    with pytest.raises(CellError, match="ANTHROPIC_API_KEY"):  # no demo: no key
        ip.run_cell_magic("rho", "", "List the files in the working directory.")


def test_demo_is_off_when_there_is_a_key(ip, fake: FakeAnthropic, capsys) -> None:
    ip.run_line_magic("rho", "demo")
    assert "runs for real" in capsys.readouterr().out
    assert get_registry().demo_dir is None


def test_login_keeps_the_key_in_memory_only(
    ip, monkeypatch: pytest.MonkeyPatch, rho_home: Path, capsys
) -> None:
    import getpass

    with FakeAnthropic() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)  # no key in the environment
        ip.run_line_magic("rho", "demo")
        monkeypatch.setattr(getpass, "getpass", lambda prompt="": KEY)
        ip.run_line_magic("rho", "login")
        said = capsys.readouterr().out
        assert "key set for this kernel, in memory only" in said and "demo ended" in said
        fake.add(
            reply(tool_call("bash", {"command": "env; echo the key is $ANTHROPIC_API_KEY"})),
            reply(text("done")),
        )
        ip.run_cell_magic("rho", "--profile developer --out r", "show the environment")
        shown = capsys.readouterr().out
    assert ip.user_ns["r"].ok
    sent = fake.requests[0].headers
    assert KEY in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))
    tool_output = fake.requests[1].tool_results[0]["content"]
    assert KEY not in tool_output  # tool subprocesses did not
    assert "ANTHROPIC_API_KEY" not in os.environ and KEY not in shown
    for path in rho_home.rglob("*"):  # traces, meta, ledger: nowhere on disk
        if path.is_file():
            assert KEY not in path.read_text(errors="replace"), path


def test_login_without_a_person_to_type_says_what_to_do(ip, monkeypatch) -> None:
    import getpass

    def no_stdin(prompt: str = "") -> str:
        raise RuntimeError("stdin not supported")  # what ipykernel raises under nbclient

    monkeypatch.setattr(getpass, "getpass", no_stdin)
    with pytest.raises(CellError, match="set ANTHROPIC_API_KEY in the kernel's environment"):
        ip.run_line_magic("rho", "login")
