"""Rows whose owner went, removed a bounded batch at a time: a deleted channel's messages, a
removed Sync object's items (`Tables.swept`).

A channel may hold millions of messages, and its Sync message list an item for each. Deleting
them in the channel delete's transaction held SQLite's one writer (every other write of every
account waited) for seconds. The delete now writes a `sweeps` row in its own transaction
instead (`leave`), and each server's `Sweeper` removes what it names, `BATCH` rows a
transaction, resting as long as each batch took, so other writes always get their turn.
Nothing reads swept rows meanwhile: they are reached only through their owner, which is gone
(a channel) or marked removed (a Sync object). The `sweeps` row is durable, so a restart (or
`kill -9`) only delays the rest; any server of the database may finish it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy import Select, Table, and_, func, literal, select, true

from chinwag import times
from chinwag.store.db import Connection, Database
from chinwag.store.errors import DatabaseError, RetryLater
from chinwag.store.tables import Sweep, Tables

log = logging.getLogger("chinwag.store")

BATCH = 1000  # rows a transaction
POLL = 5.0  # seconds between looks while nothing is left (a delete wakes it at once)


async def leave(conn: Connection, tables: Tables, table: Table, sid: str) -> None:
    """In the transaction deleting `table`'s row `sid`: note the swept rows it leaves, its own
    (a channel's messages) and those of the rows its delete cascades to (a service's channels'
    messages). Their owners' rows are few (channels, not messages)."""
    for kind, naming in tables.left_by(table):
        if naming is None:
            await enqueue(conn, tables, kind, sid)
        else:
            owners = select(naming.table.c.sid).where(naming == sid)
            await leave_each(conn, tables, kind, owners)


async def leave_each(conn: Connection, tables: Tables, kind: str, owners: Select[Any]) -> None:
    """Note that `kind`'s rows of each owner SID `owners` selects are to go, in one statement
    of the caller's transaction."""
    noted = select(literal(kind), owners.subquery().c[0], literal(times.now()))
    columns = ["kind", "owner_sid", "date_created"]
    await conn.execute(tables.sweeps.insert().from_select(columns, noted))


async def enqueue(conn: Connection, tables: Tables, kind: str, owner_sid: str) -> None:
    """Note that `kind`'s rows of `owner_sid` are to go, in the caller's transaction."""
    await conn.execute(
        tables.sweeps.insert().values(kind=kind, owner_sid=owner_sid, date_created=times.now())
    )


async def sweep_once(conn: Connection, tables: Tables, batch: int = BATCH) -> bool:
    """Remove up to `batch` rows of the oldest sweep (one another server is not working on);
    False when none is left. When its rows are all gone, the sweep goes too. A kind this
    version does not know (a newer one wrote it) is left to that version."""
    s = tables.sweeps
    oldest = (
        select(s)
        .where(s.c.kind.in_(sorted(tables.swept)))
        .order_by(s.c.pk)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job = (await conn.execute(oldest)).first()
    if job is None:
        return False
    sweep = tables.swept[str(job.kind)]
    after = None if job.after is None else int(job.after)
    removed, last = await _remove(conn, sweep, str(job.owner_sid), after, batch)
    if removed == batch:
        await conn.execute(s.update().where(s.c.pk == job.pk).values(after=last))
    elif await _left(conn, sweep, str(job.owner_sid)):
        # A key below `after` (none should be, as keys only grow): start over from the first.
        await conn.execute(s.update().where(s.c.pk == job.pk).values(after=None))
    else:
        await conn.execute(s.delete().where(s.c.pk == job.pk))
    return True


async def _remove(
    conn: Connection, sweep: Sweep, owner_sid: str, after: int | None, batch: int
) -> tuple[int, int | None]:
    """Delete the owner's next `batch` rows in key order from past `after`; how many went,
    and the last key (or `after`, if none had one). Read from `after` rather than from the
    first: on PostgreSQL the rows removed before stay in the index until a vacuum, and every
    batch would walk over all of them again."""
    t = sweep.table
    past = sweep.key > after if after is not None else true()
    chosen = (
        select(t.c.pk)
        .where(and_(sweep.owner == owner_sid, past))
        .order_by(sweep.key)
        .limit(batch)
        .scalar_subquery()
    )
    gone = await conn.execute_aside(t.delete().where(t.c.pk.in_(chosen)).returning(sweep.key))
    rows = gone.all()
    keys = [int(row[0]) for row in rows if row[0] is not None]
    return len(rows), max(keys, default=after)


async def _left(conn: Connection, sweep: Sweep, owner_sid: str) -> bool:
    query = select(sweep.table.c.pk).where(sweep.owner == owner_sid).limit(1)
    return (await conn.execute(query)).first() is not None


async def pending(conn: Connection, tables: Tables, up_to: int = 10_000) -> int:
    """How many sweeps are left, counted up to `up_to` (a service's delete leaves one for each
    of its channels)."""
    first = select(tables.sweeps.c.pk).limit(up_to).subquery()
    return int((await conn.execute(select(func.count()).select_from(first))).scalar() or 0)


class Sweeper:
    """Works through the sweeps of one database, one batch a transaction. One per server."""

    def __init__(self, db: Database, tables: Tables, *, batch: int = BATCH, poll: float = POLL):
        self.db = db
        self.tables = tables
        self.batch = batch
        self.poll = poll
        self.removed = 0  # batches done by this process (for tests and logs)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="chinwag-sweeper")

    def notify(self) -> None:
        """Something may have been left to sweep: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            began = time.monotonic()
            more = await self._batch()
            if more:
                # Rest as long as the batch took: other writes get the writer half the time.
                await asyncio.sleep(time.monotonic() - began)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

    async def _batch(self) -> bool:
        """One batch in a write transaction of its own; whether to go on at once."""
        try:
            async with self.db.write() as conn:
                worked = await sweep_once(conn, self.tables, self.batch)
        except RetryLater:
            return True  # it gave way to another server's transaction: again after the rest
        except (DatabaseError, OSError, TimeoutError) as exc:
            log.warning("sweep failed: %s (tried again later)", exc)
            return False
        except Exception:  # a bug must not end the worker for the server's lifetime
            log.exception("sweep failed (tried again later)")
            return False
        if worked:
            self.removed += 1
        return worked
