"""The SQLite tools on real database files; read-only is enforced by SQLite itself."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from rho_agent.permissions.profile import DEVELOPER, READONLY, Profile
from rho_agent.tools import SqlDescribeTool, SqlQueryTool, SqlTablesTool, ToolContext, ToolResult
from rho_agent.tools._sql import split_statements


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE);
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER REFERENCES customers(id),
            total REAL DEFAULT 0
        );
        CREATE INDEX orders_by_customer ON orders(customer_id);
        CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
        INSERT INTO customers (name, email) VALUES ('Ada', 'ada@example.com'), ('Bob', NULL);
        INSERT INTO orders (customer_id, total) VALUES (1, 250.5), (1, 20), (2, 99.99);
        """
    )
    conn.commit()
    conn.close()
    return path


def context(workdir: Path, profile: Profile, **databases: Path) -> ToolContext:
    from rho_agent.backends import LocalWorkspace

    return ToolContext(
        workspace=LocalWorkspace(workdir),
        profile=profile,
        databases={name: str(path) for name, path in databases.items()},
    )


async def query(ctx: ToolContext, sql: str, **extra: Any) -> ToolResult:
    return await SqlQueryTool()({"sql": sql, **extra}, ctx)


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_query_renders_an_aligned_table(workdir: Path, db: Path) -> None:
    ctx = context(workdir, READONLY, shop=db)
    result = await query(ctx, "SELECT id, name, email FROM customers ORDER BY id")
    assert result == ToolResult(
        "id | name | email\n"
        "---+------+----------------\n"
        " 1 | Ada  | ada@example.com\n"
        " 2 | Bob  | NULL\n"
        "(2 rows)"
    )


async def test_query_caps_rows(workdir: Path, db: Path) -> None:
    ctx = context(workdir, READONLY, shop=db)
    sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) SELECT i FROM n"
    result = await query(ctx, sql, max_rows=5)
    lines = result.text.split("\n")
    assert lines[2:7] == ["1", "2", "3", "4", "5"]
    assert lines[-1] == "[... 245 more rows; use LIMIT/OFFSET or raise max_rows]"


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO customers (name) VALUES ('Eve')",
        "insert into customers (name) values ('eve')",
        "/* just reading */ INSERT INTO customers (name) VALUES ('Eve')",
        "-- select\nDELETE FROM orders",
        "WITH x AS (SELECT 1) INSERT INTO customers (name) SELECT 'Eve' FROM x",
        "SELECT 1; DELETE FROM orders",
        "SELECT 1;\nUPDATE orders SET total = 0",
        "CREATE TABLE evil (x)",
        "CREATE TEMP TABLE t AS SELECT 1",
        "DROP TABLE orders",
        "PRAGMA query_only = OFF; DELETE FROM orders",
        "pragma query_only=0",
        "PRAGMA user_version = 7",
        "ATTACH 'evil.db' AS e; CREATE TABLE e.t (x)",
        "VACUUM INTO 'copy.db'",
        "VACUUM",
        "REINDEX",
        "ANALYZE",
        "BEGIN; DELETE FROM orders; COMMIT",
    ],
)
async def test_readonly_profile_cannot_write(
    sql: str, workdir: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(db.parent)  # where a relative ATTACH / VACUUM INTO file would appear
    before = db.read_bytes()
    result = await query(context(workdir, READONLY, shop=db), sql)
    assert result.is_error, result.text
    assert "read-only" in result.text
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["shop.db", "work"]


async def test_developer_profile_can_write(workdir: Path, db: Path) -> None:
    ctx = context(workdir, DEVELOPER, shop=db)
    result = await query(
        ctx,
        "INSERT INTO customers (name) VALUES ('Eve'); "
        "CREATE TABLE notes (body TEXT); "
        "SELECT name FROM customers ORDER BY id",
    )
    assert not result.is_error, result.text
    sections = result.text.split("\n\n")
    assert (
        sections[0] == "-- [1] INSERT INTO customers (name) VALUES ('Eve');\nOK (1 rows affected)"
    )
    assert sections[1].endswith("\nOK")
    assert sections[2].endswith("name\n----\nAda\nBob\nEve\n(3 rows)")
    assert rows(db, "SELECT count(*) FROM customers") == [(3,)]
    assert rows(db, "SELECT name FROM sqlite_schema WHERE name = 'notes'") == [("notes",)]


async def test_developer_profile_cannot_reach_other_files(
    workdir: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(db.parent)
    ctx = context(workdir, DEVELOPER, shop=db)
    for sql in ["ATTACH 'other.db' AS o", "VACUUM INTO 'copy.db'"]:
        result = await query(ctx, sql)
        assert result.is_error
        assert "ATTACH and VACUUM INTO of other files are refused" in result.text
    assert sorted(p.name for p in db.parent.iterdir()) == ["shop.db", "work"]


async def test_missing_database_is_not_created(workdir: Path, tmp_path: Path) -> None:
    for profile in (READONLY, DEVELOPER):
        result = await query(context(workdir, profile, typo=tmp_path / "typo.db"), "SELECT 1")
        assert result.is_error
        assert "Cannot open database" in result.text
    assert not (tmp_path / "typo.db").exists()


async def test_tables_and_describe(workdir: Path, db: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    ctx = context(workdir, READONLY, shop=db, empty=empty)
    tables = await SqlTablesTool()({}, ctx)
    assert tables.text == (
        f"empty ({empty}):\n  (no tables)\n\n"
        f"shop ({db}):\n  table customers\n  table orders\n  view big_orders"
    )
    described = await SqlDescribeTool()({"table": "orders", "database": "shop"}, ctx)
    assert described.text == (
        "table orders\n\n"
        "column      | type    | not null | default | pk\n"
        "------------+---------+----------+---------+---\n"
        "id          | INTEGER |          |         | 1\n"
        "customer_id | INTEGER |          |         |\n"
        "total       | REAL    |          | 0       |\n\n"
        "indexes:\n  orders_by_customer (customer_id)\n\n"
        "foreign keys:\n  customer_id -> customers(id)\n\n"
        "rows: 3\n\n"
        "CREATE TABLE orders (\n"
        "            id INTEGER PRIMARY KEY,\n"
        "            customer_id INTEGER REFERENCES customers(id),\n"
        "            total REAL DEFAULT 0\n"
        "        )"
    )
    unknown = await SqlDescribeTool()({"table": "nope", "database": "shop"}, ctx)
    assert unknown.is_error
    assert "customers, orders, big_orders" in unknown.text


async def test_database_choice(workdir: Path, db: Path, tmp_path: Path) -> None:
    one = context(workdir, READONLY, shop=db)
    assert not (await query(one, "SELECT 1")).is_error  # the only database is the default
    two = context(workdir, READONLY, shop=db, other=db)
    ambiguous = await query(two, "SELECT 1")
    assert ambiguous.is_error
    assert "other, shop" in ambiguous.text
    unknown = await query(two, "SELECT 1", database="shp")
    assert unknown.is_error
    assert "Unknown database 'shp'" in unknown.text


async def test_slow_query_is_stopped(
    workdir: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rho_agent.tools._sql.QUERY_TIMEOUT", 0.3)
    ctx = context(workdir, READONLY, shop=db)
    forever = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    started = time.monotonic()
    result = await query(ctx, forever)
    assert time.monotonic() - started < 5
    assert result.is_error
    assert "stopped after" in result.text


async def test_cancel_stops_the_query(workdir: Path, db: Path) -> None:
    ctx = context(workdir, READONLY, shop=db)
    forever = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    task = asyncio.create_task(query(ctx, forever))
    await asyncio.sleep(0.2)
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2


def test_split_statements() -> None:
    assert split_statements("SELECT 1; SELECT ';' ; -- done;\n") == ["SELECT 1;", " SELECT ';' ;"]
    assert split_statements("SELECT 1") == ["SELECT 1"]
    assert split_statements("/* a; b */ SELECT 2;") == ["/* a; b */ SELECT 2;"]
    trigger = "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; SELECT 2; END;"
    assert split_statements(trigger + " SELECT 3") == [trigger, " SELECT 3"]
