"""Databases for tests: a fresh one of each kind, dropped afterwards.

PostgreSQL is the server at CHINWAG_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test).
Without it the PostgreSQL half of a test skips with a message, except under CI=true, where it
fails: CI must never pass on SQLite alone.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from chinwag.resources import TABLES
from chinwag.store.db import Database
from tests.support.servers import PG_ADMIN, pg_create_database, pg_drop_database, pg_reachable

KINDS = ["sqlite", "postgresql"]
T = TypeVar("T")


def require_postgresql() -> None:
    if pg_reachable():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but PostgreSQL is unreachable at {PG_ADMIN}")
    pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN}; set CHINWAG_TEST_PG to run this half")


@contextmanager
def fresh(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a new, empty database of `kind` (a SQLite file goes in `directory`)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'fresh.db'}"
        return
    require_postgresql()
    url = pg_create_database()
    try:
        yield url
    finally:
        pg_drop_database(url)


def with_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` with a `Database` on `url` in an event loop of its own, then close it."""

    async def main() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())


def messages_of(url: str, channel_sid: str) -> int:
    """How many rows of the channel's messages the database at `url` holds (a deleted
    channel's stay until the sweeper has removed them)."""
    messages = TABLES["message"]
    query = select(func.count()).where(messages.c.channel_sid == channel_sid)

    async def count(db: Database) -> int:
        async with db.read() as conn:
            return int((await conn.execute(query)).scalar())

    return with_database(url, count)
