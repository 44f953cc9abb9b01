"""The interactive mode in a user's first minutes: what they type without reading /help first."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect

from rho_agent.testing import FakeAnthropic, assert_valid_history, reply, text, tool_call


def spawn(
    project: Path, env: dict[str, str], *, profile: str = "developer", yes: bool = True
) -> tuple[pexpect.spawn, str]:
    """The REPL in a pseudo-terminal, and the id of the session it started."""
    args = ["-m", "rho_agent", "main", "--profile", profile, "--working-dir", str(project)]
    child = pexpect.spawn(
        sys.executable,
        [*args, "--yes"] if yes else args,
        env={**os.environ, **env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "COLUMNS": "120"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 120),
    )
    child.expect(r"session (\S+)\r?\n")
    session_id = child.match.group(1)
    child.expect("Type /help")
    child.expect("›")
    return child, session_id


def leave(child: pexpect.spawn) -> None:
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def prompts(fake: FakeAnthropic) -> list[str]:
    """The last user text of each request the model got."""
    out = []
    for request in fake.requests:
        content = request.body["messages"][-1]["content"]
        blocks = [content] if isinstance(content, str) else content
        out.append(" ".join(b["text"] for b in blocks if isinstance(b, dict) and "text" in b))
    return out


def test_resume_without_id_takes_the_latest_other_session(project: Path) -> None:
    script = [reply(text("Noted: blue.")), reply(text("It was blue."))]
    with FakeAnthropic(script) as fake:
        # Nothing stored yet but this very session (and an empty one left before): say so.
        child, _ = spawn(project, fake.env())
        leave(child)
        child, first = spawn(project, fake.env())
        child.sendline("/resume")
        child.expect("No other stored session")
        child.sendline("remember: blue")
        child.expect("Noted: blue.")
        child.expect("turn\\(s\\)")
        leave(child)

        # A new REPL: /resume continues the conversation above, not the brand-new session.
        child, second = spawn(project, fake.env())
        assert second != first
        child.sendline("/resume")
        child.expect(r"Resumed session (\S+) \((\d+) messages\)")
        assert child.match.group(1) == first
        assert child.match.group(2) == "2"
        child.sendline("which colour?")
        child.expect("It was blue.")
        child.expect("turn\\(s\\)")
        messages = fake.requests[-1].body["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant", "user"]
        assert "remember: blue" in str(messages[0]["content"])

        # /resume of the session one is in says so rather than reopening it.
        child.sendline(f"/resume {first}")
        child.expect(f"Already in session {first}")
        leave(child)


def test_exit_and_quit_typed_alone_leave_without_a_model_call(project: Path) -> None:
    with FakeAnthropic([reply(text("unused"))]) as fake:
        child, _ = spawn(project, fake.env())
        child.sendline("/help")
        child.expect("exit, quit")
        child.sendline("  Exit ")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0

        child, _ = spawn(project, fake.env())
        child.sendline("QUIT")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
        assert fake.requests == []


def test_blank_input_is_never_sent(project: Path) -> None:
    with FakeAnthropic([reply(text("Only this one."))]) as fake:
        child, _ = spawn(project, fake.env())
        child.sendline("")
        child.expect("›")
        child.sendline("   \t ")
        child.expect("›")
        child.send("  \x1b\r \x1b\r\r")  # blank lines entered with Alt-Enter
        child.expect("›")
        child.sendline("hello")
        child.expect("Only this one.")
        child.expect("turn\\(s\\)")
        leave(child)
    assert prompts(fake) == ["hello"]


def test_a_path_typed_first_is_a_prompt_not_an_unknown_command(project: Path) -> None:
    with FakeAnthropic([reply(text("It is a readme."))]) as fake:
        child, _ = spawn(project, fake.env())
        child.sendline("/hlep")
        child.expect("Unknown command /hlep. Did you mean /help\\?")
        child.sendline("/etc/hosts: what is this file?")
        child.expect("It is a readme.")
        child.expect("turn\\(s\\)")
        leave(child)
    assert prompts(fake) == ["/etc/hosts: what is this file?"]


def test_approval_prompt_shows_the_reason_and_survives_ctrl_c_and_ctrl_d(project: Path) -> None:
    target = project / "build"
    script = [
        reply(tool_call("bash", {"command": f"rm -rf {target}"})),
        reply(text("Declined, fine.")),
        reply(tool_call("bash", {"command": f"rm -rf {target}"})),
        reply(text("Stopped asking.")),
        reply(tool_call("bash", {"command": f"rm -rf {target}"})),
        reply(text("Still here after Ctrl-C.")),
    ]
    with FakeAnthropic(script) as fake:
        child, _ = spawn(project, fake.env(), yes=False)

        # The reason on its own line, then a question that names the call; Enter means no.
        child.sendline("clean up")
        child.expect(r"! bash: rm -rf \S+ needs approval: rm -r/-f deletes files")
        child.expect(r"\? approve bash: rm -rf \S+/build \[y/N\]")
        child.sendline("")
        child.expect("bash denied: The user declined")
        child.expect("Declined, fine.")
        child.expect("turn\\(s\\)")

        # Ctrl-D at the question declines the call; it does not end the REPL.
        child.sendline("again")
        child.expect(r"\[y/N\]")
        child.sendcontrol("d")
        child.expect("bash denied: The user declined")
        child.expect("Stopped asking.")
        child.expect("turn\\(s\\)")

        # Ctrl-C at the question cancels the turn, as it does while a tool runs.
        child.sendline("once more")
        child.expect(r"\[y/N\]")
        child.sendcontrol("c")
        child.expect("Cancelled by the user")
        child.sendline("are you there?")
        child.expect("Still here after Ctrl-C.")
        leave(child)
    # No model call between the Ctrl-C and the next prompt; the cancelled call was answered.
    assert len(fake.requests) == 6
    messages = fake.requests[-1].body["messages"]
    assert_valid_history(messages)
    cancelled = messages[-1]["content"][0]
    assert cancelled["type"] == "tool_result" and cancelled["is_error"]


def test_concurrent_approvals_are_asked_one_after_the_other(project: Path, tmp_path: Path) -> None:
    (project / "a.txt").write_text("A\n")
    (project / "b.txt").write_text("B\n")
    profile = tmp_path / "ask-reads.toml"
    profile.write_text(
        'shell = "off"\nfile_write = "off"\napprovals = "listed"\napproval_tools = ["read"]\n'
    )
    script = [
        reply(tool_call("read", {"path": "a.txt"}), tool_call("read", {"path": "b.txt"})),
        reply(text("Read both.")),
    ]
    with FakeAnthropic(script) as fake:
        child, _ = spawn(project, fake.env(), profile=str(profile), yes=False)
        child.sendline("read them")
        child.expect(r"approve read: a\.txt \[y/N\]")
        child.sendline("y")
        child.expect(r"approve read: b\.txt \[y/N\]")
        child.sendline("y")
        child.expect("Read both.")
        child.expect("turn\\(s\\)")
        leave(child)
    results = fake.requests[-1].body["messages"][-1]["content"]
    assert [r.get("is_error", False) for r in results if r["type"] == "tool_result"] == [
        False,
        False,
    ]


def test_leaving_tells_how_to_come_back(project: Path) -> None:
    with FakeAnthropic([reply(text("Hi."))]) as fake:
        child, session_id = spawn(project, fake.env())
        child.sendline("/cost")
        child.expect("no turns yet")
        child.sendline("hi")
        child.expect("Hi.")
        child.expect("turn\\(s\\)")
        child.expect("›")
        child.sendcontrol("d")
        child.expect(f"rho-agent main --resume {session_id}")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


def test_cost_of_an_unknown_model_is_marked_estimated(project: Path) -> None:
    with FakeAnthropic([reply(text("Hi."))]) as fake:
        child, _ = spawn(project, {**fake.env(), "RHO_AGENT_MODEL": "my-local-model"})
        child.sendline("hi")
        child.expect("Hi.")
        child.expect("›")
        child.sendline("/cost")
        child.expect_exact("(estimated: unknown model 'my-local-model')")
        leave(child)
