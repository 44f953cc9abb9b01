"""Conventions that hold the codebase together, pinned so they stay true."""

from __future__ import annotations

import subprocess
import sys

import rho_agent

HEAVY = ("anthropic", "daytona", "ipywidgets", "httpx2", "aiohttp")


def test_public_api_is_exactly_all() -> None:
    assert sorted(rho_agent.__all__) == sorted(
        [
            "Agent",
            "AgentConfig",
            "DaytonaBackend",
            "LocalBackend",
            "Profile",
            "RunResult",
            "Session",
            "__version__",
            "events",
            "load_ipython_extension",
            "unload_ipython_extension",
        ]
    )
    for name in rho_agent.__all__:
        if name != "DaytonaBackend":  # needs the daytona extra; covered by the Daytona tests
            assert getattr(rho_agent, name) is not None


def _imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint('HEAVY:', *(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return out.rsplit("HEAVY:", 1)[1].split()


def test_import_and_cli_help_stay_light() -> None:
    assert _imported_after("import rho_agent") == []
    assert _imported_after("from rho_agent import Agent, AgentConfig, Session") == []
    code = "import sys\nfrom rho_agent.cli.app import run\nsys.argv=['rho-agent','--help']\ntry:\n    run(['main','--help'])\nexcept SystemExit:\n    pass"
    assert _imported_after(code) == []


def test_agent_config_is_keyword_only_and_rejects_unknown_fields() -> None:
    import pytest

    from rho_agent.errors import ConfigError

    with pytest.raises(TypeError):
        rho_agent.AgentConfig("developer")  # type: ignore[misc]
    with pytest.raises(ConfigError, match='did you mean "max_cost_usd"'):
        rho_agent.AgentConfig(max_cost=1.0)


def test_cli_reference_in_docs_is_current() -> None:
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "cli_reference.py"
    proc = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_missing_extra_prints_the_pip_line(tmp_path) -> None:
    import os

    code = (
        "import sys\nsys.modules['daytona'] = None  # as if the extra were not installed\n"
        "from rho_agent.cli.app import run\nsys.exit(run(['main', '--backend', 'daytona', 'hi']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "ANTHROPIC_API_KEY": "k", "DAYTONA_API_KEY": "k"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'rho-agent[daytona]'" in proc.stderr and "Traceback" not in proc.stderr
