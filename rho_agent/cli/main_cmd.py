"""`rho-agent main [PROMPT]`: one-shot with a prompt, an interactive REPL without one."""

from __future__ import annotations

import asyncio
import inspect
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

import typer

from rho_agent.cli.options import (
    OutputFormat,
    check_output_file,
    parse_vars,
    read_system_prompt,
    use_config_file,
)
from rho_agent.errors import ConfigError, DownloadError
from rho_agent.options import Option

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


#: Options only the terminal has (the notebook has its own); the rest come from the kit's table.
CLI_OPTIONS = (
    Option("system_prompt", "Replace the system prompt with this file.", metavar="FILE"),
    Option(
        "var",
        "Template variable for the system prompt (repeatable).",
        multiple=True,
        metavar="KEY=VALUE",
    ),
    Option("resume", "Continue a stored session.", metavar="latest|ID", short="-r"),
    Option(
        "print",
        "One-shot: print only the final answer when the run ends (no streaming; progress on "
        "stderr). Needs PROMPT or piped input.",
        type=bool,
        short="-p",
    ),
    Option(
        "output",
        "Write the final answer (with --output-format json, the JSON; jsonl, the events) to FILE "
        "instead of stdout; progress stays on stderr.",
        metavar="FILE",
        short="-o",
    ),
    Option(
        "config",
        "Read the user config from FILE instead of ~/.rho-agent/config.toml (same keys). "
        "[env: RHO_AGENT_CONFIG]",
        metavar="FILE",
    ),
)


def main(**values: Any) -> None:
    """Run the agent: one-shot with PROMPT, interactive without.

    Piped input is part of the prompt, as with `llm`: `git diff | rho-agent main "review this"`
    sends the piped text, a space, then PROMPT; piped input alone is the prompt. Short flags:
    -m model, -C working dir, -y yes, -r resume, -p print, -o output.
    """
    from rho_agent.backends import parse_upload
    from rho_agent.frontend import build_agent, split, takes_uploads

    prompt: str | None = values.pop("prompt")
    output_format: OutputFormat = values.pop("output_format")
    resume: str | None = values.pop("resume")
    system_prompt: str | None = values.pop("system_prompt")
    print_only: bool = values.pop("print")
    output = check_output_file(values.pop("output"))
    use_config_file(values.pop("config"))
    config: dict[str, Any] = {"prompt_vars": parse_vars(values.pop("var") or [])}
    if system_prompt:
        config["system_prompt"] = read_system_prompt(system_prompt)
    prompt = _with_stdin(prompt)
    if prompt is None and (print_only or output is not None):
        flag = "-p/--print" if print_only else "--output"
        raise ConfigError(f"{flag} is for one-shot runs: pass PROMPT, or pipe one in.")
    agent = build_agent(values, **config)
    run = split(values).run
    downloads = _parse_downloads(run.get("download", []))
    # A backend that provisions takes --upload while it does; elsewhere they go in at start.
    uploads = [] if takes_uploads(agent) else list(run.get("upload", []))
    for spec in uploads:
        parse_upload(
            spec, working_dir="/", flag="--upload"
        )  # LOCAL must exist: fail before starting

    if prompt is None:
        from rho_agent.cli.repl import run_repl

        if downloads:
            raise ConfigError(
                "--download is for one-shot runs; in an interactive session use /download REMOTE LOCAL."
            )
        raise typer.Exit(asyncio.run(run_repl(agent, resume=resume, uploads=uploads)))
    raise typer.Exit(
        _run_one_shot(
            agent,
            prompt,
            resume=resume,
            output_format=output_format,
            uploads=uploads,
            downloads=downloads,
            print_only=print_only,
            output=output,
        )
    )


def _with_stdin(prompt: str | None) -> str | None:
    """PROMPT combined with piped input; None (the REPL) when there is neither.

    With PROMPT the rule is llm's (simonw/llm, llm/cli.py, `prompt` command, `read_prompt()`):
    when stdin is not a terminal it is read whole, unstripped, and comes first; PROMPT follows
    after one space. Piped input alone is the prompt, stripped (as before). A prompt that is
    empty or only whitespace is refused before any request.
    """
    piped = "" if sys.stdin.isatty() else sys.stdin.read()
    if prompt is None and sys.stdin.isatty():
        return None
    combined = " ".join(part for part in (piped, prompt) if part) if prompt else piped.strip()
    if not combined.strip():
        if prompt is None:
            raise ConfigError(
                "No prompt given and stdin is not a terminal: pass PROMPT, or pipe one in."
            )
        raise ConfigError("The prompt is empty: say what the agent should do.")
    return combined


def _signature() -> inspect.Signature:
    """`main`'s parameters as typer reads them: PROMPT, the kit's option table, the CLI's own."""
    from rho_agent.frontend import option_table

    prompt = inspect.Parameter(
        "prompt",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=str | None,
        default=typer.Argument(
            None, metavar="PROMPT", help="The task. Without it, an interactive session starts."
        ),
    )
    output_format = inspect.Parameter(
        "output_format",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=OutputFormat,
        default=typer.Option(
            OutputFormat.text,
            "--output-format",
            help="text (streamed), json (result at the end), jsonl (every event).",
        ),
    )
    options = [_parameter(o) for o in (*option_table(), *CLI_OPTIONS)]
    return inspect.Signature([prompt, *options, output_format])


def _parameter(option: Option) -> inspect.Parameter:
    """One `Option` as a typer option parameter."""
    common: dict[str, Any] = {"help": option.help}
    if option.metavar:
        common["metavar"] = option.metavar
    if option.is_flag:
        annotation: Any = bool
        default = typer.Option(False, *option.flags, **common)
    elif option.multiple:
        annotation = list[option.type] | None
        default = typer.Option(None, *option.flags, **common)
    else:
        annotation = option.type | None
        if option.minimum is not None:
            common["min"] = option.minimum
        default = typer.Option(None, *option.flags, **common)
    return inspect.Parameter(
        option.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


main.__signature__ = _signature()  # type: ignore[attr-defined]


def _parse_downloads(specs: list[str]) -> list[tuple[str, str, Any]]:
    from rho_agent.backends import parse_download

    return [(spec, *parse_download(spec)) for spec in specs]


async def _download_all(session: Any, downloads: list[tuple[str, str, Any]]) -> None:
    for spec, remote, local in downloads:
        try:
            path = await session.download(remote, local)
        except FileNotFoundError:
            raise DownloadError(
                f"--download {spec}: {remote} does not exist in the workspace "
                "(the run itself finished)."
            ) from None
        sys.stderr.write(f"Downloaded {remote} → {path}\n")


def _run_one_shot(
    agent: Any,
    prompt: str,
    *,
    resume: str | None,
    output_format: OutputFormat,
    uploads: list[str] | None = None,
    downloads: list[Any] | None = None,
    print_only: bool = False,
    output: Path | None = None,
) -> int:
    from rho_agent.cli.render import JsonlRenderer, QuietRenderer, TextRenderer, result_json
    from rho_agent.frontend import upload_specs
    from rho_agent.redact import default_redactor
    from rho_agent.session import Session

    # Secrets are hidden in every format; variables passed to tools on purpose are secrets too.
    redactor = default_redactor(agent.passthrough_env)
    out: TextIO = sys.stdout if output is None else output.open("w", encoding="utf-8")
    renderer: Any
    if output_format is OutputFormat.jsonl:
        renderer = JsonlRenderer(out=out, redactor=redactor)
    elif output_format is OutputFormat.text and not print_only and output is None:
        renderer = TextRenderer(redactor=redactor)
    else:  # the answer (or the JSON) is written when the run ends
        renderer = QuietRenderer(redactor=redactor)

    async def go() -> int:
        asks = sys.stdin.isatty() and not agent.config.auto_approve
        approver = _tty_approver(redactor) if asks else None
        main_task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        # Ctrl-C and SIGTERM cancel the run; the session still closes (and deletes a sandbox).
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, main_task.cancel)  # type: ignore[union-attr]
        async with Session(agent, resume=resume, on_event=renderer, approver=approver) as session:
            await upload_specs(session, uploads or [])
            result = await session.run(prompt)
            failure = session.workspace.failure  # the sandbox could not be set up
            if downloads and failure is None and result.status != "cancelled":
                await _download_all(session, downloads)
        if output_format is OutputFormat.json:
            out.write(result_json(result, redactor) + "\n")
        elif isinstance(renderer, QuietRenderer):  # text with --print or --output
            answer = redactor(result.text or "")
            out.write(answer if not answer or answer.endswith("\n") else answer + "\n")
        elif isinstance(renderer, TextRenderer):
            renderer.end_line()
        if failure is not None:
            return getattr(failure, "exit_code", 1)
        return EXIT_CODES.get(result.status, 1)

    try:
        return asyncio.run(go())
    except asyncio.CancelledError:
        if not (isinstance(renderer, TextRenderer) and renderer.state.status == "cancelled"):
            sys.stderr.write("Cancelled.\n")  # unless the run's own last lines said so
        return 130
    finally:
        if out is not sys.stdout:
            out.close()


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
