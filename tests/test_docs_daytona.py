"""docs/daytona.md's Python blocks, as written, run in order in one namespace (later blocks use
the `backend` an earlier one made) against LocalDaytona and FakeAnthropic, in a subprocess
with only the environment the page tells users to set. The dataclass listing is checked
against the real `DaytonaBackend` instead of run."""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import _daytona

from rho_agent.testing.daytona import LocalDaytona
from rho_agent.testing.fake_anthropic import FakeAnthropic, reply, text, tool_call

daytona_server = _daytona.daytona_server  # fixtures
daytona = _daytona.daytona

PAGE = Path(__file__).resolve().parent.parent / "docs" / "daytona.md"
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)

# Every block shares one namespace and may await at top level (the page's blocks are written
# for a notebook or `python -m asyncio`, and say so).
_RUNNER = """
import ast, asyncio, json, sys
blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
async def main():
    for i, source in enumerate(blocks):
        print(f"--- block {i}", flush=True)
        code = compile(source, f"<daytona.md block {i}>", "exec",
                       flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)
        if asyncio.iscoroutine(result):
            await result
asyncio.run(main())
"""


def page_blocks() -> tuple[list[str], str]:
    """The runnable blocks in page order, and the `DaytonaBackend` listing."""
    runnable, listings = [], []
    for block in _BLOCK.findall(PAGE.read_text()):
        (listings if block.lstrip().startswith("@dataclass") else runnable).append(block)
    (listing,) = listings
    return runnable, listing


def _answer(request: Any) -> dict[str, Any]:
    """The model: for each prompt on the page, the tool call that does what it asks."""
    if request.tool_results:
        return reply(text("Done."))
    prompt = request.last_user_text()
    if "Extract /work/my-project.tar.gz" in prompt:
        command = (
            "cd /work && tar -xzf my-project.tar.gz && python3 my-project/test_ok.py && "
            "echo '{\"passed\": 1}' > /work/results.json"
        )
        return reply(tool_call("bash", {"command": command}))
    if "Summarise data/" in prompt:
        command = "mkdir -p out && wc -l data/*.csv > out/summary.md"
        return reply(tool_call("bash", {"command": command}))
    return reply(tool_call("bash", {"command": "echo working in $(pwd)"}))


def _project(root: Path) -> None:
    """What the page's blocks expect to find in the current directory."""
    (root / "pyproject.toml").write_text(
        '[project]\nname = "myapp"\nversion = "0"\ndependencies = ["requests>=2"]\n'
        '[project.optional-dependencies]\ndev = ["pytest"]\n'
    )
    src = root / "my-project"
    src.mkdir()
    (src / "test_ok.py").write_text("print('tests passed')\n")
    with tarfile.open(root / "my-project.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="my-project")
    (root / "data").mkdir()
    (root / "data" / "sales.csv").write_text("region,amount\nnorth,120\nsouth,144\n")


def test_every_block_runs_in_order(daytona: LocalDaytona, tmp_path: Path) -> None:
    runnable, _ = page_blocks()
    assert len(runnable) >= 5, "the page's Python blocks were not found"
    cwd = Path.cwd()
    _project(cwd)
    with FakeAnthropic([_answer] * 40) as fake:
        # Only what the page says to set: the two keys (and the local servers' URLs).
        env = {**os.environ, **fake.env(), **daytona.env()}
        proc = subprocess.run(
            [sys.executable, "-c", _RUNNER],
            input=json.dumps(runnable),
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        results = [r.tool_results for r in fake.requests if r.tool_results]
        assert proc.returncode == 0, f"{results}\n{proc.stdout}\n{proc.stderr[-3000:]}"
        prompts = [r.last_user_text() for r in fake.requests if not r.tool_results]
    # Each block ran against the servers, in order.
    assert prompts == [
        "Deploy the latest build to staging.",
        "Set up the project",
        "Extract /work/my-project.tar.gz and run the tests",
        "Summarise data/ into out/summary.md",
    ]
    assert (cwd / "results.json").read_text().strip() == '{"passed": 1}'
    assert "data/sales.csv" in (cwd / "out" / "summary.md").read_text()
    assert proc.stdout.count("Done.") == 2  # the two blocks that print(result.text)
    assert daytona.sandboxes() == []  # "sandbox deleted automatically"


def _listed_fields(listing: str) -> dict[str, str]:
    """`name: type = default` lines of the listing, as {name: default source}."""
    (cls,) = ast.parse(listing).body
    assert isinstance(cls, ast.ClassDef)
    fields = {}
    for statement in cls.body:
        assert isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
        assert statement.value is not None, f"{statement.target.id} has no default listed"
        fields[statement.target.id] = ast.unparse(statement.value)
    return fields


def test_dataclass_listing_matches_the_class() -> None:
    from rho_agent.tools.handlers.daytona import DaytonaBackend

    _, listing = page_blocks()
    listed = _listed_fields(listing)
    real = [f.name for f in dataclasses.fields(DaytonaBackend) if f.init]  # what users pass
    assert list(listed) == real, "the page lists other fields, or another order"
    made = DaytonaBackend()
    for name, default in listed.items():
        # A listed `{}`/`[]` is the field's default factory's value.
        assert getattr(made, name) == ast.literal_eval(default), (name, default)
