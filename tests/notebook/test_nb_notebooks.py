"""The example notebooks, executed end to end in a real kernel with nbclient.

The model is a FakeAnthropic playing the demo's scenes (`rho_agent.notebook.demo`) through the
real SDK; tools really run (locally, or in LocalDaytona's sandboxes). Then each runs again
with no key at all, in demo mode. Each notebook checks its own kernel-side state in a final cell;
the tests also check what reached the model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rho_agent.notebook.demo import demo_reply
from rho_agent.testing.fake_anthropic import FakeAnthropic

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def execute(name: str, where: Path) -> object:
    """Run the notebook `name` in a fresh kernel whose current directory is `where`."""
    shutil.copy(NOTEBOOKS / name, where / name)
    nb = nbformat.read(where / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=90, kernel_name="python3", resources={"metadata": {"path": str(where)}}
    )
    try:
        client.execute()
    finally:  # the executed notebook, outputs and all, for a person to look at
        ARTIFACTS.mkdir(exist_ok=True)
        nbformat.write(nb, ARTIFACTS / name)
    return nb


def demo_step(request: object) -> object:
    """The demo model's scenes as FakeAnthropic steps: the notebooks' prompts, answered."""
    return demo_reply(request.messages, request.tools)  # type: ignore[attr-defined]


def outputs(nb: object) -> str:
    return json.dumps([cell.get("outputs", []) for cell in nb.cells])


def test_quickstart_notebook(fake: FakeAnthropic, tmp_path: Path) -> None:
    fake.add(*[demo_step] * 11)  # the demo's scenes, played over HTTP by the real SDK
    nb = execute("01-quickstart.ipynb", tmp_path)
    fake.assert_done()

    assert "all checks passed" in outputs(nb)
    assert (
        tmp_path / "quickstart-work" / "hello.py"
    ).read_text() == 'print("hello from rho-agent")\nprint(42)\n'
    # The second cell continued the first one's conversation.
    second = fake.requests[3].messages
    assert second[0]["content"][0]["text"].startswith("Create hello.py")
    assert second[-1]["content"][0]["text"].startswith("Now change hello.py")
    # Interpolation: {table} replaced, the JSON braces untouched; the variable's path is given.
    var_prompt = fake.requests[6].last_user_text()
    assert (
        "Which region in the sales table" in var_prompt
        and 'as JSON like {"region": "..."}.' in var_prompt
    )
    assert "sales.parquet" in var_prompt
    # The answers persist in the saved notebook as Markdown.
    saved = outputs(nb)
    assert "It printed `hello from rho-agent`." in saved and "mathjax_ignore" in saved


def test_data_analysis_in_a_daytona_sandbox_notebook(
    fake: FakeAnthropic, daytona, tmp_path: Path
) -> None:
    fake.add(*[demo_step] * 5)
    nb = execute("02-data-analysis-daytona.ipynb", tmp_path)
    fake.assert_done()
    assert "all checks passed" in outputs(nb)
    assert daytona.sandboxes() == []
    # The sandbox (and the conversation) carried over to the follow-up cell.
    listing = fake.requests[4].tool_results[0]["content"]
    assert "summary.csv" in listing and "chart.svg" in listing
    assert len(fake.requests[3].messages) == 7
    assert "(sandbox" in outputs(nb) or "daytona" in outputs(nb)


def test_panel_tour_notebook(fake: FakeAnthropic, tmp_path: Path) -> None:
    fake.add(*[demo_step] * 3)
    nb = execute("03-panel-tour.ipynb", tmp_path)
    fake.assert_done()
    assert "all checks passed" in outputs(nb)
    assert (tmp_path / "panel-work" / "todo.md").exists()
    assert "buy milk" in fake.requests[1].tool_results[0]["content"]


@pytest.mark.parametrize(
    "name",
    [
        "00-start-here.ipynb",
        "01-quickstart.ipynb",
        "02-data-analysis-daytona.ipynb",
        "03-panel-tour.ipynb",
    ],
)
def test_every_example_notebook_runs_as_a_demo_without_a_key(name: str, tmp_path: Path) -> None:
    """No ANTHROPIC_API_KEY (the fixtures clear it): one line says it is the demo, and the
    notebook runs to its end with the scripted model, a Daytona cell on the local backend."""
    nb = execute(name, tmp_path)
    saved = outputs(nb)
    assert saved.count("rho-agent DEMO \\u2014 no ANTHROPIC_API_KEY") == 1  # one line
    if "daytona" in name:
        assert "--backend daytona runs on the local backend" in saved
    assert "DEMO (scripted model, no API calls)" in saved  # every run says so
    assert "only knows the example notebooks" not in saved  # every prompt had its scene
    if name != "00-start-here.ipynb":
        assert "all checks passed" in saved


def test_landing_notebook_runs_for_real_with_a_key(fake: FakeAnthropic, tmp_path: Path) -> None:
    """With a key (FakeAnthropic's) the same landing notebook calls the API: no demo."""
    fake.add(*[demo_step] * 5)
    nb = execute("00-start-here.ipynb", tmp_path)
    fake.assert_done()
    saved = outputs(nb)
    assert "runs for real" in saved and "DEMO" not in saved
    prompts = [r.last_user_text() for r in fake.requests if not r.tool_results]
    assert len(prompts) == 2 and "compute the total revenue per region" in prompts[0]
    assert "grew the most" in prompts[1]
    assert "image/svg+xml" in saved  # the agent's chart, shown by the notebook
    assert (tmp_path / "results" / "chart.svg").read_text().startswith("<svg")
