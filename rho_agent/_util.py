"""Small helpers shared across modules (no imports of heavy packages here)."""

from __future__ import annotations

import difflib
import os
import re

# Environment variables that look like credentials: never handed to tool subprocesses
# or sandboxes unless the user names them on purpose.
_SECRET_ENV = re.compile(
    r"(_API_KEY|_TOKEN|_SECRET|_PASSWORD|_ACCESS_KEY|_SECRET_KEY)$|^(ANTHROPIC|DAYTONA)_"
)


def is_secret_env_name(name: str) -> bool:
    return bool(_SECRET_ENV.search(name.upper()))


def scrubbed_environ(passthrough: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
    """os.environ without credential-like variables, except those listed in `passthrough`."""
    keep = set(passthrough)
    return {k: v for k, v in os.environ.items() if k in keep or not is_secret_env_name(k)}


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean "x"?)' or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
