"""The interactive mode in a real pseudo-terminal, as a person types into it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

from rho_agent.testing import FakeAnthropic, assert_valid_history, reply, text, tool_call


def spawn(project: Path, env: dict[str, str]) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "rho_agent",
            "main",
            "--profile",
            "developer",
            "--yes",
            "--working-dir",
            str(project),
        ],
        env={**os.environ, **env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "COLUMNS": "120"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )
    child.expect("Type /help")
    return child


def test_repl_commands_turns_and_ctrl_c(project: Path) -> None:
    pid_file = project / "pid"
    script = [
        reply(text("Hello from the agent.")),
        reply(tool_call("bash", {"command": f"echo $$ > {pid_file}; sleep 60"})),
        reply(text("After the cancel, still here.")),
    ]
    with FakeAnthropic(script) as fake:
        child = spawn(project, fake.env())
        child.sendline("/help")
        child.expect("/resume")
        child.sendline("hi there")
        child.expect("Hello from the agent.")
        child.expect("turn\\(s\\)")
        child.sendline("/cost")
        child.expect("session .*: 1 turn\\(s\\)")

        # Ctrl-C during a long command cancels that turn, not the REPL.
        child.sendline("wait a while")
        child.expect("bash: echo")
        for _ in range(100):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            child.expect([pexpect.TIMEOUT], timeout=0.1)
        child.sendcontrol("c")
        child.expect("Cancelled by the user")
        child.sendline("are you there?")
        child.expect("After the cancel, still here.")

        # The history the model got after the cancel is valid: the cancelled call was answered.
        messages = fake.requests[-1].body["messages"]
        assert_valid_history(messages)
        cancelled, typed = messages[-1]["content"][:2]
        assert cancelled["type"] == "tool_result" and cancelled["is_error"]
        assert typed["text"] == "are you there?"

        child.sendline("/clear")
        child.expect("Conversation cleared")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 0
