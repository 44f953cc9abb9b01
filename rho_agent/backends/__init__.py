"""Where tools act: the `Workspace` seam, the backends that open one, and their registry.

    Backend (config object) ──open(OpenRequest)──► Workspace (exec, read/write, upload …)
        LocalBackend ─► LocalWorkspace              this machine, in an OS sandbox
        DaytonaBackend ─► DaytonaWorkspace          rho_agent.backends.daytona (a RemoteWorkspace)
        register_backend / entry points "rho_agent.backends" ─► any other

Importing this package imports neither a backend's SDK nor the daytona subpackage.
"""

from __future__ import annotations

from rho_agent.backends._local import LocalBackend, LocalWorkspace
from rho_agent.backends._registry import (
    BackendPlugin,
    backend_names,
    backend_plugin,
    register_backend,
    resolve_backend,
)
from rho_agent.backends._remote import RemoteWorkspace
from rho_agent.backends._report import PackReport
from rho_agent.backends._request import Backend, OpenRequest
from rho_agent.backends._specs import Upload, parse_download, parse_upload
from rho_agent.backends._types import ExecResult, Notify, NotRegularFileError, Progress
from rho_agent.backends._workspace import Workspace

__all__ = [
    "Backend",
    "BackendPlugin",
    "ExecResult",
    "LocalBackend",
    "LocalWorkspace",
    "NotRegularFileError",
    "Notify",
    "OpenRequest",
    "PackReport",
    "Progress",
    "RemoteWorkspace",
    "Upload",
    "Workspace",
    "backend_names",
    "backend_plugin",
    "parse_download",
    "parse_upload",
    "register_backend",
    "resolve_backend",
]
