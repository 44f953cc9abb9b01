"""`rho-agent sessions list` shows a session a live process has open as `running`, and one
left behind by a process that died as what its meta says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from rho_agent import Agent, AgentConfig, Session
from rho_agent.cli.sessions_cmd import app
from rho_agent.store import list_sessions
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text


def listed() -> str:
    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    return result.output


async def test_a_session_in_progress_lists_as_running(rho_home: Path, tmp_path: Path) -> None:
    seen: dict[str, str] = {}

    def step(request: object) -> object:
        seen["during"] = listed()  # while the model is being called: meta status is None
        return reply(text("Hi."))

    with FakeAnthropic([step]) as fake:
        agent = Agent(AgentConfig(base_url=fake.base_url, api_key="k", working_dir=str(tmp_path)))
        async with Session(agent) as session:
            await session.run("hello")
            between = listed()
    after = listed()
    assert f"{session.id}" in seen["during"] and " running " in seen["during"], seen["during"]
    assert " running " in between, "still open in this process"
    assert " completed " in after and " running " not in after, after
    assert not (Path(session.directory or "") / "live").exists()


def test_a_session_left_by_a_dead_process_is_not_running(rho_home: Path) -> None:
    directory = rho_home / "sessions" / "20250101-000000-abcdef"
    directory.mkdir(parents=True)
    (directory / "meta.json").write_text('{"id": "20250101-000000-abcdef", "status": null}')
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (directory / "live").write_text(f"{dead.pid}\n")
    (session,) = list_sessions()
    assert not session.is_live()
    assert " running " not in listed()
