"""`rho-agent` as a user runs it: a real subprocess against FakeAnthropic."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from _fixtures import pids_running, run_cli

from rho_agent.events import parse_event
from rho_agent.testing.fake_anthropic import FakeAnthropic, fault, reply, text, tool_call


def test_one_shot_run_writes_runs_edits_and_reports_cost(project: Path, rho_home: Path) -> None:
    script = [
        reply(text("Writing."), tool_call("write", {"path": "notes.txt", "content": "alpha\n"})),
        reply(tool_call("bash", {"command": "wc -l notes.txt"})),
        reply(
            tool_call("edit", {"path": "notes.txt", "old_string": "alpha", "new_string": "beta"})
        ),
        reply(text("Finished the notes.")),
    ]
    with FakeAnthropic(script) as fake:
        proc = run_cli(
            "main",
            "--profile",
            "developer",
            "--yes",
            "--working-dir",
            str(project),
            "write notes",
            env=fake.env(),
        )
        fake.assert_done()
    assert proc.returncode == 0, proc.stderr
    assert (project / "notes.txt").read_text() == "beta\n"
    assert "Finished the notes." in proc.stdout
    assert "bash: wc -l notes.txt" in proc.stderr  # a line per tool call

    # The CLI summary, the trace and the recorded requests agree.
    summary = re.search(
        r"tokens in ([\d,]+) / out ([\d,]+) / cache write ([\d,]+) / cache read ([\d,]+) · \$([\d.]+)",
        proc.stderr,
    )
    assert summary, proc.stderr
    numbers = [int(g.replace(",", "")) for g in summary.groups()[:4]]
    session_dir = next((rho_home / "sessions").iterdir())
    events = [parse_event(line) for line in (session_dir / "trace.jsonl").read_text().splitlines()]
    finished = [e for e in events if e.type == "run_finished"][-1]
    u = finished.usage
    assert numbers == [u.input_tokens, u.output_tokens, u.cache_write_tokens, u.cache_read_tokens]
    assert float(summary.group(5)) == round(finished.cost_usd, 4)


def test_json_output_is_the_run_result(project: Path) -> None:
    with FakeAnthropic([reply(text("42"))]) as fake:
        proc = run_cli(
            "main",
            "--output-format",
            "json",
            "--working-dir",
            str(project),
            "answer",
            env=fake.env(),
        )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["text"] == "42" and result["status"] == "completed" and result["turns"] == 1


def test_jsonl_output_is_the_event_stream(project: Path) -> None:
    with FakeAnthropic([reply(text("hi"))]) as fake:
        proc = run_cli(
            "main", "--output-format", "jsonl", "--working-dir", str(project), "hi", env=fake.env()
        )
    kinds = [parse_event(line).type for line in proc.stdout.splitlines()]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished" and "text" in kinds


def test_permanent_401_exits_non_zero_with_a_clear_message(project: Path) -> None:
    with FakeAnthropic([fault.unauthorized(times=None)]) as fake:
        proc = run_cli("main", "--working-dir", str(project), "hi", env=fake.env())
    assert proc.returncode == 1
    assert "401" in proc.stderr and "ANTHROPIC_API_KEY" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_api_key(project: Path) -> None:
    proc = run_cli("main", "--working-dir", str(project), "hi")
    assert proc.returncode == 3
    assert "ANTHROPIC_API_KEY" in proc.stderr and "ANTHROPIC_BASE_URL" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_profile(project: Path) -> None:
    proc = run_cli("main", "--profile", "develper", "hi", env={"ANTHROPIC_API_KEY": "k"})
    assert proc.returncode == 2
    assert "Unknown profile 'develper'" in proc.stderr and 'did you mean "developer"' in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_config_file_names_file_and_key(rho_home: Path) -> None:
    (rho_home / "config.toml").write_text('model = "claude-sonnet-5-5"\nmax_turn = 3\n')
    proc = run_cli("main", "hi", env={"ANTHROPIC_API_KEY": "k"})
    assert proc.returncode == 2
    assert (
        "config.toml" in proc.stderr
        and "max_turn" in proc.stderr
        and 'did you mean "max_turns"' in proc.stderr
    )
    assert "Traceback" not in proc.stderr

    (rho_home / "config.toml").write_text("model = [unclosed\n")
    proc = run_cli("main", "hi", env={"ANTHROPIC_API_KEY": "k"})
    assert (
        proc.returncode == 2 and "not valid TOML" in proc.stderr and "Traceback" not in proc.stderr
    )


def test_bad_flag_values(project: Path) -> None:
    proc = run_cli("main", "--output-format", "yaml", "hi", env={"ANTHROPIC_API_KEY": "k"})
    assert (
        proc.returncode == 2 and "--output-format" in proc.stderr and "Traceback" not in proc.stderr
    )
    proc = run_cli("main", "--var", "novalue", "hi", env={"ANTHROPIC_API_KEY": "k"})
    assert proc.returncode == 2 and "--var" in proc.stderr and "key=value" in proc.stderr
    proc = run_cli("main", "--backend", "dokcer", "hi", env={"ANTHROPIC_API_KEY": "k"})
    assert proc.returncode == 2 and "Unknown backend" in proc.stderr


def test_env_vars_choose_profile_and_model(project: Path) -> None:
    with FakeAnthropic([reply(text("ok"))]) as fake:
        env = {**fake.env(), "RHO_AGENT_PROFILE": "readonly", "RHO_AGENT_MODEL": "claude-haiku-5-5"}
        proc = run_cli("main", "--working-dir", str(project), "hi", env=env)
    assert proc.returncode == 0, proc.stderr
    body = fake.requests[0].body
    assert body["model"] == "claude-haiku-5-5"
    assert "readonly" in body["system"][0]["text"]
    assert {t["name"] for t in body["tools"]}.isdisjoint({"write", "edit"})


def test_system_prompt_file_with_vars(project: Path, tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.md"
    prompt.write_text('You help team {team} in {working_dir}. JSON stays: {"a": 1}.')
    with FakeAnthropic([reply(text("ok"))]) as fake:
        proc = run_cli(
            "main",
            "--system-prompt",
            str(prompt),
            "--var",
            "team=payments",
            "--working-dir",
            str(project),
            "hi",
            env=fake.env(),
        )
    assert proc.returncode == 0, proc.stderr
    system = fake.requests[0].body["system"][0]["text"]
    assert system == f'You help team payments in {project}. JSON stays: {{"a": 1}}.'


def test_sigint_cancels_a_one_shot_run(project: Path) -> None:
    pid_file = project / "pid"
    token = f"60.{time.monotonic_ns()}"  # `sleep 60.<n>`: findable on the host from its arguments
    script = [
        reply(tool_call("bash", {"command": f"echo $$ > {pid_file}; sleep {token}"})),
        reply(text("unused")),
    ]
    with FakeAnthropic(script) as fake:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rho_agent",
                "main",
                "--profile",
                "developer",
                "--yes",
                "--working-dir",
                str(project),
                "wait",
            ],
            env={**os.environ, **fake.env()},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while not pids_running(token) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pids_running(token)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert pids_running(token) == [], "the bash command must be killed on cancel"
    assert err.count("Cancelled") == 1, err  # one line says it, not two
    assert "■ bash stopped" in err  # the killed command's line ends too


def test_sessions_list_show_export(project: Path) -> None:
    with FakeAnthropic([reply(text("stored answer"))]) as fake:
        run_cli("main", "--working-dir", str(project), "remember this", env=fake.env())
    listed = run_cli("sessions", "list")
    assert listed.returncode == 0 and "remember this" in listed.stdout
    session_id = listed.stdout.split()[0]
    shown = run_cli("sessions", "show", session_id[:12])
    assert "stored answer" in shown.stdout
    exported = run_cli("sessions", "export", "latest", "--format", "json")
    assert json.loads(exported.stdout)["messages"][1]["content"][0]["text"] == "stored answer"


def test_resume_latest_continues_the_conversation(project: Path) -> None:
    with FakeAnthropic([reply(text("first"))]) as fake:
        run_cli("main", "--working-dir", str(project), "one", env=fake.env())
    with FakeAnthropic([reply(text("second"))]) as fake:
        proc = run_cli(
            "main", "--resume", "latest", "--working-dir", str(project), "two", env=fake.env()
        )
    assert proc.returncode == 0, proc.stderr
    assert [m["role"] for m in fake.requests[0].body["messages"]] == ["user", "assistant", "user"]


def test_custom_profile_file_decides_the_tools(
    project: Path, tmp_path: Path, rho_home: Path
) -> None:
    profile = tmp_path / "careful.toml"
    profile.write_text('shell = "off"\nfile_write = "create-only"\n')
    with FakeAnthropic([reply(text("ok"))]) as fake:
        proc = run_cli(
            "main", "--profile", str(profile), "--working-dir", str(project), "hi", env=fake.env()
        )
    assert proc.returncode == 0, proc.stderr
    tools = {t["name"] for t in fake.requests[0].body["tools"]}
    assert "bash" not in tools and "write" in tools and "edit" not in tools
    assert "Profile 'careful'" in fake.requests[0].body["system"][0]["text"]

    # Named profiles live in $RHO_AGENT_HOME/profiles; a typo in one is reported with the file.
    (rho_home / "profiles").mkdir()
    (rho_home / "profiles" / "team.toml").write_text('shel = "off"\n')
    proc = run_cli("main", "--profile", "team", "hi", env={"ANTHROPIC_API_KEY": "k"})
    assert (
        proc.returncode == 2
        and "team.toml" in proc.stderr
        and 'did you mean "shell"' in proc.stderr
    )


def test_a_failed_start_leaves_no_session_behind(project: Path, rho_home: Path) -> None:
    proc = run_cli("main", "--working-dir", str(project), "hi")  # no API key
    assert proc.returncode == 3
    assert not (rho_home / "sessions").exists() or not any((rho_home / "sessions").iterdir())
