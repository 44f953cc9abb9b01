"""Permission profiles: what the agent may do, the same on every backend."""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rho_agent._util import did_you_mean
from rho_agent.errors import ProfileError
from rho_agent.sandbox import Confinement, SandboxMode, WriteScope


class ShellMode(StrEnum):
    off = "off"
    restricted = (
        "restricted"  # only read-only commands, checked by rho_agent.permissions.shell_policy
    )
    unrestricted = "unrestricted"


class FileWriteMode(StrEnum):
    off = "off"
    create_only = "create-only"  # new files only; no overwrite, no edit
    full = "full"


class SqlMode(StrEnum):
    readonly = "readonly"
    mutations = "mutations"


class Capability(StrEnum):
    """What a tool can do; a profile grants capabilities, and so decides which tools exist."""

    read = "read"  # looks, never changes anything: always granted
    write = "write"  # changes files: granted unless `file_write = "off"`
    exec = "exec"  # runs commands: granted unless `shell = "off"`
    network = "network"  # reaches other machines: granted only with `network = true`


class ApprovalMode(StrEnum):
    none = "none"
    dangerous = "dangerous"  # the calls a tool says need approval (`Tool.approval_reason`)
    all = "all"  # every call of a tool that can change something
    listed = "listed"  # the tools named in `approval_tools`


class Profile(BaseModel):
    """A permission profile. Build one directly, or load it from a TOML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: How the profile is named (a TOML file's name defaults to the file's stem).
    name: str
    #: One line saying what the profile is for.
    description: str = ""
    #: `off`: no shell; `restricted`: only read-only commands; `unrestricted`: any command.
    shell: ShellMode = ShellMode.restricted
    #: `off`, `create-only` (new files, no overwrite or edit) or `full`.
    file_write: FileWriteMode = FileWriteMode.off
    #: `readonly` (the database is opened read-only) or `mutations`.
    sql: SqlMode = SqlMode.readonly
    #: Which calls need the user's approval: `none`, `dangerous`, `all` or `listed`.
    approvals: ApprovalMode = ApprovalMode.none
    #: The tools that need approval under `approvals = "listed"`.
    approval_tools: tuple[str, ...] = Field(default=())
    #: Whether shell commands may use the network (enforced by the OS sandbox), and whether
    #: tools with the `network` capability are offered.
    network: bool = False
    #: `required`: no OS sandbox here, no shell commands. `auto`: run them unconfined, with a
    #: warning. `off`: never sandbox (then /proc and the network are open to commands).
    sandbox: SandboxMode = SandboxMode.required
    #: Where shell commands may write, besides a private /tmp. A restricted shell never writes.
    shell_writes: WriteScope = WriteScope.working_dir
    #: More host paths shell commands may write to (with `shell_writes = "working-dir"`).
    writable_paths: tuple[str, ...] = Field(default=())

    def grants(self, capability: Capability) -> bool:
        """Whether tools with `capability` are offered under this profile."""
        match capability:
            case Capability.read:
                return True
            case Capability.write:
                return self.file_write is not FileWriteMode.off
            case Capability.exec:
                return self.shell is not ShellMode.off
            case Capability.network:
                return self.network

    def confinement(self) -> Confinement:
        """What the OS sandbox lets every shell command of this profile do."""
        restricted = self.shell is ShellMode.restricted
        writes = WriteScope.none if restricted else self.shell_writes
        extra = (
            ()
            if writes is not WriteScope.working_dir
            else tuple(str(Path(p).expanduser().resolve()) for p in self.writable_paths)
        )
        from rho_agent.sandbox._credentials import credential_paths

        return Confinement(
            mode=self.sandbox,
            writes=writes,
            extra_writable=extra,
            network=self.network,
            clear_env=restricted,
            hidden=() if writes is WriteScope.anywhere else credential_paths(),
        )

    def summary(self) -> str:
        """One paragraph for the system prompt: what is allowed, so no turns are wasted."""
        shell = {
            ShellMode.off: "There is no shell.",
            ShellMode.restricted: (
                "The shell is restricted to read-only commands (e.g. ls, cat, grep, find, git "
                "status/log/diff); commands that modify files, install software or use the network "
                "are denied."
            ),
            ShellMode.unrestricted: "The shell is unrestricted.",
        }[self.shell]
        files = {
            FileWriteMode.off: "Files cannot be written or edited.",
            FileWriteMode.create_only: "New files can be created, but existing files cannot be changed.",
            FileWriteMode.full: "Files can be created and edited.",
        }[self.file_write]
        sql = "SQL is read-only." if self.sql is SqlMode.readonly else "SQL may modify data."
        approvals = {
            ApprovalMode.none: "",
            ApprovalMode.dangerous: " Destructive commands need the user's approval.",
            ApprovalMode.all: " Every change needs the user's approval.",
            ApprovalMode.listed: f" Calls of {', '.join(self.approval_tools)} need the user's approval.",
        }[self.approvals]
        sandbox = ""
        if self.shell is not ShellMode.off and self.sandbox is not SandboxMode.off:
            sandbox = (
                f" Shell commands run in an OS sandbox: {self.confinement().describe()}; "
                "background processes end with the command that started them."
            )
        return f"Profile '{self.name}': {shell} {files} {sql}{approvals}{sandbox}"


READONLY = Profile(
    name="readonly",
    description="Look, don't touch: read-only shell and no file writes.",
    shell=ShellMode.restricted,
    file_write=FileWriteMode.off,
    sql=SqlMode.readonly,
    network=False,
    sandbox=SandboxMode.required,
    shell_writes=WriteScope.none,
)
DEVELOPER = Profile(
    name="developer",
    description="Work on the code: full shell and file access; destructive commands need approval.",
    shell=ShellMode.unrestricted,
    file_write=FileWriteMode.full,
    sql=SqlMode.mutations,
    approvals=ApprovalMode.dangerous,
    network=True,
    sandbox=SandboxMode.auto,
    shell_writes=WriteScope.working_dir,
)
UNRESTRICTED = Profile(
    name="unrestricted",
    description="Everything, without asking.",
    shell=ShellMode.unrestricted,
    file_write=FileWriteMode.full,
    sql=SqlMode.mutations,
    approvals=ApprovalMode.none,
    network=True,
    sandbox=SandboxMode.auto,
    shell_writes=WriteScope.anywhere,
)

BUILTIN_PROFILES: dict[str, Profile] = {p.name: p for p in (READONLY, DEVELOPER, UNRESTRICTED)}


def load_profile_file(path: Path) -> Profile:
    """A custom profile from TOML; errors name the file and the field."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ProfileError(f"Profile file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    data.setdefault("name", path.stem)
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        hint = ""
        if err["type"] == "extra_forbidden":
            hint = did_you_mean(field, list(Profile.model_fields))
            raise ProfileError(f"{path}: unknown key '{field}'{hint}") from None
        raise ProfileError(f"{path}: field '{field}': {err['msg']}") from None


def resolve_profile(spec: str | Profile, search_dirs: list[Path] | None = None) -> Profile:
    """A Profile from a built-in name, a path to a TOML file, or a name in `search_dirs`."""
    if isinstance(spec, Profile):
        return spec
    if spec in BUILTIN_PROFILES:
        return BUILTIN_PROFILES[spec]
    candidate = Path(spec).expanduser()
    if candidate.suffix == ".toml" or candidate.exists():
        return load_profile_file(candidate)
    for directory in search_dirs or []:
        custom = directory / f"{spec}.toml"
        if custom.exists():
            return load_profile_file(custom)
    names = list(BUILTIN_PROFILES)
    raise ProfileError(
        f"Unknown profile '{spec}'{did_you_mean(spec, names)}. "
        f"Use one of {', '.join(names)}, or a path to a profile TOML file."
    )
