"""The interactive session: prompt_toolkit input, Ctrl-C cancels the turn, not the REPL."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from rho_agent.cli.render import TextRenderer, format_usage
from rho_agent.config import home_dir
from rho_agent.errors import RhoError

HELP = """\
Enter sends; Alt-Enter (or Esc then Enter) adds a new line. Ctrl-C cancels a running turn; Ctrl-D exits.
  /help              this text
  /cost              tokens and cost of this session so far
  /clear             forget the conversation (keeps the session and its cost)
  /resume [ID]       continue a stored session (default: the latest)
  /download REMOTE LOCAL   copy a file or directory out of the workspace (e.g. the sandbox)
  /exit              leave
"""


async def run_repl(
    agent: Any, *, resume: str | None = None, uploads: list[str] | None = None
) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings

    from rho_agent.session import Session

    bindings = KeyBindings()

    @bindings.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    home_dir().mkdir(parents=True, exist_ok=True)
    prompt_session: PromptSession[str] = PromptSession(
        history=FileHistory(str(home_dir() / "history")), key_bindings=bindings
    )

    async def approve(name: str, tool_input: dict[str, Any]) -> bool:
        from rho_agent.cli.render import summarize_call

        answer = await prompt_session.prompt_async(
            f"  ? approve {summarize_call(name, tool_input, 200)} [y/N] "
        )
        return answer.strip().lower() in ("y", "yes")

    renderer = TextRenderer()
    session = Session(
        agent,
        resume=resume,
        on_event=renderer,
        approver=None if agent.config.auto_approve else approve,
    )
    await session.start()
    from rho_agent.frontend import upload_specs

    await upload_specs(session, uploads or [])
    sys.stderr.write(
        f"rho-agent · {agent.model} · profile {agent.profile.name} · backend {agent.backend.name} · "
        f"session {session.id}\nType /help for commands.\n"
    )
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                line = await prompt_session.prompt_async("› ")
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                command, _, arg = line.partition(" ")
                if command in ("/exit", "/quit"):
                    break
                session = await _command(command, arg.strip(), session, agent, renderer)
                continue
            loop.add_signal_handler(signal.SIGINT, session.cancel)
            try:
                await session.run(line)
            except RhoError as exc:
                sys.stderr.write(f"Error: {exc.message}\n")
            finally:
                loop.remove_signal_handler(signal.SIGINT)
    finally:
        await session.close()
    return 0


async def _command(command: str, arg: str, session: Any, agent: Any, renderer: Any) -> Any:
    from rho_agent.events import RunFinished
    from rho_agent.session import Session

    if command == "/help":
        sys.stderr.write(HELP)
    elif command == "/cost":
        summary = RunFinished(
            status="completed",
            text="",
            usage=session.usage,
            cost_usd=session.cost_usd,
            turns=session.turns,
        )
        sys.stderr.write(f"session {session.id}: {format_usage(summary)}\n")
    elif command == "/clear":
        await session.clear()
        sys.stderr.write("Conversation cleared.\n")
    elif command == "/download":
        await _download(session, arg)
    elif command == "/resume":
        try:
            resumed = Session(
                agent, resume=arg or "latest", on_event=renderer, approver=session.approver
            )
        except RhoError as exc:
            sys.stderr.write(f"Error: {exc.message}\n")
            return session
        await session.close()
        await resumed.start()
        sys.stderr.write(f"Resumed session {resumed.id} ({len(resumed.history)} messages).\n")
        return resumed
    else:
        sys.stderr.write(f"Unknown command {command}. Type /help.\n")
    return session


async def _download(session: Any, arg: str) -> None:
    import shlex

    try:
        parts = shlex.split(arg)
    except ValueError as exc:
        parts = []
        sys.stderr.write(f"/download: {exc}\n")
    if len(parts) != 2:
        sys.stderr.write(
            "Usage: /download REMOTE LOCAL   e.g. /download /home/daytona/app/report.html ./report.html\n"
        )
        return
    try:
        path = await session.download(parts[0], parts[1])
    except FileNotFoundError:
        sys.stderr.write(f"Error: {parts[0]} does not exist in the workspace.\n")
    except (RhoError, OSError) as exc:
        sys.stderr.write(f"Error: {getattr(exc, 'message', exc)}\n")
    else:
        sys.stderr.write(f"Downloaded {parts[0]} → {path}\n")
