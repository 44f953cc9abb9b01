"""Jupyter support: `%load_ext rho_agent`, `%%rho` cells, `%rho` commands and `Panel()`.

    %load_ext rho_agent

    %%rho --profile developer
    Summarise {df_name} and plot sales by month.

From Python in a cell: `s = rho_agent.notebook.session()` is the notebook's conversation
(`await s.run("...")` or `s.run_sync("...")`), `rho_agent.notebook.Panel()` the widget panel.
Nothing here imports anthropic, daytona or ipywidgets until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Panel", "RunWidget", "load_ipython_extension", "session", "unload_ipython_extension"]

if TYPE_CHECKING:
    from rho_agent.notebook.panel import Panel, RunWidget
    from rho_agent.notebook.registry import NotebookSession


def __getattr__(name: str) -> Any:
    if name in ("Panel", "RunWidget"):
        from rho_agent.notebook import panel

        return getattr(panel, name)
    raise AttributeError(f"module 'rho_agent.notebook' has no attribute {name!r}")


def session(name: str | None = None) -> NotebookSession:
    """The notebook session `name` (default: this notebook's conversation)."""
    from rho_agent.notebook.registry import get_registry

    return get_registry().session(name)


def load_ipython_extension(ipython: Any) -> None:
    from rho_agent.notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from rho_agent.notebook.magics import unload_ipython_extension as unload

    unload(ipython)
