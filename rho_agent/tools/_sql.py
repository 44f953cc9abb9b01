"""SQLite tools: `sql_tables`, `sql_describe`, `sql_query`.

They always run on this machine against `ToolContext.databases` (name -> path), never in
the workspace, whatever the backend. Under a read-only profile the database is opened
`mode=ro` with `PRAGMA query_only = ON`, so SQLite itself refuses every write; nothing
here guesses from keywords.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from rho_agent.permissions.profile import Profile, SqlMode
from rho_agent.tools._base import Capability, Tool, ToolContext, ToolError, ToolResult

QUERY_TIMEOUT = 30.0
MAX_CELL_CHARS = 200
#: Rows beyond the cap are counted up to this many, then "more than" is said.
COUNT_BEYOND = 10_000

T = TypeVar("T")
_DATABASE_FIELD = Field(
    default=None,
    description="Name of the configured database; may be omitted when there is only one.",
)


class _Cancelled(Exception):
    pass


def _connect(
    path: str, *, readonly: bool, deadline: float, stop: threading.Event
) -> sqlite3.Connection:
    # mode=rw, not rwc: a mistyped path is an error, not a new empty database.
    uri = f"file:{urllib.parse.quote(path)}?mode={'ro' if readonly else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.OperationalError as exc:
        raise ToolError(f"Cannot open database {path}: {exc}") from None
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    conn.set_authorizer(_readonly_authorizer if readonly else _authorizer)
    # Checked every 1000 SQLite VM steps: past the deadline, or cancelled, the query stops.
    conn.set_progress_handler(lambda: int(stop.is_set() or time.monotonic() > deadline), 1000)
    return conn


def _authorizer(action: int, arg1: str | None, *_: object) -> int:
    """Only the configured database is reachable: no ATTACH (nor VACUUM INTO, which attaches)
    of another file. Otherwise any local file could be created or changed through SQL, even
    when the shell and file tools run in a remote sandbox."""
    if action == sqlite3.SQLITE_ATTACH and arg1 not in ("", ":memory:"):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _readonly_authorizer(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    """On top of mode=ro, which SQLite enforces: query_only cannot be switched off."""
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() == "query_only" and arg2:
        return sqlite3.SQLITE_DENY
    return _authorizer(action, arg1)


async def _run_db(
    ctx: ToolContext,
    name: str | None,
    work: Callable[[sqlite3.Connection], T],
    timeout: float | None = None,
) -> T:
    """Run `work` on a fresh connection in a thread, with a timeout; cancel stops it."""
    timeout = QUERY_TIMEOUT if timeout is None else timeout
    path = _pick_database(ctx, name)
    readonly = ctx.profile.sql is SqlMode.readonly
    stop = threading.Event()

    def job() -> T:
        conn = _connect(path, readonly=readonly, deadline=time.monotonic() + timeout, stop=stop)
        try:
            return work(conn)
        except sqlite3.OperationalError as exc:
            if str(exc) == "interrupted":
                raise ToolError(
                    f"The query was stopped after {timeout:g}s. Narrow it (LIMIT, WHERE, an "
                    "index) and try again."
                ) from None
            raise _sql_error(exc, readonly) from None
        except sqlite3.Error as exc:
            raise _sql_error(exc, readonly) from None
        finally:
            conn.close()

    try:
        return await asyncio.to_thread(job)
    except asyncio.CancelledError:
        stop.set()
        raise


def _sql_error(exc: sqlite3.Error, readonly: bool) -> ToolError:
    message = str(exc)
    denied = message in ("not authorized", "authorization denied")
    if denied and readonly:
        return ToolError(
            "SQL error: not authorized. The profile is read-only: switching query_only off, "
            "ATTACH and VACUUM INTO are refused; only queries on the configured databases run."
        )
    if denied:
        return ToolError(
            "SQL error: not authorized. ATTACH and VACUUM INTO of other files are refused; "
            "only the configured databases can be used."
        )
    if readonly and any(
        s in message for s in ("readonly", "read-only", "query_only", "attempt to write")
    ):
        return ToolError(
            f"SQL error: {message}. The profile is read-only: the database cannot be changed, "
            "only queried."
        )
    return ToolError(f"SQL error: {message}")


def _pick_database(ctx: ToolContext, name: str | None) -> str:
    names = sorted(ctx.databases)
    if not names:
        raise ToolError("No databases are configured.")
    if name is None:
        if len(names) == 1:
            return ctx.databases[names[0]]
        raise ToolError(
            f"Several databases are configured; pass database= one of: {', '.join(names)}."
        )
    if name not in ctx.databases:
        raise ToolError(f"Unknown database {name!r}. Configured: {', '.join(names)}.")
    return ctx.databases[name]


# --- sql_tables ---------------------------------------------------------------


class TablesParams(BaseModel):
    database: str | None = Field(
        default=None, description="Name of the database (default: every configured database)."
    )


class SqlTablesTool(Tool):
    name = "sql_tables"
    description = (
        "List the tables and views of the configured SQLite databases (run locally). Use "
        "sql_describe for a table's columns and sql_query to query it."
    )
    Params = TablesParams
    capability = Capability.read

    async def run(self, params: TablesParams, ctx: ToolContext) -> ToolResult:
        names = [params.database] if params.database else sorted(ctx.databases)
        if not names:
            raise ToolError("No databases are configured.")
        sections = []
        for name in names:
            rows = await _run_db(ctx, name, _list_tables)
            listing = "\n".join(f"  {kind} {table}" for table, kind in rows) or "  (no tables)"
            sections.append(f"{name} ({ctx.databases[name]}):\n{listing}")
        return ToolResult("\n\n".join(sections))


def _list_tables(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()


# --- sql_describe -------------------------------------------------------------


class DescribeParams(BaseModel):
    table: str = Field(description="Table or view name.")
    database: str | None = _DATABASE_FIELD


class SqlDescribeTool(Tool):
    name = "sql_describe"
    description = (
        "Describe a table or view of a configured SQLite database: columns (type, nullability, "
        "default, primary key), indexes, foreign keys, row count and its CREATE statement."
    )
    Params = DescribeParams
    capability = Capability.read

    async def run(self, params: DescribeParams, ctx: ToolContext) -> ToolResult:
        text = await _run_db(ctx, params.database, lambda conn: _describe(conn, params.table))
        return ToolResult(text)


def _describe(conn: sqlite3.Connection, table: str) -> str:
    row = conn.execute(
        "SELECT type, sql FROM sqlite_schema WHERE name = ? AND type IN ('table', 'view')",
        (table,),
    ).fetchone()
    if row is None:
        known = [name for name, _ in _list_tables(conn)]
        raise ToolError(f"No table or view named {table!r}. Tables: {', '.join(known) or 'none'}.")
    kind, create = row
    ident = _quote_ident(table)
    columns = [
        (name, ctype, "yes" if notnull else "", "" if default is None else default, pk or "")
        for _, name, ctype, notnull, default, pk in conn.execute(f"PRAGMA table_info({ident})")
    ]
    out = [f"{kind} {table}", ""]
    out.append(format_table(["column", "type", "not null", "default", "pk"], columns))
    indexes = conn.execute(f"PRAGMA index_list({ident})").fetchall()
    if indexes:
        out += ["", "indexes:"]
        for idx in indexes:
            info = conn.execute(f"PRAGMA index_info({_quote_ident(idx[1])})").fetchall()
            cols = ", ".join(str(c[2]) for c in info)
            out.append(f"  {idx[1]} ({cols}){' UNIQUE' if idx[2] else ''}")
    fks = conn.execute(f"PRAGMA foreign_key_list({ident})").fetchall()
    if fks:
        out += ["", "foreign keys:"]
        out += [f"  {fk[3]} -> {fk[2]}({fk[4]})" for fk in fks]
    try:
        (count,) = conn.execute(f"SELECT count(*) FROM {ident}").fetchone()
        out += ["", f"rows: {count:,}"]
    except sqlite3.OperationalError:
        out += ["", "rows: (not counted: too slow)"]
    if create:
        out += ["", create]
    return "\n".join(out)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- sql_query ----------------------------------------------------------------


class QueryParams(BaseModel):
    sql: str = Field(
        min_length=1,
        description="SQLite SQL. Several statements separated by `;` run in order; each "
        "statement commits on its own unless you BEGIN/COMMIT in the same call.",
    )
    database: str | None = _DATABASE_FIELD
    max_rows: int = Field(default=100, ge=1, le=1000, description="Most rows to show per result.")


class SqlQueryTool(Tool):
    name = "sql_query"
    description = (
        "Run SQL on a configured SQLite database (run locally, not in the workspace). Results "
        "come as a text table. Whether data may be changed depends on the profile."
    )
    Params = QueryParams
    capability = Capability.write

    @classmethod
    def granted(cls, profile: Profile) -> bool:
        # Offered whatever `file_write` says: whether it may change data is `profile.sql`,
        # enforced by the database driver (a read-only connection under `sql = "readonly"`).
        return True

    async def run(self, params: QueryParams, ctx: ToolContext) -> ToolResult:
        statements = split_statements(params.sql)
        if not statements:
            raise ToolError("The SQL contains no statement.")
        return ToolResult(
            await _run_db(ctx, params.database, lambda c: _query(c, statements, params.max_rows))
        )


def _query(conn: sqlite3.Connection, statements: list[str], max_rows: int) -> str:
    sections = []
    for i, statement in enumerate(statements, 1):
        cursor = conn.execute(statement)
        if cursor.description is None:
            text = f"OK ({cursor.rowcount:,} rows affected)" if cursor.rowcount >= 0 else "OK"
        else:
            headers = [d[0] for d in cursor.description]
            rows = cursor.fetchmany(max_rows)
            text = format_table(headers, rows) if rows else f"{' | '.join(headers)}\n(no rows)"
            more = 0
            for _ in cursor:
                more += 1
                if more > COUNT_BEYOND:
                    break
            if more > COUNT_BEYOND:
                text += f"\n[... more than {COUNT_BEYOND:,} more rows; use LIMIT/OFFSET or WHERE]"
            elif more:
                text += f"\n[... {more:,} more rows; use LIMIT/OFFSET or raise max_rows]"
            else:
                text += f"\n({len(rows):,} row{'s' if len(rows) != 1 else ''})"
        if len(statements) > 1:
            head = " ".join(statement.split())
            text = f"-- [{i}] {head[:80]}{'...' if len(head) > 80 else ''}\n{text}"
        sections.append(text)
    return "\n\n".join(sections)


def split_statements(sql: str) -> list[str]:
    """Complete statements, split with SQLite's own tokenizer (`sqlite3.complete_statement`)."""
    statements, current = [], ""
    pieces = sql.split(";")
    for i, piece in enumerate(pieces):
        current += piece if i == len(pieces) - 1 else piece + ";"
        if sqlite3.complete_statement(current):
            statements.append(current)
            current = ""
    statements.append(current)  # an unterminated last statement
    return [s for s in statements if _strip_comments(s).strip(" \t\r\n;")]


def _strip_comments(sql: str) -> str:
    out, i = [], 0
    while i < len(sql):
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end == -1 else end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = len(sql) if end == -1 else end + 2
        elif sql[i] in "'\"`[":
            close = "]" if sql[i] == "[" else sql[i]
            end = sql.find(close, i + 1)
            end = len(sql) if end == -1 else end + 1
            out.append(sql[i:end])
            i = end
        else:
            out.append(sql[i])
            i += 1
    return "".join(out)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An aligned text table; numbers right-aligned, NULL spelled out, long cells cut."""
    rows = [tuple(row) for row in rows]
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [
        bool(rows) and all(row[i] is None or isinstance(row[i], int | float) for row in rows)
        for i in range(len(headers))
    ]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = zip(values, widths, numeric, strict=True)
        return " | ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in padded).rstrip()

    out = [line(list(headers)), "-+-".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join(out)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"<blob {len(value):,} bytes>"
    text = str(value).replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS] + "…"
    return text
