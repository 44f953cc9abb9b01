"""Answers of `--background` and panel runs become plain cell outputs, once; the run handle."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("ipywidgets")

from _fixtures import markdown_text

from rho_agent.frontend import no_math
from rho_agent.notebook import Panel
from rho_agent.notebook.deliveries import RunHandle, get_deliveries
from rho_agent.notebook.render import RUN_MIME
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.01)


class Shown:
    """What `IPython.display.display` received: raw bundles (dicts) and widgets."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def __call__(self, *objs: Any, **kw: Any) -> None:
        self.items.extend(objs)

    @property
    def bundles(self) -> list[dict[str, str]]:
        return [o for o in self.items if isinstance(o, dict)]

    def markdown(self) -> list[str]:
        return [markdown_text(b["text/markdown"]) for b in self.bundles if "text/markdown" in b]

    def take(self) -> list[dict[str, str]]:
        bundles, self.items = self.bundles, []
        return bundles


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> Shown:
    import IPython.display

    record = Shown()
    monkeypatch.setattr(IPython.display, "display", record)
    return record


def test_out_is_a_handle_at_once_and_result_shows_the_answer_once(
    ip, fake: FakeAnthropic, shown: Shown
) -> None:
    fake.add(reply(text("the **answer** is $120"), delay=0.3))
    ip.run_cell_magic("rho", "--background --out r", "quick task")
    r = ip.user_ns["r"]  # bound before the run ends: a later cell of a Run All finds it
    assert isinstance(r, RunHandle) and not r.done()
    with pytest.raises(AttributeError, match="still going"):
        r.text  # noqa: B018
    result = r.result(timeout=10)
    assert result.text == "the **answer** is $120" and r.done() and r.text == result.text
    assert r.ok and r.status == "completed" and r.cost_usd == result.cost_usd
    bundles = shown.take()
    assert bundles[0]["text/plain"].startswith(
        "rho: background run in session 'default' finished (completed · 1 turn · $"
    )
    assert "\\$" in bundles[0]["text/markdown"]  # no math in the saved Markdown
    assert bundles[1] == {
        "text/markdown": no_math("the **answer** is \\$120"),
        "text/plain": "the **answer** is $120",
    }
    # The run output: for the extension's renderer, always with Markdown for GitHub and
    # nbviewer (which would prefer HTML to it: there is none).
    assert set(bundles[2]) == {RUN_MIME, "text/markdown", "text/plain"}
    assert "completed · 1 turn(s)" in bundles[2]["text/markdown"]
    assert "0 tool call(s)" in bundles[2]["text/markdown"]
    # Delivered once: neither a second wait nor the next cells show it again.
    assert r.result() is result
    ip.run_cell("x = 1")
    ip.run_cell("y = 2")
    assert shown.take() == []
    assert get_deliveries().pending == []


def test_the_next_cell_after_the_run_ended_shows_the_answer(
    ip, fake: FakeAnthropic, shown: Shown
) -> None:
    fake.add(reply(text("background answer"), delay=0.3))
    ip.run_cell("%%rho --background\nquick task")
    assert "background answer" not in shown.markdown()  # still running when the cell ended
    wait_for(lambda: get_deliveries().pending[0].job.done())
    widgets = [o for o in shown.items if not isinstance(o, dict)]
    shown.items = []
    assert widgets  # the live widget was shown by the background cell
    ip.run_cell("z = 3")
    assert shown.markdown()[1:2] == ["background answer"]
    assert "finished (completed · 1 turn · " in shown.bundles[0]["text/plain"]
    shown.items = []
    ip.run_cell("z = 4")
    assert shown.items == []


def test_a_cell_that_ends_after_the_run_shows_it_and_failures_are_shown_too(
    ip, fake: FakeAnthropic, shown: Shown
) -> None:
    fake.add(reply(text("thinking " * 60), delay=0.5, chunk=8))
    ip.run_cell("%%rho --background --out r\na long task")
    r = ip.user_ns["r"]
    wait_for(lambda: "thinking" in r.view.text)
    shown.items = []
    ip.run_cell("r.cancel()\nimport time\nwhile not r.done(): time.sleep(0.01)")
    texts = [b["text/plain"] for b in shown.bundles]
    assert texts[0].startswith("rho: background run in session 'default' finished (cancelled")
    assert "cancelled" in texts[1]
    assert r.cancelled()
    with pytest.raises(AttributeError, match="without a result"):
        r.text  # noqa: B018


def test_await_handle_returns_the_result_and_shows_the_answer(
    ip, fake: FakeAnthropic, shown: Shown
) -> None:
    fake.add(reply(text("awaited answer"), delay=0.2))
    ip.run_cell("%%rho --background --out r\nquick task")
    shown.items = []
    ip.run_cell("res = await r")
    assert ip.user_ns["res"].text == "awaited answer"
    assert shown.markdown()[1:2] == ["awaited answer"]


def test_result_timeout_leaves_the_run_going_and_undelivered(
    ip, fake: FakeAnthropic, shown: Shown
) -> None:
    fake.add(reply(text("late answer"), delay=0.6))
    ip.run_cell_magic("rho", "--background --out r", "quick task")
    r = ip.user_ns["r"]
    with pytest.raises(TimeoutError):
        r.result(timeout=0.05)
    assert not r.done() and "late answer" not in shown.markdown()
    assert r.result(timeout=10).text == "late answer"
    assert shown.markdown()[1:2] == ["late answer"]


def test_panel_run_returns_a_handle_and_its_answer_becomes_an_output(
    ip, fake: FakeAnthropic, shown: Shown
) -> None:
    fake.add(reply(text("panel answer"), delay=0.2))
    panel = Panel(session="side")
    run = panel.run("hello")
    assert isinstance(run, RunHandle) and "panel run" in repr(run)
    wait_for(run.done)
    ip.run_cell("pass")
    assert shown.bundles[0]["text/plain"].startswith(
        "rho: panel run in session 'side' finished (completed"
    )
    assert shown.markdown()[1:2] == ["panel answer"]
    shown.items = []
    assert run.result().text == "panel answer"
    assert shown.items == []  # already delivered


def test_unload_forgets_pending_answers(ip, fake: FakeAnthropic, shown: Shown) -> None:
    fake.add(reply(text("forgotten"), delay=0.2))
    ip.run_cell_magic("rho", "--background", "quick task")
    assert len(get_deliveries().pending) == 1
    ip.run_line_magic("unload_ext", "rho_agent")
    try:
        assert get_deliveries().pending == []
        hooks = ip.events.callbacks["post_run_cell"]
        assert all(getattr(h, "__module__", "") != "rho_agent.notebook.deliveries" for h in hooks)
    finally:
        ip.run_line_magic("load_ext", "rho_agent")


def test_an_interrupted_result_cancels_the_run_and_shows_it_in_one_line(
    ip, fake: FakeAnthropic, shown: Shown
) -> None:
    import signal
    import threading

    from rho_agent.frontend._runner import Interrupted

    fake.add(reply(text("thinking " * 60), delay=0.5, chunk=8), reply(text("next")))
    ip.run_cell_magic("rho", "--background --out r", "a long task")
    r = ip.user_ns["r"]
    wait_for(lambda: "thinking" in r.view.text)
    main = threading.main_thread().ident
    assert main is not None
    threading.Timer(0.2, lambda: signal.pthread_kill(main, signal.SIGINT)).start()
    started = time.monotonic()
    with pytest.raises(Interrupted) as stopped:
        r.result()
    assert time.monotonic() - started < 2.0 and r.cancelled()
    assert stopped.value._render_traceback_()[0].startswith("\x1b[0;31mInterrupted")
    assert shown.bundles[0]["text/plain"].startswith(
        "rho: background run in session 'default' finished (cancelled"
    )
    # The session stays: the next run continues the conversation.
    ip.run_cell_magic("rho", "--background --out again", "go on")
    assert ip.user_ns["again"].result(timeout=10).text == "next"
