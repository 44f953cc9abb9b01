"""The Python examples of the Daytona page, as written, with the real `daytona` SDK over HTTP
against LocalDaytona and FakeAnthropic scripting the model."""

from __future__ import annotations

import tarfile
from pathlib import Path

import _daytona
import pytest
from _daytona import tool_output

from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

daytona_server = _daytona.daytona_server  # fixtures
daytona = _daytona.daytona


@pytest.fixture
def anthropic_env(monkeypatch: pytest.MonkeyPatch):
    """The page's snippets take the model's key and URL from the environment."""

    def use(fake: FakeAnthropic) -> FakeAnthropic:
        for key, value in fake.env().items():
            monkeypatch.setenv(key, value)
        return fake

    return use


async def test_basic_usage(daytona: LocalDaytona, anthropic_env) -> None:
    seen: dict[str, object] = {}

    def look(request):
        seen["sandboxes"] = daytona.sandboxes()
        return reply(text("Deployed."))

    script = [
        reply(tool_call("bash", {"command": "echo deploying from $(pwd) on $(hostname)"})),
        look,
    ]
    with FakeAnthropic(script) as fake:
        anthropic_env(fake)
        # --- as on the page ---
        from rho_agent import Agent, AgentConfig, Session

        config = AgentConfig(
            system_prompt="You are a deployment assistant.",
            backend="daytona",
            profile="developer",
        )
        async with Session(Agent(config)) as session:
            result = await session.run(prompt="Deploy the latest build to staging.")
            print(result.text)
        # sandbox deleted automatically
        # --- end ---
        fake.assert_done()
    assert result.text == "Deployed."
    assert "deploying from /home/daytona on sandbox-" in tool_output(fake, 1)
    (box,) = seen["sandboxes"]
    assert box.labels["rho-agent"] == "1" and box.labels["rho-agent-session"] == session.id
    assert "@" in box.labels["rho-agent-user"] and box.labels["rho-agent-created"].endswith("Z")
    assert daytona.sandboxes() == []


async def test_custom_sandbox_configuration(daytona: LocalDaytona, anthropic_env) -> None:
    script = [
        reply(tool_call("bash", {"command": "echo key=$MY_API_KEY env=$NODE_ENV"})),
        reply(text("Set up.")),
    ]
    with FakeAnthropic(script) as fake:
        anthropic_env(fake)
        # --- as on the page ---
        from daytona import DaytonaConfig, Resources

        from rho_agent import Agent, AgentConfig, Session
        from rho_agent.tools.handlers.daytona import DaytonaBackend

        backend = DaytonaBackend(
            config=DaytonaConfig(api_key="..."),
            image="python:3.13",
            resources=Resources(cpu=2, memory=4, disk=10),
            env_vars={"MY_API_KEY": "...", "NODE_ENV": "development"},
        )

        async with Session(Agent(AgentConfig(profile="developer", backend=backend))) as s:
            result = await s.run(prompt="Set up the project")
            print(result.text)
            # --- end ---
            sandbox = await s.get_sandbox()
            assert (sandbox.cpu, sandbox.memory, sandbox.disk) == (2, 4, 10)
            # Not "never": 30 min idle → stopped, 60 min stopped → deleted (the API counts minutes).
            assert (sandbox.auto_stop_interval, sandbox.auto_delete_interval) == (30, 60)
            (box,) = daytona.sandboxes()
            assert box.image == "python:3.13"
    assert result.text == "Set up."
    assert "key=... env=development" in tool_output(fake, 1)


def test_image_object_snippet_needs_the_sdks_keyword(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page wrote `optional_deps=`; daytona 0.226 calls it `optional_dependencies=`
    (docs/daytona.md has the working spelling)."""
    from daytona import Image

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = []\n')
    with pytest.raises(TypeError, match="optional_deps"):
        Image.debian_slim("3.13").pip_install_from_pyproject(
            "./pyproject.toml", optional_deps=["dev"]
        )


async def test_image_object_and_get_sandbox_upload_download(
    daytona: LocalDaytona, anthropic_env
) -> None:
    project = Path.cwd()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "myapp"\nversion = "0"\ndependencies = ["requests>=2"]\n'
        '[project.optional-dependencies]\ndev = ["pytest"]\n'
    )
    src = project / "my-project"
    src.mkdir()
    (src / "test_ok.py").write_text("print('tests passed')\n")
    with tarfile.open(project / "my-project.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="my-project")

    script = [
        reply(
            tool_call(
                "bash",
                {
                    "command": (
                        "cd /work && tar -xzf my-project.tar.gz && python3 my-project/test_ok.py && "
                        'echo \'{"passed": 1, "key": "\'$MY_KEY\'"}\' > /work/results.json'
                    )
                },
            )
        ),
        reply(text("All tests passed.")),
    ]
    with FakeAnthropic(script) as fake:
        anthropic_env(fake)
        # --- as on the page (with the SDK's keyword, optional_dependencies) ---
        from daytona import Image

        from rho_agent import Agent, AgentConfig, Session
        from rho_agent.tools.handlers.daytona import DaytonaBackend

        image = (
            Image.debian_slim("3.13")
            .pip_install_from_pyproject("./pyproject.toml", optional_dependencies=["dev"])
            .workdir("/home/daytona/myapp")
        )

        backend = DaytonaBackend(image=image, env_vars={"MY_KEY": "..."})

        async with Session(Agent(AgentConfig(profile="developer", backend=backend))) as s:
            sandbox = await s.get_sandbox()

            # Upload a local file into the sandbox
            await sandbox.fs.upload_file("./my-project.tar.gz", "/work/my-project.tar.gz")

            await s.run(prompt="Extract /work/my-project.tar.gz and run the tests")

            # Download results before the sandbox is destroyed
            await sandbox.fs.download_file("/work/results.json", "./results.json")
            # --- end ---
            (box,) = daytona.sandboxes()
            assert box.image and box.image.startswith("python:3.13")
        fake.assert_done()
    assert "tests passed" in tool_output(fake, 1)
    assert (project / "results.json").read_text().strip() == '{"passed": 1, "key": "..."}'
    assert "pip install" in image.dockerfile() and "requests" in image.dockerfile()


async def test_import_paths_and_public_names() -> None:
    import rho_agent
    from rho_agent.backends.daytona import DaytonaBackend as Direct
    from rho_agent.tools.handlers.daytona import DaytonaBackend

    assert DaytonaBackend is Direct is rho_agent.DaytonaBackend
    fields = DaytonaBackend.__dataclass_fields__
    for name in ("config", "image", "snapshot", "resources", "auto_stop_interval", "env_vars"):
        assert name in fields
    backend = DaytonaBackend()
    assert backend.image == "daytonaio/sandbox:latest" and backend.snapshot is None
    assert backend.resources is None and backend.env_vars == {} and backend.config is None
    assert backend.auto_stop_interval > 0, (
        "a crashed process must not leave a sandbox running forever"
    )
    assert "api_key" not in repr(
        DaytonaBackend(config=__import__("daytona").DaytonaConfig(api_key="sekrit"))
    )
