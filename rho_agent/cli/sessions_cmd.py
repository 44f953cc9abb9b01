"""`rho-agent sessions list|show|export`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

app = typer.Typer(help="Stored sessions: list, show, export.", no_args_is_help=True)


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


@app.command("list")
def list_(limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20) -> None:
    """Stored sessions, newest first."""
    from rho_agent.store import list_sessions

    sessions = list_sessions()[:limit]
    if not sessions:
        typer.echo("No sessions yet.", err=True)
        return
    for s in sessions:
        m = s.read_meta()
        cost = m.get("cost_usd") or 0.0
        typer.echo(f"{s.id}  {_when(m.get('updated'))}  {m.get('status') or '-':<10} ${cost:.4f}  {m.get('title', '')[:60]}")


@app.command()
def show(session_id: Annotated[str, typer.Argument(metavar="ID", help="An id, a prefix, or 'latest'.")] = "latest") -> None:
    """The conversation of a session, readable."""
    from rho_agent.events import MessageAdded, RunFinished
    from rho_agent.store import find_session

    directory = find_session(session_id)
    meta = directory.read_meta()
    typer.echo(f"session {directory.id} · {meta.get('model')} · profile {meta.get('profile')} · backend {meta.get('backend')}")
    for event in directory.events():
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
    session_id: Annotated[str, typer.Argument(metavar="ID", help="An id, a prefix, or 'latest'.")] = "latest",
    fmt: Annotated[str, typer.Option("--format", help="jsonl (the trace) or json (meta + messages).")] = "jsonl",
) -> None:
    """Print a session's trace (jsonl) or its meta and messages (json) to stdout."""
    from rho_agent.errors import ConfigError
    from rho_agent.store import find_session, restore

    directory = find_session(session_id)
    if fmt == "jsonl":
        typer.echo(directory.trace_path.read_text() if directory.trace_path.exists() else "", nl=False)
    elif fmt == "json":
        state = restore(directory)
        typer.echo(json.dumps({"meta": directory.read_meta(), "messages": state.history}, indent=2))
    else:
        raise ConfigError(f"--format {fmt!r}: use jsonl or json.")
