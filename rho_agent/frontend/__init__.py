"""The kit every front end is built from: the option table, building the agent, the run view
model, the registry of named sessions (on their runner loop) and workspace files.

The CLI and the notebook are input handling and rendering over this; a later front end (the
JupyterLab extension, a batch runner) is one more module of that kind, never a copy.
"""

from __future__ import annotations

from rho_agent.frontend import _files as files
from rho_agent.frontend._build import build_agent, takes_uploads
from rho_agent.frontend._files import upload_specs
from rho_agent.frontend._keep import is_kept, keep_sandbox
from rho_agent.frontend._markdown import escape_markdown, no_math
from rho_agent.frontend._options import (
    AGENT_FIELDS,
    RUN_OPTIONS,
    Given,
    agent_options,
    backend_options,
    option_table,
    session_option_names,
    split,
)
from rho_agent.frontend._runner import Job, Runner
from rho_agent.frontend._sessions import (
    DEFAULT_SESSION,
    Attachment,
    NamedSession,
    SessionRegistry,
    show_settings,
)
from rho_agent.frontend._view import RunState, ToolLine

__all__ = [
    "AGENT_FIELDS",
    "DEFAULT_SESSION",
    "RUN_OPTIONS",
    "Attachment",
    "Given",
    "Job",
    "NamedSession",
    "RunState",
    "Runner",
    "SessionRegistry",
    "ToolLine",
    "agent_options",
    "backend_options",
    "build_agent",
    "escape_markdown",
    "files",
    "is_kept",
    "keep_sandbox",
    "no_math",
    "option_table",
    "session_option_names",
    "show_settings",
    "split",
    "takes_uploads",
    "upload_specs",
]
