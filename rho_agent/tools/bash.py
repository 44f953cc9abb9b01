"""`bash`: run a shell command in the workspace."""

from __future__ import annotations

from pydantic import BaseModel, Field

from rho_agent.permissions.profile import ShellMode
from rho_agent.tools.base import PermissionDenied, Tool, ToolContext, ToolResult

#: Longest timeout the model may ask for, seconds.
MAX_TIMEOUT = 600


class BashParams(BaseModel):
    command: str = Field(
        min_length=1,
        description="The command line, run with `bash -c` in the working directory.",
    )
    timeout: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TIMEOUT,
        description=(
            f"Seconds before the command and everything it started are killed "
            f"(default: the session's bash timeout; at most {MAX_TIMEOUT})."
        ),
    )


class BashTool(Tool):
    name = "bash"
    description = (
        "Run a command with bash in the working directory and return its combined "
        "stdout and stderr, followed by the exit code when it is not zero. Each call starts "
        "a fresh shell in the working directory (a `cd` does not carry over to the next "
        "call); stdin is empty, so interactive prompts fail instead of waiting. Use the "
        "read, glob, grep and list tools to look at files rather than cat/find/grep. "
        "Background processes that still write to the output are killed when the command "
        "ends; to leave one running, redirect its output (`server > server.log 2>&1 &`)."
    )
    Params = BashParams

    async def run(self, params: BashParams, ctx: ToolContext) -> ToolResult:
        if ctx.profile.shell is ShellMode.off:
            raise PermissionDenied(f"Profile '{ctx.profile.name}' has no shell.")
        if ctx.profile.shell is ShellMode.restricted:
            _check_restricted(params.command)
        timeout = min(params.timeout or ctx.bash_timeout, MAX_TIMEOUT)
        result = await ctx.workspace.exec(
            params.command, cwd=ctx.workspace.working_dir, env=ctx.env, timeout=timeout
        )
        text = result.output.rstrip("\n") or "(no output)"
        if result.timed_out:
            text += f"\n[timed out after {timeout:g}s; process killed]"
        elif result.exit_code != 0:
            text += f"\n[exit code: {result.exit_code}]"
        return ToolResult(text, is_error=result.timed_out or result.exit_code != 0)


def _check_restricted(command: str) -> None:
    """Raise PermissionDenied unless the restricted-shell policy allows `command`."""
    try:
        from rho_agent.permissions.shell_policy import check_command
    except ImportError:  # fail closed: no policy, no restricted shell
        raise PermissionDenied(
            "The restricted shell policy is unavailable, so no command can run."
        ) from None
    verdict = check_command(command)
    if not verdict.allowed:
        raise PermissionDenied(verdict.reason)
