"""Cost you can trust in a notebook: every model call counts, and a kernel-wide budget."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from rho_agent.notebook.magics import CellError, status_text
from rho_agent.notebook.registry import get_registry
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)


def test_a_cancelled_run_is_counted_in_status(ip, fake: FakeAnthropic, monkeypatch) -> None:
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: None)
    fake.add(reply(tool_call("bash", {"command": "sleep 30"})), reply(text("never")))
    ip.run_cell_magic("rho", "--background --profile developer --yes", "wait a while")
    nbs = get_registry().sessions["default"]
    wait_for(lambda: len(fake.requests) == 1 and nbs.cost_usd > 0)
    nbs.cancel()
    wait_for(lambda: not nbs.busy)
    billed = nbs.cost_usd
    assert billed > 0 and nbs.runs == 1
    row = next(line for line in status_text(get_registry()).splitlines() if "default" in line)
    assert f"${billed:.4f}" in row and "  1  " in row
    assert f"Cost so far in this kernel: ${billed:.4f}" in status_text(get_registry())


def test_the_budget_stops_a_run_and_refuses_the_next(ip, fake: FakeAnthropic) -> None:
    loop = [reply(tool_call("bash", {"command": f"echo {i}"})) for i in range(20)]
    fake.add(*loop)
    ip.run_line_magic("rho", "config --budget 0.0001")
    with pytest.raises(CellError, match=r"reached the budget of \$0\.0001 for all sessions"):
        ip.run_cell_magic("rho", "--profile developer --yes", "loop forever")
    spent = get_registry().cost_usd
    assert spent >= 0.0001 and len(fake.requests) < 20
    with pytest.raises(CellError, match=r"budget of \$0\.0001 is spent"):
        ip.run_cell_magic("rho", "--session other", "one more")
    assert len(fake.requests) < 20 and get_registry().cost_usd == spent  # nothing more sent
    assert "budget $0.0001, $0.0000 left" in status_text(get_registry())
    ip.run_line_magic("rho", "config --budget 0")  # removes the cap
    assert "budget" not in status_text(get_registry())


def test_budget_is_a_config_option() -> None:
    from rho_agent.notebook.args import parse_line

    assert parse_line("config --budget 2.5").budget == 2.5
    with pytest.raises(Exception, match="must be at least 0"):
        parse_line("config --budget -1")
