"""Counters kept in rows, moved by one conditional UPDATE so that races cannot overshoot.

`UPDATE ... SET n = n + 1 WHERE sid = ? AND n < limit RETURNING n` is atomic on both databases:
PostgreSQL re-checks the condition after waiting for a concurrent writer's row lock, and SQLite
has one writer at a time. Never read-then-write a counter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, Table, select

from chinwag.store import statements
from chinwag.store.db import Connection
from chinwag.store.errors import RowGone


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
    values); the new value, or None if `limit` would be passed. `RowGone` if the row is gone
    (another writer's transaction removed it since the caller read it)."""
    assign = assign or {}
    statement = statements.update_returning(
        table,
        tuple(sorted(assign)),
        ("sid",),
        returning=(column,),
        added=(column, *sorted(also)),
        limited=column if limit is not None else None,
    )
    values = {
        **statements.params(assign),
        "w_sid": sid,
        f"a_{column}": by,
        **{f"a_{name}": amount for name, amount in also.items()},
    }
    if limit is not None:
        values["w_limit"] = limit
    row = (await conn.execute(statement, values)).first()
    if row is not None:
        return int(row[0])
    if limit is None or not await _exists(conn, table, sid):
        # Removed since the caller read it, by another writer's transaction: run again.
        raise RowGone(f"the {table.name} row")
    return None


async def _exists(conn: Connection, table: Table, sid: str) -> bool:
    return (await conn.execute(select(table.c.pk).where(table.c.sid == sid))).first() is not None


async def lock(conn: Connection, table: Table, sids: Select[Any]) -> None:
    """Lock the rows of `table` whose SID `sids` selects, in `pk` order (every writer takes a
    table's rows in that order, so two such transactions never wait for each other)."""
    locking = select(table.c.pk).where(table.c.sid.in_(sids)).order_by(table.c.pk)
    await conn.execute(locking.with_for_update())


async def release(conn: Connection, table: Table, column: str, sids: Select[Any]) -> None:
    """Take one off `column` of every row of `table` whose SID `sids` selects."""
    await lock(conn, table, sids)
    counter = table.c[column]
    await conn.execute(table.update().where(table.c.sid.in_(sids)).values({column: counter - 1}))
