"""`.rho-agent.toml`: per-project sandbox settings, found by walking up from a directory.

    [sandbox]
    image = "daytonaio/sandbox:latest"     # or: dockerfile = "Dockerfile" | snapshot = "name"
    working_dir = "/home/daytona/myapp/backend"
    setup = ["uv sync"]
    uv_version = "0.6.6"

    [sandbox.env]
    NODE_ENV = "development"

Every problem names the file, the key and what is wrong; an unknown key gets a did-you-mean.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rho_agent.config import load_toml_model
from rho_agent.errors import ConfigError

FILENAME = ".rho-agent.toml"
SANDBOX_HOME = "/home/daytona"
_UV_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?([a-z0-9.+-]*)$")


class SandboxSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str | None = None
    dockerfile: str | None = None
    snapshot: str | None = None
    working_dir: str | None = None
    setup: list[str] = Field(default_factory=list)
    uv_version: str | None = None
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("working_dir")
    @classmethod
    def _absolute(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("/"):
            raise ValueError(f"must be an absolute path in the sandbox, e.g. {SANDBOX_HOME}/myapp")
        return posixpath.normpath(v) if v else v

    @field_validator("setup")
    @classmethod
    def _commands(cls, v: list[str]) -> list[str]:
        if any(not c.strip() for c in v):
            raise ValueError("setup commands must not be empty strings")
        return v

    @field_validator("uv_version")
    @classmethod
    def _version(cls, v: str | None) -> str | None:
        if v is not None and not _UV_VERSION.match(v):
            raise ValueError('must be a uv version such as "0.6.6"')
        return v

    @field_validator("image", "dockerfile", "snapshot")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> SandboxSection:
        given = [k for k in ("image", "dockerfile", "snapshot") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(
                f"set only one of image, dockerfile and snapshot (got {' and '.join(given)})"
            )
        return self


class ProjectFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sandbox: SandboxSection = Field(default_factory=SandboxSection)


class ProjectConfig:
    """A loaded `.rho-agent.toml` and the project root it sits in."""

    def __init__(self, root: Path, path: Path | None, sandbox: SandboxSection) -> None:
        self.root = root
        self.path = path
        self.sandbox = sandbox

    def __repr__(self) -> str:
        return f"ProjectConfig(root={str(self.root)!r}, path={str(self.path) if self.path else None!r})"

    @property
    def name(self) -> str:
        return self.root.name or "project"

    @property
    def remote_root(self) -> str:
        """Where the project is uploaded: /home/daytona/<project-name>."""
        return f"{SANDBOX_HOME}/{self.name}"

    @property
    def dockerfile(self) -> Path | None:
        """The Dockerfile, resolved against the project root; an error if it is missing."""
        if not self.sandbox.dockerfile:
            return None
        path = (self.root / self.sandbox.dockerfile).resolve()
        if not path.is_file():
            raise ConfigError(
                f"{self.path}: key 'sandbox.dockerfile': {self.sandbox.dockerfile} not found "
                f"(paths are relative to the project root {self.root})"
            )
        return path

    @classmethod
    def load(cls, path: Path) -> ProjectConfig:
        data: ProjectFile = load_toml_model(path, ProjectFile)
        config = cls(path.parent.resolve(), path.resolve(), data.sandbox)
        config.dockerfile  # noqa: B018  (checks the file exists)
        return config

    @classmethod
    def discover(cls, start: Path | None = None) -> ProjectConfig:
        """The nearest `.rho-agent.toml` at or above `start` (default: the current directory);
        without one, an empty config rooted at `start`."""
        start = (start or Path.cwd()).resolve()
        path = find_project_file(start)
        return cls.load(path) if path else cls(start, None, SandboxSection())


def find_project_file(start: Path) -> Path | None:
    for directory in [start, *start.parents]:
        candidate = directory / FILENAME
        if candidate.is_file():
            return candidate
    return None
