"""The requests the rho sidebar sends to the kernel over the comm, one pydantic model each.

`Request` is their union, discriminated by `type`; `rho_agent.notebook.comm` handles them.
Requests with an `id` are answered with that `id`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter


class Hello(BaseModel):
    type: Literal["hello"]


class Cancel(BaseModel):
    type: Literal["cancel"]
    session: str
    #: Only if this run (a `RunInfo.id`) is the one going on; None: whatever runs.
    run: str | None = None


class CancelAll(BaseModel):
    type: Literal["cancel_all"]


class RunPrompt(BaseModel):
    type: Literal["run"]
    id: str
    session: str | None = None
    prompt: str


class ListFiles(BaseModel):
    """What one folder of the workspace holds (relative to its working dir)."""

    type: Literal["list_files"]
    id: str
    session: str | None = None
    directory: str = "."


class Download(BaseModel):
    type: Literal["download"]
    id: str
    session: str | None = None
    remote: str
    #: Where to, relative to the kernel's working directory (the notebook's folder).
    local: str


class Upload(BaseModel):
    type: Literal["upload"]
    id: str
    session: str | None = None
    #: A file or folder, relative to the kernel's working directory (the notebook's folder).
    local: str
    #: Where in the workspace (relative to its working dir); default: `local`'s name.
    remote: str | None = None


class EndSession(BaseModel):
    type: Literal["end_session"]
    session: str


class Keep(BaseModel):
    """Keep the session's sandbox when the session ends (as `--keep` does)."""

    type: Literal["keep"]
    id: str
    session: str


class Approve(BaseModel):
    """The answer to an `approval` the kernel asked for a sidebar run."""

    type: Literal["approve"]
    approval: str
    allow: bool


class Delivered(BaseModel):
    """The extension wrote answer `answer` (an `answer` message's id) into its cell."""

    type: Literal["delivered"]
    answer: str


class Configure(BaseModel):
    type: Literal["configure"]
    #: Defaults for new sessions (backend, profile, model); empty values are left out.
    defaults: dict[str, str] = {}
    #: The kernel's budget in USD; 0 removes it, None leaves it.
    budget_usd: float | None = None


Request = Annotated[
    Hello
    | Cancel
    | CancelAll
    | RunPrompt
    | ListFiles
    | Download
    | Upload
    | EndSession
    | Keep
    | Approve
    | Delivered
    | Configure,
    Field(discriminator="type"),
]
requests: TypeAdapter[Request] = TypeAdapter(Request)
