"""A real browser: JupyterLab on 127.0.0.1, Debian's chromium driven by Playwright.

Opens the panel notebook, runs the cell that shows the panel, clicks Run and sees the live
log and the final Markdown, then starts a long run and clicks Cancel. Screenshots go to
`test-artifacts/`. No browser is downloaded: Playwright drives /usr/bin/chromium.
"""

from __future__ import annotations

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


@pytest.fixture
def lab(tmp_path: Path, fake: FakeAnthropic) -> Iterator[str]:
    """JupyterLab serving a copy of the panel notebook; yields the notebook's URL (with token)."""
    pytest.importorskip("jupyterlab")
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "03-panel-tour.ipynb", root / "panel.ipynb")
    with jupyter_server(root, tmp_path) as (base, token):
        yield f"{base}/lab/tree/panel.ipynb{token}"


def test_panel_in_jupyterlab(lab: str, page, fake: FakeAnthropic) -> None:
    try:
        drive_the_panel(lab, page, fake)
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
    expect(panel.locator(".rho-log summary")).to_contain_text("completed · 2 turn(s)")
    expect(panel).to_contain_text("Cost so far: $0.0")
    panel.screenshot(path=str(ARTIFACTS / "panel-run.png"))

    # A long run, cancelled from its button while it streams.
    panel.locator("textarea").first.fill("Write a very long essay.")
    panel.get_by_role("button", name="Run").click()
    expect(live).to_contain_text("still thinking", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "panel-running.png"), full_page=True)
    started = time.monotonic()
    panel.get_by_role("button", name="Cancel").click()
    expect(panel.locator(".rho-status")).to_contain_text("cancelled", timeout=10_000)
    assert (
        time.monotonic() - started < 5
    )  # Cancel takes effect at once (2 s in the kernel-side test)
    expect(panel.get_by_role("button", name="Run")).to_be_enabled()
    page.screenshot(path=str(ARTIFACTS / "panel-cancelled.png"), full_page=True)
    assert len(fake.requests) == 3
