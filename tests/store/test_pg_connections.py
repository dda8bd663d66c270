"""PostgreSQL's connections between requests (`engine_pg`): a read's connection is kept for the
next one, requests that wait for a connection get one in turn, whatever the others do, and a
connection is not kept after a failed read or once the connections have been expired. Writes
all run on the writer's one connection (`pg_writer`)."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text

from chinwag.store.db import Database
from chinwag.store.engine_pg import PgEngine
from chinwag.store.errors import DatabaseError
from tests.support.databases import with_database

BACKEND = text("SELECT pg_backend_pid()")


async def backend(db: Database, write: bool = False) -> int:
    async with db.write() if write else db.read() as conn:
        return int((await conn.execute(BACKEND)).scalar())


async def failed_read(db: Database) -> None:
    async with db.read() as conn:
        await conn.execute(text("SELECT 1 / 0"))


class Holders:
    """`count` requests that each hold a connection until `let_go`; their backends' PIDs."""

    def __init__(self, db: Database, count: int) -> None:
        self.db, self.count = db, count
        self.pids: list[int] = []
        self._all_in, self._release = asyncio.Event(), asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def hold(self) -> None:
        """Start them, and return once every one holds its connection."""
        self._tasks = [asyncio.create_task(self._one()) for _ in range(self.count)]
        await asyncio.wait_for(self._all_in.wait(), 10)

    async def let_go(self) -> None:
        self._release.set()
        await asyncio.gather(*self._tasks)

    async def _one(self) -> None:
        async with self.db.read() as conn:
            self.pids.append(int((await conn.execute(BACKEND)).scalar()))
            if len(self.pids) == self.count:
                self._all_in.set()
            await self._release.wait()


def engine(db: Database) -> PgEngine:
    assert isinstance(db.engine, PgEngine)
    return db.engine


def test_the_next_read_takes_the_last_ones_connection_and_writes_have_their_own(
    fresh_postgres: str,
) -> None:
    async def work(db: Database) -> tuple[list[int], list[int]]:
        writes = [await backend(db, write=True)]
        reads = [await backend(db), await backend(db)]
        writes.append(await backend(db, write=True))
        return [*reads, await backend(db)], writes

    reads, writes = with_database(fresh_postgres, work)
    assert len(set(reads)) == 1
    assert len(set(writes)) == 1
    assert set(reads) != set(writes)


def test_a_request_waiting_for_a_connection_gets_a_released_one(fresh_postgres: str) -> None:
    """Every connection busy (two at most): the third request waits, and the first connection
    released goes to it, not to the idle list."""

    async def work() -> list[int]:
        db = Database(fresh_postgres, max_connections=2)
        try:
            await backend(db)  # the pool is open, one connection idle with chinwag
            holders = Holders(db, 2)
            await holders.hold()
            waiter = asyncio.create_task(backend(db))
            await asyncio.sleep(0.2)
            assert not waiter.done()  # no third connection: it waits
            await holders.let_go()
            got = await asyncio.wait_for(waiter, 5)  # not the pool's 60 s timeout
            assert got in holders.pids
            return holders.pids
        finally:
            await db.close()

    assert len(set(asyncio.run(work()))) == 2


def test_a_failed_reads_connection_is_not_kept(fresh_postgres: str) -> None:
    async def work(db: Database) -> tuple[int, int]:
        await backend(db)
        kept = len(engine(db)._idle)
        with pytest.raises(DatabaseError):  # Refused: division by zero is a data error
            await failed_read(db)
        return kept, len(engine(db)._idle)

    assert with_database(fresh_postgres, work) == (1, 0)


def test_connections_in_use_when_expired_are_not_kept(fresh_postgres: str) -> None:
    """`expire` (a dead connection was found) renews every connection: the idle ones at once,
    the busy ones when their request ends, so none of them serves another request."""

    async def work(db: Database) -> tuple[int, int, int]:
        before = await backend(db)
        async with db.read() as conn:
            busy = int((await conn.execute(BACKEND)).scalar())
            await engine(db).expire()
        after = await backend(db)
        return before, busy, after

    before, busy, after = with_database(fresh_postgres, work)
    assert before == busy
    assert after != busy


def test_connections_unused_for_a_while_go_back_to_the_pool(
    fresh_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a burst, a server keeps only the connections it goes on using."""
    monkeypatch.setattr("chinwag.store.engine_pg.IDLE_KEEP", 0.3)

    async def work(db: Database) -> tuple[int, int]:
        burst = Holders(db, 4)  # four connections at once
        await burst.hold()
        await burst.let_go()
        after_burst = len(engine(db)._idle)
        await asyncio.sleep(0.5)
        await backend(db)  # one request, a while later
        return after_burst, len(engine(db)._idle)

    assert with_database(fresh_postgres, work) == (4, 1)


def test_connections_back_in_the_pool_are_closed_soon(
    fresh_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst's connections are closed once unused for IDLE_KEEP and then POOL_IDLE: servers
    sharing one PostgreSQL do not keep them against its max_connections (asyncpg's own
    default would be 300 s more)."""
    monkeypatch.setattr("chinwag.store.engine_pg.IDLE_KEEP", 0.2)
    monkeypatch.setattr("chinwag.store.engine_pg.POOL_IDLE", 0.3)
    sessions = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend'"
    )

    async def open_sessions(db: Database) -> int:
        async with db.read() as conn:
            return int((await conn.execute(sessions)).scalar())

    async def work(db: Database) -> tuple[int, int]:
        burst = Holders(db, 4)
        await burst.hold()
        during = await open_sessions(db)
        await burst.let_go()
        await asyncio.sleep(0.3)
        await backend(db)  # a request a while later: the unused ones go back to the pool
        await asyncio.sleep(1.0)
        return during, await open_sessions(db)

    during, after = with_database(fresh_postgres, work)
    assert during >= 5  # the four held and the one asking
    assert after == 1  # the one asking


def test_many_requests_on_few_connections_all_get_one(fresh_postgres: str) -> None:
    """Twelve tasks on two connections (the writer's and one for reads), writing one row and
    reading, some cancelled while they wait: every other request is served, promptly, and
    afterwards every connection the engine holds is the writer's or an idle one."""

    async def work(db: Database) -> tuple[float, int, int, int]:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE c (id int PRIMARY KEY, n int)"))
            await conn.execute(text("INSERT INTO c VALUES (1, 0)"))
        slowest = 0.0

        async def one(n: int) -> None:
            nonlocal slowest
            began = time.monotonic()
            async with db.write() as conn:
                slowest = max(slowest, time.monotonic() - began)
                await conn.execute(text("UPDATE c SET n = n + 1 WHERE id = 1"))
                if n % 3 == 0:
                    await asyncio.sleep(0.001)
            async with db.read() as conn:
                await conn.execute(text("SELECT n FROM c"))

        async def worker(w: int) -> None:
            for n in range(40):
                await one(n)

        workers = [asyncio.create_task(worker(w)) for w in range(12)]
        doomed = [asyncio.create_task(one(0)) for _ in range(20)]
        await asyncio.sleep(0.01)
        for task in doomed:  # cancelled wherever they are, most of them waiting for a turn
            task.cancel()
        await asyncio.gather(*doomed, return_exceptions=True)
        await asyncio.wait_for(asyncio.gather(*workers), 60)
        async with db.read() as conn:
            total = int((await conn.execute(text("SELECT n FROM c"))).scalar())
        pg = engine(db)
        return (
            slowest,
            total,
            pg._out - len(pg._idle) - sum(w.connected for w in pg.writers),
            len([t for t in pg._waiting if not t.done()]),
        )

    async def main() -> tuple[float, int, int, int]:
        db = Database(fresh_postgres, max_connections=2)
        try:
            return await work(db)
        finally:
            await db.close()

    slowest, total, busy, waiting = asyncio.run(main())
    assert 12 * 40 <= total <= 12 * 40 + 20  # the cancelled ones may or may not have written
    assert (busy, waiting) == (0, 0)
    assert slowest < 10, slowest  # never the 60 s of a lost turn
