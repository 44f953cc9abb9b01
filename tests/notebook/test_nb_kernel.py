"""A real kernel: an interrupt (■) cancels agent work, whatever started it."""

from __future__ import annotations

import queue
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _fixtures import pids_running

from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

jupyter_client = pytest.importorskip("jupyter_client")


class Kernel:
    """A python3 kernel in a subprocess, with the test's environment, in `cwd`."""

    def __init__(self, cwd: Path) -> None:
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd))

    def send(self, code: str) -> str:
        return self.kc.execute(code)

    def reply(self, msg_id: str, timeout: float = 60) -> dict[str, Any]:
        """The execute reply of `msg_id`, with the text it printed under "stdout"."""
        stdout = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                stdout.append(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        content = self.kc.get_shell_msg(timeout=timeout)["content"]
        return {**content, "stdout": "".join(stdout)}

    def run(self, code: str, timeout: float = 60) -> dict[str, Any]:
        return self.reply(self.send(code), timeout)

    def outcome(self, msg_id: str, deadline: float) -> dict[str, Any]:
        """Until `msg_id` is idle (by `deadline`, a `time.monotonic()`): its reply, with the
        tracebacks of its errors ("errors") and what it wrote to stderr ("stderr")."""
        errors, stderr = [], []
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError("the cell did not end by the deadline") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "error":
                errors.append(msg["content"]["traceback"])
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stderr":
                stderr.append(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        content = self.kc.get_shell_msg(timeout=5)["content"]
        return {**content, "errors": errors, "stderr": "".join(stderr)}

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(tmp_path: Path, fake: FakeAnthropic) -> Iterator[Kernel]:
    k = Kernel(tmp_path)
    try:
        assert k.run("%load_ext rho_agent")["status"] == "ok"
        yield k
    finally:
        k.close()


def wait_for_request(fake: FakeAnthropic, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(fake.requests) < count:
        assert time.monotonic() < deadline, "the model was not called"
        time.sleep(0.02)


def test_interrupt_cancels_the_run_kills_its_tool_and_the_next_cell_continues(
    kernel: Kernel, fake: FakeAnthropic, tmp_path: Path
) -> None:
    marker = f"sleep {secrets.randbelow(10**9) + 10**9}"  # a unique command line to look for
    fake.add(
        reply(text("Waiting."), tool_call("bash", {"command": f"{marker}; touch finished"})),
        lambda request: reply(text(f"Picked up: {request.tool_results[0]['content'][:40]}")),
    )
    msg_id = kernel.send("%%rho --profile developer --yes\nrun the slow job")
    wait_for_request(fake, 1)
    deadline = time.monotonic() + 20
    while subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "the tool never started"
        time.sleep(0.05)
    kernel.km.interrupt_kernel()
    interrupted = kernel.reply(msg_id)
    assert interrupted["status"] == "error"
    assert interrupted["evalue"].startswith("Interrupted: the run was cancelled")
    assert subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1  # killed
    assert not (tmp_path / "finished").exists()
    status = kernel.run("%rho status")["stdout"]
    assert "default  closed" in status  # the workspace was ended
    # The next cell resumes the conversation in a new workspace.
    assert kernel.run("%%rho\nwhat happened?")["status"] == "ok"
    messages = fake.requests[-1].messages
    assert messages[0]["content"][0]["text"] == "run the slow job"
    assert "cancelled" in str(messages[2]["content"][0]["content"]).lower()
    assert messages[-1]["content"][-1]["text"] == "what happened?"


def test_interrupt_in_a_daytona_sandbox_leaves_zero_sandboxes(
    daytona, fake: FakeAnthropic, tmp_path: Path
) -> None:
    (tmp_path / "data.csv").write_text("a\n1\n")
    fake.add(reply(text("Working."), tool_call("bash", {"command": "sleep 30"})))
    k = Kernel(tmp_path)
    try:
        assert k.run("%load_ext rho_agent")["status"] == "ok"
        msg_id = k.send(
            "%%rho --backend daytona --profile developer --yes --upload data.csv:data.csv\nslow job"
        )
        wait_for_request(fake, 1)
        asked = fake.requests[0].time
        deadline = time.monotonic() + 30
        while not any("execute" in r.path and r.time > asked for r in daytona.requests):
            assert time.monotonic() < deadline, "the tool never ran in the sandbox"
            time.sleep(0.05)
        assert len(daytona.sandboxes()) == 1
        k.km.interrupt_kernel()
        interrupted = k.reply(msg_id)
        assert interrupted["status"] == "error" and "Interrupted" in interrupted["evalue"]
        assert daytona.sandboxes() == []  # deleted before the cell returned
        assert "default  closed" in k.run("%rho status")["stdout"]
        # The next cell continues in a new sandbox; shutting the kernel down deletes it.
        fake.add(reply(text("Back.")))
        assert k.run("%%rho\nare you back?")["status"] == "ok"
        assert len(daytona.sandboxes()) == 1
        k.kc.stop_channels()
        k.km.shutdown_kernel(now=False)  # a graceful shutdown, as from the Kernel menu
        assert daytona.sandboxes() == []
    finally:
        if k.km.is_alive():
            k.close()


#: Entry points whose cell waits for the run: ■ ends that cell.
CELLS = {
    "%%rho": "%%rho\nrun {marker}",
    "await session().run": "r = await rho_agent.notebook.session().run('run {marker}')",
    "session().run_sync": "r = rho_agent.notebook.session().run_sync('run {marker}')",
    "Session": (
        "async with Session(Agent(AgentConfig(profile='developer', auto_approve=True))) as s:\n"
        "    r = await s.run('run {marker}')"
    ),
}
#: Entry points that return at once: ■ while the kernel is idle cancels them.
BACKGROUND = {
    "%%rho --background": ("%%rho --background\nrun {marker}", "rho_agent.notebook.session().job"),
    "Panel": ("panel = rho_agent.notebook.Panel()\njob = panel.run('run {marker}')", "job"),
}


def start_sleep(fake: FakeAnthropic, kernel: Kernel, code: str) -> tuple[str, str]:
    """Send `code`, whose run's one model call asks for `sleep 60.<unique>`; returns the cell's
    msg_id and the marker once the command runs."""
    marker = f"60.{secrets.randbelow(10**9):09d}"  # `sleep` runs ~60 s; its argv is unique
    fake.add(reply(text("Waiting."), tool_call("bash", {"command": f"sleep {marker}"})))
    msg_id = kernel.send(code.format(marker=marker))
    deadline = time.monotonic() + 30
    while not pids_running(marker):
        assert time.monotonic() < deadline, f"the tool never started: {code}"
        time.sleep(0.05)
    return msg_id, marker


def test_interrupt_stops_every_entry_point_with_one_line(
    kernel: Kernel, fake: FakeAnthropic
) -> None:
    setup = (
        "%rho config --profile developer --yes\n"
        "import rho_agent.notebook\n"
        "from rho_agent import Agent, AgentConfig, Session"
    )
    assert kernel.run(setup)["status"] == "ok"
    for name, code in CELLS.items():
        msg_id, marker = start_sleep(fake, kernel, code)
        kernel.km.interrupt_kernel()
        # The command would run a minute; the cell ends long before (the goal is < 2 s).
        ended = kernel.outcome(msg_id, deadline=time.monotonic() + 10)
        assert ended["status"] == "error", name
        assert len(ended["errors"]) == 1 and len(ended["errors"][0]) == 1, (name, ended["errors"])
        line = ended["errors"][0][0]
        assert "Interrupted" in line and "Traceback" not in line, (name, line)
        assert "Traceback" not in ended["stderr"], (name, ended["stderr"])
        assert pids_running(marker) == [], f"{name}: the command was not killed"
    # The conversation's workspace was ended (an interrupted run is like an interrupted cell).
    assert "default  closed" in kernel.run("%rho status")["stdout"]

    pytest.importorskip("ipywidgets")
    for name, (code, job) in BACKGROUND.items():
        msg_id, marker = start_sleep(fake, kernel, code)
        assert kernel.reply(msg_id)["status"] == "ok"  # the kernel is idle, the run goes on
        kernel.km.interrupt_kernel()
        deadline = time.monotonic() + 10
        while pids_running(marker):
            assert time.monotonic() < deadline, f"{name}: the command was not killed"
            time.sleep(0.05)
        wait = (
            f"import time\nwhile not {job}.done():\n    time.sleep(0.02)\nprint({job}.cancelled())"
        )
        state = kernel.run(wait, timeout=10)
        assert state["stdout"] == "True\n", (name, state)
        # Like a Cancel button: the session (and a sandbox) stays for the next run.
        assert "default  open" in kernel.run("%rho status")["stdout"], name
    assert kernel.run("print(panel.run_view.status)")["stdout"] == "cancelled\n"

    # No model call after any interrupt, and the kernel still works.
    fake.assert_done()
    assert kernel.run("print(1 + 1)")["stdout"] == "2\n"
