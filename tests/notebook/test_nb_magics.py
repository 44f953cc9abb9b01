"""`%%rho` and `%rho` through `InteractiveShell.run_cell_magic`, against FakeAnthropic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rho_agent.notebook.magics import CellError
from rho_agent.notebook.registry import get_registry
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call


def user_text(request) -> str:
    """The text of the last user message of a recorded request."""
    return request.last_user_text()


def test_load_ext_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'rho_agent')\n"
        "assert 'rho' in ip.magics_manager.magics['cell'] and 'rho' in ip.magics_manager.magics['line']\n"
        "print([m for m in ('anthropic', 'daytona', 'ipywidgets') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_braces_reach_the_model_unchanged_and_known_names_are_replaced(
    ip, fake: FakeAnthropic
) -> None:
    fake.add(reply(text("ok")))
    ip.user_ns["df_name"] = "sales_2024"
    prompt = 'Summarise {df_name}. Reply as {"a": 1}; an empty dict is {}; {unknown} stays; `{df_name}` too.'
    ip.run_cell_magic("rho", "", prompt)
    sent = user_text(fake.requests[0])
    assert (
        sent
        == 'Summarise sales_2024. Reply as {"a": 1}; an empty dict is {}; {unknown} stays; `{df_name}` too.'
    )


def test_second_cell_continues_the_conversation(ip, fake: FakeAnthropic) -> None:
    fake.add(reply(text("The answer is 42.")), reply(text("You asked about 42.")))
    ip.run_cell_magic("rho", "", "What is the answer?")
    ip.run_cell_magic("rho", "--out r", "What did I ask?")
    messages = fake.requests[1].messages
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"][0]["text"] == "What is the answer?"
    assert messages[1]["content"][0]["text"] == "The answer is 42."
    assert ip.user_ns["r"].text == "You asked about 42." and ip.user_ns["r"].ok


def test_new_and_named_sessions_start_fresh_conversations(ip, fake: FakeAnthropic) -> None:
    fake.add(reply(text("one")), reply(text("two")), reply(text("three")), reply(text("four")))
    ip.run_cell_magic("rho", "", "first")
    ip.run_cell_magic("rho", "--session other", "second")
    ip.run_cell_magic("rho", "--new", "third")
    ip.run_cell_magic("rho", "--session other", "fourth")
    counts = [len(r.messages) for r in fake.requests]
    assert counts == [1, 1, 1, 3]
    assert set(get_registry().sessions) == {"default", "other"}


def test_a_tool_call_runs_and_the_final_answer_is_markdown(
    ip, fake: FakeAnthropic, workdir: Path, capsys
) -> None:
    fake.add(
        reply(text("Writing."), tool_call("write", {"path": "hello.txt", "content": "hi\n"})),
        reply(text("Wrote **hello.txt**.")),
    )
    ip.run_cell_magic("rho", "--profile developer --out r", "write hello.txt")
    assert (workdir / "hello.txt").read_text() == "hi\n"
    out = capsys.readouterr().out
    assert "Wrote **hello.txt**." in out  # the answer (text/markdown, plain in a terminal)
    assert "✓ write: hello.txt" in out  # the tool log
    assert ip.user_ns["r"].turns == 2


def test_var_ships_a_dataframe_and_the_prompt_says_where(
    ip, fake: FakeAnthropic, workdir: Path
) -> None:
    pd = pytest.importorskip("pandas")
    fake.add(reply(text("Read it.")))
    ip.user_ns["sales"] = pd.DataFrame({"region": ["n", "s"], "amount": [3, 4]})
    ip.user_ns["meta"] = {"source": "crm", "rows": 2}
    ip.run_cell_magic("rho", "--var sales --var meta", "Describe the data.")
    sent = user_text(fake.requests[0])
    parquet = workdir / "rho-vars" / "sales.parquet"
    assert f"`{parquet}`" in sent and "2 rows x 2 columns (region, amount)" in sent
    assert pd.read_parquet(parquet).equals(ip.user_ns["sales"])
    assert json.loads((workdir / "rho-vars" / "meta.json").read_text()) == {
        "source": "crm",
        "rows": 2,
    }


def test_upload_and_download_options(
    ip, fake: FakeAnthropic, workdir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "in"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n")
    fake.add(
        reply(tool_call("bash", {"command": "wc -l inputs/a.csv > out/count.txt"})),
        reply(text("Counted.")),
    )
    (workdir / "out").mkdir()
    ip.run_cell_magic(
        "rho",
        f"--profile developer --upload {data}:inputs --download out/count.txt:{tmp_path}/count.txt",
        "count lines",
    )
    assert (workdir / "inputs" / "a.csv").read_text() == "x\n1\n"
    assert (tmp_path / "count.txt").read_text().strip() == "2 inputs/a.csv"


def test_failures_raise_so_run_all_stops(ip, fake: FakeAnthropic) -> None:
    with pytest.raises(CellError, match="unrecognized arguments: --bogus"):
        ip.run_cell_magic("rho", "--bogus", "x")
    with pytest.raises(CellError, match="the cell is empty"):
        ip.run_cell_magic("rho", "", "  \n")
    with pytest.raises(CellError, match="--var nope: no variable named 'nope'"):
        ip.run_cell_magic("rho", "--var nope", "x")
    with pytest.raises(CellError, match=r"/no/such/file does not exist"):
        ip.run_cell_magic("rho", "--upload /no/such/file:x", "x")
    assert fake.requests == []  # nothing reached the model
    fake.add(reply(tool_call("bash", {"command": "true"})))
    with pytest.raises(CellError, match="Run max_turns: Stopped: reached the limit of 1 turns"):
        ip.run_cell_magic("rho", "--profile developer --max-turns 1", "loop")
    # A failing cell shows one line, not a traceback.
    assert CellError("boom")._render_traceback_() == ["\x1b[0;31mError:\x1b[0m boom"]


def test_missing_api_key_is_a_clear_cell_error(ip) -> None:
    with pytest.raises(CellError, match="ANTHROPIC_API_KEY"):
        ip.run_cell_magic("rho", "", "hello")


def test_approvals_are_asked_on_stdin(ip, fake: FakeAnthropic, answers, workdir: Path) -> None:
    fake.add(
        reply(tool_call("bash", {"command": "rm -rf build"})),
        reply(tool_call("bash", {"command": "rm -rf dist"})),
        reply(text("done")),
    )
    (workdir / "build").mkdir()
    (workdir / "dist").mkdir()
    answers.queue.extend(["y", "n"])
    ip.run_cell_magic("rho", "--profile developer", "clean up")
    assert not (workdir / "build").exists() and (workdir / "dist").exists()
    assert "rm -rf build" in answers.asked[0] and "rm -rf dist" in answers.asked[1]
    assert "declined" in fake.requests[2].tool_results[0]["content"]


def test_line_magics(ip, fake: FakeAnthropic, workdir: Path, tmp_path: Path, capsys) -> None:
    ip.run_line_magic("rho", "help")
    assert "--background" in capsys.readouterr().out
    ip.run_line_magic("rho", "status")
    assert "No sessions" in capsys.readouterr().out
    ip.run_line_magic("rho", "config --profile developer --max-turns 5")
    assert "--profile developer --max-turns 5" in capsys.readouterr().out
    local = tmp_path / "notes.txt"
    local.write_text("note")
    ip.run_line_magic("rho", f"upload {local} docs/notes.txt")
    assert (workdir / "docs" / "notes.txt").read_text() == "note"
    ip.run_line_magic("rho", f"download docs/notes.txt {tmp_path}/back.txt")
    assert (tmp_path / "back.txt").read_text() == "note"
    fake.add(reply(text("hi")))
    ip.run_cell_magic("rho", "", "hello")
    ip.run_line_magic("rho", "status")
    status = capsys.readouterr().out
    assert (
        "default" in status
        and "developer" in status
        and "Cost so far in this kernel: $0.0" in status
    )
    assert get_registry().sessions["default"].session.agent.max_turns == 5
    ip.run_line_magic("rho", "reset")
    assert get_registry().sessions == {}
    with pytest.raises(CellError, match="invalid choice"):
        ip.run_line_magic("rho", "frobnicate")
    ip.run_line_magic("rho", "sandboxes")
    assert "none open" in capsys.readouterr().out


def test_changed_settings_continue_the_conversation(ip, fake: FakeAnthropic, capsys) -> None:
    fake.add(reply(text("one")), reply(text("two")))
    ip.run_cell_magic("rho", "", "first")
    ip.run_cell_magic("rho", "--profile developer", "second")
    assert "continues with new settings: --profile developer" in capsys.readouterr().out
    assert len(fake.requests[1].messages) == 3
    assert fake.requests[0].system != fake.requests[1].system  # the profile is in the system prompt


async def test_session_handle_works_with_await_in_a_cell(ip, fake: FakeAnthropic) -> None:
    import rho_agent.notebook as nb

    fake.add(reply(text("awaited")), reply(text("synced")))
    result = await nb.session().run("hello")  # the test's loop plays the kernel's loop
    assert result.text == "awaited"
    assert nb.session().run_sync("again").text == "synced"
    assert len(fake.requests[1].messages) == 3


def test_a_failed_runs_reason_is_shown_once(ip, fake: FakeAnthropic, capsys) -> None:
    fake.add(reply(tool_call("bash", {"command": "true"})))
    with pytest.raises(CellError, match="reached the limit of 1 turns") as failed:
        ip.run_cell_magic("rho", "--profile developer --max-turns 1", "loop")
    shown = capsys.readouterr().out
    assert "reached the limit of 1 turns" not in shown  # only in the cell's error line
    assert "reached the limit of 1 turns" in str(failed.value)


def test_a_daytona_cell_without_upload_says_it_sends_the_notebook_folder(
    ip, fake: FakeAnthropic, daytona, capsys
) -> None:
    """Issue 10: it used to upload the whole folder without a word in the cell."""
    workdir = Path.cwd()  # the notebook's folder
    (workdir / "sales.csv").write_text("region,amount\nnorth,1\n")
    fake.add(reply(tool_call("bash", {"command": "ls"})), reply(text("one file")))
    ip.run_cell_magic("rho", "--backend daytona --profile developer", "what is here?")
    out = capsys.readouterr().out
    assert f"sends {workdir}:/home/daytona/{workdir.name} to its sandbox" in out
    assert "--upload LOCAL:REMOTE" in out
    assert "sales.csv" in fake.requests[1].tool_results[0]["content"]
    fake.add(reply(text("again")))
    ip.run_cell_magic("rho", "--profile developer", "and now?")  # same sandbox: said once
    assert "sends" not in capsys.readouterr().out
    ip.run_line_magic("rho", "reset")
    fake.add(reply(text("chosen")))
    ip.run_cell_magic(
        "rho", "--backend daytona --upload sales.csv:data/sales.csv", "only what I chose"
    )
    assert "sends" not in capsys.readouterr().out
    ip.run_line_magic("rho", "reset")


def test_rho_upload_shows_what_it_sends_and_its_progress(
    ip, fake: FakeAnthropic, daytona, tmp_path: Path, monkeypatch
) -> None:
    """Issue 10: `%rho upload` said nothing until it ended. Now one output of the cell shows
    what is sent and skipped, and a progress bar updated in place."""
    import IPython.display

    updates: list[str] = []

    class Handle:
        def update(self, bundle, raw=False):
            updates.append(bundle["text/plain"])

    def display(*objs, raw=False, display_id=None, **kwargs):
        updates.extend(o["text/plain"] for o in objs if isinstance(o, dict))
        return Handle()

    monkeypatch.setattr(IPython.display, "display", display)
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(os.urandom(12 << 20))  # over the 8 MB that gets a bar
    (data / ".env").write_text("TOKEN=x\n")
    ip.run_line_magic("rho", "config --backend daytona")
    ip.run_line_magic("rho", f"upload {data} data")
    assert updates, "nothing was shown while uploading"
    final = updates[-1]
    assert "skipped 1 secret file(s): .env" in final
    assert "100% of" in final and final.count("Uploading [") == 1  # one bar, moved in place
    ip.run_line_magic("rho", "reset")
