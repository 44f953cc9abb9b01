"""Parsing of option values shared by the CLI and the notebook magics."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from rho_agent.errors import ConfigError


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"


def parse_vars(items: list[str], flag: str = "--var") -> dict[str, str]:
    """`key=value` pairs; a malformed one names the flag and shows the form."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {item!r}: expected key=value, e.g. {flag} team=payments")
        out[key.strip()] = value
    return out


def read_system_prompt(path: str) -> str:
    file = Path(path).expanduser()
    try:
        return file.read_text()
    except FileNotFoundError:
        raise ConfigError(f"--system-prompt: file not found: {file}") from None
    except OSError as exc:
        raise ConfigError(f"--system-prompt: cannot read {file}: {exc.strerror}") from None
