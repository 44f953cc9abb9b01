"""The `daytona` backend as the registry and the front ends see it: its flags and how they
make a `DaytonaBackend` (the `.rho-agent.toml` of the project, overridden by the flags)."""

from __future__ import annotations

from rho_agent.backends._registry import BackendPlugin
from rho_agent.backends.daytona._config import DaytonaBackend
from rho_agent.options import Option

OPTIONS = (
    Option(
        "upload",
        "daytona: copy a local file or directory into the sandbox before the agent starts "
        "(repeatable; replaces the auto-upload of the project).",
        multiple=True,
        metavar="LOCAL:REMOTE",
    ),
    Option(
        "download",
        "daytona: copy a file or directory out of the sandbox after a one-shot run (repeatable).",
        multiple=True,
        metavar="REMOTE:LOCAL",
    ),
    Option("dockerfile", "daytona: build the sandbox image from this Dockerfile.", metavar="FILE"),
    Option("image", "daytona: sandbox image. [default: daytonaio/sandbox:latest]"),
    Option("snapshot", "daytona: create the sandbox from this Daytona snapshot."),
    Option(
        "keep",
        "daytona: keep the sandbox when the session ends (prints how to reattach).",
        type=bool,
    ),
    Option("sandbox", "daytona: reattach to a kept sandbox instead of creating one.", metavar="ID"),
)


def configure(
    *,
    working_dir: str | None = None,
    upload: list[str] | None = None,
    dockerfile: str | None = None,
    image: str | None = None,
    snapshot: str | None = None,
    keep: bool = False,
    sandbox: str | None = None,
) -> DaytonaBackend:
    """`DaytonaBackend.from_project(...)` with the flags' values (`working_dir` is a path in
    the sandbox). `download` is not here: the front end copies out after the run."""
    return DaytonaBackend.from_project(
        working_dir=working_dir,
        uploads=list(upload) if upload else None,
        dockerfile=dockerfile,
        image=image,
        snapshot=snapshot,
        keep=keep,
        sandbox_id=sandbox or None,
    )


PLUGIN = BackendPlugin(
    "daytona",
    DaytonaBackend,
    OPTIONS,
    configure,
    description="Tools run in a Daytona sandbox; the agent stays on this machine.",
    front_end_options=frozenset({"download"}),
)
