"""The JupyterLab extension (`extension/`): its own unit tests and lint, and the wheel.

The TypeScript is tested by the toolchain's runner (jest) and linted with eslint (prettier
included), both through jlpm. A wheel built from a clean copy of the clone with
`python -m build` (sdist, then the wheel from the sdist, as PyPI users get it) ships the
prebuilt extension; installed into a fresh venv, JupyterLab lists it enabled and OK.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from _fixtures import copy_of_clone

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "extension"
SHARE = "share/jupyter/labextensions/rho-agent"

pytestmark = [
    pytest.mark.labextension,
    pytest.mark.skipif(
        shutil.which("node") is None, reason="needs Node.js (apt-get install nodejs)"
    ),
]


@pytest.fixture(scope="module")
def built() -> None:
    """node_modules installed and the extension built (only what changed)."""
    subprocess.run([sys.executable, str(EXTENSION / "build_labextension.py")], check=True)


def jlpm(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["jlpm", *args], cwd=EXTENSION, env=env, capture_output=True, text=True, timeout=300
    )


def test_frontend_unit_tests_pass(built: None) -> None:
    proc = jlpm("jest", "--ci")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed" not in proc.stderr and " passed" in proc.stderr, proc.stderr


def test_typescript_is_lint_clean(built: None) -> None:
    proc = jlpm("lint:check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_wheel_from_a_clean_clone_ships_the_prebuilt_extension(tmp_path: Path) -> None:
    clone = copy_of_clone(tmp_path / "rho-agent")
    assert not (clone / "extension" / "node_modules").exists()
    dist = tmp_path / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(clone)],
        capture_output=True,
        text=True,
        timeout=1100,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    (wheel,) = dist.glob("rho_agent-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = f"rho_agent-0.1.0.data/data/{SHARE}"
    for needed in ("package.json", "install.json", "schemas/rho-agent/plugin.json"):
        assert f"{data}/{needed}" in names, names
    assert any(n.startswith(f"{data}/static/remoteEntry.") for n in names), names
    assert not any("node_modules" in n or n.endswith(".ts") for n in names)

    # Installed into a fresh venv (no Node.js needed), JupyterLab finds it enabled and OK.
    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=True)
    pip = [
        str(fresh / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    install = subprocess.run(
        [*pip, f"{wheel}[notebook]", "jupyterlab"], capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stderr[-4000:]
    assert (fresh / SHARE / "static").is_dir()
    listed = subprocess.run(
        [str(fresh / "bin" / "jupyter"), "labextension", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "NO_COLOR": "1"},
        timeout=120,
    )
    output = listed.stdout + listed.stderr
    line = next((x for x in output.splitlines() if "rho-agent" in x), "")
    assert "enabled" in line and "OK" in line and "(python, rho-agent)" in line, output
