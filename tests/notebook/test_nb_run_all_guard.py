"""The Run-All guard: a run a cell already made is shown again, not paid for again.

Cells go through `InteractiveShell.run_cell` with a cell id, as a Jupyter frontend sends
them, so IPython's cell events fire. Every paid entry point is covered: `%%rho` (blocking
and `--background`), `session().run()`, `.run_sync()`, `Panel.run()` and the plain API's
`Session.run`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _fixtures import markdown_text

from rho_agent.notebook.registry import get_registry, reset_registry
from rho_agent.notebook.render import RUN_MIME
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call


def run(ip, source: str, cell_id: str = "cell-1") -> object:
    result = ip.run_cell(source, cell_id=cell_id)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    if result.error_before_exec is not None:
        raise result.error_before_exec
    return result.result


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Every bundle displayed (`display(bundle, raw=True)`), in order."""
    import IPython.display

    bundles: list[dict[str, str]] = []
    original = IPython.display.display

    def display(*objs, raw=False, **kwargs):
        if raw:
            bundles.extend(o for o in objs if isinstance(o, dict))
        return original(*objs, raw=raw, **kwargs)

    monkeypatch.setattr(IPython.display, "display", display)
    return bundles


def markdown(bundles: list[dict[str, str]]) -> str:
    return "\n".join(markdown_text(b["text/markdown"]) for b in bundles if "text/markdown" in b)


def test_a_cell_run_again_shows_its_answer_and_restores_out(
    ip, fake: FakeAnthropic, answers, shown, capsys
) -> None:
    fake.add(
        reply(tool_call("bash", {"command": "echo 3 rows"})),
        reply(text("There are **3** rows, from $120 to $144.")),
    )
    run(ip, "%%rho --profile developer --out r\ncount the rows")
    first = ip.user_ns.pop("r")
    shown.clear()
    run(ip, "%%rho --profile developer --out r\ncount the rows")  # Run All again
    assert len(fake.requests) == 2  # the first run's two model calls, none after
    assert answers.asked == []  # nothing waits on stdin
    again = ip.user_ns["r"]
    assert (again.text, again.status, again.turns, again.cost_usd, again.session_id) == (
        first.text,
        first.status,
        first.turns,
        first.cost_usd,
        first.session_id,
    )
    text_shown = markdown(shown)
    assert "Not run again: this cell already ran" in text_shown
    assert "--allow-rerun" in text_shown and "%rho config --allow-rerun" in text_shown
    assert "There are **3** rows, from \\$120 to \\$144." in text_shown
    log = next(b for b in shown if RUN_MIME in b)
    assert "tool call(s)" in log["text/markdown"]
    assert "echo 3 rows" in log["text/plain"]  # the tool log, from the trace


def test_the_guard_outlives_the_kernel_and_keys_on_the_cell(ip, fake: FakeAnthropic, shown) -> None:
    fake.add(reply(text("one")), reply(text("two")), reply(text("three")))
    run(ip, "%%rho\ncount", "cell-1")
    reset_registry()  # a new kernel: only the ledger on disk remembers
    run(ip, "%%rho --out r\ncount", "cell-1")  # the line differs: another cell
    run(ip, "%%rho\ncount", "cell-1")
    assert len(fake.requests) == 2 and "one" in markdown(shown)
    run(ip, "%%rho\ncount", "cell-2")  # another cell with the same text runs
    assert len(fake.requests) == 3
    fake.add(reply(text("four")), reply(text("five")))
    run(ip, "%%rho --allow-rerun\ncount", "cell-2")
    run(ip, "%rho config --allow-rerun", "cell-9")
    run(ip, "%%rho\ncount", "cell-2")
    assert len(fake.requests) == 5


def test_a_failed_or_cancelled_run_is_not_remembered(ip, fake: FakeAnthropic) -> None:
    from rho_agent.notebook.magics import CellError

    fake.add(reply(tool_call("bash", {"command": "true"})))
    with pytest.raises(CellError, match="max_turns"):
        run(ip, "%%rho --profile developer --max-turns 1\nloop")
    fake.add(reply(text("done")))
    run(ip, "%%rho --profile developer --max-turns 1\nloop")
    assert len(fake.requests) == 2


def test_every_paid_entry_point_in_a_cell_is_guarded(
    ip, fake: FakeAnthropic, shown, capsys
) -> None:
    fake.add(*(reply(text(f"answer {i}")) for i in range(5)))
    cells = {
        "awaited": 'a = await rho_agent.notebook.session().run("first question")',
        "sync": 'b = rho_agent.notebook.session().run_sync("second question")',
        "plain": (
            "from rho_agent import Agent, AgentConfig, Session\n"
            "async with Session(Agent(AgentConfig())) as s:\n"
            '    c = await s.run("third question")\n'
            '    d = await s.run("third question")'  # the same prompt twice: two runs
        ),
        "panel": (
            'panel = rho_agent.notebook.Panel(session="side")\n'
            'e = panel.run("fifth question").result()'
        ),
    }
    run(ip, "import rho_agent.notebook", "imports")
    for cell_id, source in cells.items():
        run(ip, source, cell_id)
    assert len(fake.requests) == 5
    first = {name: ip.user_ns[name].text for name in "abcde"}
    assert sorted(first.values()) == [f"answer {i}" for i in range(5)]
    shown.clear()
    capsys.readouterr()
    reset_registry()  # reopened with a fresh kernel, then Run All
    run(ip, "import rho_agent.notebook", "imports")
    for cell_id, source in cells.items():
        run(ip, source, cell_id)
    assert len(fake.requests) == 5  # no model call
    assert {name: ip.user_ns[name].text for name in "abcde"} == first
    assert markdown(shown).count("Not run again") == 5
    for answer in first.values():
        assert answer in markdown(shown)


def test_a_click_is_not_guarded(ip, fake: FakeAnthropic) -> None:
    """The Panel's Run button is pressed between cells: never Run All, so it always runs."""
    fake.add(reply(text("one")), reply(text("two")))
    run(ip, "import rho_agent.notebook\npanel = rho_agent.notebook.Panel()")
    panel = ip.user_ns["panel"]
    panel.run("same prompt").result()
    panel.run("same prompt").result()
    assert len(fake.requests) == 2


def test_a_background_cell_run_again_binds_a_finished_handle(
    ip, fake: FakeAnthropic, shown
) -> None:
    fake.add(reply(text("background answer")))
    run(ip, "%%rho --background --out h\nwork in the background")
    assert ip.user_ns["h"].result(timeout=30).text == "background answer"
    run(ip, "%%rho --background --out h\nwork in the background")
    handle = ip.user_ns["h"]
    assert handle.done() and handle.text == "background answer"
    assert len(fake.requests) == 1
    assert "background answer" in markdown(shown)


def test_a_run_whose_trace_is_gone_runs_again_and_says_why(
    ip, fake: FakeAnthropic, rho_home: Path, capsys
) -> None:
    fake.add(reply(text("one")), reply(text("two")))
    run(ip, "%%rho\ncount")
    reset_registry()
    shutil.rmtree(rho_home / "sessions")
    run(ip, "%%rho\ncount")
    assert len(fake.requests) == 2
    assert "no longer in its session's trace, so it runs again" in capsys.readouterr().out


def test_a_ledger_of_an_earlier_version_is_read(ip, fake: FakeAnthropic, rho_home: Path) -> None:
    """Entries that were only a time (no trace to replay from) do not break the guard."""
    ledger = rho_home / "notebook" / "cells-run.json"
    ledger.parent.mkdir(parents=True)
    ledger.write_text(json.dumps({"0" * 32: 1700000000.0}))
    fake.add(reply(text("one")))
    run(ip, "%%rho\ncount")
    assert len(fake.requests) == 1
    assert get_registry().guard.ledger.get("0" * 32).at == 1700000000.0


def test_under_nbclient_a_copy_in_another_folder_is_another_notebook(
    fake: FakeAnthropic, tmp_path: Path
) -> None:
    """nbclient/papermill start the kernel without a server, so without a notebook path: the
    key holds the kernel's folder (the notebook's). Run twice in place: one model call; a
    copy elsewhere runs. Nothing waits on stdin (nbclient has none)."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")

    fake.add(reply(text("first answer")), reply(text("copy's answer")))
    v4 = nbformat.v4
    cells = [v4.new_code_cell("%load_ext rho_agent"), v4.new_code_cell("%%rho --out r\ncount")]
    cells.append(v4.new_code_cell("print('after:', r.text)"))
    made = v4.new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )

    def execute(folder: Path) -> str:
        folder.mkdir(exist_ok=True)
        nb = nbformat.reads(nbformat.writes(made), as_version=4)  # same cell ids every time
        nbclient.NotebookClient(
            nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
        return json.dumps([c.get("outputs", []) for c in nb.cells])

    assert "after: first answer" in execute(tmp_path / "here")
    again = execute(tmp_path / "here")
    assert "Not run again" in again and "after: first answer" in again
    assert len(fake.requests) == 1
    assert "after: copy's answer" in execute(tmp_path / "elsewhere")
    assert len(fake.requests) == 2
