"""A plugin outside rho_agent adds a backend and a tool through its own entry points.

`tests/plugin_package` is a separate distribution (`rho-demo-plugin`). It is pip-installed
into a temporary directory that only the subprocesses below see (PYTHONPATH), so this test
process and the rest of the suite never load it. Through it, the CLI, a `%%rho` cell and the
Python API run on its `scratch` backend and call its `web_fetch` tool; the approval is asked
with the tool's own reason and the CLI shows the tool's own summary.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from rho_agent.testing import FakeAnthropic, reply, text, tool_call

PACKAGE = Path(__file__).resolve().parent / "plugin_package"
PAGE = b"hello from the web"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("plugin-site")
    build = tmp_path_factory.mktemp("plugin-build") / "src"
    shutil.copytree(PACKAGE, build)  # setuptools builds in the tree: keep the repo's clean
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
         "--disable-pip-version-check", "--target", str(target), str(build)],
        check=True,
        cwd=build,
        capture_output=True,
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def page_url() -> Iterator[str]:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/page"
    server.shutdown()


def _env(plugin_path: Path, fake: FakeAnthropic, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        **fake.env(),
        "PYTHONPATH": str(plugin_path),
        "RHO_AGENT_HOME": str(home),
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
    }


def _script(url: str) -> list:
    return [
        reply(tool_call("read", {"path": "SEED.txt"}), tool_call("web_fetch", {"url": url})),
        reply(text("The page says hello.")),
    ]


def _tool_results(fake: FakeAnthropic) -> list[str]:
    blocks = fake.requests[1].messages[-1]["content"]
    return [json.dumps(b.get("content")) for b in blocks if b.get("type") == "tool_result"]


def test_cli_runs_on_the_plugin_backend_and_asks_with_the_tools_reason(
    plugin_path: Path, page_url: str, tmp_path: Path
) -> None:
    with FakeAnthropic(_script(page_url)) as fake:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "rho_agent", "main", "--backend", "scratch", "--seed", "planted",
             "--profile", "developer", "what does the page say?"],
            env={**_env(plugin_path, fake, tmp_path / "home"), "TERM": "dumb"},
            cwd=str(tmp_path),
            encoding="utf-8",
            timeout=30,
            dimensions=(40, 200),
        )  # fmt: skip
        child.expect_exact(
            f"web_fetch: GET {page_url} needs approval: downloads {page_url} from the network"
        )
        child.expect_exact("[y/N]")
        child.sendline("y")
        child.expect_exact(f"→ web_fetch: GET {page_url}")
        child.expect_exact("The page says hello.")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        tools = [t["name"] for t in fake.requests[0].body["tools"]]
        results = _tool_results(fake)
    assert "web_fetch" in tools
    assert "planted" in results[0] and PAGE.decode() in results[1]


def test_cli_help_lists_the_backend_and_its_option(plugin_path: Path, tmp_path: Path) -> None:
    with FakeAnthropic() as fake:
        out = subprocess.run(
            [sys.executable, "-m", "rho_agent", "main", "--help"],
            env={**_env(plugin_path, fake, tmp_path), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    assert "local, daytona or scratch" in out
    assert "--seed TEXT" in out and "scratch: text to write to SEED.txt" in out


def test_readonly_is_not_offered_the_network_tool(
    plugin_path: Path, page_url: str, tmp_path: Path
) -> None:
    with FakeAnthropic([reply(text("ok"))]) as fake:
        proc = subprocess.run(
            [sys.executable, "-m", "rho_agent", "main", "--backend", "scratch", "hi"],
            env=_env(plugin_path, fake, tmp_path / "home"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        tools = [t["name"] for t in fake.requests[0].body["tools"]]
    assert "read" in tools and "web_fetch" not in tools


def test_a_notebook_cell_uses_the_plugin_backend_and_tool(
    plugin_path: Path, page_url: str, tmp_path: Path
) -> None:
    cell = """
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "rho_agent")
shell.run_cell_magic("rho", "--backend scratch --seed planted --profile developer --yes --out r", "fetch it")
print("STATUS", shell.user_ns["r"].status)
from rho_agent.notebook.registry import reset_registry
reset_registry()
"""
    with FakeAnthropic(_script(page_url)) as fake:
        proc = subprocess.run(
            [sys.executable, "-c", cell],
            env=_env(plugin_path, fake, tmp_path / "home"),
            cwd=str(tmp_path),
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert proc.returncode == 0, proc.stderr
        results = _tool_results(fake)
    assert "STATUS completed" in proc.stdout
    assert f"web_fetch: GET {page_url}" in proc.stdout  # the tool log shows its summary
    assert "planted" in results[0] and PAGE.decode() in results[1]


def test_the_python_api_uses_them_and_the_approver_sees_the_reason(
    plugin_path: Path, page_url: str, tmp_path: Path
) -> None:
    program = f"""
import asyncio
from rho_agent import Agent, AgentConfig, Session

asked = []

async def approve(name, tool_input):
    asked.append(name)
    return True

async def main():
    reasons = []
    agent = Agent(AgentConfig(backend="scratch", profile="developer"))
    async with Session(agent, approver=approve) as session:
        session.subscribe(lambda e: reasons.append(e.reason) if e.type == "approval_requested" else None)
        await session.workspace.write_bytes(session.workspace.resolve("SEED.txt"), b"planted")
        result = await session.run("fetch {page_url}")
        print("KIND", session.workspace.kind, "STATUS", result.status)
    print("ASKED", asked, "REASONS", reasons)

asyncio.run(main())
"""
    with FakeAnthropic(_script(page_url)) as fake:
        proc = subprocess.run(
            [sys.executable, "-c", program],
            env=_env(plugin_path, fake, tmp_path / "home"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        results = _tool_results(fake)
    assert "KIND scratch STATUS completed" in proc.stdout
    assert f"ASKED ['web_fetch'] REASONS ['downloads {page_url} from the network']" in proc.stdout
    assert "planted" in results[0] and PAGE.decode() in results[1]
