"""Every Python block in the docs runs as written (against FakeAnthropic)."""

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
]
_BLOCK = re.compile(r"```python\n(.*?)```", re.S)

# Runs a block as a script; blocks written for a notebook or REPL may use top-level await.
_RUNNER = """
import ast, asyncio, sys
source = sys.stdin.read()
code = compile(source, "<doc>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__"})
if asyncio.iscoroutine(result):
    asyncio.run(result)
"""


def blocks() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for i, block in enumerate(_BLOCK.findall(doc.read_text())):
            out.append((f"{doc.name}#{i}", block))
    return out


def test_docs_have_examples() -> None:
    assert len(blocks()) >= 6


@pytest.mark.parametrize(("where", "source"), blocks(), ids=[w for w, _ in blocks()])
def test_doc_example_runs(where: str, source: str, project: Path) -> None:
    answers = [lambda request: reply(text("ok"))] * 20
    with FakeAnthropic(answers) as fake:
        proc = subprocess.run(
            [sys.executable, "-c", _RUNNER],
            input=source,
            cwd=project,
            env={**__import__("os").environ, **fake.env()},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 0, f"{where} failed:\n{proc.stderr}"
