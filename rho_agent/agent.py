"""Agent: a resolved, immutable config — model, profile, tools, backend, prompt.

An Agent holds no conversation and no workspace; a `Session` does. One Agent can
serve many sessions.
"""

from __future__ import annotations

from typing import Any

from rho_agent import config as cfg
from rho_agent.backends.spec import Backend, resolve_backend
from rho_agent.errors import ConfigError
from rho_agent.model.usage import DEFAULT_MODEL
from rho_agent.permissions.profile import Profile, resolve_profile
from rho_agent.prompt import DEFAULT_SYSTEM_PROMPT


class Agent:
    """`Agent(AgentConfig(...))`: validates and resolves everything up front."""

    def __init__(self, config: cfg.AgentConfig | None = None, **overrides: Any) -> None:
        config = config or cfg.AgentConfig()
        if overrides:
            config = cfg.AgentConfig(**{**config.model_dump(exclude_unset=True), **overrides})
        self.config = config
        user = cfg.load_user_config()
        self.model: str = cfg.resolve_setting(
            config.model, "RHO_AGENT_MODEL", user.model, DEFAULT_MODEL
        )
        profile_spec = cfg.resolve_setting(
            config.profile, "RHO_AGENT_PROFILE", user.profile, cfg.DEFAULT_PROFILE
        )
        self.profile: Profile = resolve_profile(profile_spec, [cfg.home_dir() / "profiles"])
        self.backend: Backend = resolve_backend(
            cfg.resolve_setting(
                config.backend, "RHO_AGENT_BACKEND", user.backend, cfg.DEFAULT_BACKEND
            )
        )
        self.max_turns: int = config.max_turns or user.max_turns or cfg.DEFAULT_MAX_TURNS
        self.max_cost_usd: float | None = config.max_cost_usd or user.max_cost_usd
        self.databases: dict[str, str] = {**user.databases, **config.databases}
        self.passthrough_env: tuple[str, ...] = tuple(
            dict.fromkeys([*user.passthrough_env, *config.passthrough_env])
        )
        self.system_prompt_template: str = config.system_prompt or DEFAULT_SYSTEM_PROMPT

        from rho_agent.tools.registry import build_tools

        self.tools = build_tools(self.profile, databases=self.databases)
        if not isinstance(self.max_turns, int) or self.max_turns < 1:
            raise ConfigError(f"max_turns must be a positive integer, got {self.max_turns!r}")

    def tool(self, name: str) -> Any:
        return next((t for t in self.tools if t.name == name), None)

    def __repr__(self) -> str:
        return f"Agent(model={self.model!r}, profile={self.profile.name!r}, backend={self.backend.name!r})"
