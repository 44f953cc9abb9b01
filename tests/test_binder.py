"""A simulation of mybinder.org's build and of a visitor's first run.

repo2docker installs `binder/requirements.txt` with pip from the repository's root into an
environment that already has JupyterLab and ipykernel, runs `binder/postBuild` if there is
one, and opens the landing notebook. Here: a fresh virtual environment of a copy of this
clone gets exactly that (plus nbclient, to run the notebook headless), then the landing
notebook runs with no API key — the demo — and its saved outputs must hold the agent's
answer and its chart.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _fixtures import ROOT, copy_of_clone

BINDER = ROOT / "binder"
LANDING = "notebooks/00-start-here.ipynb"
#: What repo2docker's base environment has before `binder/` is installed.
BASE_IMAGE = ["jupyterlab", "ipykernel"]

_EXECUTE = """
import sys, nbclient, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[3])
"""


def test_binder_declares_only_repo2docker_files() -> None:
    known = {"requirements.txt", "postBuild", "start", "runtime.txt", "apt.txt", "README.md"}
    assert {p.name for p in BINDER.iterdir()} <= known
    assert (BINDER / "requirements.txt").exists()


def test_readme_badge_opens_the_landing_notebook() -> None:
    readme = (ROOT / "README.md").read_text()
    badge = re.search(
        r"\(https://mybinder\.org/v2/gh/([^/]+/[^/]+)/main\?urlpath=([^)]+)\)", readme
    )
    assert badge, "README.md has no launch-binder badge"
    assert badge.group(2) == f"lab/tree/{LANDING}"
    import tomllib

    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls["Repository"] == f"https://github.com/{badge.group(1)}"  # one place to change
    assert (ROOT / LANDING).exists()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_fresh_binder_environment_runs_the_landing_notebook_as_the_demo(
    tmp_path: Path,
) -> None:
    repo = copy_of_clone(tmp_path / "repo")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "VIRTUAL_ENV", "PYTHONPATH", "JUPYTER_"))
    }
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"

    def run(*args: str) -> None:
        proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=1500)
        assert proc.returncode == 0, (
            f"{' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )

    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run(*pip, *BASE_IMAGE, "nbclient")
    run(*pip, "-r", "binder/requirements.txt")  # as repo2docker does, from the root
    if (repo / "binder" / "postBuild").exists():
        run("bash", "binder/postBuild")
    listed = subprocess.run(
        [str(venv / "bin" / "jupyter"), "labextension", "list"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    extension = [
        line for line in (listed.stdout + listed.stderr).splitlines() if "rho-agent" in line
    ]
    assert extension and "enabled" in extension[0] and "OK" in extension[0], listed.stderr

    executed = tmp_path / "executed.ipynb"
    run(python, "-c", _EXECUTE, LANDING, str(repo / "notebooks"), str(executed))
    outputs = [
        output
        for cell in json.loads(executed.read_text())["cells"]
        for output in cell.get("outputs", [])
    ]
    text = json.dumps(outputs)
    assert "rho-agent DEMO" in text and "no ANTHROPIC_API_KEY" in text
    assert "**North** leads" in text  # the agent's answer, as saved Markdown
    assert any("image/svg+xml" in o.get("data", {}) for o in outputs)  # its chart
    assert not any(o.get("output_type") == "error" for o in outputs)
