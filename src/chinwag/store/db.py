"""The database: `read()` and `write()` give a `Connection` for one request.

Requests run SQLAlchemy Core statements on chinwag's own engines (`engine_sqlite`, `engine_pg`):
SQL is compiled once per statement shape (`compiled`), then run by the standard `sqlite3`
module or by asyncpg, with no ORM machinery per statement. SQLAlchemy still declares the schema,
and Alembic migrates it through its own engine (`async_url`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from chinwag import clock
from chinwag.store.connection import Connection, DialectName
from chinwag.store.engine_pg import PgEngine
from chinwag.store.engine_sqlite import SqliteEngine
from chinwag.store.group_commit import Meanwhile, Undo
from chinwag.store.shared_reads import NOT_READ, SharedReads

__all__ = ["NOT_READ", "Connection", "Database", "DialectName", "Undo", "async_url"]

_PING = text("SELECT 1")
_CLOCK = text("SELECT extract(epoch FROM clock_timestamp())")
CLOCK_SAMPLES = 3


def async_url(url: str) -> str:
    """`sqlite:///x.db` and `postgresql://...` as SQLAlchemy's async drivers want them (Alembic)."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
    backend = parsed.get_backend_name()
    if backend not in driver:
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
    return parsed.set(drivername=driver[backend]).render_as_string(hide_password=False)


class Database:
    """The engine of one database URL; `read()` and `write()` give a connection for one request."""

    def __init__(self, url: str, *, synchronous: str = "NORMAL", max_connections: int = 20) -> None:
        self.url = url
        parsed = make_url(async_url(url))
        self.dialect = parsed.get_backend_name()
        self.engine: SqliteEngine | PgEngine
        if self.dialect == "sqlite":
            self.engine = SqliteEngine(parsed.database or "", synchronous)
        else:
            self.engine = PgEngine(url, max_connections)
        self._shared = SharedReads(self.read)

    def read(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        """A connection that sees committed data (each statement its own snapshot)."""
        return self.engine.read()

    def read_together(
        self,
        key: Hashable,
        query: Callable[[Connection], Awaitable[Any]],
        until: asyncio.Future[Any],
    ) -> Awaitable[Any]:
        """`query` on a reading connection, its result shared with every read of the same
        `key` begun before it is sent (`shared_reads`); NOT_READ if `until` came first."""
        return self._shared.read(key, query, until)

    def read_aside(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        """As `read`, for a read whose cost grows with the data it counts: it never holds up
        the event loop (SQLite's reads otherwise run on it, see `engine_sqlite`)."""
        return self.engine.read_aside()

    def write(
        self,
        key: str | None = None,
        lead: bool = False,
        meanwhile: Meanwhile | None = None,
        undo: Undo = Undo.SAVEPOINT,
    ) -> contextlib.AbstractAsyncContextManager[Connection]:
        """One transaction: durable when the block ends, rolled back if it raises. `key` (the
        channel or service written) keeps related writes together: on PostgreSQL, the same
        key always runs on the same writer (`pg_writer`); SQLite has one writer anyway.
        `lead`: the first of a new group commit, where a lock is waited for as long as it
        takes (a transaction run again after it gave way, `RetryLater`). `meanwhile`: what
        to do while the transaction waits for its writer's turn, if it must (reads on
        another connection, `ops.actions`); its error ends the transaction before it begins.
        `undo`: whether the caller runs the transaction again when a later one's failure takes
        back its whole batch (`BatchLost`), and whether it may itself do without a savepoint
        of its own (`group_commit.Undo`)."""
        return self.engine.write(key, lead, meanwhile, undo)

    async def ping(self) -> bool:
        async with self.read() as conn:
            await conn.execute(_PING)
        return True

    async def measure_clock(self) -> float:
        """Set `clock`'s offset to how far the database server's clock is ahead of this
        machine's, from the quickest of CLOCK_SAMPLES round trips (its midpoint is the read's
        moment, to within half of it), and return it. SQLite's server is this machine: 0."""
        if self.dialect == "sqlite":
            clock.set_offset(0.0)
            return 0.0
        best: tuple[float, float] | None = None
        async with self.read() as conn:
            for _ in range(CLOCK_SAMPLES):
                sent = time.time()
                theirs = float((await conn.execute(_CLOCK)).scalar())
                back = time.time()
                if best is None or back - sent < best[0]:
                    best = (back - sent, theirs - (sent + back) / 2)
        assert best is not None  # noqa: S101  (CLOCK_SAMPLES > 0)
        clock.set_offset(best[1])
        return best[1]

    def pool_stats(self) -> dict[str, tuple[int, int]]:
        """(checked out, size) of the writing and the reading connections."""
        return self.engine.pool_stats()

    def commit_stats(self) -> dict[str, int]:
        """SQLite's group commit: COMMITs run and the transactions they covered."""
        return self.engine.commit_stats()

    async def close(self) -> None:
        await self.engine.close()
