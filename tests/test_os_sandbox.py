"""The OS sandbox holds: an attacker's corpus through the real `bash` tool under `readonly`
leaves no marker, changes no file and opens no connection, locally and on LocalDaytona,
with the parser on and with it off (the sandbox alone). Secrets stay out of reach of
commands under every profile."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import _daytona
import attack_corpus
import pytest
from _fixtures import run_cli, snapshot

from rho_agent.backends import LocalBackend, OpenRequest
from rho_agent.permissions.profile import BUILTIN_PROFILES, READONLY, Profile
from rho_agent.sandbox import SandboxMode
from rho_agent.sandbox._landlock import abi_version
from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call
from rho_agent.tools import BashTool, ToolContext
from rho_agent.tools.handlers.daytona import DaytonaBackend

daytona_server = _daytona.daytona_server  # fixtures
daytona = _daytona.daytona

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


class Listener:
    """A listener that counts the connections it accepts: TCP on 127.0.0.1, or `sock`."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self.sock = sock or socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1] if self.sock.family == socket.AF_INET else 0
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def hostile_repo(root: Path) -> Path:
    """A working dir that is a hostile git repository, with its marker directory inside."""
    root.mkdir()
    markers = root / "markers"
    subprocess.run(
        ["bash", "-c", attack_corpus.setup_script(str(markers))], cwd=root, check=True,
        capture_output=True,
    )  # fmt: skip
    return root


async def run_corpus(ctx: ToolContext, commands: list[tuple[str, str]]) -> dict[str, str]:
    """command → what the model saw, eight at a time."""
    tool = BashTool()
    gate = asyncio.Semaphore(8)

    async def one(command: str) -> tuple[str, str]:
        async with gate:
            return command, (await tool({"command": command, "timeout": 5}, ctx)).text

    return dict(await asyncio.gather(*(one(c) for _, c in commands)))


def corpus_for(work: str, port: int) -> list[tuple[str, str]]:
    return attack_corpus.commands(
        marker_dir=f"{work}/markers", victim=f"{work}/victim.txt", work=work, port=port
    )


def test_the_corpus_is_large_and_covers_every_root_cause() -> None:
    cases = corpus_for("/w", 1)
    assert len(cases) >= 150
    assert {cause for cause, _ in cases} == set(attack_corpus.CORPUS)
    assert all(len(t) >= 10 for t in attack_corpus.CORPUS.values())


async def local_corpus(
    tmp_path: Path, listener: Listener, *, shell_policy: bool, mechanism: str = "bubblewrap"
) -> None:
    work = hostile_repo(tmp_path / "work")
    before = snapshot(work)
    workspace = await LocalBackend().open(
        OpenRequest(session_id="attack", working_dir=str(work), confinement=READONLY.confinement())
    )
    ctx = ToolContext(
        workspace=workspace, profile=READONLY, bash_timeout=5, shell_policy=shell_policy
    )
    try:
        results = await run_corpus(ctx, corpus_for(str(work), listener.port))
        await asyncio.sleep(1.5)  # background payloads that wait a second first
        allowed = await BashTool()({"command": "cat victim.txt"}, ctx)
    finally:
        await workspace.close()
    assert allowed.text == "alpha\nbeta"
    assert workspace.sandbox.mechanism == mechanism
    assert sorted(p.name for p in (work / "markers").iterdir()) == []
    assert snapshot(work) == before, "a command changed the working dir"
    assert listener.connections == 0
    if not shell_policy:  # the sandbox, not the parser, stopped them: most really ran
        blocked = ("Read-only file system", "Permission denied")  # bwrap, Landlock
        refused = [c for c, out in results.items() if any(b in out for b in blocked)]
        assert len(refused) > 50


@needs_bwrap
async def test_corpus_leaves_no_trace_locally(tmp_path: Path, listener: Listener) -> None:
    await local_corpus(tmp_path, listener, shell_policy=True)


@needs_bwrap
async def test_corpus_leaves_no_trace_locally_with_the_parser_off(
    tmp_path: Path, listener: Listener
) -> None:
    await local_corpus(tmp_path, listener, shell_policy=False)


@pytest.mark.skipif(abi_version() < 4, reason="needs Landlock ABI 4 (TCP rules)")
async def test_landlock_alone_holds_the_filesystem_and_tcp(
    tmp_path: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where bwrap cannot run, Landlock is the fallback: the same corpus, parser off."""
    monkeypatch.setenv("RHO_AGENT_SANDBOX", "landlock")
    await local_corpus(tmp_path, listener, shell_policy=False, mechanism="landlock")


@pytest.mark.parametrize("mechanism", ["bubblewrap", "landlock"])
async def test_readonly_commands_cannot_reach_a_unix_socket_they_can_see(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mechanism: str
) -> None:
    """A daemon's socket in the working dir is on a read-only mount, yet connectable; the
    seccomp filter refuses Unix sockets to commands without network. Parser off."""
    if mechanism == "bubblewrap" and shutil.which("bwrap") is None:
        pytest.skip("needs bubblewrap")
    if mechanism == "landlock" and abi_version() < 1:
        pytest.skip("needs Landlock")
    monkeypatch.setenv("RHO_AGENT_SANDBOX", mechanism)
    work = tmp_path / "work"
    work.mkdir()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(work / "daemon.sock"))
    sock.listen()
    daemon = Listener(sock)
    connect = (
        "python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); "
        f's.connect("{work}/daemon.sock"); print("connected")\''
    )
    try:
        for profile in (READONLY, BUILTIN_PROFILES["developer"]):
            workspace = await LocalBackend().open(
                OpenRequest(session_id="unix", working_dir=str(work),
                            confinement=profile.confinement())
            )  # fmt: skip
            ctx = ToolContext(workspace=workspace, profile=profile, shell_policy=False)
            result = await BashTool()({"command": connect}, ctx)
            await workspace.close()
            if profile is READONLY:
                assert "Permission denied" in result.text and daemon.connections == 0
            else:  # with the network on, sockets work as ever: the test can fail
                assert result.text == "connected"
                assert daemon.connections == 1
    finally:
        daemon.close()


REPO = "/home/daytona/repo"


@pytest.mark.parametrize("shell_policy", [True, False], ids=["parser-on", "parser-off"])
async def test_corpus_leaves_no_trace_on_local_daytona(
    daytona: LocalDaytona, listener: Listener, shell_policy: bool
) -> None:
    backend = DaytonaBackend(uploads=[], working_dir=REPO)
    workspace = await backend.open(
        OpenRequest(session_id="attack", working_dir=None, confinement=READONLY.confinement())
    )
    try:
        await workspace.ready()
        setup = await workspace.exec(
            attack_corpus.setup_script(f"{REPO}/markers"), cwd=REPO, confined=False
        )
        assert setup.exit_code == 0, setup.output
        (box,) = daytona.sandboxes()
        root = box.root / REPO.lstrip("/")
        before = snapshot(root)
        ctx = ToolContext(
            workspace=workspace, profile=READONLY, bash_timeout=5, shell_policy=shell_policy
        )
        results = await run_corpus(ctx, corpus_for(REPO, listener.port))
        await asyncio.sleep(1.5)
        allowed = await BashTool()({"command": "cat victim.txt"}, ctx)
        assert allowed.text == "alpha\nbeta"  # the sandbox runs what it should
        assert sorted(p.name for p in (root / "markers").iterdir()) == []
        assert snapshot(root) == before, "a command changed the sandbox's working dir"
        assert listener.connections == 0
        # Unconfined, the same sandbox lets a command write and connect: the test can fail.
        probe = await workspace.exec(f"touch {REPO}/markers/probe", confined=False)
        assert probe.exit_code == 0 and (root / "markers" / "probe").exists()
        if not shell_policy:
            assert sum("Read-only file system" in out for out in results.values()) > 50
    finally:
        await workspace.close()


@pytest.mark.parametrize("mode", [SandboxMode.required, SandboxMode.auto])
async def test_without_bwrap_in_the_image_required_refuses_and_auto_warns(
    daytona: LocalDaytona, mode: SandboxMode
) -> None:
    daytona.missing_programs = ("/usr/bin/bwrap",)
    notices: list[str] = []

    async def notify(message: str) -> None:
        notices.append(message)

    profile = Profile(
        name="ro", sandbox=mode, shell=READONLY.shell, shell_writes=READONLY.shell_writes
    )
    backend = DaytonaBackend(uploads=[], working_dir=REPO)
    workspace = await backend.open(
        OpenRequest(session_id="no-bwrap", working_dir=None, notify=notify,
                    confinement=profile.confinement())
    )  # fmt: skip
    try:
        ctx = ToolContext(workspace=workspace, profile=profile, bash_timeout=5)
        first = await BashTool()({"command": "echo hi"}, ctx)
        second = await BashTool()({"command": "echo hi"}, ctx)
    finally:
        daytona.missing_programs = ()
        await workspace.close()
    if mode is SandboxMode.required:
        assert (
            first.is_error and "requires an OS sandbox" in first.text and "bubblewrap" in first.text
        )
        assert notices == [] or all("WARNING" not in n for n in notices)
    else:
        assert first.text == second.text == "hi"
        warnings = [n for n in notices if "UNCONFINED" in n]
        assert len(warnings) == 1 and "bubblewrap" in warnings[0]


def test_unconfined_commands_do_leave_markers(tmp_path: Path, listener: Listener) -> None:
    """The corpus is live: run without any sandbox, its payloads do write and connect."""
    work = hostile_repo(tmp_path / "work")
    for _, command in corpus_for(str(work), listener.port)[:40]:
        subprocess.run(["bash", "-c", command], cwd=work, capture_output=True, timeout=10,
                       stdin=subprocess.DEVNULL)  # fmt: skip
    assert len(list((work / "markers").iterdir())) > 20
    subprocess.run(
        ["bash", "-c", f"echo > /dev/tcp/127.0.0.1/{listener.port}"], check=True, timeout=10
    )
    deadline = time.monotonic() + 5
    while listener.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connections == 1


# ---------------------------------------------------------------- secrets under every profile

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-test-abcdef0123456789",
    "MY_SERVICE_TOKEN": "tok-5e1f2a9b7c",
}


@needs_bwrap
@pytest.mark.parametrize("profile", list(BUILTIN_PROFILES))
def test_commands_cannot_see_the_agents_secrets(
    profile: str, project: Path, rho_home: Path
) -> None:
    """The agent (a real CLI process with secrets in its environment) runs commands that
    look for them: its own /proc entry, every process's environment, its own env."""
    probes = [
        "cat /proc/$PPID/environ; echo",
        "cat /proc/1/environ; echo",
        "for p in /proc/[0-9]*; do cat $p/environ 2>/dev/null; echo; done",
        "ps eww -A",
        "env",
    ]
    script = [reply(*(tool_call("bash", {"command": c}) for c in probes)), reply(text("done"))]
    with FakeAnthropic(script) as fake:
        env = {**fake.env(), **SECRETS}
        env["ANTHROPIC_API_KEY"] = fake.env()["ANTHROPIC_API_KEY"]
        secret_values = [env["ANTHROPIC_API_KEY"], SECRETS["MY_SERVICE_TOKEN"]]
        run = run_cli("main", "--profile", profile, "--yes", "--working-dir", str(project), "look",
                      env=env)  # fmt: skip
        assert run.returncode == 0, run.stderr
        results = [r for req in fake.requests for r in req.tool_results]
    assert len(results) == len(probes)
    outputs = "\n".join(str(r["content"]) for r in results)
    assert "PATH=" in outputs  # the probes did run and print environments
    for value in secret_values:
        assert value not in outputs


# ---------------------------------------------------------------- modes and messages


@needs_bwrap
async def test_developer_writes_the_working_dir_only(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    outside = tmp_path / "outside.txt"  # under /tmp: lands in the private /tmp instead
    elsewhere = Path(f"/var/tmp/rho-agent-test-{os.getpid()}-{time.monotonic_ns()}")
    developer = BUILTIN_PROFILES["developer"]
    workspace = await LocalBackend().open(
        OpenRequest(session_id="dev", working_dir=str(work), confinement=developer.confinement())
    )
    try:
        done = await workspace.exec(
            f"echo in > inside.txt; echo out > {outside}; echo x > {elsewhere}; "
            "echo t > /tmp/t; cat /tmp/t"
        )
        again = await workspace.exec("cat /tmp/t")  # the private /tmp lasts for the session
    finally:
        await workspace.close()
    assert (work / "inside.txt").read_text() == "in\n"
    assert not outside.exists()
    assert not elsewhere.exists()
    assert "Read-only file system" in done.output
    assert done.output.endswith("t\n") and again.output == "t\n"


async def test_required_refuses_and_auto_warns_once_without_a_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    monkeypatch.setattr("rho_agent.sandbox._bubblewrap.find_bwrap", lambda: None)
    monkeypatch.setattr("rho_agent.sandbox._landlock.abi_version", lambda: 0)
    tool = BashTool()
    required = READONLY
    auto = Profile(name="lenient", sandbox=SandboxMode.auto, shell=required.shell)
    notices: list[str] = []

    async def notify(message: str) -> None:
        notices.append(message)

    for profile in (required, auto):
        workspace = await LocalBackend().open(
            OpenRequest(session_id="x", working_dir=str(tmp_path), notify=notify,
                        confinement=profile.confinement())
        )  # fmt: skip
        ctx = ToolContext(workspace=workspace, profile=profile)
        first = await tool({"command": "echo hi"}, ctx)
        second = await tool({"command": "echo hi"}, ctx)
        await workspace.close()
        if profile is required:
            assert first.is_error and "requires an OS sandbox" in first.text
            assert "bubblewrap is not installed" in first.text
            assert notices == []
        else:
            assert first.text == second.text == "hi"
            assert len(notices) == 1 and "UNCONFINED" in notices[0]


def test_profiles_declare_network_and_sandbox(tmp_path: Path) -> None:
    from rho_agent.permissions.profile import load_profile_file

    path = tmp_path / "ci.toml"
    path.write_text(
        'shell = "unrestricted"\nnetwork = true\nsandbox = "auto"\nwritable_paths = ["~/.cache"]\n'
    )
    profile = load_profile_file(path)
    conf = profile.confinement()
    assert conf.network and conf.mode is SandboxMode.auto
    assert conf.extra_writable == (os.path.expanduser("~/.cache"),)
    assert not READONLY.confinement().network
    assert READONLY.confinement().mode is SandboxMode.required
