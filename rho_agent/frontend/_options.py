"""The table of options every front end offers, and how given values are split.

The CLI's `rho-agent main` and the notebook's `%%rho` / `%rho config` parsers are generated
from `option_table()`: the agent's options, the run's, and those each registered backend
contributes. A value is only ever a plain Python value keyed by `Option.name`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rho_agent.backends import backend_names, backend_plugin
from rho_agent.model import DEFAULT_MODEL
from rho_agent.options import Option

#: Options that configure the agent (and so the session), by the AgentConfig field they set.
AGENT_FIELDS = {
    "profile": "profile",
    "backend": "backend",
    "model": "model",
    "working_dir": "working_dir",
    "max_turns": "max_turns",
    "max_cost": "max_cost_usd",
    "yes": "auto_approve",
}


def agent_options() -> tuple[Option, ...]:
    return (
        Option(
            "profile",
            "Permission profile: readonly, developer, unrestricted, or a profile TOML file. "
            "[env: RHO_AGENT_PROFILE; default: readonly]",
        ),
        Option(
            "backend",
            f"Where tools run: {_one_of(backend_names())}. "
            "[env: RHO_AGENT_BACKEND; default: local]",
        ),
        Option("model", f"Model id. [env: RHO_AGENT_MODEL; default: {DEFAULT_MODEL}]", short="-m"),
        Option("working_dir", "Working directory for the tools.", short="-C"),
        Option("yes", "Approve every call the profile would ask about.", type=bool, short="-y"),
        Option("max_turns", "Stop after this many model turns.", type=int, minimum=1),
        Option("max_cost", "Stop when the run has cost this many USD.", type=float, minimum=0.0001),
    )


def _one_of(names: list[str]) -> str:
    return " or ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " or " + names[-1]


#: Options of one run: files in before it, files out after it (every backend).
RUN_OPTIONS = (
    Option(
        "upload",
        "Copy a local file or directory into the workspace before the agent starts "
        "(repeatable; on daytona it replaces the auto-upload of the project).",
        multiple=True,
        metavar="LOCAL:REMOTE",
    ),
    Option(
        "download",
        "Copy a file or directory out of the workspace after the run (repeatable).",
        multiple=True,
        metavar="REMOTE:LOCAL",
    ),
)


def backend_options() -> tuple[Option, ...]:
    """Options the registered backends contribute, in registration order, each name once."""
    seen = {o.name for o in (*agent_options(), *RUN_OPTIONS)}
    found: list[Option] = []
    for name in backend_names():
        for option in backend_plugin(name).options:
            if option.name not in seen:
                seen.add(option.name)
                found.append(option)
    return tuple(found)


def option_table() -> tuple[Option, ...]:
    """Every option a front end offers for running the agent."""
    return (*agent_options(), *RUN_OPTIONS, *backend_options())


def session_option_names() -> tuple[str, ...]:
    """Options that configure a session (not one run): the agent's and the backends'."""
    return (*AGENT_FIELDS, *(o.name for o in backend_options()))


@dataclass(frozen=True)
class Given:
    """Option values a user gave, split by what they configure."""

    agent: dict[str, Any]
    backend: dict[str, Any]
    run: dict[str, Any]


def split(values: Mapping[str, Any]) -> Given:
    """Sort given values (None means "not given") into agent, backend and run options."""
    run_names = {o.name for o in RUN_OPTIONS}
    given = {k: v for k, v in values.items() if v is not None and v != [] and v is not False}
    return Given(
        agent={k: v for k, v in given.items() if k in AGENT_FIELDS},
        backend={k: v for k, v in given.items() if k not in AGENT_FIELDS and k not in run_names},
        run={k: v for k, v in given.items() if k in run_names},
    )
