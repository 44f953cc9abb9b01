"""Parsing of option values shared by the CLI and the notebook magics."""

from __future__ import annotations

import os
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


def check_output_file(path: str | None, flag: str = "--output") -> Path | None:
    """The file `--output` names, refused now (before any model call) if it cannot be written."""
    if path is None:
        return None
    file = Path(path).expanduser()
    if file.is_dir():
        raise ConfigError(f"{flag} {path}: is a directory; name a file in it.")
    if not file.parent.is_dir():
        raise ConfigError(f"{flag} {path}: directory {file.parent} does not exist.")
    if file.exists() and not os.access(file, os.W_OK):
        raise ConfigError(f"{flag} {path}: file is not writable.")
    if not file.exists() and not os.access(file.parent, os.W_OK):
        raise ConfigError(f"{flag} {path}: cannot create a file in {file.parent}.")
    return file


def use_config_file(path: str | None) -> None:
    """`--config FILE`: the user config comes from FILE for the rest of this process
    (`RHO_AGENT_CONFIG`, which `load_user_config` reads); a missing or invalid FILE is a
    ConfigError now, before any model call."""
    if path is None:
        return
    from rho_agent.config import load_user_config

    os.environ["RHO_AGENT_CONFIG"] = str(Path(path).expanduser().resolve())
    load_user_config()
