"""The panel and `--background` runs, through their plain methods (no browser)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from rho_agent.notebook import Panel
from rho_agent.notebook.registry import get_registry
from rho_agent.notebook.render import RUN_MIME
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds until `condition()` held (fails after `timeout`)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.01)
    return time.monotonic() - started


def slow_answer(seconds: float = 30) -> Callable:
    """A model call that streams for about `seconds` (a long run to cancel)."""
    return lambda request: reply(text("thinking " * int(seconds * 2)), delay=0.5, chunk=8)


def outputs_text(output) -> str:
    return "\n".join(str(o.get("data", {})) for o in output.outputs)


def test_panel_runs_with_staged_uploads_and_shows_log_answer_and_cost(
    ip, fake: FakeAnthropic, workdir: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big"
    big.mkdir()
    (big / "part1.csv").write_text("a\n1\n")
    fake.add(
        reply(
            text("Counting."),
            tool_call(
                "bash", {"command": "cat data.csv big/part1.csv > all.csv && wc -l < all.csv"}
            ),
        ),
        reply(text("**4** lines.")),
    )
    panel = Panel()
    panel.profile.value = "developer"
    panel.stage_bytes("data.csv", b"x\n2\n")  # what the FileUpload observer does
    panel.stage_path(f"{big}:big")
    assert panel.staged == [f"{panel._upload_dir}/data.csv → data.csv", f"{big} → big"]
    panel.prompt.value = "How many lines?"
    job = panel.run()
    assert panel.staged == []
    job.result(timeout=15)
    # Ready the moment the run is (issue 10: empty right after `await job`).
    assert "all.csv" in panel.changed_files and "data.csv" in panel.changed_files
    assert "all.csv" in panel.files
    wait_for(lambda: panel.run_view.status == "completed")
    assert (workdir / "all.csv").read_text() == "x\n2\na\n1\n"
    shown = outputs_text(panel.run_view.answer)
    assert "**4** lines." in shown  # the answer, as Markdown
    assert RUN_MIME in shown and "✓ bash: cat data.csv big/part1.csv" in shown  # the tool log
    assert panel.run_view.live.value == ""  # the live view gave way to them
    wait_for(lambda: panel.cost_usd > 0)
    assert "Cost so far" in panel.cost_label.value
    assert panel.preview("all.csv") == "x\n2\na\n1\n"
    (workdir / "blob.bin").write_bytes(bytes(range(256)) * 40)
    assert panel.preview("blob.bin") == "(binary file)"
    saved = panel.download("all.csv", str(tmp_path / "copy.csv"))
    assert Path(saved).read_text() == "x\n2\na\n1\n"
    assert "all.csv" in panel.refresh_files()


def test_cancel_ends_a_running_panel_run_within_two_seconds(ip, fake: FakeAnthropic) -> None:
    fake.add(slow_answer(), reply(text("after cancel")))
    panel = Panel()
    job = panel.run("write a long essay")
    wait_for(lambda: "thinking" in panel.run_view.live.value)
    assert panel.cancel_button.disabled is False and panel.run_button.disabled is True
    panel.cancel_button.click()  # the button calls panel.cancel()
    took = wait_for(lambda: panel.run_view.status == "cancelled", timeout=5)
    assert took < 2.0 and job.done() and job.cancelled()
    assert panel.run_button.disabled is False
    # The session stays usable; the next run continues the conversation.
    panel.run("go on").result(timeout=10)
    assert fake.requests[-1].messages[0]["content"][0]["text"] == "write a long essay"


def test_approval_buttons(ip, fake: FakeAnthropic, workdir: Path) -> None:
    (workdir / "build").mkdir()
    fake.add(reply(tool_call("bash", {"command": "rm -rf build"})), reply(text("cleaned")))
    panel = Panel()
    panel.profile.value = "developer"
    job = panel.run("clean")
    wait_for(lambda: panel.run_view.pending_approval != "")
    assert "rm -rf build" in panel.run_view.pending_approval
    assert panel.run_view.approval_bar.layout.display == "flex"
    panel.run_view.approve_button.click()
    job.result(timeout=10)
    assert not (workdir / "build").exists()
    wait_for(lambda: panel.run_view.approval_bar.layout.display == "none")


def test_background_cell_returns_at_once_and_cancel_stops_it(
    ip, fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display

    shown: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    fake.add(slow_answer())
    started = time.monotonic()
    ip.run_cell_magic("rho", "--background --out r", "a long task")
    assert time.monotonic() - started < 1.0
    widget = shown[-1]
    nbs = get_registry().sessions["default"]
    assert nbs.busy and widget.status == "running"
    ip.run_line_magic("rho", "status")  # the kernel stays responsive
    wait_for(lambda: "thinking" in widget.live.value)
    widget.cancel_button.click()
    took = wait_for(lambda: widget.status == "cancelled", timeout=5)
    assert took < 2.0 and not nbs.busy
    # --out is bound at once to the run's handle; a cancelled run has no result.
    assert ip.user_ns["r"].cancelled() and not hasattr(ip.user_ns["r"], "text")


def test_background_run_stores_its_result(
    ip, fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display

    shown: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    fake.add(reply(text("background **answer**")))
    ip.run_cell_magic("rho", "--background --out r", "quick task")
    widget = shown[-1]
    wait_for(lambda: widget.status == "completed")
    wait_for(lambda: "r" in ip.user_ns)
    assert ip.user_ns["r"].text == "background **answer**"
    assert "background **answer**" in outputs_text(widget.answer)


def test_rho_panel_and_unload(ip, fake: FakeAnthropic) -> None:
    from rho_agent.notebook import registry

    panel = ip.run_line_magic("rho", "panel --session side")
    assert isinstance(panel, Panel) and panel.session_name == "side"
    fake.add(reply(text("hi")))
    panel.run("hello").result(timeout=10)
    assert get_registry().sessions["side"].session is not None
    ip.run_line_magic("unload_ext", "rho_agent")
    try:
        assert "rho" not in ip.magics_manager.magics["cell"] and registry._registry is None
    finally:
        ip.run_line_magic("load_ext", "rho_agent")


def test_panel_download_makes_folders_only_below_the_notebook(
    ip, workdir: Path, tmp_path: Path
) -> None:
    from rho_agent.errors import ConfigError
    from rho_agent.notebook import Panel

    panel = Panel()
    outside = tmp_path / "elsewhere" / "deep" / "a.txt"
    with pytest.raises(ConfigError, match="elsewhere/deep does not exist"):
        panel.download("a.txt", str(outside))
    with pytest.raises(ConfigError, match="escape does not exist"):
        panel.download("a.txt", "../escape/a.txt")
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "escape").exists()
