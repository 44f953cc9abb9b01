"""The Daytona backend: tools run in a Daytona sandbox; the agent stays on this machine.

    _config.py     DaytonaBackend: the documented dataclass, `from_project`, `open()`
    _plan.py       Plan: what open() worked out; labels and names
    _client.py     the SDK client: credentials checked first, errors translated
    _errors.py     the error map: retries, backoff, OSErrors, SandboxNotFound
    _lifecycle.py  create / attach / start again / delete, and `call()` for every request
    _setup.py      setup commands, streamed
    _workspace.py  DaytonaWorkspace (a RemoteWorkspace) holding a Lifecycle
    _plugin.py     the `daytona` entry of the backend registry, with its flags
    _listing.py    the rho-agent sandboxes of the account

Nothing here imports the `daytona` SDK until a workspace is opened (or `connect()` is called).
"""

from __future__ import annotations

from rho_agent.backends.daytona._client import check_credentials, connect, make_client
from rho_agent.backends.daytona._config import DaytonaBackend
from rho_agent.backends.daytona._errors import SandboxNotFound
from rho_agent.backends.daytona._listing import rho_sandboxes
from rho_agent.backends.daytona._plan import HOME, LABEL, Plan, user_label
from rho_agent.backends.daytona._plugin import PLUGIN
from rho_agent.backends.daytona._workspace import DaytonaWorkspace

__all__ = [
    "HOME",
    "LABEL",
    "PLUGIN",
    "DaytonaBackend",
    "DaytonaWorkspace",
    "Plan",
    "SandboxNotFound",
    "check_credentials",
    "connect",
    "make_client",
    "rho_sandboxes",
    "user_label",
]
