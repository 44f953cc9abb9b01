"""Credentials from a `.env` file: read, never written, never printed.

`rho-agent` calls `load_env_file()` before it runs any command; Python code may call it too.

- Where: `.env` in the current directory only (no walking up to parent directories, so a file
  is never picked up from a directory you did not run in).
- What: only variables whose names look like credentials (`ANTHROPIC_API_KEY`,
  `ANTHROPIC_BASE_URL`, `DAYTONA_API_KEY`, `DAYTONA_API_URL`, any `ANTHROPIC_*` / `DAYTONA_*`,
  `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, ...: `rho_agent._util.is_secret_env_name`).
  Other lines are ignored: settings belong in `config.toml`. Being credentials, the loaded values
  are hidden by `rho_agent.redact` (it reads the environment when it redacts) and kept from tool
  subprocesses unless `passthrough_env` names them.
- Precedence: a variable already set in the environment wins over the file.
- Syntax: `KEY=VALUE` or `export KEY=VALUE`; `#` starts a comment line, or a trailing comment
  after whitespace in an unquoted value; `'single'` quotes are literal; `"double"` quotes
  understand `\\n`, `\\t`, `\\"` and `\\\\`. A line that does not parse (e.g. a value spread over
  several lines) is skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rho_agent._util import is_secret_env_name

__all__ = ["load_env_file", "parse_env"]

_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def parse_env(text: str) -> dict[str, str]:
    """The `KEY=VALUE` pairs of a `.env` file's text (every name; later lines win)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            continue
        value = _value(match.group(2))
        if value is not None:
            found[match.group(1)] = value
    return found


def _value(raw: str) -> str | None:
    """The value after `=`, unquoted; None if a quote is not closed on the line."""
    raw = raw.strip()
    if raw[:1] == "'":
        end = raw.find("'", 1)
        return raw[1:end] if end > 0 and _only_comment(raw[end + 1 :]) else None
    if raw[:1] == '"':
        out: list[str] = []
        i = 1
        while i < len(raw):
            char = raw[i]
            if char == "\\" and i + 1 < len(raw):
                out.append(_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
                i += 2
            elif char == '"':
                return "".join(out) if _only_comment(raw[i + 1 :]) else None
            else:
                out.append(char)
                i += 1
        return None
    return re.split(r"\s#", raw, maxsplit=1)[0].strip()


def _only_comment(rest: str) -> bool:
    rest = rest.strip()
    return not rest or rest.startswith("#")


def load_env_file(path: str | Path = ".env") -> list[str]:
    """Set the credential variables of `path` that the environment lacks; return their names.

    A missing file is no error (most directories have none); an unreadable one is skipped too.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    loaded: list[str] = []
    for name, value in parse_env(text).items():
        if value and is_secret_env_name(name) and name not in os.environ:
            os.environ[name] = value
            loaded.append(name)
    return loaded
