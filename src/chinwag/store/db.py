"""The database: one async engine (two on SQLite), and a transaction per request.

SQLite allows one writer at a time, so writes go through a single connection that takes the
write lock up front (`BEGIN IMMEDIATE`): concurrent requests queue instead of failing with
"database is locked". Reads use their own pool in autocommit and, in WAL mode, never wait for the writer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# What a transaction hands its statements to (a lean engine of our own is to replace it).
Connection = AsyncConnection


def async_url(url: str) -> str:
    """`sqlite:///x.db` and `postgresql://...` as SQLAlchemy's async drivers want them."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
    backend = parsed.get_backend_name()
    if backend not in driver:
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
    return parsed.set(drivername=driver[backend]).render_as_string(hide_password=False)


def _sqlite_engine(url: str, *, begin: str | None, pool_size: int, synchronous: str) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
        connect_args={"timeout": 30},
        hide_parameters=True,  # errors are logged: never with the values (secrets) they carried
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            f"synchronous={synchronous}",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if begin is not None:

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql(begin)

    return engine


class Database:
    """Engines for one database URL; `read()` and `write()` give a connection in a transaction."""

    def __init__(self, url: str, *, synchronous: str = "NORMAL", pool_size: int = 10) -> None:
        self.url = url
        full = async_url(url)
        self.dialect = make_url(full).get_backend_name()
        if self.dialect == "sqlite":
            self.writer = _sqlite_engine(
                full, begin="BEGIN IMMEDIATE", pool_size=1, synchronous=synchronous
            )
            # Reads run in autocommit: each statement sees a consistent WAL snapshot, and
            # requests read with one statement, so BEGIN/COMMIT would only cost round trips.
            self.reader = _sqlite_engine(
                full, begin=None, pool_size=pool_size, synchronous=synchronous
            )
        else:
            self.writer = self.reader = create_async_engine(
                full,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
                hide_parameters=True,
            )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self.writer.connect() as conn, conn.begin():
            yield conn

    async def ping(self) -> bool:
        async with self.reader.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def close(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
