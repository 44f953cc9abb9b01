"""Agent: a resolved, immutable config — model, profile, tools, backend, prompt.

An Agent holds no conversation and no workspace; a `Session` does. One Agent can
serve many sessions. `Agent.make_model()` is the one place a session gets its model.
"""

from __future__ import annotations

from typing import Any

from rho_agent import config as cfg
from rho_agent.backends import Backend, resolve_backend
from rho_agent.errors import ConfigError
from rho_agent.model import DEFAULT_MODEL, Model, Price, resolve_price
from rho_agent.permissions.profile import Profile, resolve_profile
from rho_agent.prompt import DEFAULT_SYSTEM_PROMPT

_model_override: Model | None = None  # see override_model()


def override_model(model: Model | None) -> None:
    """From now on, every Agent made without a Model object of its own uses `model` (None: the
    Anthropic API again), whatever model id its config names.

    The notebook's demo mode uses it so that every entry point of a kernel, the plain API in
    a cell included, plays a scripted model (as pydantic-ai's `override` does for tests).
    Agents made before keep their model."""
    global _model_override
    _model_override = model


class Agent:
    """`Agent(AgentConfig(...))`: validates and resolves everything up front.

    Keyword arguments override fields of the config (`Agent(config, max_turns=5)`).
    `model` is either a model id (a str, like `AgentConfig.model`) or a `Model` object that
    every session of this agent uses instead of the Anthropic API — for example
    `rho_agent.testing.ScriptedModel`. Then `agent.model` is that object's `name`.
    """

    def __init__(
        self,
        config: cfg.AgentConfig | None = None,
        *,
        model: str | Model | None = None,
        **overrides: Any,
    ) -> None:
        config = config or cfg.AgentConfig()
        if isinstance(model, str):
            overrides["model"] = model
        elif model is not None and not isinstance(model, Model):
            raise ConfigError(
                f"Agent(model=...) takes a model id (str) or a Model object (with name, "
                f"check_credentials, turn and close); got {type(model).__name__}."
            )
        if overrides:
            config = cfg.AgentConfig(**{**config.model_dump(exclude_unset=True), **overrides})
        self.config = config
        #: The Model given as `Agent(model=...)` (or by `override_model`), shared by every
        #: session; None: the Anthropic API.
        self.given_model: Model | None = (
            model if model is not None and not isinstance(model, str) else _model_override
        )
        user = cfg.load_user_config()
        self.model: str = (
            self.given_model.name
            if self.given_model is not None
            else cfg.resolve_setting(config.model, "RHO_AGENT_MODEL", user.model, DEFAULT_MODEL)
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
        #: What the model's tokens cost: `price.estimated` when nobody knows its price.
        self.price: Price = resolve_price(
            self.model, user.prices, getattr(self.given_model, "price", None)
        )
        self.databases: dict[str, str] = {**user.databases, **config.databases}
        self.passthrough_env: tuple[str, ...] = tuple(
            dict.fromkeys([*user.passthrough_env, *config.passthrough_env])
        )
        self.system_prompt_template: str = config.system_prompt or DEFAULT_SYSTEM_PROMPT

        from rho_agent.tools import build_tools

        self.tools = build_tools(self.profile, databases=self.databases)
        if not isinstance(self.max_turns, int) or self.max_turns < 1:
            raise ConfigError(f"max_turns must be a positive integer, got {self.max_turns!r}")

    def make_model(self) -> Model:
        """The model a new session calls: the one given as `Agent(model=...)` (shared; the
        session does not close it), else a new `AnthropicModel` the session owns and closes."""
        if self.given_model is not None:
            return self.given_model
        from rho_agent.model import AnthropicModel

        return AnthropicModel(
            model=self.model,
            api_key=self.config.api_key,
            base_url=self.config.base_url,
            max_tokens=self.config.max_tokens,
        )

    def tool(self, name: str) -> Any:
        """The tool called `name` that this agent offers, or None."""
        return next((t for t in self.tools if t.name == name), None)

    def __repr__(self) -> str:
        return f"Agent(model={self.model!r}, profile={self.profile.name!r}, backend={self.backend.name!r})"
