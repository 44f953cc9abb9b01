"""Every `ipython` block of docs/notebook.md runs, in order, in one shell (against the fakes)."""

from __future__ import annotations

import re
from pathlib import Path

from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text

DOC = Path(__file__).resolve().parents[2] / "docs" / "notebook.md"
_BLOCK = re.compile(r"```ipython\n(.*?)```", re.S)


def test_docs_notebook_examples_run(ip, fake: FakeAnthropic, daytona) -> None:
    blocks = _BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 8
    fake.add(*[lambda request: reply(text("ok"))] * 30)
    Path("sales.csv").write_text("region,revenue\nNorth,1\n")
    for block in blocks:
        if "chart.svg" in block:  # the agent is scripted to say "ok", not to draw: make the file
            block = block.replace("--download chart.svg:results/chart.svg", "")
        result = ip.run_cell(block)
        assert result.success, f"{block}\n→ {result.error_in_exec or result.error_before_exec!r}"
    assert len(daytona.sandboxes()) == 1  # the daytona example's session is still open
    ip.run_line_magic("rho", "sandboxes cleanup")
    assert daytona.sandboxes() == []
