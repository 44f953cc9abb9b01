"""Configuration: `AgentConfig` (what an agent is), the user config file, and where state lives.

Precedence for every setting: an explicit value > environment variable > the user config
file (`$RHO_AGENT_HOME/config.toml`, or the file `RHO_AGENT_CONFIG` names) > the built-in default.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rho_agent._util import did_you_mean
from rho_agent.errors import ConfigError
from rho_agent.model import Price
from rho_agent.permissions.profile import Profile

DEFAULT_PROFILE = "readonly"
DEFAULT_BACKEND = "local"
DEFAULT_MAX_TURNS = 100


def home_dir() -> Path:
    """rho-agent's own directory: config, custom profiles, sessions. `RHO_AGENT_HOME` overrides."""
    return Path(os.environ.get("RHO_AGENT_HOME") or Path.home() / ".rho-agent").expanduser()


class AgentConfig(BaseModel):
    """What an agent is. Every field is optional; unset ones come from env, config file, defaults.

    >>> AgentConfig(profile="developer", backend="daytona", max_cost_usd=2.0)
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    #: Model id. Unset: `RHO_AGENT_MODEL`, the config file, then `claude-sonnet-5-5`.
    model: str | None = None
    #: `readonly`, `developer`, `unrestricted`, a profile TOML file or a `Profile`.
    #: Unset: `RHO_AGENT_PROFILE`, the config file, then `readonly`.
    profile: str | Profile | None = None
    #: Where tools run: `"local"`, `"daytona"`, a registered backend's name, or a backend
    #: object (`LocalBackend(...)`, `DaytonaBackend(...)`). Unset: `RHO_AGENT_BACKEND`, then local.
    backend: Any = None
    #: Where relative paths resolve and the tools work. Unset: the current directory.
    working_dir: str | None = None
    #: Replaces the built-in system prompt; `{working_dir}`, `{platform}`, `{backend}`,
    #: `{profile}`, `{profile_summary}`, `{databases}` and `prompt_vars` are filled in.
    system_prompt: str | None = None
    #: More template variables for the system prompt.
    prompt_vars: dict[str, str] = Field(default_factory=dict)
    #: Model calls per run before it stops with status `max_turns`. Unset: 100.
    max_turns: int | None = None
    #: USD a run may cost; it stops cleanly (status `max_cost`) once it has cost this much.
    max_cost_usd: float | None = None
    #: Most output tokens of one model call.
    max_tokens: int = 32_000
    #: Approve every call the profile would ask about.
    auto_approve: bool = False
    #: SQLite files by name, offered to the agent through the `sql_*` tools.
    databases: dict[str, str] = Field(default_factory=dict)
    #: Default seconds a `bash` call may take.
    bash_timeout: float = 120.0
    #: Environment variables passed to tool subprocesses on purpose (credentials are scrubbed otherwise).
    passthrough_env: list[str] = Field(default_factory=list)
    #: The Messages API key. Unset: `ANTHROPIC_API_KEY`.
    api_key: str | None = Field(default=None, repr=False)
    #: The Messages API endpoint (any compatible server). Unset: `ANTHROPIC_BASE_URL`, then Anthropic's.
    base_url: str | None = None

    def __init__(self, **data: Any) -> None:  # keyword-only, with a did-you-mean for typos
        unknown = [k for k in data if k not in type(self).model_fields]
        if unknown:
            hint = did_you_mean(unknown[0], list(type(self).model_fields))
            raise ConfigError(f"AgentConfig got an unknown field '{unknown[0]}'{hint}")
        try:
            super().__init__(**data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"AgentConfig.{where}: {err['msg']}") from None

    @field_validator("max_turns")
    @classmethod
    def _positive_turns(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("must be at least 1")
        return v

    @field_validator("max_cost_usd")
    @classmethod
    def _positive_cost(cls, v: float | None) -> float | None:
        if v is not None and v <= 0:
            raise ValueError("must be greater than 0")
        return v


class UserConfig(BaseModel):
    """`$RHO_AGENT_HOME/config.toml`: defaults for every run of this user."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    profile: str | None = None
    backend: str | None = None
    max_turns: int | None = None
    max_cost_usd: float | None = None
    databases: dict[str, str] = Field(default_factory=dict)
    passthrough_env: list[str] = Field(default_factory=list)
    #: `[prices."model-id"]`: USD per million tokens for models the built-in table lacks.
    prices: dict[str, Price] = Field(default_factory=dict)


def load_toml_model(path: Path, model: type[BaseModel], *, section: str | None = None) -> Any:
    """Parse a TOML file into `model`; every problem names the file, the key and the fix."""
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if section is not None:
        data = data.get(section, {})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(path, model, exc, section)) from None


def _explain(path: Path, model: type[BaseModel], exc: ValidationError, section: str | None) -> str:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = ".".join(([section] if section else []) + loc)
    if err["type"] == "extra_forbidden":
        parent: Any = model
        for part in loc[:-1]:
            field = parent.model_fields.get(part) if hasattr(parent, "model_fields") else None
            parent = field.annotation if field else None
        choices = list(parent.model_fields) if hasattr(parent, "model_fields") else []
        return f"{path}: unknown key '{key}'{did_you_mean(loc[-1], choices)}"
    return f"{path}: key '{key}': {err['msg']} (got {err.get('input')!r})"


def load_user_config() -> UserConfig:
    """`$RHO_AGENT_HOME/config.toml` if it exists, or the file `RHO_AGENT_CONFIG` names (the CLI's
    `--config FILE` sets it), which must exist."""
    chosen = os.environ.get("RHO_AGENT_CONFIG")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found (--config / RHO_AGENT_CONFIG).")
        return load_toml_model(path, UserConfig)
    path = home_dir() / "config.toml"
    if not path.exists():
        return UserConfig()
    return load_toml_model(path, UserConfig)


def resolve_setting(explicit: Any, env_name: str, from_file: Any, default: Any) -> Any:
    """An explicit value, else environment variable `env_name`, else the user config file's
    value, else `default` (an empty value found on the way also means `default`)."""
    for value in (explicit, os.environ.get(env_name) or None, from_file):
        if value is not None:
            return value or default
    return default
