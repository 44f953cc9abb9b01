"""`rho-agent main [PROMPT]`: one-shot with a prompt, an interactive REPL without one."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Annotated, Any

import typer

from rho_agent.cli.options import OutputFormat, parse_vars, read_system_prompt
from rho_agent.errors import ConfigError

# Exit codes by run status (user errors use RhoError.exit_code: 2 config, 3 missing key, 4 setup).
EXIT_CODES = {
    "completed": 0,
    "error": 1,
    "refused": 1,
    "truncated": 1,
    "max_turns": 5,
    "max_cost": 5,
    "cancelled": 130,
}


def main(
    prompt: Annotated[
        str | None,
        typer.Argument(
            metavar="PROMPT", help="The task. Without it, an interactive session starts."
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Permission profile: readonly, developer, unrestricted, or a profile TOML file. [env: RHO_AGENT_PROFILE; default: readonly]"
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            help="Where tools run: local or daytona. [env: RHO_AGENT_BACKEND; default: local]"
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Model id. [env: RHO_AGENT_MODEL; default: claude-sonnet-5-5]"),
    ] = None,
    working_dir: Annotated[
        str | None, typer.Option("--working-dir", help="Working directory for the tools.")
    ] = None,
    system_prompt: Annotated[
        str | None,
        typer.Option(
            "--system-prompt", metavar="FILE", help="Replace the system prompt with this file."
        ),
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            metavar="KEY=VALUE",
            help="Template variable for the system prompt (repeatable).",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve every call the profile would ask about.")
    ] = False,
    max_turns: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many model turns.")
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option(min=0.0001, help="Stop when the run has cost this many USD.")
    ] = None,
    resume: Annotated[
        str | None, typer.Option(metavar="latest|ID", help="Continue a stored session.")
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--output-format",
            help="text (streamed), json (result at the end), jsonl (every event).",
        ),
    ] = OutputFormat.text,
    upload: Annotated[
        list[str] | None,
        typer.Option(
            "--upload",
            metavar="LOCAL:REMOTE",
            help="daytona: copy a local file or directory into the sandbox before the agent starts (repeatable; replaces the auto-upload of the project).",
        ),
    ] = None,
    download: Annotated[
        list[str] | None,
        typer.Option(
            "--download",
            metavar="REMOTE:LOCAL",
            help="daytona: copy a file or directory out of the sandbox after a one-shot run (repeatable).",
        ),
    ] = None,
    dockerfile: Annotated[
        str | None,
        typer.Option(
            "--dockerfile",
            metavar="FILE",
            help="daytona: build the sandbox image from this Dockerfile.",
        ),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", help="daytona: sandbox image. [default: daytonaio/sandbox:latest]"),
    ] = None,
    snapshot: Annotated[
        str | None,
        typer.Option("--snapshot", help="daytona: create the sandbox from this Daytona snapshot."),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="daytona: keep the sandbox when the session ends (prints how to reattach).",
        ),
    ] = False,
    sandbox: Annotated[
        str | None,
        typer.Option(
            "--sandbox",
            metavar="ID",
            help="daytona: reattach to a kept sandbox instead of creating one.",
        ),
    ] = None,
) -> None:
    """Run the agent: one-shot with PROMPT, interactive without."""
    from rho_agent.agent import Agent
    from rho_agent.config import AgentConfig

    fields: dict[str, Any] = {
        "model": model,
        "profile": profile,
        "backend": backend,
        "working_dir": working_dir,
        "max_turns": max_turns,
        "max_cost_usd": max_cost,
        "auto_approve": yes,
        "prompt_vars": parse_vars(var or []),
    }
    if system_prompt:
        fields["system_prompt"] = read_system_prompt(system_prompt)
    agent = Agent(AgentConfig(**{k: v for k, v in fields.items() if v is not None}))
    sandbox_flags = {
        "uploads": upload,
        "dockerfile": dockerfile,
        "image": image,
        "snapshot": snapshot,
        "keep": keep,
        "sandbox_id": sandbox,
    }
    downloads = _parse_downloads(download or [])
    if agent.backend.name == "daytona":
        from rho_agent.backends.daytona import DaytonaBackend

        fields["backend"] = DaytonaBackend.from_project(
            working_dir=working_dir, **{k: v for k, v in sandbox_flags.items() if v}
        )
        agent = Agent(AgentConfig(**{k: v for k, v in fields.items() if v is not None}))
    elif any(sandbox_flags.values()) or downloads:
        raise ConfigError(
            "--upload, --download, --dockerfile, --image, --snapshot, --keep and --sandbox need --backend daytona."
        )

    if prompt is None:
        if not sys.stdin.isatty():
            piped = sys.stdin.read().strip()
            if not piped:
                raise ConfigError(
                    "No prompt given and stdin is not a terminal: pass PROMPT, or pipe one in."
                )
            prompt = piped
        else:
            from rho_agent.cli.repl import run_repl

            if downloads:
                raise ConfigError(
                    "--download is for one-shot runs; in an interactive session use /download REMOTE LOCAL."
                )
            raise typer.Exit(asyncio.run(run_repl(agent, resume=resume)))
    raise typer.Exit(
        _run_one_shot(
            agent, prompt, resume=resume, output_format=output_format, downloads=downloads
        )
    )


def _parse_downloads(specs: list[str]) -> list[tuple[str, str, Any]]:
    from rho_agent.backends.transfer import parse_download

    return [(spec, *parse_download(spec)) for spec in specs]


async def _download_all(session: Any, downloads: list[tuple[str, str, Any]]) -> None:
    for spec, remote, local in downloads:
        try:
            path = await session.download(remote, local)
        except FileNotFoundError:
            raise ConfigError(
                f"--download {spec}: {remote} does not exist in the sandbox."
            ) from None
        sys.stderr.write(f"Downloaded {remote} → {path}\n")


def _run_one_shot(
    agent: Any,
    prompt: str,
    *,
    resume: str | None,
    output_format: OutputFormat,
    downloads: list[Any] | None = None,
) -> int:
    from rho_agent.cli.render import JsonlRenderer, QuietRenderer, TextRenderer, result_json
    from rho_agent.redact import default_redactor
    from rho_agent.session import Session

    # Secrets are hidden in every format; variables passed to tools on purpose are secrets too.
    redactor = default_redactor(agent.passthrough_env)
    renderer = {
        OutputFormat.text: TextRenderer,
        OutputFormat.jsonl: JsonlRenderer,
        OutputFormat.json: QuietRenderer,
    }[output_format](redactor=redactor)

    async def go() -> int:
        asks = sys.stdin.isatty() and not agent.config.auto_approve
        approver = _tty_approver(redactor) if asks else None
        main_task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        # Ctrl-C and SIGTERM cancel the run; the session still closes (and deletes a sandbox).
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, main_task.cancel)  # type: ignore[union-attr]
        async with Session(agent, resume=resume, on_event=renderer, approver=approver) as session:
            result = await session.run(prompt)
            failure = session.workspace.failure  # the sandbox could not be set up
            if downloads and failure is None and result.status != "cancelled":
                await _download_all(session, downloads)
        if output_format is OutputFormat.json:
            print(result_json(result, redactor))
        elif output_format is OutputFormat.text and result.text and not result.text.endswith("\n"):
            print()
        if failure is not None:
            return getattr(failure, "exit_code", 1)
        return EXIT_CODES.get(result.status, 1)

    try:
        return asyncio.run(go())
    except asyncio.CancelledError:
        sys.stderr.write("Cancelled.\n")
        return 130


def _tty_approver(redactor: Any) -> Any:
    async def approve(name: str, tool_input: dict[str, Any]) -> bool:
        from rho_agent.cli.render import summarize_call

        loop = asyncio.get_running_loop()
        summary = summarize_call(name, tool_input, width=200, redactor=redactor)
        sys.stderr.write(f"\n  ? approve {summary} [y/N] ")
        sys.stderr.flush()
        answer = await loop.run_in_executor(None, sys.stdin.readline)
        return answer.strip().lower() in ("y", "yes")

    return approve
