"""Acceptance: answers of a `--background` cell and of a Panel run are saved as plain outputs.

A notebook built here is executed by nbclient in a real kernel against FakeAnthropic, written
to disk and reopened as JSON: both answers must be `text/markdown` outputs of cells (readable
on GitHub, in nbviewer, and with a fresh kernel), not only widget state.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _fixtures import markdown_text

from rho_agent.notebook.render import RUN_MIME
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipywidgets")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

BACKGROUND_ANSWER = "Background says: revenue grew from $120 to $144."
PANEL_ANSWER = "Panel says: **three** files changed."


def answer(request: object) -> object:
    """Both runs go at once, in either order: answer by the prompt."""
    prompt = request.last_user_text()  # type: ignore[attr-defined]
    return reply(text(BACKGROUND_ANSWER if "background" in prompt else PANEL_ANSWER), delay=0.2)


def markdown_outputs(nb: object) -> list[tuple[int, str]]:
    """(cell index, text/markdown) of every saved cell output."""
    found = []
    for index, cell in enumerate(nb.cells):  # type: ignore[attr-defined]
        for output in cell.get("outputs", []):
            markdown = output.get("data", {}).get("text/markdown")
            if markdown is not None:
                found.append((index, markdown_text("".join(markdown))))
    return found


def test_background_and_panel_answers_are_saved_as_markdown_outputs(
    fake: FakeAnthropic, tmp_path: Path
) -> None:
    fake.add(answer, answer)
    v4 = nbformat.v4
    nb = v4.new_notebook(
        cells=[
            v4.new_code_cell("%load_ext rho_agent"),
            v4.new_code_cell(
                "%%rho --background --allow-rerun --out r\nSummarise the background task."
            ),
            v4.new_code_cell(
                "from rho_agent.notebook import Panel\n\n"
                'panel = Panel(session="side")\n'
                'p = panel.run("Answer from the side panel.")'
            ),
            v4.new_code_cell("res = await r\nprint(res.status)"),
            v4.new_code_cell("import time\n\nwhile not p.done():\n    time.sleep(0.05)"),
            v4.new_code_cell('print("plain cell")'),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    client = nbclient.NotebookClient(
        nb, timeout=90, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    saved = tmp_path / "saved-answers.ipynb"
    nbformat.write(nb, saved)
    ARTIFACTS.mkdir(exist_ok=True)
    nbformat.write(nb, ARTIFACTS / "saved-answers.ipynb")
    fake.assert_done()

    reopened = nbformat.read(saved, as_version=4)
    found = markdown_outputs(reopened)
    background = [
        i for i, md in found if md == "Background says: revenue grew from \\$120 to \\$144."
    ]
    panel = [i for i, md in found if md == "Panel says: **three** files changed."]
    # Each answer is a Markdown output exactly once: the background one in the cell that
    # awaited it, the panel one in a cell that executed after it ended.
    assert background == [3], found
    assert len(panel) == 1 and panel[0] >= 3, found
    notes = [md for _, md in found if md.startswith("rho: ")]
    assert any(
        n.startswith("rho: background run in session 'default' finished (completed") for n in notes
    )
    assert any(n.startswith("rho: panel run in session 'side' finished (completed") for n in notes)
    # The text fallback and the tool log are saved too; the await printed the status.
    raw = json.dumps([cell.get("outputs", []) for cell in reopened.cells])
    assert BACKGROUND_ANSWER in raw and PANEL_ANSWER in raw
    # Each run output is saved with its Markdown fallback (what GitHub and nbviewer show).
    runs = [
        o["data"]
        for cell in reopened.cells
        for o in cell.get("outputs", [])
        if RUN_MIME in o.get("data", {})
    ]
    assert len(runs) == 2, raw
    assert all("text/html" not in data for data in runs)
    assert all("completed · 1 turn(s)" in markdown_text("".join(d["text/markdown"])) for d in runs)
    assert "completed" in "".join(o.get("text", "") for o in reopened.cells[3].outputs)
    assert "plain cell" in "".join(o.get("text", "") for o in reopened.cells[5].outputs)
