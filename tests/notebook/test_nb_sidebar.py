"""The rho sidebar in a real JupyterLab, driven in Debian's chromium with Playwright.

The extension is built from `extension/` if its sources changed and linked into this
Python's prefix (what `./scripts/test` does). The notebook's `%%rho --backend daytona` cell
runs against FakeAnthropic and LocalDaytona. Screenshots go to `test-artifacts/`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from _daytona import delete_sandbox
from _lab import CHROMIUM, jupyter_server, run_cell_of

from rho_agent.notebook.render import RUN_MIME
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.labextension,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
    ),
    pytest.mark.timeout(300),
]

RHO_CELL = "%%rho --backend daytona --profile developer --yes\nrun the slow job"


def notebook(cells: list[str]) -> str:
    return json.dumps(
        {
            "cells": [
                {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                 "outputs": [], "source": source}
                for i, source in enumerate(cells)
            ],
            "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)",
                                        "language": "python", "name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )  # fmt: skip


@pytest.fixture(scope="module")
def labextension() -> None:
    """The extension, built if stale and linked where this Python's JupyterLab finds it."""
    subprocess.run(
        [sys.executable, str(ROOT / "extension" / "build_labextension.py"), "--develop"],
        check=True,
    )


@pytest.fixture
def lab(tmp_path: Path, labextension: None, daytona, fake: FakeAnthropic) -> Iterator[str]:
    root = tmp_path / "lab"
    root.mkdir()
    (root / "work.ipynb").write_text(notebook([RHO_CELL]))
    (root / "downloads").mkdir()
    (root / "downloads" / "data.csv").write_text("a,b\n1,2\n")
    with jupyter_server(root, tmp_path) as (base, token):
        yield f"{base}/lab/tree/work.ipynb{token}"


def test_sidebar_in_jupyterlab(
    lab: str, page, daytona, fake: FakeAnthropic, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        drive_the_sidebar(lab, page, daytona, fake, tmp_path / "lab")
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "sidebar-failure.png"), full_page=True)
        raise


def run_cell(page, index: int) -> None:
    run_cell_of(page, page.locator(".jp-Notebook .jp-Cell").nth(index))


def show_panel(page, panel_id: str) -> None:
    """Open a side panel from its tab (a tab toggles its panel: click only when hidden)."""
    if not page.locator(f"#{panel_id}").is_visible():
        page.locator(f'.jp-SideBar [data-id="{panel_id}"]').click()


def drive_the_sidebar(lab: str, page, daytona, fake: FakeAnthropic, root: Path) -> None:
    from playwright.sync_api import expect

    fake.add(
        reply(text("Working on it. "), tool_call("bash", {"command": "sleep 60"}), delay=0.1),
        # The sidebar's own prompt: a file written in the sandbox, then an answer with code.
        reply(tool_call("write", {"path": "result.txt", "content": "forty-two\n"})),
        reply(text("The answer is **42**.\n\n```python\nanswer = 42\nprint(answer)\n```\n")),
    )
    page.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    page.goto(lab)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()

    # The sidebar, opened from its tab: rho is not loaded yet, it says how to load it.
    show_panel(page, "rho-agent-sidebar")
    sidebar = page.locator("#rho-agent-sidebar")
    expect(sidebar.locator(".rho-unloaded")).to_contain_text("%load_ext rho_agent")
    sidebar.screenshot(path=str(ARTIFACTS / "sidebar-unloaded.png"))
    sidebar.get_by_role("button", name="Insert and run it").click()
    expect(sidebar.locator(".rho-total")).to_have_text("Cost in this kernel: $0.0000")
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(2)

    # A blocking %%rho cell in a Daytona sandbox: the session, its live run, the sandbox.
    run_cell(page, 0)
    session = sidebar.locator('.rho-session[data-session="default"]')
    expect(session).to_have_attribute("data-status", "running")
    expect(session.locator(".rho-session-meta")).to_contain_text("daytona · developer")
    run = session.locator('.rho-run[data-status="running"]')
    expect(run).to_contain_text("run the slow job")
    expect(sidebar.locator(".rho-sandbox")).to_contain_text("daytona")
    expect(session.locator(".rho-session-meta")).not_to_contain_text("$0.0000")  # cost counted
    assert len(daytona.sandboxes()) == 1
    sidebar.screenshot(path=str(ARTIFACTS / "sidebar-running.png"))

    # Cancel in the sidebar stops it (the goal is 2 s; the wait here is generous).
    run.get_by_role("button", name="Cancel").click()
    expect(session.locator(".rho-run").first).to_have_attribute(
        "data-status", "cancelled", timeout=10_000
    )
    cell_output = page.locator(".jp-Notebook .jp-Cell").nth(0).locator(".jp-OutputArea")
    expect(cell_output).to_contain_text("cancelled")
    deadline = time.monotonic() + 20
    while daytona.sandboxes():  # the blocking cell's session ended: its sandbox is deleted
        assert time.monotonic() < deadline, "the sandbox was not deleted"
        time.sleep(0.1)
    sidebar.screenshot(path=str(ARTIFACTS / "sidebar-cancelled.png"))

    # A prompt from the sidebar, in the same conversation, streamed; then Insert as cells.
    sidebar.locator(".rho-prompt-text").fill("What is the answer? Save it in result.txt.")
    sidebar.get_by_role("button", name="Run").click()
    expect(sidebar.locator(".rho-answer .jp-RenderedMarkdown")).to_contain_text("The answer is 42.")
    expect(sidebar.locator(".rho-answer strong")).to_have_text("42")  # rendered Markdown
    expect(sidebar.locator(".rho-prompt-status")).to_contain_text("completed")
    assert fake.requests[-1].messages[0]["content"][0]["text"] == "run the slow job"
    page.locator(".jp-Notebook .jp-Cell").nth(0).locator(".jp-InputArea-editor").click()
    sidebar.get_by_role("button", name="Insert as cells").click()
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(4)
    expect(cells.nth(1)).to_have_class(__import__("re").compile("jp-MarkdownCell"))
    expect(cells.nth(1)).to_contain_text("The answer is 42.")
    expect(cells.nth(2)).to_contain_text("print(answer)")

    # The sandbox's files; a download lands in the file browser's folder.
    show_panel(page, "filebrowser")
    page.locator(".jp-DirListing-item", has_text="downloads").dblclick()
    expect(page.locator(".jp-FileBrowser .jp-BreadCrumbs")).to_contain_text("downloads")
    show_panel(page, "rho-agent-sidebar")
    sidebar.get_by_role("button", name="Show files").click()
    listed = sidebar.locator('.rho-file[data-path="result.txt"]')
    expect(listed).to_contain_text("10 B")
    listed.get_by_role("button", name="Download").click()
    expect(sidebar.locator(".rho-files-status")).to_contain_text("Downloaded result.txt")
    assert (root / "downloads" / "result.txt").read_text() == "forty-two\n"
    sidebar.screenshot(path=str(ARTIFACTS / "sidebar-files.png"))
    show_panel(page, "filebrowser")
    expect(page.locator(".jp-DirListing-item", has_text="result.txt")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "sidebar-download.png"), full_page=True)

    # "Upload to rho workspace" in the file browser's context menu: into the sandbox.
    page.locator(".jp-DirListing-item", has_text="data.csv").click(button="right")
    page.locator(".lm-Menu-item", has_text="Upload to rho workspace").click()
    expect(sidebar.locator(".rho-files-status")).to_contain_text("Uploaded downloads/data.csv → ")
    remote = sidebar.locator(".rho-files-status").inner_text().split(" → ")[1].strip()
    sidebar.get_by_role("button", name="Show files").click()
    expect(sidebar.locator('.rho-file[data-path="data.csv"]')).to_contain_text("8 B")
    (box,) = daytona.sandboxes()
    assert box.root.joinpath(remote.lstrip("/")).read_text() == "a,b\n1,2\n", remote

    # Keep: the sandbox outlives the kernel (labelled as --keep labels it).
    sandbox = sidebar.locator('.rho-sandbox[data-session="default"]')
    sandbox.get_by_role("button", name="Keep").click()
    expect(sandbox).to_have_attribute("data-kept", "true")
    expect(sandbox.locator(".rho-kept")).to_have_text("kept")
    expect(sandbox.get_by_role("button", name="Keep")).to_have_count(0)
    expect(sidebar.locator(".rho-sandbox-note")).to_contain_text(f"Sandbox {box.id} is kept")
    sidebar.screenshot(path=str(ARTIFACTS / "sidebar-kept.png"))
    (box,) = daytona.sandboxes()
    assert box.labels.get("rho-agent-keep") == "1", box.labels
    base, token = lab.split("/lab/tree/")[0], "?" + lab.split("?")[1]
    shut_down_kernels(base, token)
    try:
        assert [b.id for b in daytona.sandboxes()] == [box.id]
    finally:
        delete_sandbox(daytona, box.id)


ANSWER = "Saved **for later**: the total is $120."

#: The notebook's page, per application.
PAGES = {"jupyterlab": "/lab/tree/answers.ipynb", "notebook": "/notebooks/answers.ipynb"}


def kernels_idle(base: str, token: str) -> bool:
    with urllib.request.urlopen(f"{base}/api/kernels{token}", timeout=5) as response:
        kernels = json.load(response)
    return bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)


def open_notebook(page, url: str, base: str, token: str, cells: int):
    """Open the notebook at `url`, wait for its `cells` cells and an idle kernel; the cells."""
    from playwright.sync_api import expect

    page.goto(url)
    located = page.locator(".jp-Notebook .jp-Cell")
    expect(located).to_have_count(cells)
    deadline = time.monotonic() + 60
    while not kernels_idle(base, token):
        assert time.monotonic() < deadline, "the kernel did not start"
        time.sleep(0.2)
    return located


def shut_down_kernels(base: str, token: str) -> None:
    with urllib.request.urlopen(f"{base}/api/sessions{token}", timeout=5) as response:
        sessions = json.load(response)
    for session in sessions:
        request = urllib.request.Request(
            f"{base}/api/sessions/{session['id']}{token}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=10).read()


@pytest.mark.parametrize("app", ["jupyterlab", "notebook"])
def test_background_answers_are_saved_in_their_cell(
    app: str, tmp_path: Path, labextension: None, page, fake: FakeAnthropic
) -> None:
    from playwright.sync_api import expect

    fake.add(
        reply(
            text("Writing. "), tool_call("write", {"path": "app.py", "content": "x = 1\ny = 2\n"})
        ),
        reply(tool_call("edit", {"path": "app.py", "old_string": "y = 2", "new_string": "y = 3"})),
        reply(text(ANSWER), delay=0.3),
    )
    root = tmp_path / "lab"
    root.mkdir()
    path = root / "answers.ipynb"
    path.write_text(
        notebook(
            [
                "%load_ext rho_agent",
                "%%rho --background --profile developer --yes\nsummarise",
                "1 + 1",
            ]
        )
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    with jupyter_server(root, tmp_path, app=app) as (base, token):
        try:
            cells = open_notebook(page, f"{base}{PAGES[app]}{token}", base, token, 3)
            run_cell(page, 0)
            run_cell(page, 1)
            # The answer lands in the background cell's own outputs, not in a later cell.
            # (The cell's own outputs, not those inside its live widget.)
            outputs = cells.nth(1).locator(".jp-Cell-outputArea > .jp-OutputArea-child")
            expect(outputs.locator("> .jp-RenderedMarkdown").last).to_contain_text(
                "Saved for later: the total is $120."
            )
            expect(outputs.locator("> .jp-RenderedMarkdown").first).to_contain_text(
                "background run in session 'default' finished"
            )
            # The run output, by the extension's renderer: the cost line, calls, the edit's diff.
            run = outputs.locator("> .rho-run-rendered details.rho-log")
            expect(run.locator("> summary")).to_contain_text("completed · 3 turn(s)")
            expect(run.locator("> summary")).to_contain_text("2 tool call(s)")
            run.locator("> summary").click()
            edit = run.locator('.rho-run-call[data-tool="edit"]')
            edit.locator(".rho-run-call-head").click()
            expect(edit.locator(".rho-diff-del")).to_have_text("- y = 2")
            expect(edit.locator(".rho-diff-add")).to_have_text("+ y = 3")
            run_cell(page, 2)
            expect(cells.nth(2).locator(".jp-Cell-outputArea")).to_contain_text("2")
            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 30
            while "Saved" not in path.read_text():
                assert time.monotonic() < deadline, "the notebook was not saved"
                time.sleep(0.2)
            saved = json.loads(path.read_text())["cells"]
            markdown = ["".join(o["data"].get("text/markdown", "")) for o in saved[1]["outputs"]]
            assert any("Saved **for later**" in m for m in markdown), saved[1]["outputs"]
            # The run output is saved with its Markdown fallback, for GitHub and nbviewer.
            (run_data,) = [o["data"] for o in saved[1]["outputs"] if RUN_MIME in o.get("data", {})]
            assert "completed · 3 turn(s)" in "".join(run_data["text/markdown"])
            assert "edit" in "".join(run_data["text/markdown"])
            assert [o["data"] for o in saved[2]["outputs"]] == [
                {"text/plain": ["2"]}
            ]  # only its own

            # Reopened with a fresh kernel: the answer is still there.
            shut_down_kernels(base, token)
            page.goto(f"{base}{PAGES[app]}{token}")
            reopened = cells.nth(1).locator(".jp-Cell-outputArea > .jp-OutputArea-child")
            expect(reopened.locator("> .jp-RenderedMarkdown").last).to_contain_text(
                "Saved for later: the total is $120."
            )
            expect(reopened.locator("> .rho-run-rendered summary").first).to_contain_text(
                "completed · 3 turn(s)"
            )
            page.screenshot(path=str(ARTIFACTS / f"durable-answer-{app}.png"), full_page=True)
        except BaseException:
            page.screenshot(
                path=str(ARTIFACTS / f"durable-answer-{app}-failure.png"), full_page=True
            )
            raise


def test_ask_rho_about_a_failing_cell_and_settings(
    tmp_path: Path, labextension: None, page, fake: FakeAnthropic
) -> None:
    from playwright.sync_api import expect

    fake.add(reply(text("Dividing by zero fails; use `1/1`.")))
    root = tmp_path / "lab"
    root.mkdir()
    (root / "ask.ipynb").write_text(notebook(["%load_ext rho_agent", "x = 1\n1/0"]))
    # Defaults from the Settings Editor's file: sent to the kernel when rho loads.
    settings = tmp_path / "lab-settings" / "rho-agent"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(
        '{"profile": "developer", "budget_usd": 3}'
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    with jupyter_server(root, tmp_path) as (base, token):
        try:
            page.goto(f"{base}/lab/tree/ask.ipynb{token}")
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
            run_cell(page, 0)
            show_panel(page, "rho-agent-sidebar")
            sidebar = page.locator("#rho-agent-sidebar")
            expect(sidebar.locator(".rho-total")).to_contain_text("budget $3.0000")
            run_cell(page, 1)
            cells = page.locator(".jp-Notebook .jp-Cell")
            expect(cells.nth(1).locator(".jp-OutputArea")).to_contain_text("ZeroDivisionError")

            # The commands are in the palette, category rho.
            page.keyboard.press("Control+Shift+c")
            page.keyboard.type("rho")
            palette = page.locator(".lm-CommandPalette")
            for label in ("Ask rho about this cell", "Cancel all rho runs", "Show rho sidebar"):
                expect(palette.get_by_text(label, exact=True)).to_be_visible()
            page.keyboard.press("Escape")

            # The failing cell's toolbar button inserts a %%rho cell below it, which works.
            cells.nth(1).locator(".jp-InputArea-editor").click()
            cells.nth(1).locator(
                '.jp-cell-toolbar [data-command="rho-agent:ask-about-cell"]'
            ).click()
            expect(cells).to_have_count(4)  # (Shift+Enter on the last cell had added one)
            asked = cells.nth(2)
            expect(asked.locator(".jp-InputArea-editor")).to_contain_text("%%rho")
            expect(asked.locator(".jp-InputArea-editor")).to_contain_text("ZeroDivisionError")
            run_cell(page, 2)
            expect(asked.locator(".jp-RenderedMarkdown").first).to_contain_text(
                "Dividing by zero fails"
            )
            prompt = fake.requests[-1].messages[-1]["content"][-1]["text"]
            assert prompt.startswith("Cell [2] fails.") and "x = 1\n1/0" in prompt, prompt
            assert "ZeroDivisionError: division by zero" in prompt, prompt
            page.screenshot(path=str(ARTIFACTS / "ask-about-cell.png"), full_page=True)
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "ask-about-cell-failure.png"), full_page=True)
            raise


def test_sidebar_approvals_and_folders(
    tmp_path: Path, labextension: None, page, fake: FakeAnthropic
) -> None:
    """A sidebar prompt's call that needs approval is asked in the sidebar (Allow / Deny);
    the workspace's folders open and close, and a folder downloads into the file browser's
    folder."""
    from playwright.sync_api import expect

    make = "mkdir -p out/deep && echo hi > out/deep/a.txt && rm -rf old"
    fake.add(
        reply(tool_call("bash", {"command": make})),
        reply(tool_call("bash", {"command": "rm -rf precious"})),
        reply(text("Made **out/deep/a.txt**; left precious alone.")),
    )
    root = tmp_path / "lab"
    root.mkdir()
    for folder in ("old", "precious", "downloads"):
        (root / folder).mkdir()
    # The developer profile asks before a destructive command (rm).
    (root / "work.ipynb").write_text(
        notebook(["%load_ext rho_agent\n%rho config --profile developer"])
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    with jupyter_server(root, tmp_path) as (base, token):
        try:
            page.goto(f"{base}/lab/tree/work.ipynb{token}")
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()
            run_cell(page, 0)
            show_panel(page, "rho-agent-sidebar")
            sidebar = page.locator("#rho-agent-sidebar")
            expect(sidebar.locator(".rho-total")).to_contain_text("Cost in this kernel")

            expect(sidebar.get_by_role("button", name="..")).to_be_hidden()  # at the top
            sidebar.locator(".rho-prompt-text").fill("Make the output folder, clean up.")
            sidebar.get_by_role("button", name="Run").click()
            asked = sidebar.locator('.rho-approval[data-tool="bash"]')
            expect(asked).to_contain_text("rm -rf old")
            sidebar.screenshot(path=str(ARTIFACTS / "sidebar-approval.png"))
            asked.get_by_role("button", name="Allow").click()
            expect(asked).to_contain_text("rm -rf precious")  # the next call's question
            asked.get_by_role("button", name="Deny").click()
            expect(sidebar.locator(".rho-prompt-status")).to_contain_text("completed")
            expect(sidebar.locator(".rho-approval")).to_have_count(0)
            expect(sidebar.locator(".rho-answer strong")).to_have_text("out/deep/a.txt")
            assert not (root / "old").exists() and (root / "precious").is_dir()
            assert (root / "out" / "deep" / "a.txt").read_text() == "hi\n"

            # Folders: into out/, into deep/, back up with "..".
            show_panel(page, "filebrowser")
            page.locator(".jp-DirListing-item", has_text="downloads").dblclick()
            expect(page.locator(".jp-FileBrowser .jp-BreadCrumbs")).to_contain_text("downloads")
            show_panel(page, "rho-agent-sidebar")
            sidebar.get_by_role("button", name="Show files").click()
            out = sidebar.locator('.rho-folder[data-path="out"]')
            expect(sidebar.locator('.rho-folder[data-path="precious"]')).to_be_visible()
            out.get_by_role("button", name="out/").click()
            expect(sidebar.locator(".rho-files-where")).to_have_text(str(root / "out"))
            deep = sidebar.locator('.rho-folder[data-path="out/deep"]')
            deep.get_by_role("button", name="deep/").click()
            expect(sidebar.locator('.rho-file[data-path="out/deep/a.txt"]')).to_contain_text("3 B")
            sidebar.get_by_role("button", name="..").click()
            expect(deep).to_be_visible()
            sidebar.get_by_role("button", name="..").click()
            expect(out).to_be_visible()
            expect(sidebar.get_by_role("button", name="..")).to_be_hidden()
            out.get_by_role("button", name="out/").click()
            expect(deep).to_be_visible()
            sidebar.screenshot(path=str(ARTIFACTS / "sidebar-folders.png"))

            # Download of a folder, into the file browser's folder (downloads/).
            deep.get_by_role("button", name="Download").click()
            expect(sidebar.locator(".rho-files-status")).to_contain_text(
                "Downloaded out/deep → downloads/deep"
            )
            expect(sidebar.locator(".rho-progress")).to_be_hidden()
            assert (root / "downloads" / "deep" / "a.txt").read_text() == "hi\n"
            show_panel(page, "filebrowser")
            expect(page.locator(".jp-DirListing-item", has_text="deep")).to_be_visible()
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "sidebar-approvals-failure.png"), full_page=True)
            raise


def test_sidebar_in_notebook7(
    tmp_path: Path, labextension: None, page, fake: FakeAnthropic
) -> None:
    """Notebook 7 (`jupyter notebook`): "Show rho sidebar" opens it in the right side panel,
    where it lists the session of a running %%rho cell, live; Cancel there stops the run."""
    from playwright.sync_api import expect

    fake.add(reply(text("Working. "), tool_call("bash", {"command": "sleep 60"}), delay=0.1))
    root = tmp_path / "lab"
    root.mkdir()
    (root / "work.ipynb").write_text(
        notebook(["%load_ext rho_agent", "%%rho --profile developer --yes\nrun the slow job"])
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    with jupyter_server(root, tmp_path, app="notebook") as (base, token):
        try:
            cells = open_notebook(
                page, f"{base}{PAGES['notebook'].replace('answers', 'work')}{token}", base, token, 2
            )
            run_cell(page, 0)
            expect(cells.nth(0).locator(".jp-InputPrompt")).to_have_text("[1]:")

            # From the command palette, as in JupyterLab.
            page.keyboard.press("Control+Shift+c")
            page.keyboard.type("Show rho sidebar")
            page.locator(".lm-CommandPalette").get_by_text("Show rho sidebar", exact=True).click()
            sidebar = page.locator("#rho-agent-sidebar")
            expect(sidebar).to_be_visible()
            expect(sidebar.locator(".rho-total")).to_have_text("Cost in this kernel: $0.0000")

            run_cell(page, 1)
            session = sidebar.locator('.rho-session[data-session="default"]')
            expect(session).to_have_attribute("data-status", "running")
            expect(session.locator(".rho-session-meta")).to_contain_text("local · developer")
            run = session.locator('.rho-run[data-status="running"]')
            expect(run).to_contain_text("run the slow job")
            page.screenshot(path=str(ARTIFACTS / "sidebar-notebook7.png"), full_page=True)

            run.get_by_role("button", name="Cancel").click()
            expect(session.locator(".rho-run").first).to_have_attribute(
                "data-status", "cancelled", timeout=10_000
            )
            expect(cells.nth(1).locator(".jp-OutputArea")).to_contain_text("cancelled")
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / "sidebar-notebook7-failure.png"), full_page=True)
            raise


PANEL_ANSWER = "The panel's answer is **kept**."


@pytest.mark.parametrize("app", ["jupyterlab", "notebook"])
def test_panel_answers_are_saved_in_their_cell(
    app: str, tmp_path: Path, labextension: None, page, fake: FakeAnthropic
) -> None:
    """A Panel's run, from its Run button: the answer lands in the outputs of the cell that
    shows the Panel, is saved with the notebook and is there after reopening it with a
    fresh kernel (when the widget itself can no longer be shown)."""
    pytest.importorskip("ipywidgets")
    from playwright.sync_api import expect

    fake.add(reply(text(PANEL_ANSWER), delay=0.3))
    root = tmp_path / "lab"
    root.mkdir()
    path = root / "answers.ipynb"
    path.write_text(
        notebook(["%load_ext rho_agent\nfrom rho_agent.notebook import Panel\nPanel()", "1 + 1"])
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_default_timeout(60_000)
    expect.set_options(timeout=30_000)
    with jupyter_server(root, tmp_path, app=app) as (base, token):
        try:
            cells = open_notebook(page, f"{base}{PAGES[app]}{token}", base, token, 2)
            run_cell(page, 0)
            panel = cells.nth(0).locator(".rho-panel")
            expect(panel).to_be_visible()
            panel.locator("textarea").first.fill("Summarise the workspace.")
            panel.get_by_role("button", name="Run").click()
            # The cell's own outputs (not those inside the widget) get the answer.
            outputs = cells.nth(0).locator(".jp-Cell-outputArea > .jp-OutputArea-child")
            expect(outputs.locator("> .jp-RenderedMarkdown").last).to_contain_text(
                "The panel's answer is kept."
            )
            expect(outputs.locator("> .jp-RenderedMarkdown").first).to_contain_text(
                "panel run in session 'default' finished"
            )
            expect(outputs.locator("> .rho-run-rendered summary").first).to_contain_text(
                "completed · 1 turn(s)"
            )
            run_cell(page, 1)
            expect(cells.nth(1).locator(".jp-Cell-outputArea")).to_contain_text("2")
            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 30
            while "panel's answer" not in path.read_text():
                assert time.monotonic() < deadline, "the notebook was not saved"
                time.sleep(0.2)
            saved = json.loads(path.read_text())["cells"]
            markdown = ["".join(o["data"].get("text/markdown", "")) for o in saved[0]["outputs"]]
            assert any("is **kept**" in m for m in markdown), saved[0]["outputs"]
            assert [o["data"] for o in saved[1]["outputs"]] == [{"text/plain": ["2"]}]

            # Reopened with a fresh kernel: the answer is still in the Panel's cell.
            shut_down_kernels(base, token)
            page.goto(f"{base}{PAGES[app]}{token}")
            reopened = cells.nth(0).locator(".jp-Cell-outputArea > .jp-OutputArea-child")
            expect(reopened.locator("> .jp-RenderedMarkdown").last).to_contain_text(
                "The panel's answer is kept."
            )
            page.screenshot(path=str(ARTIFACTS / f"panel-answer-{app}.png"), full_page=True)
        except BaseException:
            page.screenshot(path=str(ARTIFACTS / f"panel-answer-{app}-failure.png"), full_page=True)
            raise
