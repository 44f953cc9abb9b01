"""`bash`: run a shell command in the workspace."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field

from rho_agent.permissions.profile import ShellMode
from rho_agent.tools._base import Capability, PermissionDenied, Tool, ToolContext, ToolResult

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
    capability = Capability.exec

    async def approval_reason(self, params: BashParams, ctx: ToolContext) -> str | None:
        """A destructive command: deletes or overwrites files, discards git work, and so on
        (`rho_agent.permissions.shell_policy.dangerous_reason`)."""
        from rho_agent.permissions.shell_policy import dangerous_reason

        # Off the event loop: parsing a long command must not stall the UI or other sessions.
        return await asyncio.to_thread(dangerous_reason, params.command)

    def summary(self, tool_input: Mapping[str, Any]) -> str:
        command = tool_input.get("command")
        return command if isinstance(command, str) else ""

    async def run(self, params: BashParams, ctx: ToolContext) -> ToolResult:
        if ctx.profile.shell is ShellMode.off:
            raise PermissionDenied(f"Profile '{ctx.profile.name}' has no shell.")
        env = ctx.env
        if ctx.profile.shell is ShellMode.restricted:
            if ctx.shell_policy:
                # Off the event loop: a long command must not stall other sessions or the UI.
                await asyncio.to_thread(_check_restricted, params.command)
            env = restricted_env(env)
        timeout = min(params.timeout or ctx.bash_timeout, MAX_TIMEOUT)
        result = await ctx.workspace.exec(
            params.command, cwd=ctx.workspace.working_dir, env=env, timeout=timeout
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


# The policy lets read-only git subcommands through, but a repository's own config can
# make them run programs. Config given in GIT_CONFIG_COUNT/KEY_i/VALUE_i has command-line
# scope, which outranks .git/config (git >= 2.31; older git ignores it). Checked with
# git 2.39. Not covered, because no fixed key outranks them: diff.external and
# diff.<driver>.command (run by `git diff`; an empty diff.external makes git fail instead
# of falling back to its own diff), diff.<driver>.textconv (git diff, log -p, show, blame)
# and filter.<driver>.clean (status/diff of changed files), where the driver is named in
# .gitattributes; --no-textconv and --no-ext-diff have no config equivalent. These need
# a hostile .git/config in the workspace.
_GIT_CONFIG = (
    ("core.fsmonitor", "false"),  # status, diff, blame... run the fsmonitor hook
    ("core.pager", "cat"),  # GIT_PAGER outranks it too; pagers start only on a terminal
    ("log.showSignature", "false"),  # log/show would run gpg.program on signed commits
    ("gpg.program", "gpg"),  # an explicit --show-signature runs the standard programs
    ("gpg.ssh.program", "ssh-keygen"),
    ("gpg.x509.program", "gpgsm"),
)
_GIT_ENV = {
    "GIT_PAGER": "cat",  # outranks core.pager and pager.<command>
    "PAGER": "cat",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",  # git status does not refresh and rewrite the index
    # Read-only commands the policy allows that would otherwise reach out or run repo code:
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",  # `pip list` asks PyPI for a newer pip
    "PYTHONSAFEPATH": "1",  # `python -m pip` would import a pip/ or json.py from the repo
    "GOTOOLCHAIN": "local",  # `go version` would download the toolchain go.mod names
}


def restricted_env(env: dict[str, str]) -> dict[str, str]:
    """`env` plus the git hardening for the restricted shell. A GIT_CONFIG_COUNT list
    already in `env` is kept and ours goes after it, so ours wins."""
    count = env.get("GIT_CONFIG_COUNT", "")
    start = int(count) if count.isdigit() else 0
    merged = {**env, **_GIT_ENV, "GIT_CONFIG_COUNT": str(start + len(_GIT_CONFIG))}
    for i, (key, value) in enumerate(_GIT_CONFIG, start):
        merged[f"GIT_CONFIG_KEY_{i}"] = key
        merged[f"GIT_CONFIG_VALUE_{i}"] = value
    return merged
