"""The README's two Quickstart commands, taken from the README itself, run verbatim in a fresh
copy of this clone with Debian's externally-managed /usr/bin/python3 first on PATH.

The copy holds what a clone of the working tree would (tracked and untracked files, ignored
ones left out), so the test also checks uncommitted work. The main job runs against
FakeAnthropic; the test command runs with its inner pytest narrowed by PYTEST_ADDOPTS to a
few fast tests (never this one). Both installs go into the copy's `.venv`, the second
reusing the first; pip's cache makes them cheap after the first run.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from _fixtures import copy_of_clone

from rho_agent.testing import FakeAnthropic, reply, text

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PATH = "/usr/bin:/bin"  # Debian's python3 first, as on a stock machine
ANSWER = "Nothing to fix: the tests pass."
#: What the test command's inner pytest runs: quick tests that use the installed package.
INNER_PYTEST = "-p no:cacheprovider -m 'not slow' tests/test_docs.py tests/test_tool_denied.py"


def on_a_stock_machine(test):
    """Marks a test that installs into a fresh copy with Debian's python3: slow."""
    marks = [
        pytest.mark.slow,
        pytest.mark.timeout(1800),
        pytest.mark.skipif(
            not glob.glob("/usr/lib/python3*/EXTERNALLY-MANAGED")
            or not Path("/usr/bin/python3").exists(),
            reason="needs a Debian/Ubuntu /usr/bin/python3 marked EXTERNALLY-MANAGED (PEP 668)",
        ),
        pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
    ]
    for mark in marks:
        test = mark(test)
    return test


def quickstart_commands() -> tuple[str, str]:
    """The indented command lines under "## Quickstart": (main job, test command)."""
    text_ = README.read_text()
    assert "\n## Quickstart\n" in text_, "README.md has no '## Quickstart' heading"
    section = text_.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    commands = [
        line[4:] for line in section.splitlines() if line.startswith("    ") and line.strip()
    ]
    assert len(commands) == 2, (
        f"expected two indented commands under '## Quickstart' (install and run the main job; "
        f"install and run the tests), found {commands}"
    )
    main = [c for c in commands if "rho-agent main" in c]
    test = [c for c in commands if "scripts/test" in c]
    assert len(main) == 1 and len(test) == 1 and main != test, (
        f"one Quickstart command must run `rho-agent main`, the other `scripts/test`: {commands}"
    )
    return main[0], test[0]


def stock_env(**extra: str) -> dict[str, str]:
    """This environment as a stock machine's shell would have it: no venv or pyenv, PATH with
    /usr/bin first."""
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_", "PYENV", "CONDA")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return {**env, "PATH": PATH, **extra}


def run(
    command: str, cwd: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(f"$ {command}\n  exit {proc.returncode} after {time.monotonic() - started:.0f}s")
    return proc


def test_quickstart_has_the_two_commands() -> None:
    main, test = quickstart_commands()
    assert main.count("\n") == 0 and test.count("\n") == 0


@on_a_stock_machine
def test_the_readme_commands_work_verbatim_on_a_stock_debian_python(tmp_path: Path) -> None:
    main, test = quickstart_commands()
    clone = copy_of_clone(tmp_path / "rho-agent")

    with FakeAnthropic([reply(text(ANSWER))]) as fake:
        proc = run(main, clone, stock_env(**fake.env()), timeout=900)
        assert proc.returncode == 0, f"{main!r} failed:\n{proc.stdout}\n{proc.stderr}"
        assert ANSWER in proc.stdout, proc.stdout
        fake.assert_done()
    venv_python = clone / ".venv" / "bin" / "python"
    assert venv_python.exists(), "the main command should have made .venv in the clone"
    base = subprocess.run(
        [str(venv_python), "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert base == "/usr", f"the venv should be made from Debian's /usr/bin/python3, not {base}"

    proc = run(test, clone, stock_env(PYTEST_ADDOPTS=INNER_PYTEST), timeout=1500)
    output = f"{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0, f"{test!r} failed:\n{output[-6000:]}"
    assert " passed" in proc.stdout and "failed" not in proc.stdout, proc.stdout[-3000:]
    # It built the JupyterLab extension from source and JupyterLab in .venv finds it.
    assert (clone / ".venv/share/jupyter/labextensions/rho-agent/static").is_dir(), proc.stderr
    # It says what it installs before installing it.
    assert f"into {clone}/.venv" in proc.stderr or "already installed in" in proc.stderr, (
        proc.stderr[-3000:]
    )


@on_a_stock_machine
def test_install_adds_python3_venv_when_python_has_no_ensurepip(tmp_path: Path) -> None:
    """As on a stock Debian/Ubuntu: python3 without ensurepip until apt-get installs
    python3-venv (both faked here); the script says so before it installs."""
    clone = copy_of_clone(tmp_path / "rho-agent")
    shims, marker, log = tmp_path / "bin", tmp_path / "python3-venv-installed", tmp_path / "apt.log"
    shims.mkdir()
    (shims / "python3").write_text(
        "#!/bin/sh\n"
        f'case "$*" in *"import ensurepip"*) [ -e {marker} ] || exit 1;; esac\n'
        'exec /usr/bin/python3 "$@"\n'
    )
    (shims / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {log}\ntouch {marker}\n')
    for shim in shims.iterdir():
        shim.chmod(0o755)
    env = stock_env(PATH=f"{shims}:{PATH}")
    if os.geteuid() != 0:
        (shims / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
        (shims / "sudo").chmod(0o755)

    proc = run("./scripts/install", clone, env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert log.read_text().splitlines()[-1] == "install -y -qq python3-venv"
    said = proc.stderr.index("Installing the Debian package python3-venv")
    assert said < proc.stderr.index("Creating the virtual environment")
    check = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-c", "import rho_agent"], capture_output=True
    )
    assert check.returncode == 0, check.stderr
