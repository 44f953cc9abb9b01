"""`rho-agent sessions list|show|export`.

Traces are redacted when written; what these commands print is redacted again with today's
secrets, so a trace written before a secret was set (or by an older version) does not leak it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rho_agent.redact import Redactor

app = typer.Typer(help="Stored sessions: list, show, export.", no_args_is_help=True)


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _redacted_line(line: str, redact: Redactor) -> str:
    """One trace line with its strings redacted (before escaping, so it stays valid JSON)."""
    try:
        data = json.loads(line)
    except ValueError:  # a line cut short by a crash: plain text
        return redact(line)
    return json.dumps(redact.data(data), ensure_ascii=False, separators=(",", ":"))


@app.command("list")
def list_(limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20) -> None:
    """Stored sessions, newest first; `running` for one a live process has open."""
    from rho_agent.redact import default_redactor
    from rho_agent.store import list_sessions

    redact = default_redactor()
    sessions = list_sessions()[:limit]
    if not sessions:
        typer.echo("No sessions yet.", err=True)
        return
    for s in sessions:
        m = s.read_meta()
        cost = m.get("cost_usd") or 0.0
        title = redact(m.get("title", ""))[:60]
        status = "running" if s.is_live() else m.get("status") or "-"
        typer.echo(f"{s.id}  {_when(m.get('updated'))}  {status:<10} ${cost:.4f}  {title}")


@app.command()
def show(
    session_id: Annotated[
        str, typer.Argument(metavar="ID", help="An id, a prefix, or 'latest'.")
    ] = "latest",
) -> None:
    """The conversation of a session, readable."""
    from rho_agent.events import MessageAdded, RunFinished
    from rho_agent.redact import default_redactor
    from rho_agent.store import find_session

    directory = find_session(session_id)
    meta = directory.read_meta()
    typer.echo(
        f"session {directory.id} · {meta.get('model')} · profile {meta.get('profile')} · backend {meta.get('backend')}"
    )
    redact = default_redactor()
    for event in map(redact.event, directory.events()):
        if isinstance(event, MessageAdded):
            for block in event.content:
                kind = block.get("type")
                if kind == "text":
                    typer.echo(f"\n[{event.role}] {block['text']}")
                elif kind == "tool_use":
                    typer.echo(f"  → {block['name']} {json.dumps(block.get('input'))[:200]}")
                elif kind == "tool_result":
                    content = block.get("content")
                    text = content if isinstance(content, str) else json.dumps(content)
                    flag = " (error)" if block.get("is_error") else ""
                    typer.echo(f"  ← result{flag}: {text[:200]}")
        elif isinstance(event, RunFinished):
            typer.echo(f"\n[run {event.status}] {event.turns} turn(s), ${event.cost_usd:.4f}")


@app.command()
def export(
    session_id: Annotated[
        str, typer.Argument(metavar="ID", help="An id, a prefix, or 'latest'.")
    ] = "latest",
    fmt: Annotated[
        str, typer.Option("--format", help="jsonl (the trace) or json (meta + messages).")
    ] = "jsonl",
) -> None:
    """Print a session's trace (jsonl) or its meta and messages (json) to stdout."""
    from rho_agent.errors import ConfigError
    from rho_agent.redact import default_redactor
    from rho_agent.store import find_session, restore

    directory = find_session(session_id)
    redact = default_redactor()
    if fmt == "jsonl":
        trace = directory.trace_path
        lines = trace.read_text().splitlines() if trace.exists() else []
        typer.echo("".join(_redacted_line(line, redact) + "\n" for line in lines), nl=False)
    elif fmt == "json":
        state = restore(directory)
        exported = {"meta": directory.read_meta(), "messages": state.history}
        typer.echo(json.dumps(redact.data(exported), indent=2))
    else:
        raise ConfigError(f"--format {fmt!r}: use jsonl or json.")
