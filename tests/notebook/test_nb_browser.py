"""A real browser: JupyterLab on 127.0.0.1, Debian's chromium driven by Playwright.

Opens the panel notebook, runs the cell that shows the panel, clicks Run and sees the live
log and the final Markdown, then starts a long run and clicks Cancel. Screenshots go to
`test-artifacts/`. No browser is downloaded: Playwright drives /usr/bin/chromium.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _lab import CHROMIUM, jupyter_server, run_cell_of

from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
    ),
    pytest.mark.timeout(240),
]


class Lab:
    """A running JupyterLab: its root folder and the URL of a notebook in it (with token)."""

    def __init__(self, root: Path, base: str, query: str) -> None:
        self.root, self.base, self.query = root, base, query

    def url(self, notebook: str) -> str:
        return f"{self.base}/lab/tree/{notebook}{self.query}"


@pytest.fixture
def lab(tmp_path: Path, fake: FakeAnthropic) -> Iterator[Lab]:
    """JupyterLab serving a folder with a copy of the panel notebook."""
    pytest.importorskip("jupyterlab")
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "03-panel-tour.ipynb", root / "panel.ipynb")
    with jupyter_server(root, tmp_path) as (base, query):
        yield Lab(root, base, query)


def test_panel_in_jupyterlab(lab: Lab, page, fake: FakeAnthropic) -> None:
    try:
        drive_the_panel(lab.url("panel.ipynb"), page, fake)
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "panel-failure.png"), full_page=True)
        raise


def drive_the_panel(lab: str, page, fake: FakeAnthropic) -> None:
    from playwright.sync_api import expect

    fake.add(
        reply(text("Looking at the workspace. "), tool_call("list", {}), delay=0.15),
        reply(
            text("## Result\n\nThe panel **works** in a real browser: from $120 to $144."),
            delay=0.3,
        ),
        lambda request: reply(
            text("still thinking " * 200), delay=0.25, chunk=8
        ),  # a long run to cancel
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    page.goto(lab)
    # Wait for the kernel, then run the cell that shows the panel.
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
    run_cell_of(page, page.locator(".jp-CodeCell").first)
    panel = page.locator(".rho-panel")
    expect(panel).to_be_visible(timeout=60_000)

    # A run: the live log shows the tool call, then the answer is rendered Markdown.
    panel.locator("textarea").first.fill("What is in the workspace?")
    panel.get_by_role("button", name="Run").click()
    live = panel.locator(".rho-live")
    expect(live).to_contain_text("list", timeout=30_000)
    answer = panel.locator(".jp-RenderedMarkdown h2")
    expect(answer).to_contain_text("Result", timeout=30_000)
    expect(panel.locator(".jp-RenderedMarkdown strong").first).to_have_text("works")
    # Dollar amounts read as written: no math typeset (issue 10: "$120 to $" was italic math).
    expect(panel.locator(".jp-RenderedMarkdown").first).to_contain_text("from $120 to $144.")
    expect(panel.locator("mjx-container, .MathJax, .katex")).to_have_count(0)
    # The tool log: the extension's renderer, or its Markdown fallback without the extension.
    expect(panel).to_contain_text("completed · 2 turn(s)")
    expect(panel).to_contain_text("Cost so far: $0.0")
    panel.screenshot(path=str(ARTIFACTS / "panel-run.png"))

    # A long run, cancelled from its button while it streams.
    panel.locator("textarea").first.fill("Write a very long essay.")
    panel.get_by_role("button", name="Run").click()
    expect(live).to_contain_text("still thinking", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "panel-running.png"), full_page=True)
    panel.get_by_role("button", name="Cancel").click()
    expect(panel.locator(".rho-status")).to_contain_text("cancelled", timeout=10_000)
    expect(panel.get_by_role("button", name="Run")).to_be_enabled()
    page.screenshot(path=str(ARTIFACTS / "panel-cancelled.png"), full_page=True)
    assert len(fake.requests) == 3


RUN_ALL_CELLS = [
    "%load_ext rho_agent\nimport rho_agent.notebook",
    "%%rho --out first\nHow much did revenue grow?",
    'print("plain cell after it:", first.status)',
    'second = await rho_agent.notebook.session("api").run("Name the top region.")\n'
    "print(second.text)",
    "%%rho --background --session bg --out bg\nSummarise in the background.",
    'done = await bg\nprint("background run:", done.status)',
    'print("last plain cell")',
]
RUN_ALL_ANSWERS = {
    "How much": "Revenue grew from $120 to $144.",
    "top region": "North is the top region.",
    "background": "Background summary: all done.",
}


def answer_by_prompt(request) -> object:
    prompt = request.last_user_text()
    return reply(text(next(a for key, a in RUN_ALL_ANSWERS.items() if key in prompt)), delay=0.1)


def test_run_all_twice_pays_once_and_keeps_every_answer(
    lab: Lab, page, fake: FakeAnthropic
) -> None:
    import nbformat

    fake.add(*[answer_by_prompt] * 6)
    v4 = nbformat.v4
    nb = v4.new_notebook(
        cells=[v4.new_code_cell(source) for source in RUN_ALL_CELLS],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)"}},
    )
    nbformat.write(nb, lab.root / "run-all.ipynb")
    try:
        run_all_twice(lab, page, fake)
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "run-all-failure.png"), full_page=True)
        raise


def run_all(page) -> list[int]:
    """Run → Run All Cells; waits until every cell ran and returns their execution counts."""
    import re

    from playwright.sync_api import expect

    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
    for i in range(len(RUN_ALL_CELLS)):
        expect(prompts.nth(i)).to_have_text(re.compile(r"\[\d+\]:"), timeout=60_000)
    expect(page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')).to_have_count(0)
    return [int(re.sub(r"\D", "", prompts.nth(i).inner_text())) for i in range(len(RUN_ALL_CELLS))]


def run_all_twice(lab: Lab, page, fake: FakeAnthropic) -> None:
    import nbformat
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page.set_default_timeout(60_000)
    page.goto(lab.url("run-all.ipynb"))
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()

    first = run_all(page)
    calls = len(fake.requests)
    assert calls == 3, [r.last_user_text() for r in fake.requests]
    second = run_all(page)
    # Every cell ran again (plain cells too: nothing stopped Run All), the model not once.
    assert min(second) > max(first), (first, second)
    assert len(fake.requests) == calls
    notebook = page.locator(".jp-Notebook")
    expect(notebook).to_contain_text("Not run again", timeout=10_000)
    expect(notebook).to_contain_text("last plain cell")
    page.screenshot(path=str(ARTIFACTS / "run-all-second-pass.png"), full_page=True)

    page.locator(".jp-Notebook").click()
    page.keyboard.press("Control+s")
    saved = lab.root / "run-all.ipynb"
    deadline = time.monotonic() + 30
    while "Not run again" not in saved.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    page.reload()
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
    for answer in RUN_ALL_ANSWERS.values():
        expect(page.locator(".jp-Notebook")).to_contain_text(answer)
    expect(page.locator("mjx-container, .MathJax, .katex")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "run-all-reloaded.png"), full_page=True)

    reopened = nbformat.read(saved, as_version=4)
    outputs = json.dumps([cell.get("outputs", []) for cell in reopened.cells])
    for answer in RUN_ALL_ANSWERS.values():
        assert answer.replace("$", "\\\\$") in outputs or answer in outputs, answer
