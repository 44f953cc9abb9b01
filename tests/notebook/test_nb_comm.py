"""A real kernel and the comm the JupyterLab extension talks to (`rho_agent.notebook.comm`).

The test plays the extension: it reads the comm messages the kernel publishes on iopub and
sends comm_open / comm_msg on the shell channel, as JupyterLab does.
"""

from __future__ import annotations

import os
import queue
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _daytona import delete_sandbox

from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

jupyter_client = pytest.importorskip("jupyter_client")

TARGET = "rho-agent"


class Extension:
    """The extension's side: a kernel client that speaks the rho-agent comm."""

    def __init__(self, cwd: Path) -> None:
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd))
        self.messages: list[dict[str, Any]] = []  # every comm message seen, in order
        self.closed: list[str] = []
        self.comm_id: str | None = None

    def execute(self, code: str, cell_id: str | None = None) -> str:
        """Execute `code` as JupyterLab does for the cell `cell_id` (sent as metadata)."""
        if cell_id is None:
            return self.kc.execute(code)
        content = {"code": code, "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}  # fmt: skip
        msg = self.kc.session.msg("execute_request", content, metadata={"cellId": cell_id})
        self.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def _pump(self, timeout: float) -> None:
        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_open" and content["target_name"] == TARGET:
            self.comm_id = self.comm_id or content["comm_id"]
            self.messages.append(content["data"])
        elif kind == "comm_msg":
            self.messages.append(content["data"])
        elif kind == "comm_close":
            self.closed.append(content["comm_id"])
        elif kind == "status" and content["execution_state"] == "idle":
            self.idle.add(msg["parent_header"].get("msg_id"))

    idle: set[str]

    def wait_for(
        self, check: Callable[[dict[str, Any]], bool], timeout: float = 30, since: int = 0
    ) -> dict[str, Any]:
        """The first comm message from index `since` on for which `check` holds."""
        deadline = time.monotonic() + timeout
        seen = since
        while True:
            while seen < len(self.messages):
                message = self.messages[seen]
                seen += 1
                if check(message):
                    return message
            assert time.monotonic() < deadline, f"no such comm message; last: {self.messages[-3:]}"
            self._pump(0.1)

    def run(self, code: str, timeout: float = 60, cell_id: str | None = None) -> None:
        """Execute `code` and wait until the kernel is idle again."""
        msg_id = self.execute(code, cell_id)
        deadline = time.monotonic() + timeout
        while msg_id not in self.idle:
            assert time.monotonic() < deadline, f"the cell did not end: {code}"
            self._pump(0.1)
        reply_msg = self.kc.get_shell_msg(timeout=10)
        assert reply_msg["content"]["status"] == "ok", reply_msg["content"]

    def displayed_by(self, code: str) -> list[dict[str, Any]]:
        """Run `code`; the display_data bundles its cell got."""
        msg_id = self.kc.execute(code)
        shown = []
        deadline = time.monotonic() + 30
        while msg_id not in self.idle:
            assert time.monotonic() < deadline, f"the cell did not end: {code}"
            msg = self.kc.get_iopub_msg(timeout=10)
            parent = msg["parent_header"].get("msg_id")
            if parent == msg_id and msg["msg_type"] == "display_data":
                shown.append(msg["content"]["data"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                self.idle.add(parent)
        self.kc.get_shell_msg(timeout=10)
        return shown

    def send(self, data: dict[str, Any]) -> int:
        """Send a request on the comm; returns the index messages after it will have."""
        assert self.comm_id is not None
        msg = self.kc.session.msg("comm_msg", {"comm_id": self.comm_id, "data": data})
        self.kc.shell_channel.send(msg)
        return len(self.messages)

    def open_comm(self) -> str:
        """Open a comm to the kernel's target, as the extension does when it connects."""
        comm_id = uuid.uuid4().hex
        msg = self.kc.session.msg(
            "comm_open", {"comm_id": comm_id, "target_name": TARGET, "data": {}}
        )
        self.kc.shell_channel.send(msg)
        return comm_id

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def ext(tmp_path: Path, fake: FakeAnthropic) -> Iterator[Extension]:
    e = Extension(tmp_path)
    e.idle = set()
    try:
        yield e
    finally:
        e.close()


def state(message: dict[str, Any]) -> bool:
    return message.get("type") == "state"


def session_state(name: str, check: Callable[[dict[str, Any]], bool]) -> Any:
    def matches(message: dict[str, Any]) -> bool:
        if not state(message):
            return False
        found = [s for s in message["sessions"] if s["name"] == name]
        return bool(found) and check(found[0])

    return matches


def test_load_ext_announces_rho_and_cells_runs_show_live(
    ext: Extension, fake: FakeAnthropic
) -> None:
    ext.run("%load_ext rho_agent")
    first = ext.wait_for(state)
    assert first["sessions"] == [] and first["cost_usd"] == 0 and first["budget_usd"] is None

    # A blocking %%rho cell: the kernel is busy, the sidebar still sees the run live.
    fake.add(
        reply(text("Looking. "), tool_call("bash", {"command": "sleep 1.5; echo done"})),
        reply(text("All done.")),
    )
    msg_id = ext.execute("%%rho --profile developer --yes\ncheck things")
    running = ext.wait_for(
        session_state("default", lambda s: s["status"] == "running" and s["recent"])
    )
    run = running["sessions"][0]["recent"][-1]
    assert run["prompt"] == "check things" and run["status"] == "running"
    assert run["blocks_cell"] is True  # Cancel must interrupt the kernel for this one
    finished = ext.wait_for(
        session_state("default", lambda s: s["recent"] and s["recent"][-1]["status"] == "completed")
    )
    session = finished["sessions"][0]
    assert session["backend"] == "local" and session["profile"] == "developer"
    assert session["turns"] == 2 and session["runs"] == 1 and session["cost_usd"] > 0
    assert session["recent"][-1]["blocks_cell"] is False
    assert finished["cost_usd"] == pytest.approx(session["cost_usd"])
    while msg_id not in ext.idle:
        ext._pump(0.1)
    ext.kc.get_shell_msg(timeout=10)

    # %rho config reaches the sidebar: a budget.
    ext.run("%rho config --budget 5")
    ext.wait_for(lambda m: state(m) and m["budget_usd"] == 5.0)

    # Unloading closes the comm.
    ext.run("%unload_ext rho_agent")
    deadline = time.monotonic() + 10
    while ext.comm_id not in ext.closed:
        assert time.monotonic() < deadline, "the comm was not closed"
        ext._pump(0.1)


def test_requests_run_prompt_list_download_configure(
    ext: Extension, fake: FakeAnthropic, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "numbers.csv").write_text("a\n1\n")
    ext.run("%load_ext rho_agent")
    ext.wait_for(state)
    # A sidebar opened later opens its own comm and gets a snapshot at once.
    ext.open_comm()
    ext.wait_for(state, since=1)

    # Defaults from the extension's settings.
    at = ext.send({"type": "configure", "defaults": {"profile": "developer"}, "budget_usd": 2})
    ext.wait_for(lambda m: state(m) and m["defaults"] == {"profile": "developer"}, since=at)

    # A prompt run in the notebook's conversation, its answer streamed.
    fake.add(reply(text("The answer is **42**.\n\n```python\nprint(42)\n```\n"), chunk=4))
    at = ext.send({"type": "run", "id": "r1", "prompt": "what is the answer?"})
    update = ext.wait_for(lambda m: m.get("type") == "run_update" and m["id"] == "r1", since=at)
    assert update["session"] == "default"
    done = ext.wait_for(lambda m: m.get("type") == "run_done" and m["id"] == "r1", since=at)
    assert done["status"] == "completed" and "**42**" in done["text"] and done["error"] is None
    assert "The answer is **42**." in done["markdown"] and "mathjax_ignore" in done["markdown"]
    assert "1 turn(s)" in done["summary"]
    assert fake.requests[-1].messages[-1]["content"][-1]["text"] == "what is the answer?"
    # Same conversation as the %%rho cells: a cell continues it.
    fake.add(reply(text("Still 42.")))
    ext.run("%%rho\nand again?")
    assert len(fake.requests[-1].messages) == 3

    # The workspace's folders, one at a time, and a download into the notebook's folder.
    at = ext.send({"type": "list_files", "id": "f1"})
    files = ext.wait_for(lambda m: m.get("id") == "f1", since=at)
    assert files["type"] == "files" and files["root"] == str(tmp_path)
    assert {"name": "data", "folder": True, "size": 0} in files["entries"]
    assert not any(e["name"] == "numbers.csv" for e in files["entries"])  # one level only
    at = ext.send({"type": "list_files", "id": "f2", "directory": "data"})
    inside = ext.wait_for(lambda m: m.get("id") == "f2", since=at)
    assert inside["root"] == str(tmp_path / "data") and inside["directory"] == "data"
    assert inside["entries"] == [{"name": "numbers.csv", "folder": False, "size": 4}]
    at = ext.send({"type": "list_files", "id": "f3", "directory": "nowhere"})
    assert "cannot list" in ext.wait_for(lambda m: m.get("id") == "f3", since=at)["message"]
    at = ext.send({"type": "download", "id": "d1", "remote": "data", "local": "copies/data"})
    got = ext.wait_for(lambda m: m.get("id") == "d1", since=at)
    assert got["type"] == "downloaded", got
    assert (tmp_path / "copies" / "data" / "numbers.csv").read_text() == "a\n1\n"
    # A big one says how far it has got, for the sidebar's progress bar, before it is done.
    (tmp_path / "big.bin").write_bytes(os.urandom(9 * 1024 * 1024))
    at = ext.send({"type": "download", "id": "d3", "remote": "big.bin", "local": "copies/b.bin"})
    got = ext.wait_for(lambda m: m.get("id") == "d3" and m["type"] != "progress", since=at)
    steps = [m for m in ext.messages[at:] if m.get("type") == "progress" and m["id"] == "d3"]
    assert (
        got["type"] == "downloaded"
        and steps
        and ext.messages.index(steps[-1]) < ext.messages.index(got)
    )
    assert (steps[-1]["done"], steps[-1]["total"]) == (9 * 1024 * 1024, 9 * 1024 * 1024)

    # An upload from the notebook's folder into the workspace (here the same folder).
    (tmp_path / "notes.txt").write_text("hello\n")
    at = ext.send({"type": "upload", "id": "u1", "local": "notes.txt", "remote": "inbox/notes.txt"})
    up = ext.wait_for(lambda m: m.get("id") == "u1", since=at)
    assert up["type"] == "uploaded" and up["path"] == str(tmp_path / "inbox" / "notes.txt"), up
    assert (tmp_path / "inbox" / "notes.txt").read_text() == "hello\n"
    at = ext.send({"type": "upload", "id": "u2", "local": "missing.txt"})
    assert "missing.txt" in ext.wait_for(lambda m: m.get("id") == "u2", since=at)["message"]

    # A mistake is answered with the request's id and a sentence.
    at = ext.send({"type": "download", "id": "d2", "remote": "nowhere.txt", "local": "x"})
    error = ext.wait_for(lambda m: m.get("id") == "d2", since=at)
    assert error["type"] == "error" and "nowhere.txt does not exist" in error["message"]
    at = ext.send({"type": "no_such_request"})
    assert "bad request" in ext.wait_for(lambda m: m.get("type") == "error", since=at)["message"]


def test_cancel_from_the_sidebar_stops_a_background_run(
    ext: Extension, fake: FakeAnthropic
) -> None:
    ext.run("%load_ext rho_agent")
    fake.add(reply(text("Waiting."), tool_call("bash", {"command": "sleep 60"})))
    ext.run("%%rho --background --profile developer --yes\nslow job")
    running = ext.wait_for(
        session_state("default", lambda s: s["recent"] and s["recent"][-1]["status"] == "running")
    )
    run = running["sessions"][0]["recent"][-1]
    assert run["blocks_cell"] is False  # the cell returned: a comm message can cancel it
    # A cancel naming another run does nothing; one naming this run stops it.
    ext.send({"type": "cancel", "session": "default", "run": "run-0"})
    at = ext.send({"type": "cancel", "session": "default", "run": run["id"]})
    cancelled = ext.wait_for(
        session_state("default", lambda s: s["recent"][-1]["status"] == "cancelled"),
        since=at,
        timeout=10,
    )
    assert cancelled["sessions"][0]["status"] == "open"  # the session stays for the next run

    # Cancel all, from the command palette, stops a sidebar prompt run too.
    fake.add(reply(text("Waiting again."), tool_call("bash", {"command": "sleep 60"})))
    at = ext.send({"type": "run", "id": "r2", "prompt": "slow again"})
    ext.wait_for(session_state("default", lambda s: s["status"] == "running"), since=at)
    at = ext.send({"type": "cancel_all"})
    done = ext.wait_for(lambda m: m.get("type") == "run_done" and m["id"] == "r2", since=at)
    assert done["status"] == "cancelled"


def has_a_sandbox_id(message: dict) -> bool:
    return bool(state(message) and message["sandboxes"] and message["sandboxes"][0]["id"])


def test_end_session_deletes_its_sandbox(daytona, ext: Extension, fake: FakeAnthropic) -> None:
    ext.run("%load_ext rho_agent")
    fake.add(reply(text("Ready.")))
    ext.run("%%rho --backend daytona\nhello")
    listed = ext.wait_for(has_a_sandbox_id)  # "creating" until its id is known
    (box,) = listed["sandboxes"]
    assert box["session"] == "default" and box["kind"] == "daytona" and box["id"]
    assert len(daytona.sandboxes()) == 1
    at = ext.send({"type": "end_session", "session": "default"})
    ext.wait_for(lambda m: state(m) and not m["sandboxes"], since=at)
    deadline = time.monotonic() + 20
    while daytona.sandboxes():
        assert time.monotonic() < deadline, "the sandbox was not deleted"
        time.sleep(0.1)


def test_keep_leaves_the_sandbox_when_the_kernel_shuts_down(
    daytona, ext: Extension, fake: FakeAnthropic
) -> None:
    ext.run("%load_ext rho_agent")
    fake.add(reply(text("Local.")), reply(text("Ready.")))
    # A session with no sandbox has none to keep: a sentence says so.
    ext.run("%%rho --session here\nhello")
    at = ext.send({"type": "keep", "id": "k0", "session": "here"})
    error = ext.wait_for(lambda m: m.get("id") == "k0", since=at)
    assert error["type"] == "error" and "no sandbox to keep" in error["message"], error
    at = ext.send({"type": "keep", "id": "k00", "session": "nobody"})
    error = ext.wait_for(lambda m: m.get("id") == "k00", since=at)
    assert "There is no session 'nobody'" in error["message"], error

    ext.run("%%rho --backend daytona\nhello")
    (box,) = ext.wait_for(has_a_sandbox_id)["sandboxes"]
    assert box["kept"] is False
    at = ext.send({"type": "keep", "id": "k1", "session": "default"})
    kept = ext.wait_for(lambda m: m.get("id") == "k1", since=at)
    assert kept == {"type": "kept", "id": "k1", "session": "default", "sandbox": box["id"]}
    ext.wait_for(lambda m: state(m) and m["sandboxes"] and m["sandboxes"][0]["kept"], since=at)
    # Labelled as --keep labels it (so `rho-agent sandboxes cleanup` spares it).
    (record,) = daytona.sandboxes()
    assert record.labels.get("rho-agent-keep") == "1", record.labels

    # The kernel shuts down (as when the notebook is closed): the sandbox stays.
    ext.km.shutdown_kernel(now=False)
    try:
        assert [b.id for b in daytona.sandboxes()] == [box["id"]]
    finally:
        delete_sandbox(daytona, box["id"])


def test_a_sidebar_run_asks_the_sidebar_for_approval(
    ext: Extension, fake: FakeAnthropic, tmp_path: Path
) -> None:
    for name in ("old", "precious", "later"):
        (tmp_path / name).mkdir()
    ext.run("%load_ext rho_agent")
    ext.wait_for(state)
    fake.add(
        reply(tool_call("bash", {"command": "rm -rf old"})),
        reply(tool_call("bash", {"command": "rm -rf precious"})),
        reply(text("Removed one of two.")),
    )
    # The developer profile asks before a destructive command.
    ext.run("%rho config --profile developer")
    at = ext.send({"type": "run", "id": "r1", "prompt": "clean up"})
    asked = ext.wait_for(lambda m: m.get("type") == "approval", since=at)
    assert asked["run"] == "r1" and asked["session"] == "default" and asked["tool"] == "bash"
    assert "rm -rf old" in asked["summary"]
    at = ext.send({"type": "approve", "approval": asked["id"], "allow": True})
    ext.wait_for(lambda m: m.get("type") == "approval_done" and m["id"] == asked["id"], since=at)
    second = ext.wait_for(lambda m: m.get("type") == "approval", since=at)
    assert "rm -rf precious" in second["summary"] and second["id"] != asked["id"]
    at = ext.send({"type": "approve", "approval": second["id"], "allow": False})
    done = ext.wait_for(lambda m: m.get("type") == "run_done" and m["id"] == "r1", since=at)
    assert done["status"] == "completed" and done["text"] == "Removed one of two."
    assert not (tmp_path / "old").exists() and (tmp_path / "precious").is_dir()

    # A run cancelled while it waits for an answer ends; its question is withdrawn.
    fake.add(reply(tool_call("bash", {"command": "rm -rf later"})))
    at = ext.send({"type": "run", "id": "r2", "prompt": "one more"})
    third = ext.wait_for(lambda m: m.get("type") == "approval", since=at)
    at = ext.send({"type": "cancel", "session": "default"})
    ext.wait_for(lambda m: m.get("type") == "approval_done" and m["id"] == third["id"], since=at)
    done = ext.wait_for(lambda m: m.get("type") == "run_done" and m["id"] == "r2", since=at)
    assert done["status"] == "cancelled" and (tmp_path / "later").is_dir()


def test_cancel_reaches_a_blocking_cell_over_a_subshell(
    ext: Extension, fake: FakeAnthropic
) -> None:
    """JupyterLab sends a comm target's messages on a subshell of its own (ipykernel 7): the
    kernel reads a Cancel there while a blocking %%rho cell keeps the main shell busy."""
    ext.run("%load_ext rho_agent")
    ext.kc.control_channel.send(ext.kc.session.msg("create_subshell_request", {}))
    subshell = ext.kc.control_channel.get_msg(timeout=10)["content"]["subshell_id"]
    fake.add(reply(text("Waiting."), tool_call("bash", {"command": "sleep 60"})))
    msg_id = ext.execute("%%rho --profile developer --yes\nslow job")
    running = ext.wait_for(
        session_state("default", lambda s: s["recent"] and s["recent"][-1]["status"] == "running")
    )
    run = running["sessions"][0]["recent"][-1]
    assert run["blocks_cell"] is True
    request = ext.kc.session.msg(
        "comm_msg",
        {
            "comm_id": ext.comm_id,
            "data": {"type": "cancel", "session": "default", "run": run["id"]},
        },
    )
    request["header"]["subshell_id"] = subshell
    at = len(ext.messages)
    ext.kc.shell_channel.send(request)
    ext.wait_for(
        session_state("default", lambda s: s["recent"][-1]["status"] == "cancelled"),
        since=at,
        timeout=10,
    )
    while msg_id not in ext.idle:
        ext._pump(0.1)
    ended = ext.kc.get_shell_msg(timeout=10)["content"]
    assert ended["status"] == "error" and ended["evalue"] == "The run was cancelled."


def test_a_background_answer_goes_to_the_cell_that_started_it(
    ext: Extension, fake: FakeAnthropic
) -> None:
    ext.run("%load_ext rho_agent")
    ext.wait_for(state)
    fake.add(reply(text("Background **answer**."), delay=0.5))
    ext.run("%%rho --background\nsummarise", cell_id="cell-bg")
    answer = ext.wait_for(lambda m: m.get("type") == "answer")
    assert answer["cell_id"] == "cell-bg" and answer["kind"] == "background"
    notification, markdown, log = answer["outputs"]
    assert "background run in session 'default' finished" in notification["text/plain"]
    assert "Background **answer**." in markdown["text/markdown"]
    assert "completed" in log["text/plain"]
    # The extension wrote it into that cell: the next cell does not show it again.
    ext.send({"type": "delivered", "answer": answer["id"]})
    assert ext.displayed_by("print('next')") == []

    # Not acknowledged (no extension wrote it): the next cell shows it, as without one.
    fake.add(reply(text("Second answer."), delay=0.5))
    ext.run("%%rho --background\nagain", cell_id="cell-bg2")
    second = ext.wait_for(lambda m: m.get("type") == "answer" and m["cell_id"] == "cell-bg2")
    outputs = ext.displayed_by("print('next')")
    assert any("Second answer." in o.get("text/plain", "") for o in outputs), outputs
    assert second["id"] != answer["id"]


def test_a_panel_answer_goes_to_the_cell_that_shows_the_panel(
    ext: Extension, fake: FakeAnthropic
) -> None:
    pytest.importorskip("ipywidgets")
    ext.run("%load_ext rho_agent")
    ext.wait_for(state)
    ext.run(
        "import rho_agent.notebook\npanel = rho_agent.notebook.Panel()\npanel", cell_id="cell-panel"
    )
    fake.add(reply(text("Panel **answer**."), delay=0.3))
    ext.run("handle = panel.run('hello')", cell_id="cell-other")  # as its Run button does
    answer = ext.wait_for(lambda m: m.get("type") == "answer")
    assert answer["cell_id"] == "cell-panel" and answer["kind"] == "panel"
    assert "Panel **answer**." in answer["outputs"][1]["text/markdown"]


def test_a_panel_shown_by_the_cell_that_loads_rho_gets_its_answer(
    ext: Extension, fake: FakeAnthropic
) -> None:
    """`%load_ext` and the Panel in one cell: the link starts following cells during that
    cell, and still knows which cell it is."""
    pytest.importorskip("ipywidgets")
    ext.run(
        "%load_ext rho_agent\nimport rho_agent.notebook\npanel = rho_agent.notebook.Panel()\npanel",
        cell_id="cell-load-and-panel",
    )
    ext.wait_for(state)
    fake.add(reply(text("Panel **answer**."), delay=0.3))
    ext.run("handle = panel.run('hello')", cell_id="cell-other")
    answer = ext.wait_for(lambda m: m.get("type") == "answer")
    assert answer["cell_id"] == "cell-load-and-panel" and answer["kind"] == "panel"
