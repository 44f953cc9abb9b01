"""The README's command examples do what they say, run as written (against the fakes)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import _daytona
from _daytona import run_cli, tool_output

from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

daytona_server = _daytona.daytona_server  # fixtures
daytona = _daytona.daytona

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_command(pattern: str) -> list[str]:
    """The README's one indented command line matching `pattern`, as argv (comment dropped)."""
    lines = [
        line.strip()
        for line in README.read_text().splitlines()
        if line.startswith("    rho-agent ") and re.search(pattern, line)
    ]
    assert len(lines) == 1, f"expected one README command matching {pattern!r}, found {lines}"
    return shlex.split(lines[0], comments=True)


def test_the_daytona_upload_download_example_works_as_written(
    daytona: LocalDaytona, tmp_path: Path
) -> None:
    argv = readme_command(r"--backend daytona .*--upload .*--download ")
    (upload,) = [argv[i + 1] for i, a in enumerate(argv) if a == "--upload"]
    (download,) = [argv[i + 1] for i, a in enumerate(argv) if a == "--download"]
    local_data, remote_data = upload.split(":", 1)
    remote_out, local_out = download.split(":", 1)
    cwd = Path.cwd()  # the daytona fixture's empty directory
    (cwd / local_data).mkdir(parents=True)
    (cwd / local_data / "numbers.csv").write_text("a,b\n1,2\n")
    # The model does what the prompt asks: reads the data, writes its results where the
    # command downloads them from.
    script = [
        reply(tool_call("read", {"path": f"{remote_data}/numbers.csv"})),
        reply(tool_call("write", {"path": f"{remote_out}/summary.md", "content": "a+b = 3\n"})),
        reply(text("Done.")),
    ]
    with FakeAnthropic(script) as fake:
        proc = run_cli(*argv[1:], env={**daytona.env(), **fake.env()}, cwd=cwd)
        assert proc.returncode == 0, proc.stderr
        assert "1,2" in tool_output(fake, 1)
        assert "Wrote" in tool_output(fake, 2) or "wrote" in tool_output(fake, 2).lower()
        fake.assert_done()
    assert (cwd / local_out / "summary.md").read_text() == "a+b = 3\n"


def test_the_main_command_needs_a_key_as_the_readme_says(project: Path) -> None:
    """The Quickstart says what a compatible server needs: ANTHROPIC_BASE_URL and a key."""
    quickstart = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "ANTHROPIC_BASE_URL" in quickstart and "ANTHROPIC_API_KEY" in quickstart
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    with FakeAnthropic([reply(text("hi"))]) as fake:
        without_key = subprocess.run(
            [sys.executable, "-m", "rho_agent", "main", "hello"],
            env={**env, "ANTHROPIC_BASE_URL": fake.base_url},
            cwd=project,
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert without_key.returncode == 3, without_key.stderr
        # "any non-empty key" with the base URL is enough, as the README says
        with_key = subprocess.run(
            [sys.executable, "-m", "rho_agent", "main", "hello"],
            env={**env, "ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": "x"},
            cwd=project,
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert with_key.returncode == 0, with_key.stderr
    assert re.search(r"any (non-empty )?(value|key)", quickstart), quickstart
