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
  /resume [ID]       continue a stored session (default: the latest one before this one)
  /download REMOTE LOCAL   copy a file or directory out of the workspace (e.g. the sandbox)
  /exit              leave (so do exit, quit and Ctrl-D)
A line that starts with a path (/etc/hosts …) is sent as a prompt, not read as a command.
At an approval question, Enter or Ctrl-D declines the call and Ctrl-C cancels the turn.
"""

COMMANDS = ("/help", "/cost", "/clear", "/resume", "/download", "/exit", "/quit")
EXIT_WORDS = ("exit", "quit")  # typed alone, as in Python's REPL: leave, do not ask the model


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

    # Calls run concurrently (a group of read-only ones) may each need approval: one question
    # at a time, since a prompt_toolkit session can show only one prompt.
    approval_lock = asyncio.Lock()

    async def approve(name: str, tool_input: dict[str, Any]) -> bool:
        from rho_agent.cli.render import summarize_call

        async with approval_lock:
            try:
                answer = await prompt_session.prompt_async(
                    f"  ? approve {summarize_call(name, tool_input, 200)} [y/N] "
                )
            except EOFError:  # Ctrl-D: no
                return False
            except KeyboardInterrupt:  # Ctrl-C: cancel the turn, as while a tool runs
                session.cancel()  # this very task (or the one gathering it): lands at the next
                await asyncio.sleep(0)  # await, here, before any other call or model request
                return False
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
            if not line:  # never send an empty prompt
                continue
            if line.lower() in EXIT_WORDS:
                break
            command, _, arg = line.partition(" ")
            if _is_command(command):
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
        if session.history:
            sys.stderr.write(
                f"Session {session.id} is stored; continue it with "
                f"`rho-agent main --resume {session.id}` (or /resume in the REPL).\n"
            )
    return 0


def _is_command(word: str) -> bool:
    """`/help` is a command; `/etc/hosts` (a path typed first) is the start of a prompt."""
    return word.startswith("/") and "/" not in word[1:]


async def _command(command: str, arg: str, session: Any, agent: Any, renderer: Any) -> Any:
    from rho_agent.events import RunFinished
    from rho_agent.session import Session

    if command == "/help":
        sys.stderr.write(HELP)
    elif command == "/cost":
        if not session.turns:
            sys.stderr.write(f"session {session.id}: no turns yet · $0.0000\n")
            return session
        summary = RunFinished(
            status="completed",
            text="",
            usage=session.usage,
            cost_usd=session.cost_usd,
            turns=session.turns,
            cost_estimated=agent.price.estimated,
        )
        sys.stderr.write(f"session {session.id}: {format_usage(summary, agent.model)}\n")
    elif command == "/clear":
        await session.clear()
        sys.stderr.write("Conversation cleared.\n")
    elif command == "/download":
        await _download(session, arg)
    elif command == "/resume":
        try:
            target = _resume_target(arg, session)
            if target is None:
                sys.stderr.write(
                    f"No other stored session with messages to resume (this is session "
                    f"{session.id}). See `rho-agent sessions list`.\n"
                )
                return session
            if target == session.id:
                sys.stderr.write(f"Already in session {session.id}.\n")
                return session
            resumed = Session(agent, resume=target, on_event=renderer, approver=session.approver)
        except RhoError as exc:
            sys.stderr.write(f"Error: {exc.message}\n")
            return session
        await session.close()
        await resumed.start()
        sys.stderr.write(f"Resumed session {resumed.id} ({len(resumed.history)} messages).\n")
        return resumed
    else:
        import difflib

        close = difflib.get_close_matches(command, COMMANDS, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        sys.stderr.write(f"Unknown command {command}.{hint} Type /help.\n")
    return session


def _resume_target(arg: str, current: Any) -> str | None:
    """The id `/resume ARG` means. Without ARG: the newest stored session other than the
    current one that has messages (the current one is stored as soon as it starts)."""
    from rho_agent.store import find_session, list_sessions, restore

    if arg:
        return find_session(arg).id
    for stored in list_sessions():
        if stored.id != current.id and restore(stored).history:
            return stored.id
    return None


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
