"""`DaytonaBackend`: tools run in a Daytona sandbox; the agent stays on this machine.

    from daytona import DaytonaConfig, Resources
    from rho_agent.tools.handlers.daytona import DaytonaBackend

    backend = DaytonaBackend(image="python:3.13", resources=Resources(cpu=2, memory=4, disk=10))

`open()` validates everything (uploads, Dockerfile, credentials) before anything is created,
then starts provisioning in the background (create → upload → setup) so it overlaps the first
model call; the workspace's calls wait for it. The workspace itself is in `_workspace.py`.
This module does not import `daytona` until a workspace is opened.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rho_agent.backends._request import OpenRequest
from rho_agent.backends._specs import parse_upload
from rho_agent.backends.daytona._client import check_credentials
from rho_agent.backends.daytona._plan import (
    DEFAULT_IMAGE,
    DEFAULT_PATH,
    HOME,
    LABEL,
    Plan,
    user_label,
)
from rho_agent.backends.daytona._workspace import DaytonaWorkspace
from rho_agent.errors import ConfigError

if TYPE_CHECKING:
    from daytona import DaytonaConfig, Image, Resources

    from rho_agent.project import ProjectConfig

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UV_IN_COMMAND = re.compile(r"(^|[\s;&|(`])uvx?(\s|$)")


@dataclass(kw_only=True)
class DaytonaBackend:
    """Where and how the sandbox is created. Every field is optional.

    The first six are the documented ones. `auto_stop_interval` is in seconds of idleness
    (0 = never); its default is 30 minutes, not "never", so a crashed process cannot leave
    a sandbox running, and `auto_delete_interval` deletes a sandbox that has stayed stopped.
    """

    #: The SDK's auth config (api key, url, target); None: the `DAYTONA_*` environment variables.
    config: DaytonaConfig | None = field(default=None, repr=False)
    #: Container image: a name, or a Daytona `Image` object.
    image: str | Image = DEFAULT_IMAGE
    #: Create the sandbox from this Daytona snapshot instead of the image (fastest start).
    snapshot: str | None = None
    #: CPU, memory, disk, GPU (with an image only).
    resources: Resources | None = None
    #: Seconds idle before the sandbox stops (0 = never).
    auto_stop_interval: int = 1800
    #: Environment variables set on the sandbox (nothing local is sent otherwise).
    env_vars: dict[str, str] = field(default_factory=dict)

    #: Build the image from this Dockerfile instead.
    dockerfile: str | Path | None = None
    #: The tools' working directory; default: the uploaded project's directory, else /home/daytona.
    working_dir: str | None = None
    #: `"LOCAL:REMOTE"` mappings, uploaded at start (they replace the auto-upload of the project).
    uploads: list[str] = field(default_factory=list)
    #: Commands run in `working_dir` after the uploads; the first failure stops the session.
    setup: list[str] = field(default_factory=list)
    #: Install this uv version (otherwise uv is installed only when `setup` uses it).
    uv_version: str | None = None
    #: Extra labels on the sandbox.
    labels: dict[str, str] = field(default_factory=dict)
    #: Seconds a stopped sandbox is kept before deletion (-1 = never).
    auto_delete_interval: int = 3600
    #: Do not delete the sandbox when the session ends.
    keep: bool = False
    #: Reattach to this sandbox instead of creating one.
    sandbox_id: str | None = None
    #: Seconds for the sandbox to be created and started.
    create_timeout: float = 180.0
    #: Seconds for one file or command request without its own timeout.
    request_timeout: float = 120.0
    #: Seconds for one setup command.
    setup_timeout: float = 1800.0

    name: str = field(default="daytona", init=False)

    def __post_init__(self) -> None:
        for key in ("auto_stop_interval", "auto_delete_interval"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(
                    f"DaytonaBackend.{key} must be a whole number of seconds, got {value!r}"
                )
        if self.auto_stop_interval < 0:
            raise ConfigError(
                "DaytonaBackend.auto_stop_interval must be 0 (never) or a positive number of seconds"
            )
        if self.auto_delete_interval < -1:
            raise ConfigError(
                "DaytonaBackend.auto_delete_interval must be -1 (never), 0 or a positive number of seconds"
            )
        for key in ("env_vars", "labels"):
            mapping = getattr(self, key)
            if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                raise ConfigError(f"DaytonaBackend.{key} must map strings to strings")
        bad = [k for k in self.env_vars if not _ENV_NAME.match(k)]
        if bad:
            raise ConfigError(
                f"DaytonaBackend.env_vars: {bad[0]!r} is not a valid environment variable name"
            )
        if isinstance(self.uploads, str) or isinstance(self.setup, str):
            raise ConfigError("DaytonaBackend.uploads and .setup are lists of strings")
        if self.snapshot and self.dockerfile:
            raise ConfigError("DaytonaBackend: set snapshot or dockerfile, not both")
        if self.snapshot and self.resources is not None:
            raise ConfigError(
                "DaytonaBackend: resources only apply when creating from an image; "
                "a snapshot brings its own (drop resources, or use image=...)"
            )
        if self.working_dir is not None and not self.working_dir.startswith("/"):
            raise ConfigError(
                f"DaytonaBackend.working_dir must be an absolute path, got {self.working_dir!r}"
            )
        if self.sandbox_id is None:  # a bad upload is an error before anything is created
            for spec in self.uploads:
                parse_upload(spec, working_dir=self.working_dir or HOME)
        if self.create_timeout <= 0 or self.request_timeout <= 0 or self.setup_timeout <= 0:
            raise ConfigError("DaytonaBackend timeouts must be positive numbers of seconds")

    # ------------------------------------------------------------------ project files

    @classmethod
    def from_project(
        cls,
        project: ProjectConfig | None = None,
        *,
        uploads: list[str] | None = None,
        dockerfile: str | None = None,
        image: str | None = None,
        snapshot: str | None = None,
        working_dir: str | None = None,
        **fields: Any,
    ) -> DaytonaBackend:
        """A backend configured from `.rho-agent.toml` (discovered from the current directory)
        with CLI-style overrides. Without `uploads`, the project root is uploaded to
        /home/daytona/<project-name> (unless reattaching with `sandbox_id`)."""
        from rho_agent.project import ProjectConfig

        if working_dir and not working_dir.startswith("/"):
            raise ConfigError(
                f"--working-dir {working_dir}: on the daytona backend this is a path in the sandbox "
                f"and must be absolute, e.g. {HOME}/myapp/backend"
            )
        project = project or ProjectConfig.discover()
        box = project.sandbox
        reattach = bool(fields.get("sandbox_id"))
        if sum(bool(x) for x in (dockerfile, image, snapshot)) > 1:
            raise ConfigError("Use only one of --dockerfile, --image and --snapshot.")
        source: dict[str, Any] = {}
        if dockerfile or image or snapshot:  # a CLI flag replaces the file's choice entirely
            if dockerfile:
                path = Path(dockerfile).expanduser()
                if not path.is_file():
                    raise ConfigError(f"--dockerfile {dockerfile}: file not found")
                source["dockerfile"] = path.resolve()
            elif image:
                source["image"] = image
            else:
                source["snapshot"] = snapshot
        elif box.dockerfile:
            source["dockerfile"] = project.dockerfile
        elif box.image:
            source["image"] = box.image
        elif box.snapshot:
            source["snapshot"] = box.snapshot
        # Never auto-upload a home directory or / (run outside any project): ask for --upload.
        whole_machine = project.path is None and project.root in (Path.home().resolve(), Path("/"))
        if uploads:
            upload_specs = list(uploads)
        elif reattach or whole_machine:
            upload_specs = []
        else:
            upload_specs = [f"{project.root}:{project.remote_root}"]
        default_dir = None if reattach or uploads or whole_machine else project.remote_root
        return cls(
            **source,
            working_dir=working_dir or box.working_dir or default_dir,
            uploads=upload_specs,
            setup=[] if reattach else list(box.setup),
            uv_version=box.uv_version,
            env_vars={**box.env, **fields.pop("env_vars", {})},
            **fields,
        )

    # ------------------------------------------------------------------ opening

    async def open(self, request: OpenRequest) -> DaytonaWorkspace:
        """Validate, check credentials, and start provisioning in the background.

        Nothing is created in Daytona when this raises.
        """
        check_credentials(self.config)  # no SDK: ConfigError; no API key: MissingCredentialsError
        plan = await self._plan(request)  # bad uploads, Dockerfile, working dir: ConfigError
        workspace = DaytonaWorkspace(plan, notify=request.notify, confinement=request.confinement)
        workspace.life.preload(creating=not self.sandbox_id)
        if self.sandbox_id:
            try:
                await workspace.attach(self.sandbox_id)
            except BaseException:
                await workspace.close()
                raise
        workspace.start()
        return workspace

    async def _plan(self, request: OpenRequest) -> Plan:
        working_dir = self.working_dir or _remote_dir(request.working_dir) or HOME
        uploads = [parse_upload(spec, working_dir=working_dir) for spec in self.uploads]
        image = await asyncio.to_thread(self._image)
        env = {"PATH": DEFAULT_PATH}
        env.update({k: v for k in request.passthrough_env if (v := _getenv(k)) is not None})
        env.update(self.env_vars)
        labels = {
            LABEL: "1",
            f"{LABEL}-session": request.session_id,
            f"{LABEL}-user": user_label(),
            f"{LABEL}-created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            f"{LABEL}-working-dir": working_dir,
            **({f"{LABEL}-keep": "1"} if self.keep else {}),
            **self.labels,
        }
        needs_uv = bool(self.uv_version) or any(_UV_IN_COMMAND.search(c) for c in self.setup)
        return Plan(
            working_dir=working_dir,
            uploads=uploads,
            image=image,
            env=env,
            labels=labels,
            name=f"rho-agent-{request.session_id}-{secrets.token_hex(2)}",
            needs_uv=needs_uv,
            fixed_working_dir=bool(self.working_dir),
            sdk_config=self.config,
            resources=self.resources,
            setup=tuple(self.setup),
            uv_version=self.uv_version,
            keep=self.keep,
            profile=request.profile,
            auto_stop_interval=self.auto_stop_interval,
            auto_delete_interval=self.auto_delete_interval,
            create_timeout=self.create_timeout,
            request_timeout=self.request_timeout,
            setup_timeout=self.setup_timeout,
        )

    def _image(self) -> tuple[str, Any]:
        """What to create from: ("snapshot", name) or ("image", str | Image)."""
        if self.snapshot:
            return ("snapshot", self.snapshot)
        if self.dockerfile:
            from daytona import Image

            path = Path(self.dockerfile).expanduser()
            if not path.is_file():
                raise ConfigError(f"DaytonaBackend.dockerfile: {path} not found")
            try:
                return ("image", Image.from_dockerfile(path))
            except Exception as exc:  # the SDK reads COPY sources here
                raise ConfigError(f"{path}: cannot use this Dockerfile: {exc}") from exc
        if not isinstance(self.image, str):
            return ("image", self.image)
        if not self.image.strip():
            raise ConfigError("DaytonaBackend.image must not be empty")
        return ("image", self.image)


def _remote_dir(path: str | None) -> str | None:
    """The session's working dir (AgentConfig.working_dir) is a path in the sandbox."""
    if not path:
        return None
    if not path.startswith("/"):
        raise ConfigError(
            f"working_dir {path!r}: on the daytona backend it is a path in the sandbox and must be "
            f"absolute, e.g. {HOME}/myapp"
        )
    return posixpath.normpath(path)


def _getenv(name: str) -> str | None:
    return os.environ.get(name)
