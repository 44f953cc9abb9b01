"""`Plan`: everything `DaytonaBackend.open()` works out before anything is created, and
the names every sandbox is created and found with."""

from __future__ import annotations

import getpass
import math
import socket
from dataclasses import dataclass
from typing import Any

from rho_agent.backends._specs import Upload

DEFAULT_IMAGE = "daytonaio/sandbox:latest"
HOME = "/home/daytona"
#: PATH on every sandbox unless `env_vars` has one: user-installed tools (uv, pipx) come first.
DEFAULT_PATH = f"{HOME}/.local/bin:{HOME}/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Label every sandbox carries; `rho-agent sandboxes` only ever touches sandboxes with it.
LABEL = "rho-agent"


@dataclass(frozen=True)
class Plan:
    """What to create and how, resolved and validated; the workspace and its lifecycle
    read their settings from here, never from the backend object."""

    working_dir: str
    uploads: list[Upload]
    image: tuple[str, Any]  # ("image", str | Image) or ("snapshot", name)
    env: dict[str, str]
    labels: dict[str, str]
    name: str  # unique: a create whose answer was lost is found by it
    needs_uv: bool
    #: The user chose the working dir (a reattached sandbox's label does not replace it).
    fixed_working_dir: bool = False
    sdk_config: Any = None  # daytona.DaytonaConfig, or None for the environment's
    resources: Any = None  # daytona.Resources
    setup: tuple[str, ...] = ()
    uv_version: str | None = None
    keep: bool = False
    #: The session's profile by name (for the reattach command a kept sandbox prints).
    profile: str | None = None
    auto_stop_interval: int = 1800
    auto_delete_interval: int = 3600
    create_timeout: float = 180.0
    request_timeout: float = 120.0
    setup_timeout: float = 1800.0


def minutes(seconds: int) -> int:
    """Seconds → whole minutes for the API (which counts minutes), rounding up; 0 stays 0."""
    return 0 if seconds == 0 else max(1, math.ceil(seconds / 60))


def create_intervals(plan: Plan) -> tuple[int, int]:
    """(auto-stop, auto-delete) in minutes as a create request carries them: a kept sandbox,
    or a negative auto-delete, is never deleted (-1)."""
    auto_delete = (
        -1 if plan.keep or plan.auto_delete_interval < 0 else minutes(plan.auto_delete_interval)
    )
    return minutes(plan.auto_stop_interval), auto_delete


def user_label() -> str:
    """`user@host`: the `rho-agent-user` label, whose sandboxes `rho-agent sandboxes` lists."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
