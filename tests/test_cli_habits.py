"""The CLI habits of llm and Claude Code: `--version`, `rho-agent PROMPT`, `-p`, `--output`,
`--config`, `.env`, piped stdin, shell completion, Markdown on a terminal, missing extras."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from _fixtures import run_cli

import rho_agent
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call


def _user_text(fake: FakeAnthropic, index: int = 0) -> str:
    content = fake.requests[index].body["messages"][0]["content"]
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)


# -- 1. --version ------------------------------------------------------------------------------


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"rho-agent {rho_agent.__version__}\n" == "rho-agent 0.1.0\n"


def test_ctrl_c_while_the_cli_loads_says_cancelled_without_a_traceback() -> None:
    """A Ctrl-C in the first tenths of a second (the CLI's imports) ends like one later on.
    The interrupt is raised where the import of the CLI's first library begins."""
    code = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from rho_agent.cli import run\n"
        "sys.exit(run(['--version']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (130, "Cancelled.\n")


# -- 2. `rho-agent PROMPT` is `rho-agent main PROMPT` --------------------------------------------


def test_a_prompt_without_a_command_runs_main(project: Path) -> None:
    with FakeAnthropic([reply(text("one")), reply(text("two"))]) as fake:
        plain = run_cli("fix the failing test", "-C", str(project), env=fake.env())
        flags_first = run_cli("-m", "claude-haiku-5-5", "-C", str(project), "go", env=fake.env())
    assert plain.returncode == 0 and plain.stdout == "one\n", plain.stderr
    assert flags_first.returncode == 0 and flags_first.stdout == "two\n", flags_first.stderr
    assert _user_text(fake, 0) == "fix the failing test"
    assert fake.requests[1].body["model"] == "claude-haiku-5-5"


def test_a_mistyped_command_is_not_sent_to_the_model() -> None:
    with FakeAnthropic([]) as fake:
        proc = run_cli("sesions", env=fake.env())
        close = run_cli("sandboxs", "list", env=fake.env())
    assert proc.returncode == 2 and 'did you mean "sessions"' in proc.stderr
    assert 'rho-agent main "sesions"' in proc.stderr  # how to send it after all
    assert close.returncode == 2 and 'did you mean "sandboxes"' in close.stderr
    assert fake.requests == []
    # Nothing given still shows the help; commands still work.
    bare = run_cli()
    assert "Usage: rho-agent" in bare.stdout + bare.stderr and "Commands:" in bare.stderr
    assert run_cli("sessions", "list").returncode == 0
    assert "Usage: rho-agent sessions list" in run_cli("help", "sessions", "list").stdout


# -- 3. -p/--print and the short flags ---------------------------------------------------------


def test_print_shows_only_the_final_answer(project: Path) -> None:
    script = [
        reply(text("Let me look."), tool_call("bash", {"command": "ls"})),
        reply(text("The final answer.")),
    ]
    with FakeAnthropic(script) as fake:
        proc = run_cli(
            "-p", "-y", "--profile", "developer", "-C", str(project), "what?", env=fake.env()
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The final answer.\n"
    assert "bash: ls" in proc.stderr and "Let me look" not in proc.stderr  # progress on stderr


def test_print_needs_a_prompt() -> None:
    proc = run_cli("main", "-p", env={"ANTHROPIC_API_KEY": "k"}, input="")
    assert proc.returncode == 2 and "No prompt given" in proc.stderr


def test_short_flags_are_in_the_table_and_reach_the_notebook() -> None:
    from rho_agent.cli.main_cmd import CLI_OPTIONS
    from rho_agent.frontend import option_table
    from rho_agent.notebook.args import parse_cell_line

    shorts = {o.short: o.name for o in (*option_table(), *CLI_OPTIONS) if o.short}
    assert shorts == {
        "-m": "model",
        "-C": "working_dir",
        "-y": "yes",
        "-r": "resume",
        "-p": "print",
        "-o": "output",
    }
    assert parse_cell_line("-m claude-haiku-5-5 -y").agent == {
        "model": "claude-haiku-5-5",
        "yes": True,
    }


def test_a_short_flag_is_a_dash_and_a_letter() -> None:
    from rho_agent.options import Option

    with pytest.raises(ValueError, match="dash and a letter"):
        Option("model", "Model id.", short="--m")


# -- 4. --output FILE --------------------------------------------------------------------------


def test_output_writes_the_answer_to_a_file(project: Path, tmp_path: Path) -> None:
    answer = tmp_path / "answer.md"
    result = tmp_path / "result.json"
    with FakeAnthropic([reply(text("# Report\n\nAll good.")), reply(text("42"))]) as fake:
        proc = run_cli(
            "main", "--working-dir", str(project), "-o", str(answer), "report", env=fake.env()
        )
        as_json = run_cli(
            "main",
            "-C",
            str(project),
            "--output-format",
            "json",
            "--output",
            str(result),
            "answer",
            env=fake.env(),
        )
    assert proc.returncode == 0, proc.stderr
    assert answer.read_text() == "# Report\n\nAll good.\n" and proc.stdout == ""
    assert as_json.returncode == 0 and as_json.stdout == "", as_json.stderr
    assert json.loads(result.read_text())["text"] == "42"


def test_output_in_a_missing_directory_is_refused_before_any_request(
    project: Path, tmp_path: Path
) -> None:
    with FakeAnthropic([]) as fake:
        proc = run_cli("main", "-o", str(tmp_path / "nope" / "a.txt"), "hi", env=fake.env())
    assert proc.returncode == 2 and "nope" in proc.stderr and "does not exist" in proc.stderr
    assert fake.requests == [] and "Traceback" not in proc.stderr


# -- 5. --config FILE --------------------------------------------------------------------------


def test_config_file_replaces_the_user_config(project: Path, tmp_path: Path) -> None:
    config = tmp_path / "team.toml"
    config.write_text('model = "claude-haiku-5-5"\n')
    with FakeAnthropic([reply(text("ok"))]) as fake:
        proc = run_cli(
            "main", "--config", str(config), "--working-dir", str(project), "hi", env=fake.env()
        )
    assert proc.returncode == 0, proc.stderr
    assert fake.requests[0].body["model"] == "claude-haiku-5-5"


def test_a_missing_or_invalid_config_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("max_turn = 3\n")
    with FakeAnthropic([]) as fake:
        missing = run_cli("main", "--config", str(tmp_path / "none.toml"), "hi", env=fake.env())
        invalid = run_cli("main", "--config", str(bad), "hi", env=fake.env())
    assert missing.returncode == 2 and "none.toml" in missing.stderr
    assert "not found" in missing.stderr
    assert invalid.returncode == 2 and "bad.toml" in invalid.stderr
    assert 'did you mean "max_turns"' in invalid.stderr
    assert fake.requests == []


def test_config_env_var_for_the_python_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rho_agent.config import load_user_config
    from rho_agent.errors import ConfigError

    config = tmp_path / "c.toml"
    config.write_text("max_turns = 7\n")
    monkeypatch.setenv("RHO_AGENT_CONFIG", str(config))
    assert load_user_config().max_turns == 7
    monkeypatch.setenv("RHO_AGENT_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_user_config()


# -- 6. .env -----------------------------------------------------------------------------------


def test_parse_env_syntax() -> None:
    from rho_agent.envfile import parse_env

    text = (
        "# comment\n"
        "export A_TOKEN=abc123 # trailing\n"
        "B_TOKEN='single # kept'\n"
        'C_TOKEN="dq \\"x\\"\\n" # c\n'
        "D_TOKEN = spaced \n"
        'E_TOKEN="unclosed\n'
        "not a line\n"
        "F=url#fragment\n"
    )
    assert parse_env(text) == {
        "A_TOKEN": "abc123",
        "B_TOKEN": "single # kept",
        "C_TOKEN": 'dq "x"\n',
        "D_TOKEN": "spaced",
        "F": "url#fragment",
    }


def test_load_env_file_sets_only_missing_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rho_agent.envfile import load_env_file

    env_file = tmp_path / ".env"
    env_file.write_text("ANTHROPIC_API_KEY=from-file\nDAYTONA_API_KEY=dk\nPLAIN=x\n")
    before = env_file.read_text()
    monkeypatch.setenv("DAYTONA_API_KEY", "from-env")
    monkeypatch.delenv("PLAIN", raising=False)
    assert load_env_file(env_file) == ["ANTHROPIC_API_KEY"]
    assert os.environ["ANTHROPIC_API_KEY"] == "from-file"
    assert os.environ["DAYTONA_API_KEY"] == "from-env" and "PLAIN" not in os.environ
    assert env_file.read_text() == before
    assert load_env_file(tmp_path / "absent") == []


def test_dotenv_in_the_current_directory_supplies_keys_and_stays_secret(project: Path) -> None:
    with FakeAnthropic([reply(text("The key is test-key."))]) as fake:
        keys = fake.env()
        (project / ".env").write_text(
            "# credentials\n"
            f"export ANTHROPIC_API_KEY='{keys['ANTHROPIC_API_KEY']}'\n"
            f'ANTHROPIC_BASE_URL="{keys["ANTHROPIC_BASE_URL"]}"\n'
            "RHO_AGENT_MODEL=claude-haiku-5-5  # a setting: ignored\n"
        )
        proc = run_cli("hi", cwd=project)
    assert proc.returncode == 0, proc.stderr
    headers = fake.requests[0].headers
    assert headers.get("x-api-key", headers.get("authorization")) in (
        keys["ANTHROPIC_API_KEY"],
        f"Bearer {keys['ANTHROPIC_API_KEY']}",
    )
    assert fake.requests[0].body["model"] != "claude-haiku-5-5"
    assert "test-key" not in proc.stdout and "[REDACTED]" in proc.stdout
    # Without the file there is no key (the environment has none).
    (project / ".env").unlink()
    assert run_cli("hi", cwd=project).returncode == 3


# -- 7. piped stdin with the prompt ------------------------------------------------------------


def test_piped_input_comes_before_the_prompt(project: Path) -> None:
    with FakeAnthropic([reply(text("a")), reply(text("b"))]) as fake:
        both = run_cli(
            "main", "--working-dir", str(project), "summarise", input="data\n", env=fake.env()
        )
        alone = run_cli(
            "main", "--working-dir", str(project), input="  only piped \n", env=fake.env()
        )
    assert both.returncode == 0 and alone.returncode == 0, both.stderr + alone.stderr
    assert _user_text(fake, 0) == "data\n summarise"  # llm's join
    assert _user_text(fake, 1) == "only piped"


def test_an_empty_prompt_is_refused_before_any_request(project: Path) -> None:
    with FakeAnthropic([]) as fake:
        empty = run_cli("main", "--working-dir", str(project), "", env=fake.env())
        blank = run_cli("main", "--working-dir", str(project), "  \n", env=fake.env())
        nothing_piped = run_cli("main", "--working-dir", str(project), input=" \n", env=fake.env())
    for proc in (empty, blank, nothing_piped):
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "prompt is empty" in empty.stderr and "No prompt given" in nothing_piped.stderr
    assert fake.requests == []


# -- 8. shell completion -----------------------------------------------------------------------


def test_shell_completion() -> None:
    shown = run_cli("--show-completion", "bash")
    assert shown.returncode == 0 and "_RHO_AGENT_COMPLETE" in shown.stdout
    completed = run_cli(
        env={
            "_RHO_AGENT_COMPLETE": "complete_bash",
            "COMP_WORDS": "rho-agent ses",
            "COMP_CWORD": "1",
        }
    )
    assert completed.stdout.split() == ["sessions"]
    listed = run_cli("--help").stdout
    for name in ("--install-completion", "--version", "main", "sessions", "sandboxes"):
        assert name in listed


# -- 9. Markdown in a terminal, raw when piped -------------------------------------------------

MARKDOWN = "# Title\n\nSome **bold** text.\n\n```python\nx = 1\n\ny = 2\n```\n\n- one\n- two"


def test_piped_text_is_the_raw_answer(project: Path) -> None:
    with FakeAnthropic([reply(text(MARKDOWN))]) as fake:
        proc = run_cli("main", "--working-dir", str(project), "hi", env=fake.env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == MARKDOWN + "\n"


def test_markdown_is_rendered_in_a_terminal(project: Path) -> None:
    with FakeAnthropic([reply(text(MARKDOWN))]) as fake:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "rho_agent", "main", "--working-dir", str(project), "hi"],
            env={**os.environ, **fake.env(), "TERM": "xterm", "COLUMNS": "100"},
            encoding="utf-8",
            timeout=30,
            dimensions=(40, 100),
        )
        child.expect(pexpect.EOF)
        child.close()
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before or "")  # styles and cursor moves
    assert child.exitstatus == 0, shown
    assert "Title" in shown and "# Title" not in shown
    assert "bold" in shown and "**bold**" not in shown
    assert "x = 1" in shown and "```" not in shown
    assert "• one" in shown


def test_complete_blocks_keeps_code_fences_whole() -> None:
    from rho_agent.cli.render import complete_blocks

    assert complete_blocks("a\n\nb") == 3
    assert complete_blocks("```\nx\n\ny") == 0  # inside an open fence
    assert complete_blocks("```\nx\n\n```\n\nz") == len("```\nx\n\n```\n\n")


# -- 10. a missing extra -----------------------------------------------------------------------


def test_sandboxes_without_the_daytona_extra_say_so_in_one_sentence() -> None:
    code = (
        "import sys\nsys.modules['daytona'] = None  # as if the extra were not installed\n"
        "from rho_agent.cli.app import run\nsys.exit(run(['sandboxes', 'list']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "DAYTONA_API_KEY": "k"},
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert lines[0].endswith("pip install 'rho-agent[daytona]'")


def test_any_missing_extra_is_one_sentence_at_dispatch() -> None:
    """The safety net in `app.run`: an extra's module missing anywhere below a command."""
    code = (
        "import sys\nfrom rho_agent.cli import app\n"
        "@app.app.command('needs-widgets')\n"
        "def needs_widgets() -> None:\n    import ipywidgets_missing_for_test\n"
        "app.EXTRAS['ipywidgets_missing_for_test'] = 'notebook'\n"
        "sys.exit(app.run(['needs-widgets']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == (
        "Error: This command needs the ipywidgets_missing_for_test package, which is not "
        "installed: pip install 'rho-agent[notebook]'\n"
    )
