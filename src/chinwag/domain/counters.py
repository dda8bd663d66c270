"""Counters kept in rows, moved by one conditional UPDATE so that races cannot overshoot.

`UPDATE ... SET n = n + 1 WHERE sid = ? AND n < limit RETURNING n` is atomic on both databases:
PostgreSQL re-checks the condition after waiting for a concurrent writer's row lock, and SQLite
has one writer at a time. Never read-then-write a counter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table

from chinwag.store.db import Connection


async def bump(
    conn: Connection,
    table: Table,
    sid: str,
    column: str,
    by: int = 1,
    limit: int | None = None,
    assign: dict[str, Any] | None = None,
    **also: Any,
) -> int | None:
    """Add `by` to `column` of row `sid` (and `also`'s amounts to theirs, and set `assign`'s
    values); the new value, or None if `limit` would be passed."""
    counter = table.c[column]
    statement = table.update().where(table.c.sid == sid)
    if limit is not None:
        statement = statement.where(counter + by <= limit)
    extra = {name: table.c[name] + amount for name, amount in also.items()}
    statement = statement.values({column: counter + by, **extra, **(assign or {})})
    statement = statement.returning(counter)
    row = (await conn.execute(statement)).first()
    return None if row is None else int(row[0])


async def release(conn: Connection, table: Table, column: str, sids: Select[Any]) -> None:
    """Take one off `column` of every row of `table` whose SID `sids` selects."""
    counter = table.c[column]
    await conn.execute(table.update().where(table.c.sid.in_(sids)).values({column: counter - 1}))
