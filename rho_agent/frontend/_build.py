"""One way from option values to an Agent, for every front end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rho_agent import config as cfg
from rho_agent.agent import Agent
from rho_agent.backends import Backend, backend_plugin
from rho_agent.errors import ConfigError
from rho_agent.frontend._options import AGENT_FIELDS, split


def build_agent(values: Mapping[str, Any], **config: Any) -> Agent:
    """The Agent for the option values a user gave (keyed by `Option.name`; None = not given)
    and any further `AgentConfig` fields (`config`), built once.

    The backend is the one the options, `RHO_AGENT_BACKEND` or the user config name; options it
    contributes configure it, and an option of another backend is an error that says which.
    """
    given = split(values)
    fields = {AGENT_FIELDS[name]: value for name, value in given.agent.items()} | config
    backend = fields.get("backend")
    if not isinstance(backend, Backend):
        name = cfg.resolve_setting(
            backend, "RHO_AGENT_BACKEND", cfg.load_user_config().backend, cfg.DEFAULT_BACKEND
        )
        fields["backend"] = _configure(name, fields.get("working_dir"), given.backend, given.run)
    return Agent(cfg.AgentConfig(**fields))


def takes_uploads(agent: Agent) -> bool:
    """Whether the agent's backend copies `--upload`s in itself while it provisions (else the
    front end uploads them once the session has started)."""
    return "upload" in _declared(agent.backend.name)


def _configure(
    name: str, working_dir: str | None, options: dict[str, Any], run: dict[str, Any]
) -> Backend:
    plugin = backend_plugin(name)
    if "upload" in _declared(name) and run.get("upload"):
        options = {**options, "upload": list(run["upload"])}
    return plugin.build(working_dir=working_dir, **options)


def _declared(backend: str) -> set[str]:
    try:
        return {o.name for o in backend_plugin(backend).options}
    except ConfigError:
        return set()
