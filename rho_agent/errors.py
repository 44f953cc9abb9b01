"""Every error rho-agent raises on purpose.

    RhoError                      root; `.exit_code` is what the CLI exits with
     ├─ UserError                 the user can fix it (exit 2)
     │   ├─ ConfigError           a bad config value, file or flag; names the place and the fix
     │   ├─ ProfileError          unknown or malformed permission profile
     │   └─ MissingCredentialsError   no API key (exit 3)
     ├─ RunError                  the run could not finish (exit 1)
     │   ├─ ModelError            the model API failed for good (after retries)
     │   ├─ SandboxError          the remote workspace failed (create, exec, transfer)
     │   ├─ SetupError            a setup command exited non-zero (exit 4)
     │   └─ DownloadError         the run finished, its result could not be copied out (exit 6)
     └─ CancelledRun              the run was cancelled by the user (exit 130)

Tool failures are not exceptions at this level: a tool that fails returns an error
result to the model (see `rho_agent.tools.ToolError`).
"""

from __future__ import annotations


class RhoError(Exception):
    """Root of every error rho-agent raises for a reason it understands."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(RhoError):
    exit_code = 2


class ConfigError(UserError):
    """A config file, field or flag is wrong. The message names it and says how to fix it."""


class ProfileError(UserError):
    """An unknown or malformed permission profile."""


class MissingCredentialsError(UserError):
    exit_code = 3


class RunError(RhoError):
    exit_code = 1


class ModelError(RunError):
    """The model API failed and retrying did not help."""


class SandboxError(RunError):
    """The remote workspace could not be created, reached or used."""


class SetupError(RunError):
    """A setup command failed; the run stopped before any tool ran in the sandbox."""

    exit_code = 4


class DownloadError(RunError):
    """`--download REMOTE:LOCAL` after a run: REMOTE could not be copied out (missing, or
    the copy failed). The run itself finished; only its result is not where it was asked."""

    exit_code = 6


class CancelledRun(RhoError):
    exit_code = 130
