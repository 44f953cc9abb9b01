"""Backends by name: registering in code, entry points, and the RemoteWorkspace base."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rho_agent.agent import Agent
from rho_agent.backends import (
    BackendPlugin,
    ExecResult,
    LocalBackend,
    RemoteWorkspace,
    _registry,
    backend_names,
    backend_plugin,
    register_backend,
    resolve_backend,
)
from rho_agent.config import AgentConfig
from rho_agent.errors import ConfigError, SandboxError
from rho_agent.options import Option


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test registers into a copy of the registry."""
    monkeypatch.setattr(_registry, "_registered", dict(_registry._registered))


@dataclass
class MineBackend(LocalBackend):
    name: str = field(default="mine", init=False)


def test_a_registered_backend_is_used_by_name() -> None:
    register_backend("mine", MineBackend, description="Local, by another name.")
    assert "mine" in backend_names()
    agent = Agent(AgentConfig(backend="mine"))
    assert isinstance(agent.backend, MineBackend) and agent.backend.name == "mine"
    assert isinstance(resolve_backend(None), LocalBackend)


def test_names_are_unique() -> None:
    register_backend("mine", MineBackend)
    with pytest.raises(ValueError, match="'mine' is already registered"):
        register_backend("mine", MineBackend)
    with pytest.raises(ValueError, match="'local' is already registered"):
        register_backend("local", MineBackend)


def test_an_unknown_name_lists_the_registered_ones() -> None:
    register_backend("mine", MineBackend)
    with pytest.raises(ConfigError) as info:
        Agent(AgentConfig(backend="mien"))
    assert str(info.value) == (
        "Unknown backend 'mien' (did you mean \"mine\"?). Use one of: local, daytona, mine."
    )


def test_build_passes_given_options_and_refuses_others() -> None:
    seen: dict[str, object] = {}

    def configure(*, working_dir: str | None = None, depth: int | None = None) -> MineBackend:
        seen.update(working_dir=working_dir, depth=depth)
        return MineBackend()

    plugin = register_backend(
        "mine",
        MineBackend,
        options=[Option("depth", "mine: how deep.", type=int)],
        configure=configure,
    )
    assert isinstance(plugin.build(working_dir="/w", depth=3), MineBackend)
    assert seen == {"working_dir": "/w", "depth": 3}
    with pytest.raises(ConfigError, match="--depth needs --backend mine"):
        backend_plugin("local").build(depth=3)
    assert isinstance(backend_plugin("local").build(depth=None), LocalBackend)  # unset: ignored
    with pytest.raises(ConfigError, match="--image and --keep need --backend daytona"):
        backend_plugin("daytona")  # loads its options
        plugin.build(image="x", keep=True)


def test_daytona_contributes_its_flags_without_the_sdk() -> None:
    code = (
        "import sys\nfrom rho_agent.backends import backend_plugin\n"
        "p = backend_plugin('daytona')\n"
        "print([(o.name, o.metavar, o.multiple, o.type.__name__) for o in p.options])\n"
        "print('daytona' in sys.modules, sorted(p.front_end_options))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == str(
        [
            ("upload", "LOCAL:REMOTE", True, "str"),
            ("download", "REMOTE:LOCAL", True, "str"),
            ("dockerfile", "FILE", False, "str"),
            ("image", None, False, "str"),
            ("snapshot", None, False, "str"),
            ("keep", None, False, "bool"),
            ("sandbox", "ID", False, "str"),
        ]
    )
    assert out[1] == "False ['download']"


# ---------------------------------------------------------------------- entry points


def _plugin_dir(tmp_path: Path, module_code: str, value: str = "demo_plugin:plugin") -> Path:
    site = tmp_path / "site"
    info = site / "demo_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[rho_agent.backends]\ndemo = {value}\n")
    (site / "demo_plugin.py").write_text(textwrap.dedent(module_code))
    return site


def _run(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    )


PLUGIN_MODULE = """
    from dataclasses import dataclass, field

    from rho_agent.backends import BackendPlugin, LocalBackend
    from rho_agent.options import Option


    @dataclass
    class DemoBackend(LocalBackend):
        name: str = field(default="demo", init=False)


    plugin = BackendPlugin(
        "demo", DemoBackend, (Option("flavour", "demo: a flavour."),), description="A demo."
    )
"""


def test_an_entry_point_is_found_by_name_and_listed_without_importing_it(tmp_path: Path) -> None:
    site = _plugin_dir(tmp_path, PLUGIN_MODULE)
    proc = _run(
        site,
        """
        import sys
        from rho_agent.backends import backend_names, backend_plugin
        from rho_agent.agent import Agent
        from rho_agent.config import AgentConfig

        print(backend_names(), "demo_plugin" in sys.modules)
        agent = Agent(AgentConfig(backend="demo"))
        print(type(agent.backend).__name__, [o.name for o in backend_plugin("demo").options])
        """,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "['local', 'daytona', 'demo'] False",
        "DemoBackend ['flavour']",
    ]


def test_a_plain_factory_is_a_plugin_too(tmp_path: Path) -> None:
    module = PLUGIN_MODULE + "\n    factory = DemoBackend\n"
    site = _plugin_dir(tmp_path, module, value="demo_plugin:factory")
    proc = _run(
        site,
        """
        from rho_agent.backends import backend_plugin, resolve_backend
        print(type(resolve_backend("demo")).__name__, backend_plugin("demo").options)
        """,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "DemoBackend ()"


def test_a_plugin_that_fails_to_import_is_a_config_error_naming_it(tmp_path: Path) -> None:
    site = _plugin_dir(tmp_path, "import not_installed_anywhere\n")
    proc = _run(
        site,
        """
        from rho_agent.backends import backend_names, resolve_backend
        from rho_agent.errors import ConfigError

        print(backend_names())  # listing does not import it, so does not fail
        resolve_backend("local")
        try:
            resolve_backend("demo")
        except ConfigError as exc:
            print(exc)
        """,
    )
    assert proc.returncode == 0, proc.stderr
    listing, message = proc.stdout.splitlines()
    assert listing == "['local', 'daytona', 'demo']"
    assert message.startswith(
        "Backend 'demo' could not be loaded from entry point 'demo = demo_plugin:plugin' "
        "(package demo-plugin, group rho_agent.backends): ModuleNotFoundError:"
    )
    assert "not_installed_anywhere" in message


# ---------------------------------------------------------------------- RemoteWorkspace


class Remote(RemoteWorkspace):
    """Provisioning sleeps `delay`, then fails with `error` if given; teardown is recorded."""

    kind = "remote"
    working_dir = "/w"

    def __init__(self, delay: float = 0.0, error: Exception | None = None) -> None:
        super().__init__()
        self.delay, self.error = delay, error
        self.events: list[str] = []

    async def _provision(self) -> None:
        self.events.append("provision")
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.events.append("provision cancelled")
            raise
        if self.error is not None:
            raise self.error
        self.events.append("ready")

    async def _teardown(self) -> None:
        await asyncio.sleep(0.05)  # a remote delete takes a while
        self.events.append("teardown")

    async def exec(self, command: str, **_: object) -> ExecResult:  # type: ignore[override]
        await self.ready()
        return ExecResult(0, command)

    async def read_bytes(self, path: str, *, limit: int | None = None) -> bytes:
        await self.ready()
        return b""

    async def write_bytes(self, path: str, data: bytes) -> None:
        await self.ready()


async def test_primitives_wait_for_provisioning() -> None:
    ws = Remote(delay=0.1)
    ws.start()
    assert (await ws.exec("hi")).output == "hi"
    assert ws.events == ["provision", "ready"] and ws.failure is None
    await ws.close()
    await ws.close()  # safe twice
    assert ws.events == ["provision", "ready", "teardown"]
    with pytest.raises(SandboxError, match="session is closed"):
        await ws.ready()


async def test_a_provisioning_failure_is_kept_and_raised_by_ready() -> None:
    ws = Remote(error=SandboxError("no capacity"))
    ws.start()
    with pytest.raises(SandboxError, match="no capacity"):
        await ws.ready()
    assert isinstance(ws.failure, SandboxError)
    with pytest.raises(SandboxError, match="no capacity"):
        await ws.exec("again")
    await ws.close()
    assert ws.events == ["provision", "teardown"]


async def test_close_during_provisioning_cancels_it_and_still_tears_down() -> None:
    ws = Remote(delay=10)
    ws.start()
    waiting = asyncio.ensure_future(ws.ready())
    await asyncio.sleep(0.05)
    await ws.close()
    assert ws.events == ["provision", "provision cancelled", "teardown"]
    assert ws.failure is None
    with pytest.raises(SandboxError, match="still being set up"):
        await waiting


async def test_a_cancelled_close_still_completes_the_teardown() -> None:
    ws = Remote(delay=10)
    ws.start()
    await asyncio.sleep(0.01)
    closing = asyncio.ensure_future(ws.close())
    await asyncio.sleep(0.01)
    closing.cancel()  # a second Ctrl-C while the sandbox is being deleted
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert ws.events[-1] == "teardown"


def test_a_backend_plugin_checks_its_own_shape() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        BackendPlugin("", MineBackend)
    with pytest.raises(ValueError, match="front_end_options not in options"):
        BackendPlugin("x", MineBackend, front_end_options=frozenset({"nope"}))


# ---------------------------------------------------------------------- the package's face


def test_public_names() -> None:
    import rho_agent.backends
    import rho_agent.backends.daytona

    assert sorted(rho_agent.backends.__all__) == sorted(
        ["Backend", "BackendPlugin", "ExecResult", "LocalBackend", "LocalWorkspace", "Notify",
         "NotRegularFileError", "OpenRequest", "PackReport", "Progress", "RemoteWorkspace", "Upload",
         "Workspace", "backend_names", "backend_plugin", "parse_download", "parse_upload",
         "register_backend", "resolve_backend"]
    )  # fmt: skip
    assert sorted(rho_agent.backends.daytona.__all__) == sorted(
        ["HOME", "LABEL", "PLUGIN", "DaytonaBackend", "DaytonaWorkspace", "Plan",
         "SandboxNotFound", "check_credentials", "connect", "make_client", "rho_sandboxes",
         "user_label"]
    )  # fmt: skip
    for module in (rho_agent.backends, rho_agent.backends.daytona):
        for name in module.__all__:
            assert getattr(module, name) is not None


def test_importing_the_backends_stays_light() -> None:
    code = (
        "import sys\nimport rho_agent.backends as b\nb.backend_names()\nb.resolve_backend('local')\n"
        "print(*(m for m in ('daytona', 'anthropic', 'rho_agent.backends.daytona') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
