"""Every Python block in the docs runs as written (against FakeAnthropic).

A block is a script: it must compile as a `.py` file. Only a block whose first line is a
comment naming a notebook or the asyncio REPL may use top-level `await`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rho_agent.testing import FakeAnthropic, reply, text

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    ROOT / "README.md",
    ROOT / "docs" / "python.md",
    ROOT / "docs" / "testing.md",
    ROOT / "docs" / "extending.md",
    ROOT / "docs" / "local.md",
]
#: Pages with Python blocks that are not run here, and why.
NOT_RUN = {
    "daytona.md": "its blocks share one namespace and need a Daytona: tests/test_docs_daytona.py "
    "runs them in order against LocalDaytona"
}
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
_NOTEBOOK = re.compile(r"\A#[^\n]*\b(notebook|Jupyter|asyncio REPL|python -m asyncio)\b")

# Runs a block as a script; blocks marked as written for a notebook or the asyncio REPL may
# use top-level await.
_RUNNER = """
import ast, asyncio, sys
source = sys.stdin.read()
flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if sys.argv[1] == "notebook" else 0
code = compile(source, "<doc>", "exec", flags=flags)
result = eval(code, {"__name__": "__main__"})
if asyncio.iscoroutine(result):
    asyncio.run(result)
"""


def _read(name: str) -> str:
    return (ROOT / name if name == "README.md" else ROOT / "docs" / name).read_text()


def blocks() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for i, block in enumerate(_BLOCK.findall(doc.read_text())):
            out.append((f"{doc.name}#{i}", block))
    return out


def test_docs_have_examples() -> None:
    assert len(blocks()) >= 6
    assert any(where.startswith("README.md#") for where, _ in blocks())


def test_every_page_with_python_is_run_or_says_why_not() -> None:
    pages = {p.name for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]}
    with_python = {name for name in pages if "```python" in _read(name)}
    assert with_python - {d.name for d in DOCS} == set(NOT_RUN), "add the page to DOCS"


@pytest.mark.parametrize(("where", "source"), blocks(), ids=[w for w, _ in blocks()])
def test_doc_example_is_a_script(where: str, source: str) -> None:
    """A block copied into a `.py` file compiles, unless it says it is for a notebook."""
    if _NOTEBOOK.match(source):
        return
    try:
        compile(source, where, "exec")
    except SyntaxError as exc:
        pytest.fail(
            f"{where} is not a valid .py file ({exc.msg}, line {exc.lineno}): make it a "
            "script (asyncio.run(main())), or start it with a comment saying it is for a "
            "notebook or the asyncio REPL"
        )


@pytest.mark.parametrize(("where", "source"), blocks(), ids=[w for w, _ in blocks()])
def test_doc_example_runs(where: str, source: str, project: Path) -> None:
    answers = [lambda request: reply(text("ok"))] * 20
    with FakeAnthropic(answers) as fake:
        proc = subprocess.run(
            [sys.executable, "-c", _RUNNER, "notebook" if _NOTEBOOK.match(source) else "script"],
            input=source,
            cwd=project,
            env={**__import__("os").environ, **fake.env()},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 0, f"{where} failed:\n{proc.stderr}"
