"""Tools describe themselves: capability, approval reason, summary; profiles grant capabilities.

A tool registered in-process (or through the `rho_agent.tools` entry points) is offered,
asked about and shown by what it declares; the runner and the renderers name no tool.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from rho_agent import Agent, AgentConfig, Session
from rho_agent.backends import LocalWorkspace
from rho_agent.events import ApprovalRequested, Event, ToolCallStarted, ToolDenied
from rho_agent.permissions.profile import (
    DEVELOPER,
    READONLY,
    UNRESTRICTED,
    ApprovalMode,
    FileWriteMode,
    Profile,
    ShellMode,
)
from rho_agent.testing import FakeAnthropic, reply, text, tool_call
from rho_agent.tool_calls import ToolCallRunner, approval_reason
from rho_agent.tools import (
    Capability,
    Tool,
    ToolContext,
    ToolResult,
    WriteTool,
    build_tools,
    register_tool,
    summarize_call,
    tool_class,
    unregister_tool,
)
from rho_agent.tools._write import WriteParams


class PingParams(BaseModel):
    host: str = Field(description="Host to ping.")
    count: int = Field(default=1, ge=1, description="How many pings.")


class PingTool(Tool):
    name = "ping_test"
    description = "Ping a host (test tool)."
    Params = PingParams
    capability = Capability.network

    async def approval_reason(self, params: PingParams, ctx: ToolContext) -> str | None:
        return None if params.host == "localhost" else f"sends packets to {params.host}"

    def summary(self, tool_input: Mapping[str, Any]) -> str:
        return f"PING {tool_input.get('host', '?')}"

    async def run(self, params: PingParams, ctx: ToolContext) -> ToolResult:
        return ToolResult(f"{params.host} is alive")


@pytest.fixture
def ping() -> Iterator[type[PingTool]]:
    register_tool(PingTool)
    try:
        yield PingTool
    finally:
        unregister_tool(PingTool.name)


def names(profile: Profile, **kw: Any) -> list[str]:
    return [t.name for t in build_tools(profile, **kw)]


# --- capabilities and profiles --------------------------------------------------------


def test_profiles_grant_capabilities() -> None:
    grants = {
        p.name: {c.value for c in Capability if p.grants(c)}
        for p in (READONLY, DEVELOPER, UNRESTRICTED)
    }
    assert grants == {
        "readonly": {"read", "exec"},
        "developer": {"read", "write", "exec", "network"},
        "unrestricted": {"read", "write", "exec", "network"},
    }
    bare = Profile(name="bare", shell=ShellMode.off, file_write=FileWriteMode.off)
    assert [c for c in Capability if bare.grants(c)] == [Capability.read]


def test_built_in_tools_declare_capabilities() -> None:
    tools = {t.name: t for t in build_tools(UNRESTRICTED, databases={"db": "x.db"})}
    assert {n: t.capability.value for n, t in tools.items()} == {
        "bash": "exec",
        "read": "read",
        "write": "write",
        "edit": "write",
        "glob": "read",
        "grep": "read",
        "list": "read",
        "sql_tables": "read",
        "sql_describe": "read",
        "sql_query": "write",
    }
    assert all(t.read_only == (t.capability is Capability.read) for t in tools.values())


def test_a_network_tool_is_offered_only_where_the_profile_has_network(ping: type) -> None:
    assert names(DEVELOPER)[-1] == "ping_test"
    assert names(UNRESTRICTED)[-1] == "ping_test"
    assert "ping_test" not in names(READONLY)
    assert "ping_test" in names(READONLY.model_copy(update={"network": True}))
    assert tool_class("ping_test") is PingTool


def test_offered_narrows_what_the_capability_grants() -> None:
    class Probe(Tool):
        name = "probe_test"
        description = "test"
        Params = PingParams
        capability = Capability.exec

        async def run(self, params: Any, ctx: ToolContext) -> ToolResult:
            return ToolResult("")

    register_tool(Probe, offered=lambda profile, dbs: "x" in dbs)
    try:
        assert "probe_test" not in names(DEVELOPER)
        assert "probe_test" in names(DEVELOPER, databases={"x": "x.db"})
        no_shell = DEVELOPER.model_copy(update={"shell": ShellMode.off})
        assert "probe_test" not in names(no_shell, databases={"x": "x.db"})
    finally:
        unregister_tool("probe_test")
    assert tool_class("probe_test") is None


def test_a_tool_must_declare_its_capability() -> None:
    class Vague(Tool):
        name = "vague_test"
        description = "test"
        Params = PingParams

        async def run(self, params: Any, ctx: ToolContext) -> ToolResult:
            return ToolResult("")

    with pytest.raises(TypeError, match="capability"):
        register_tool(Vague)
    assert tool_class("vague_test") is None


def test_read_only_before_capabilities_still_means_read() -> None:
    class Old(Tool):
        name = "old_test"
        description = "test"
        Params = PingParams
        read_only = True

        async def run(self, params: Any, ctx: ToolContext) -> ToolResult:
            return ToolResult("")

    assert Old.capability is Capability.read and Old().read_only


# --- approvals ------------------------------------------------------------------------


async def _session_events(
    project: Path, profile: Profile | str, calls: list[dict[str, Any]], approve: bool = True
) -> list[Event]:
    events: list[Event] = []
    asked: list[str] = []

    async def approver(name: str, tool_input: dict[str, Any]) -> bool:
        asked.append(name)
        return approve

    script = [reply(tool_call(c["name"], c["input"])) for c in calls] + [reply(text("ok"))]
    with FakeAnthropic(script) as fake:
        config = AgentConfig(
            base_url=fake.base_url,
            api_key="test-key",
            working_dir=str(project),
            profile=profile,
            auto_approve=False,
        )
        async with Session(
            Agent(config), approver=approver, on_event=events.append, persist=False
        ) as session:
            result = await session.run("go")
        fake.assert_done()
    assert result.status == "completed", result.error
    return events


async def test_dangerous_mode_asks_with_the_tools_own_reason(ping: type, project: Path) -> None:
    calls = [
        {"name": "ping_test", "input": {"host": "example.org"}},
        {"name": "ping_test", "input": {"host": "localhost"}},  # its reason: None
        {"name": "ping_test", "input": {"host": 42}},  # invalid: not asked, fails validation
    ]
    events = await _session_events(project, "developer", calls)
    requests = [e for e in events if isinstance(e, ApprovalRequested)]
    assert [(e.name, e.reason) for e in requests] == [("ping_test", "sends packets to example.org")]
    assert len([e for e in events if isinstance(e, ToolCallStarted)]) == 3


async def test_all_mode_asks_every_network_call(ping: type, project: Path) -> None:
    careful = DEVELOPER.model_copy(update={"name": "careful", "approvals": ApprovalMode.all})
    calls = [
        {"name": "ping_test", "input": {"host": "example.org"}},
        {"name": "ping_test", "input": {"host": "localhost"}},
        {"name": "read", "input": {"path": "nothing.txt"}},
    ]
    events = await _session_events(project, careful, calls, approve=False)
    reasons = [e.reason for e in events if isinstance(e, ApprovalRequested)]
    assert reasons == ["sends packets to example.org", "ping_test uses the network"]
    assert len([e for e in events if isinstance(e, ToolDenied)]) == 2


async def test_approval_modes_in_the_runner(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=LocalWorkspace(tmp_path), profile=DEVELOPER)
    bash, write = (tool_class(n)() for n in ("bash", "write"))  # type: ignore[misc]

    async def reason(profile: Profile, tool: Tool, tool_input: dict[str, Any]) -> str | None:
        return await approval_reason(profile, tool, tool_input, ctx)

    def mode(m: ApprovalMode, *tools: str) -> Profile:
        return DEVELOPER.model_copy(update={"approvals": m, "approval_tools": tools})

    rm = {"command": "rm -rf ./build"}
    assert await reason(mode(ApprovalMode.none), bash, rm) is None
    assert await reason(mode(ApprovalMode.listed, "write"), bash, rm) is None
    assert (
        await reason(mode(ApprovalMode.listed, "bash"), bash, rm) == "bash is listed for approval"
    )
    assert await reason(mode(ApprovalMode.all), bash, {"command": "ls"}) == (
        "bash can change the workspace"
    )
    assert await reason(mode(ApprovalMode.dangerous), bash, {"command": "ls"}) is None
    assert "rm" in (await reason(mode(ApprovalMode.dangerous), bash, rm) or "")
    assert await reason(mode(ApprovalMode.dangerous), bash, {"command": 7}) is None  # invalid
    inside = {"path": "a.txt", "content": ""}
    assert await reason(mode(ApprovalMode.dangerous), write, inside) is None


async def test_a_writes_default_reason_outside_the_working_dir_is_unchanged(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    ctx = ToolContext(workspace=LocalWorkspace(work), profile=DEVELOPER)
    outside = str(tmp_path / "x.txt")
    assert await WriteTool().approval_reason(WriteParams(path=outside, content=""), ctx) == (
        f"writes outside the working directory ({outside})"
    )
    assert await WriteTool().approval_reason(WriteParams(path="../x.txt", content=""), ctx) == (
        f"writes outside the working directory (../x.txt, which leads to {outside})"
    )
    assert await WriteTool().approval_reason(WriteParams(path="in.txt", content=""), ctx) is None


# --- malformed calls --------------------------------------------------------------------


async def test_malformed_calls_become_error_results(tmp_path: Path) -> None:
    ctx = ToolContext(workspace=LocalWorkspace(tmp_path), profile=UNRESTRICTED)
    events: list[Event] = []

    async def emit(event: Event) -> None:
        events.append(event)

    tools = build_tools(UNRESTRICTED)
    runner = ToolCallRunner(tools, ctx, emit, auto_approve=False, approver=None)
    (tmp_path / "a.txt").write_text("hello\n")
    calls: list[dict[str, Any]] = [
        {"type": "tool_use", "id": "t1", "input": {"path": "a.txt"}},  # no name
        {"type": "tool_use", "id": "t2", "name": "read", "input": ["a.txt"]},  # not an object
        {"type": "tool_use", "id": "t3", "name": 5, "input": {}},
        {"type": "tool_use", "id": "t4", "name": "read", "input": {"path": "a.txt"}},
    ]
    results: dict[str, dict[str, Any]] = {}
    await runner.run_all(calls, results)
    assert list(results) == ["t1", "t2", "t3", "t4"]
    for call_id in ("t1", "t2", "t3"):
        assert results[call_id]["is_error"], results[call_id]
        assert "Malformed tool call" in results[call_id]["content"]
    assert "object" in results["t2"]["content"]
    assert "hello" in results["t4"]["content"] and not results["t4"].get("is_error")
    assert [e.id for e in events if isinstance(e, ToolDenied)] == ["t1", "t2", "t3"]


# --- summaries --------------------------------------------------------------------------


def test_summarize_call_uses_the_tools_own_summary(ping: type) -> None:
    assert summarize_call("ping_test", {"host": "example.org"}) == "ping_test: PING example.org"
    assert summarize_call("ping_test", {}) == "ping_test: PING ?"
    assert summarize_call("ping_test", "not a dict") == "ping_test: PING ?"


@pytest.mark.parametrize(
    ("name", "tool_input", "shown"),
    [
        ("bash", {"command": "pytest  -q\n"}, "bash: pytest -q"),
        ("grep", {"pattern": "TODO", "path": "src"}, "grep: TODO"),
        ("glob", {"pattern": "**/*.py"}, "glob: **/*.py"),
        ("read", {"path": "a.py", "offset": 3}, "read: a.py"),
        ("write", {"path": "a.py", "content": "x"}, "write: a.py"),
        ("edit", {"path": "a.py", "old_string": "a", "new_string": "b"}, "edit: a.py"),
        ("list", {"path": "src"}, "list: src"),
        ("list", {}, "list"),
        ("sql_query", {"sql": "select 1"}, "sql_query: select 1"),
        ("sql_tables", {}, "sql_tables"),
        ("bash", {"command": 3}, "bash"),  # invalid input is shown too, never raises
        ("bash", None, "bash"),
        ("mystery", {"query": "q"}, "mystery: q"),  # an unknown tool: the generic fallback
        ("mystery", {"path": "p", "sql": "s"}, "mystery: p"),
    ],
)
def test_built_in_summaries(name: str, tool_input: Any, shown: str) -> None:
    assert summarize_call(name, tool_input) == shown


def test_summaries_are_cut_and_redacted() -> None:
    assert summarize_call("bash", {"command": "x" * 100}, width=10) == "bash: xxxxxxx..."
    from rho_agent.cli.render import summarize_call as old_path

    assert old_path is summarize_call


# --- entry points -----------------------------------------------------------------------

DEMO_MODULE = """
from pydantic import BaseModel, Field
from rho_agent.tools import Capability, Tool, ToolResult


class Params(BaseModel):
    url: str = Field(description="A URL.")


class DemoFetch(Tool):
    name = "demo_fetch"
    description = "Fetch a URL (demo)."
    Params = Params
    capability = Capability.network

    def summary(self, tool_input):
        return "GET " + str(tool_input.get("url"))

    async def run(self, params, ctx):
        return ToolResult(params.url)
"""

PROBE = """
import sys
from rho_agent.errors import ConfigError
from rho_agent.permissions.profile import DEVELOPER, READONLY
from rho_agent.tools import build_tools, summarize_call
try:
    print("DEVELOPER", *[t.name for t in build_tools(DEVELOPER)])
    print("READONLY", *[t.name for t in build_tools(READONLY)])
    print("SUMMARY", summarize_call("demo_fetch", {"url": "http://x"}))
except ConfigError as exc:
    print("CONFIG-ERROR", exc)
"""


def _run_with_entry_points(tmp_path: Path, entry_points: str) -> str:
    site = tmp_path / "site"
    info = site / "demo_tools-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-tools\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    (site / "demo_tools.py").write_text(DEMO_MODULE)
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_tool_from_an_entry_point_is_offered_by_its_capability(tmp_path: Path) -> None:
    out = _run_with_entry_points(
        tmp_path, "[rho_agent.tools]\ndemo_fetch = demo_tools:DemoFetch\n"
    ).splitlines()
    assert out[0].split()[-1] == "demo_fetch"
    assert "demo_fetch" not in out[1].split()
    assert out[2] == "SUMMARY demo_fetch: GET http://x"


@pytest.mark.parametrize(
    ("entry_point", "says"),
    [
        ("demo_fetch = demo_tools:Missing", "demo_fetch = demo_tools:Missing"),
        ("demo_fetch = no_such_module:Tool", "no_such_module"),
        ("other_name = demo_tools:DemoFetch", "names must match"),
        ("read = demo_tools:DemoFetch", "names must match"),
        ("demo_fetch = demo_tools:Params", "not a subclass"),
    ],
)
def test_a_broken_entry_point_is_a_config_error_naming_it(
    tmp_path: Path, entry_point: str, says: str
) -> None:
    out = _run_with_entry_points(tmp_path, f"[rho_agent.tools]\n{entry_point}\n")
    assert out.startswith("CONFIG-ERROR"), out
    assert says in out and "rho_agent.tools" in out
