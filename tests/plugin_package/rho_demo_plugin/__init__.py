"""A rho-agent plugin that lives outside `rho_agent`: a backend and a tool.

- `scratch`: every session works in a fresh temporary directory, deleted when it ends;
  `--seed TEXT` writes SEED.txt into it first (an option the backend contributes).
- `web_fetch`: fetches a URL. Its capability is `network`, so only profiles with
  `network = true` get it, and under `approvals = "dangerous"` every call asks first, with
  this tool's own reason.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from rho_agent.backends import BackendPlugin, LocalWorkspace, OpenRequest, Workspace
from rho_agent.options import Option
from rho_agent.tools import Capability, Tool, ToolContext, ToolError, ToolResult


class ScratchWorkspace(LocalWorkspace):
    kind = "scratch"

    async def close(self) -> None:
        await super().close()
        shutil.rmtree(self.working_dir, ignore_errors=True)


@dataclass
class ScratchBackend:
    seed: str | None = None
    name: str = field(default="scratch", init=False)

    async def open(self, request: OpenRequest) -> Workspace:
        root = Path(tempfile.mkdtemp(prefix="rho-scratch-"))
        if self.seed is not None:
            (root / "SEED.txt").write_text(self.seed)
        return ScratchWorkspace(
            root,
            passthrough_env=list(request.passthrough_env),
            confinement=request.confinement,
            notify=request.notify,
        )


def _configure(working_dir: str | None = None, seed: str | None = None) -> ScratchBackend:
    return ScratchBackend(seed=seed)


backend = BackendPlugin(
    name="scratch",
    factory=ScratchBackend,
    options=(
        Option(
            "seed", "scratch: text to write to SEED.txt in the fresh workspace.", metavar="TEXT"
        ),
    ),
    configure=_configure,
    description="A fresh temporary directory per session.",
)


class FetchParams(BaseModel):
    url: str = Field(description="An http:// or https:// URL.")


class WebFetchTool(Tool):
    name = "web_fetch"
    description = "Fetch a URL and return the start of its body as text."
    Params = FetchParams
    capability = Capability.network

    async def approval_reason(self, params: Any, ctx: ToolContext) -> str | None:
        return f"downloads {params.url} from the network"

    def summary(self, tool_input: Mapping[str, Any]) -> str:
        return f"GET {tool_input.get('url', '?')}"

    async def run(self, params: Any, ctx: ToolContext) -> ToolResult:
        def get() -> str:
            with urllib.request.urlopen(params.url, timeout=10) as response:
                return response.read(100_000).decode(errors="replace")

        try:
            return ToolResult(await asyncio.to_thread(get))
        except OSError as exc:
            raise ToolError(f"Could not fetch {params.url}: {exc}") from None
