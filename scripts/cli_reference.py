"""Write docs/cli.md from the CLI's own --help (a test checks it is current).

python scripts/cli_reference.py          # rewrite docs/cli.md
python scripts/cli_reference.py --check  # exit 1 if docs/cli.md is stale
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
COMMANDS = [
    [],
    ["main"],
    ["sessions"],
    ["sessions", "list"],
    ["sessions", "show"],
    ["sessions", "export"],
    ["sandboxes"],
    ["sandboxes", "list"],
    ["sandboxes", "delete"],
    ["sandboxes", "cleanup"],
]


def help_text(args: list[str]) -> str:
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "rho_agent", *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return out.replace("python -m rho_agent", "rho-agent").rstrip() + "\n"


def render() -> str:
    parts = [
        "# CLI reference\n\nGenerated from `--help` by `scripts/cli_reference.py`; do not edit by hand.\n"
    ]
    for args in COMMANDS:
        parts.append(
            f"\n## `rho-agent {' '.join(args)}`\n\n```text\n{help_text(args)}```\n".replace(
                "rho-agent `", "rho-agent`"
            )
        )
    return "".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is stale: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
