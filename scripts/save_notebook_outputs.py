"""Run every example notebook as the demo (no API key) and save its outputs into it.

    .venv/bin/python scripts/save_notebook_outputs.py [NAME.ipynb ...]

The outputs are what GitHub, nbviewer and the documentation site show. Each notebook runs in a
fresh kernel, in a throwaway copy of `notebooks/` (the files it makes stay there), with no
ANTHROPIC_* variable and its own RHO_AGENT_HOME, so nothing of this machine's shows up.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbclient
import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def save_outputs(name: str) -> None:
    with tempfile.TemporaryDirectory(prefix="rho-notebooks-") as tmp:
        work = Path(tmp) / "notebooks"
        shutil.copytree(NOTEBOOKS, work)
        nb = nbformat.read(work / name, as_version=4)
        client = nbclient.NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(work)}}
        )
        client.execute(env=_demo_env(Path(tmp) / "home"))
        nbformat.write(nb, NOTEBOOKS / name)
    print(f"saved the outputs of {name}")


def _demo_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "RHO_AGENT_"))}
    return {**env, "RHO_AGENT_HOME": str(home)}


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    for name in names:
        save_outputs(name)
