"""`rho-agent sandboxes list|delete|cleanup`: rho-agent's own Daytona sandboxes, and only those.

Every sandbox rho-agent creates carries the label `rho-agent=1` plus the session id, the
user@host that made it and its creation time; nothing here touches a sandbox without it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Annotated, Any

import typer

from rho_agent.errors import ConfigError, SandboxError

app = typer.Typer(
    help="rho-agent's Daytona sandboxes: list, delete, clean up leftovers.", no_args_is_help=True
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, flag: str = "--older-than") -> float:
    """'90s', '30m', '2h', '1d' (or plain seconds) → seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"{flag} {text!r}: expected a duration such as 30m, 2h or 1d.")
    return float(match[1]) * _UNITS[match[2]]


@app.command("list")
def list_(
    all_users: Annotated[
        bool, typer.Option("--all-users", help="Also list sandboxes other users' rho-agent made.")
    ] = False,
) -> None:
    """rho-agent's sandboxes (yours by default): id, state, age, who made it, session, kept."""
    rows = asyncio.run(_list(all_users=all_users))
    if not rows:
        typer.echo("No rho-agent sandboxes.", err=True)
        return
    for box in rows:
        labels = box.labels or {}
        kept = " kept" if labels.get("rho-agent-keep") else ""
        typer.echo(
            f"{box.id}  {_state(box):<9} {_age(_created(box)):>6}  {labels.get('rho-agent-user', '-')}  "
            f"session {labels.get('rho-agent-session', '-')}{kept}"
        )


@app.command()
def delete(
    sandbox_ids: Annotated[
        list[str],
        typer.Argument(metavar="ID...", help="Sandbox ids (from `rho-agent sandboxes list`)."),
    ],
) -> None:
    """Delete these sandboxes (only if rho-agent made them)."""
    asyncio.run(_delete(sandbox_ids))


@app.command()
def cleanup(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="Only sandboxes created longer ago than this (30m, 2h, 1d; 0 = all).",
        ),
    ] = "2h",
    all_users: Annotated[
        bool, typer.Option("--all-users", help="Also other users' rho-agent sandboxes.")
    ] = False,
    include_kept: Annotated[
        bool, typer.Option("--include-kept", help="Also sandboxes kept with --keep.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be deleted.")
    ] = False,
) -> None:
    """Delete leftover rho-agent sandboxes: yours, older than --older-than, not kept."""
    age = parse_duration(older_than)
    asyncio.run(_cleanup(age, all_users=all_users, include_kept=include_kept, dry_run=dry_run))


# ---------------------------------------------------------------------- the work


async def _client() -> Any:
    from rho_agent.backends.daytona import connect

    return await connect()


async def _list(*, all_users: bool) -> list[Any]:
    client = await _client()  # first: without the SDK, one sentence with the pip line
    from rho_agent.backends.daytona import rho_sandboxes

    try:
        found = await rho_sandboxes(client, all_users=all_users)
    except Exception as exc:
        raise SandboxError(
            f"Could not list Daytona sandboxes: {getattr(exc, 'message', exc)}"
        ) from exc
    finally:
        await client.close()
    return sorted(found, key=_created)


async def _delete(ids: list[str]) -> None:
    client = await _client()  # first: without the SDK, one sentence with the pip line
    from daytona.common.errors import DaytonaError, DaytonaNotFoundError

    from rho_agent.backends.daytona import LABEL

    failed = []
    try:
        for sandbox_id in ids:
            try:
                box = await client.get(sandbox_id)
                if (box.labels or {}).get(LABEL) != "1":
                    typer.echo(
                        f"{sandbox_id}: not a rho-agent sandbox (no '{LABEL}' label); left alone.",
                        err=True,
                    )
                    failed.append(sandbox_id)
                    continue
                await box.delete(timeout=60)
                typer.echo(f"Deleted {box.id}")
            except DaytonaNotFoundError:
                typer.echo(f"{sandbox_id}: no such sandbox.", err=True)
                failed.append(sandbox_id)
            except DaytonaError as exc:
                typer.echo(f"{sandbox_id}: could not delete: {exc.message}", err=True)
                failed.append(sandbox_id)
    finally:
        await client.close()
    if failed:
        raise SandboxError(
            f"{len(failed)} of {_plural(len(ids), 'sandbox', 'sandboxes')} not deleted: "
            f"{', '.join(failed)}"
        )


async def _cleanup(age: float, *, all_users: bool, include_kept: bool, dry_run: bool) -> None:
    now = dt.datetime.now(dt.UTC)
    old = [
        b for b in await _list(all_users=all_users) if (now - _created(b)).total_seconds() >= age
    ]
    from daytona.common.errors import DaytonaError, DaytonaNotFoundError

    kept = [b for b in old if (b.labels or {}).get("rho-agent-keep")]
    kept_ids = {b.id for b in kept}
    boxes = old if include_kept else [b for b in old if b.id not in kept_ids]
    skipped = (
        ""
        if include_kept or not kept
        else f"skipped {_plural(len(kept), 'kept sandbox', 'kept sandboxes')} "
        f"({', '.join(b.id for b in kept[:3])}{', ...' if len(kept) > 3 else ''}); "
        "add --include-kept to delete them too"
    )
    if not boxes:
        typer.echo(
            f"Nothing to clean up; {skipped}." if skipped else "Nothing to clean up.", err=True
        )
        return
    if skipped:
        typer.echo(skipped[0].upper() + skipped[1:] + ".", err=True)
    client: Any = await _client() if not dry_run else None
    deleted = 0
    try:
        for box in boxes:
            if dry_run:
                typer.echo(f"Would delete {box.id} ({_state(box)}, {_age(_created(box))} old)")
                continue
            try:
                await (await client.get(box.id)).delete(timeout=60)
                deleted += 1
                typer.echo(f"Deleted {box.id} ({_state(box)}, {_age(_created(box))} old)")
            except DaytonaNotFoundError:
                pass
            except DaytonaError as exc:
                typer.echo(f"{box.id}: could not delete: {exc.message}", err=True)
    finally:
        if client is not None:
            await client.close()
    if not dry_run:
        typer.echo(f"Deleted {deleted} of {_plural(len(boxes), 'sandbox', 'sandboxes')}.", err=True)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _state(box: Any) -> str:
    state = getattr(box, "state", None)
    return str(getattr(state, "value", state) or "?")


def _created(box: Any) -> dt.datetime:
    for raw in ((box.labels or {}).get("rho-agent-created"), getattr(box, "created_at", None)):
        if raw:
            try:
                value = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
                return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            except ValueError:
                continue
    return dt.datetime.now(dt.UTC)


def _age(created: dt.datetime) -> str:
    seconds = max(0, (dt.datetime.now(dt.UTC) - created).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"
