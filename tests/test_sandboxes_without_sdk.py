"""`rho-agent sandboxes ...` without the daytona extra: one sentence with the pip line and
exit 2, as `main --backend daytona` says it — not a ModuleNotFoundError traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "args", [["list"], ["delete", "0123abcd"], ["cleanup"], ["cleanup", "--dry-run"]]
)
def test_sandboxes_without_the_extra_prints_the_pip_line(tmp_path: Path, args: list[str]) -> None:
    code = (
        "import sys\nsys.modules['daytona'] = None  # as if the extra were not installed\n"
        f"from rho_agent.cli.app import run\nsys.exit(run(['sandboxes', *{args!r}]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "DAYTONA_API_KEY": "k"},
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "ModuleNotFoundError" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'rho-agent[daytona]'" in lines[0], proc.stderr
