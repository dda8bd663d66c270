"""PostgreSQL's group commit (`pg_writer`): concurrent write transactions share COMMITs, each
keeps its own outcome, none is acknowledged before the COMMIT that covers it, a batch whose
outcome is unknown fails as a whole, and a transaction that would make two processes' batches
wait for each other gives way (RetryLater) instead."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    text,
)

from chinwag.store import statements
from chinwag.store.compiled import Result
from chinwag.store.connection import Connection
from chinwag.store.db import Database
from chinwag.store.engine_pg import PgEngine
from chinwag.store.errors import BatchLost, IntegrityError, RetryLater, Unavailable
from chinwag.store.group_commit import Undo
from chinwag.store.pg_driver import closed
from chinwag.store.pg_writer import _COMMIT_UNBOUNDED, LOCK_WAIT, PgWriter
from tests.support.databases import with_database

INSERT = text("INSERT INTO t VALUES (:n, 0)")


@pytest.fixture
def pg_url(fresh_postgres: str) -> str:
    """A fresh PostgreSQL database with table `t`, holding row 0."""

    async def table(db: Database) -> None:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE t (id int PRIMARY KEY, n int)"))
            await conn.execute(text("INSERT INTO t VALUES (0, 0)"))

    with_database(fresh_postgres, table)
    return fresh_postgres


def writer_of(db: Database) -> PgWriter:
    assert isinstance(db.engine, PgEngine)
    return db.engine.writer


async def insert(db: Database, n: int) -> None:
    async with db.write() as conn:
        await conn.execute(INSERT, {"n": n})


async def stored(db: Database) -> set[int]:
    async with db.read() as conn:
        return {int(row[0]) for row in (await conn.execute(text("SELECT id FROM t"))).all()}


def test_group_commit_isolates_each_transaction(pg_url: str) -> None:
    """Concurrent writes share COMMITs; one that fails after writing, and one whose statement
    breaks a constraint, roll back alone; the others commit."""

    async def one(db: Database, n: int) -> None:
        async with db.write() as conn:
            await conn.execute(INSERT, {"n": n})
            await asyncio.sleep(0)  # let the others queue behind this one
            if n == 7:
                raise RuntimeError("request 7 fails after writing")
            if n == 9:
                await conn.execute(text("INSERT INTO t VALUES (1, 0)"))  # 1 is taken

    async def work(db: Database) -> tuple[list[Any], set[int], dict[str, int]]:
        outcomes = await asyncio.gather(*(one(db, n) for n in range(1, 41)), return_exceptions=True)
        return outcomes, await stored(db), db.commit_stats()

    outcomes, ids, stats = with_database(pg_url, work)
    failed = {n: type(o) for n, o in enumerate(outcomes, 1) if o is not None}
    assert failed == {7: RuntimeError, 9: IntegrityError}
    assert ids == {0} | set(range(1, 41)) - {7, 9}
    assert stats["transactions"] == 38
    assert stats["commits"] < 39 / 4, f"writes were not grouped: {stats}"


def test_nothing_acknowledged_before_commit(pg_url: str) -> None:
    """While the COMMIT of a batch is held up, no write of it returns, and a reader sees none
    of its rows; then all return."""

    async def work(db: Database) -> tuple[int, set[int], int, set[int]]:
        writer = writer_of(db)
        original = writer._commit
        committing, gate = asyncio.Event(), asyncio.Event()

        async def held_commit(batch: Any) -> None:
            committing.set()
            await gate.wait()
            await original(batch)

        writer._commit = held_commit  # type: ignore[method-assign]
        returned: list[int] = []

        async def one(n: int) -> None:
            await insert(db, n)
            returned.append(n)

        tasks = [asyncio.create_task(one(n)) for n in range(1, 11)]
        await asyncio.wait_for(committing.wait(), 10)
        await asyncio.sleep(0.2)
        early, seen = len(returned), await stored(db)
        gate.set()
        await asyncio.gather(*tasks)
        return early, seen, len(returned), await stored(db)

    early, seen, late, ids = with_database(pg_url, work)
    assert (early, seen) == (0, {0})
    assert late == 10
    assert ids == set(range(11))


def test_a_failed_commit_fails_every_transaction_of_the_batch(pg_url: str) -> None:
    """The writer's connection killed before its COMMIT: every transaction of the batch answers
    Unavailable and none is stored; the next writes go through on a new connection."""

    async def work(db: Database) -> tuple[list[Any], set[int], list[Any]]:
        writer = writer_of(db)
        original = writer._commit
        kill = [True]

        async def killed_commit(batch: Any) -> None:
            if kill[0]:
                kill[0] = False
                pid = await writer._conn.fetchval("SELECT pg_backend_pid()")
                async with db.read() as conn:
                    await conn.execute(text(f"SELECT pg_terminate_backend({pid})"))
            await original(batch)

        writer._commit = killed_commit  # type: ignore[method-assign]
        first = await asyncio.gather(*(insert(db, n) for n in range(1, 6)), return_exceptions=True)
        ids = await stored(db)
        second = await asyncio.gather(*(insert(db, n) for n in range(6, 9)), return_exceptions=True)
        return first, ids, second

    first, ids, second = with_database(pg_url, work)
    assert all(isinstance(o, Unavailable) for o in first), first
    assert ids == {0}
    assert second == [None, None, None]
    assert with_database(pg_url, stored) == {0, 6, 7, 8}


def test_a_transaction_cancelled_mid_statement_breaks_its_batch(pg_url: str) -> None:
    """Cancelled while its statement runs, a transaction leaves that statement's outcome
    unknown: its batch is rolled back (its other transactions answer Unavailable), and the
    writer goes on with a new connection."""

    async def work(db: Database) -> tuple[Any, bool, set[int], set[int]]:
        async def first() -> None:
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1, 0)"))
                await asyncio.sleep(0.05)  # `slow` queues behind it, into the same batch

        async def slow() -> None:
            async with db.write() as conn:
                await conn.execute(text("INSERT INTO t VALUES (2, 0)"))
                await conn.execute(text("SELECT pg_sleep(2)"))

        batchmate = asyncio.create_task(first())
        await asyncio.sleep(0.01)  # `first` has the writer
        slow_task = asyncio.create_task(slow())
        await asyncio.sleep(0.3)  # `first` waits for its COMMIT, `slow` sleeps in PostgreSQL
        began = time.monotonic()
        slow_task.cancel()
        outcome = await asyncio.gather(batchmate, return_exceptions=True)
        prompt = time.monotonic() - began < 1.5
        with pytest.raises(asyncio.CancelledError):
            await slow_task
        during = await stored(db)
        await insert(db, 3)
        return outcome[0], prompt, during, await stored(db)

    outcome, prompt, during, after = with_database(pg_url, work)
    assert isinstance(outcome, Unavailable), outcome
    assert prompt
    assert during == {0}
    assert after == {0, 3}


def test_a_later_transaction_gives_way_to_another_process(pg_url: str) -> None:
    """Another process (here a second Database) holds a row's lock. The first transaction of a
    batch waits for it as long as it must; a later one waits LOCK_WAIT at most, then answers
    RetryLater, and the batch before it commits at once."""

    async def main() -> tuple[float, Any, Any, set[int], float]:
        mine, other = Database(pg_url), Database(pg_url)
        holding, release = asyncio.Event(), asyncio.Event()

        async def hold_row_zero(seconds: float) -> None:
            async with other.write() as conn:
                await conn.execute(text("UPDATE t SET n = n + 1 WHERE id = 0"))
                holding.set()
                await asyncio.wait_for(release.wait(), seconds)

        async def touch_row_zero() -> None:
            async with mine.write() as conn:
                await conn.execute(text("UPDATE t SET n = n + 1 WHERE id = 0"))

        try:
            # Alone in its batch: waits the whole 0.5 s, then succeeds.
            holder = asyncio.create_task(hold_row_zero(10))
            await holding.wait()
            asyncio.get_running_loop().call_later(0.5, release.set)
            began = time.monotonic()
            await touch_row_zero()
            waited_alone = time.monotonic() - began
            await holder
            holding.clear()
            release.clear()
            # Behind a transaction of its batch: gives way after LOCK_WAIT.
            holder = asyncio.create_task(hold_row_zero(10))
            await holding.wait()

            async def first() -> None:
                async with mine.write() as conn:
                    await conn.execute(text("INSERT INTO t VALUES (1, 0)"))
                    await asyncio.sleep(0)  # the next one queues into this batch

            began = time.monotonic()
            outcomes = await asyncio.gather(first(), touch_row_zero(), return_exceptions=True)
            gave_way_after = time.monotonic() - began
            release.set()
            await holder
            return waited_alone, outcomes[0], outcomes[1], await stored(mine), gave_way_after
        finally:
            await mine.close()
            await other.close()

    waited_alone, first, later, ids, gave_way_after = asyncio.run(main())
    assert waited_alone >= 0.45
    assert first is None
    assert isinstance(later, RetryLater), later
    assert ids == {0, 1}  # the batch committed without the transaction that gave way
    assert gave_way_after < 2, gave_way_after


def test_a_key_always_writes_on_the_same_writer(pg_url: str) -> None:
    """Writes keyed by one channel share its writer (and its batches); other keys spread over
    the process's keyed writers, which run side by side; writes with no key (the deliverer's
    cycles) run on a writer of their own, in no channel's chain."""

    async def backend(db: Database, key: str | None) -> int:
        async with db.write(key) as conn:
            return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar())

    async def work(db: Database) -> tuple[int, list[int], list[int], list[int]]:
        assert isinstance(db.engine, PgEngine)
        count = len(db.engine.keyed)
        keys: dict[int, str] = {}  # one key per writer
        for n in range(1000):
            keys.setdefault(zlib.crc32(f"CH{n}".encode()) % count, f"CH{n}")
        same = [await backend(db, "CH1") for _ in range(3)]
        spread = [await backend(db, keys[w]) for w in range(count)]
        keyless = [await backend(db, None) for _ in range(3)]
        return count, same, spread, keyless

    count, same, spread, keyless = with_database(pg_url, work)  # 20 connections: 4 + 1 writers
    assert count == 4
    assert len(set(same)) == 1
    assert len(set(spread)) == count
    assert len(set(keyless)) == 1
    assert not set(keyless) & set(spread)


def test_a_narrow_pool_writes_keyless_on_its_one_writer(pg_url: str) -> None:
    """Below two keyed writers (under 10 connections), writes with no key share the one
    writer: a writer of their own would leave too few connections for reads."""

    async def work() -> tuple[int, int, set[int]]:
        db = Database(pg_url, max_connections=5)
        try:
            assert isinstance(db.engine, PgEngine)
            pids = set()
            for key in (None, "CH1", "CH2"):
                async with db.write(key) as conn:
                    pids.add(int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar()))
            return len(db.engine.keyed), len(db.engine.writers), pids
        finally:
            await db.close()

    keyed, writers, pids = asyncio.run(work())
    assert (keyed, writers, len(pids)) == (1, 1, 1)


def test_a_transaction_run_again_leads_a_batch_of_its_own(pg_url: str) -> None:
    """A transaction that gave way is run again with `lead`: the batch open before its turn
    commits first, and it opens the next, where it waits for another process's lock as long
    as it must instead of giving way again (a write that needs locks other writers keep
    taking answered 503 after giving way three times)."""

    async def main() -> tuple[list[Any], list[str], set[int], int]:
        mine, other = Database(pg_url), Database(pg_url)
        holding, release = asyncio.Event(), asyncio.Event()
        events: list[str] = []

        async def hold_row_zero() -> None:
            async with other.write() as conn:
                await conn.execute(text("UPDATE t SET n = n + 1 WHERE id = 0"))
                holding.set()
                await asyncio.wait_for(release.wait(), 10)

        async def first() -> None:
            async with mine.write() as conn:
                await conn.execute(text("INSERT INTO t VALUES (1, 0)"))
                await asyncio.sleep(0)  # the lead queues behind this one
            events.append("first committed")

        async def lead() -> None:
            async with mine.write(lead=True) as conn:
                await conn.execute(text("UPDATE t SET n = n + 1 WHERE id = 0"))
            events.append("lead committed")

        try:
            holder = asyncio.create_task(hold_row_zero())
            await holding.wait()
            asyncio.get_running_loop().call_later(0.5, release.set)
            outcomes = await asyncio.gather(first(), lead(), return_exceptions=True)
            await holder
            return outcomes, events, await stored(mine), writer_of(mine).commits
        finally:
            await mine.close()
            await other.close()

    outcomes, events, ids, commits = asyncio.run(main())
    assert outcomes == [None, None]  # the lead waited out the other process's 0.5 s
    assert events == ["first committed", "lead committed"]  # not held up by the lead's wait
    assert ids == {0, 1}
    assert commits == 2  # one batch each


def test_a_lead_commits_a_batch_waiting_for_the_next_turn(pg_url: str) -> None:
    """A batch whose COMMIT waits for the loop's next turn is committed at once when a lead
    comes, and the lead's transaction is in the next batch."""

    async def main() -> tuple[int, int, set[int]]:
        db = Database(pg_url)
        try:
            writer = writer_of(db)
            scheduled, held = writer._commit_scheduled, []

            def hold_the_first(batch: Any) -> None:  # open, as if the next turn had not come
                if held:
                    scheduled(batch)
                held.append(batch)

            writer._commit_scheduled = hold_the_first  # type: ignore[method-assign]
            task = asyncio.create_task(insert(db, 1))
            for _ in range(5000):  # its round trips done, the turn passed on
                if not writer.busy and writer._batch is not None:
                    break
                await asyncio.sleep(0.001)
            assert not writer.busy
            assert writer._batch is not None

            async def lead() -> None:
                async with db.write(lead=True) as conn:
                    await conn.execute(INSERT, {"n": 2})

            await asyncio.wait_for(lead(), 10)  # joined to the batch, it would wait forever
            await task
            return writer.commits, writer.transactions, await stored(db)
        finally:
            await db.close()

    commits, transactions, ids = asyncio.run(main())
    assert (commits, transactions) == (2, 2)  # one batch each
    assert ids == {0, 1, 2}


class Recording:
    """The writer's asyncpg connection, noting the simple-query strings sent through it, and
    the pipelined runs of one statement (`executemany`, `fetchmany`) with their sizes."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.sent: list[str] = []
        self.pipelined: list[int] = []

    async def execute(self, query: str, *args: Any) -> Any:
        if not args:
            self.sent.append(query)
        return await self.conn.execute(query, *args)

    async def executemany(self, query: str, args: list[Any]) -> Any:
        self.pipelined.append(len(args))
        return await self.conn.executemany(query, args)

    async def fetchmany(self, query: str, args: list[Any]) -> Any:
        self.pipelined.append(len(args))
        return await self.conn.fetchmany(query, args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_a_commit_opens_the_next_batch_which_holds_nothing_meanwhile(pg_url: str) -> None:
    """The COMMIT opens the next batch in its own round trip: the next write sends no opening
    statement of its own. Meanwhile the writer's session is idle in a transaction that holds
    no lock but its own, no transaction ID and no snapshot, so it holds back no vacuum and
    no DDL; and it is in the rows of the next write, not left behind by the last."""

    async def work(db: Database) -> tuple[list[str], Any, list[str], bool, set[int]]:
        writer = writer_of(db)
        await insert(db, 1)
        pid = writer._conn.get_server_pid()  # asked of the client: a query would take a snapshot
        async with db.read() as conn:
            activity = (
                await conn.execute(
                    text(
                        "SELECT state, backend_xid, backend_xmin FROM pg_stat_activity"
                        " WHERE pid = :pid"
                    ),
                    {"pid": pid},
                )
            ).one()
            locks = (
                await conn.execute(
                    text("SELECT locktype FROM pg_locks WHERE pid = :pid"), {"pid": pid}
                )
            ).all()
            # DDL on the table the last batch wrote does not wait for the idle writer.
            await conn.execute(text("SET lock_timeout = '1s'"))
            await conn.execute(text("ALTER TABLE t ADD COLUMN extra int"))
        writer._conn = recording = Recording(writer._conn)
        await insert(db, 2)
        writer._conn = recording.conn
        sent = recording.sent
        return sent, activity, [row[0] for row in locks], writer._opened_ahead, await stored(db)

    sent, activity, locks, ahead, ids = with_database(pg_url, work)
    assert tuple(activity) == ("idle in transaction", None, None)
    assert locks == ["virtualxid"]
    assert not any("BEGIN" in query and "COMMIT" not in query for query in sent), sent
    assert sent[-1] == "COMMIT; BEGIN; SAVEPOINT request", sent
    assert ahead
    assert ids == {0, 1, 2}


def test_a_writer_connection_that_died_between_batches_is_replaced(pg_url: str) -> None:
    """The session idling in the transaction its COMMIT opened is terminated (a restart, an
    operator): the next write notices before it is sent, and runs on a new connection."""

    async def work(db: Database) -> tuple[int, int, set[int]]:
        writer = writer_of(db)
        await insert(db, 1)
        pid = writer._conn.get_server_pid()
        async with db.read() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # until the client has read the end of the connection
            if closed(writer._conn):
                break
            await asyncio.sleep(0.01)
        await insert(db, 2)
        return pid, writer._conn.get_server_pid(), await stored(db)

    old, new, ids = with_database(pg_url, work)
    assert new != old
    assert ids == {0, 1, 2}


def test_closing_ends_the_opened_transaction(pg_url: str) -> None:
    """At close the writer rolls back the empty transaction its last COMMIT opened rather
    than dropping the connection in the middle of it."""

    async def work(db: Database) -> tuple[bool, list[bool]]:
        writer = writer_of(db)
        await insert(db, 1)
        opened = writer._conn.is_in_transaction()
        dropped: list[bool] = []  # whether the connection was in a transaction when dropped
        original = writer._drop

        async def drop(lost: bool = False) -> None:
            if writer._conn is not None:
                dropped.append(writer._conn.is_in_transaction())
            await original(lost)

        writer._drop = drop  # type: ignore[method-assign]
        await writer.close()
        return opened, dropped

    assert with_database(pg_url, work) == (True, [False])


Write = Callable[[Database], Awaitable[None]]


def inserting(n: int, undo: Undo, fail: str = "") -> Write:
    """A transaction that inserts row `n`; `fail`: "after" it raises once that is done,
    "before" it raises after a read only, "statement" its second INSERT breaks a key."""

    async def write(db: Database) -> None:
        async with db.write(undo=undo) as conn:
            if fail == "before":
                await conn.execute(select(text("count(*)")).select_from(text("t")))
                raise RuntimeError(f"{n} fails having read only")
            await conn.execute(INSERT, {"n": n})
            if fail == "statement":
                await conn.execute(text("INSERT INTO t VALUES (0, 0)"))  # 0 is taken
            if fail == "after":
                raise RuntimeError(f"{n} fails after writing")

    return write


async def in_one_batch(db: Database, writes: list[Write]) -> list[Any]:
    """Run `writes` queued in this order behind the first, which holds the writer's turn
    until all have queued; their outcomes (None or the exception)."""
    writer = writer_of(db)
    held, go = asyncio.Event(), asyncio.Event()
    first = writes[0]

    async def holding(db: Database) -> None:
        async def hold(*_: Any) -> None:
            held.set()
            await asyncio.wait_for(go.wait(), 10)

        held_db = HeldDatabase(db, hold)
        await first(held_db)  # type: ignore[arg-type]

    tasks = [asyncio.create_task(holding(db))]
    await asyncio.wait_for(held.wait(), 10)
    for write in writes[1:]:
        tasks.append(asyncio.create_task(write(db)))
        await asyncio.sleep(0)  # queued, in order
    assert len(writer._queue) == len(writes) - 1
    go.set()
    return list(await asyncio.gather(*tasks, return_exceptions=True))


class HeldDatabase:
    """`db` whose writes, once they have the writer's turn, wait for `hold` to go on."""

    def __init__(self, db: Database, hold: Callable[..., Awaitable[None]]) -> None:
        self.db, self.hold = db, hold

    def write(self, **kwargs: Any) -> Any:
        @asynccontextmanager
        async def held() -> AsyncIterator[Any]:
            async with self.db.write(**kwargs) as conn:
                await self.hold()
                yield conn

        return held()


def outcome_types(outcomes: list[Any]) -> list[type | None]:
    return [None if o is None else type(o) for o in outcomes]


def test_a_join_without_a_savepoint_sends_no_statement_of_its_own(pg_url: str) -> None:
    """`Undo.BATCH` behind transactions that can be run again joins the batch without a
    savepoint: no opening round trip (the batch's first joiner still bounds its lock waits);
    behind one that cannot, it takes its savepoint."""

    async def work(db: Database) -> tuple[list[Any], list[str], list[Any], list[str]]:
        writer = writer_of(db)
        await insert(db, 100)  # connected, and the next batch opened by its COMMIT
        writer._conn = recording = Recording(writer._conn)
        rerun = [inserting(n, Undo.RERUN if n == 1 else Undo.BATCH) for n in (1, 2, 3, 4)]
        bare = await in_one_batch(db, rerun)
        sent_bare, recording.sent = recording.sent, []
        mixed = [inserting(5, Undo.RERUN), inserting(6, Undo.SAVEPOINT), inserting(7, Undo.BATCH)]
        with_savepoints = await in_one_batch(db, mixed)
        writer._conn = recording.conn
        return bare, sent_bare, with_savepoints, recording.sent

    bare, sent_bare, with_savepoints, sent_mixed = with_database(pg_url, work)
    assert bare == [None] * 4
    assert with_savepoints == [None] * 3
    assert sent_bare == [
        f"SET LOCAL lock_timeout = '{LOCK_WAIT}'; ",
        f"{_COMMIT_UNBOUNDED}; BEGIN; SAVEPOINT request",
    ], sent_bare
    assert sent_mixed == [
        f"RELEASE SAVEPOINT request; SET LOCAL lock_timeout = '{LOCK_WAIT}'; SAVEPOINT request",
        "RELEASE SAVEPOINT request; SAVEPOINT request",  # behind an Undo.SAVEPOINT one
        f"{_COMMIT_UNBOUNDED}; BEGIN; SAVEPOINT request",
    ], sent_mixed


@pytest.mark.parametrize("fail", ["after", "statement"])
def test_a_failure_after_writing_without_a_savepoint_loses_the_batch(
    pg_url: str, fail: str
) -> None:
    """The transaction without a savepoint that fails after its first write (in its code, or
    in a statement PostgreSQL refused) takes the whole batch back: the ones before it answer
    `BatchLost` (their callers run them again), the one after it runs in the next batch."""

    async def work(db: Database) -> tuple[list[Any], set[int], int]:
        writes = [
            inserting(1, Undo.RERUN),
            inserting(2, Undo.BATCH),
            inserting(3, Undo.BATCH, fail),
            inserting(4, Undo.BATCH),
        ]
        outcomes = await in_one_batch(db, writes)
        return outcomes, await stored(db), writer_of(db).transactions

    outcomes, ids, transactions = with_database(pg_url, work)
    failed = IntegrityError if fail == "statement" else RuntimeError
    assert outcome_types(outcomes) == [BatchLost, BatchLost, failed, None]
    assert ids == {0, 4}
    assert transactions == 1


def test_a_failure_before_writing_without_a_savepoint_costs_nobody(pg_url: str) -> None:
    """One that read, then failed, changed nothing: the batch commits without it."""

    async def work(db: Database) -> tuple[list[Any], set[int]]:
        writes = [
            inserting(1, Undo.RERUN),
            inserting(2, Undo.BATCH),
            inserting(3, Undo.BATCH, "before"),
            inserting(4, Undo.BATCH),
        ]
        return await in_one_batch(db, writes), await stored(db)

    outcomes, ids = with_database(pg_url, work)
    assert outcome_types(outcomes) == [None, None, RuntimeError, None]
    assert ids == {0, 1, 2, 4}


def test_savepoints_guard_the_ones_that_cannot_run_again(pg_url: str) -> None:
    """Behind an `Undo.SAVEPOINT` transaction (its caller cannot run it again), and as a
    batch's first, an `Undo.BATCH` one takes its savepoint: its failure is its own."""

    async def work(db: Database) -> tuple[list[Any], list[Any], set[int]]:
        behind = [
            inserting(1, Undo.RERUN),
            inserting(2, Undo.SAVEPOINT),
            inserting(3, Undo.BATCH, "after"),
            inserting(4, Undo.BATCH),
        ]
        first = [inserting(5, Undo.BATCH, "after"), inserting(6, Undo.BATCH)]
        return await in_one_batch(db, behind), await in_one_batch(db, first), await stored(db)

    behind, first, ids = with_database(pg_url, work)
    assert outcome_types(behind) == [None, None, RuntimeError, None]
    assert outcome_types(first) == [RuntimeError, None]
    assert ids == {0, 1, 2, 4, 6}


def test_after_a_lost_batch_the_writer_takes_savepoints_for_a_while(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lost batch is followed by CALM_AFTER_LOSS of savepoints for everyone, so requests that
    keep failing after their first write cannot keep taking back others' transactions."""

    async def work(db: Database) -> tuple[list[Any], list[Any], list[Any], set[int]]:
        def writes(base: int) -> list[Write]:
            return [
                inserting(base + 1, Undo.RERUN),
                inserting(base + 2, Undo.BATCH, "after"),
                inserting(base + 3, Undo.BATCH),
            ]

        lost = await in_one_batch(db, writes(10))
        calm = await in_one_batch(db, writes(20))
        monkeypatch.setattr(writer_of(db), "_calm_until", 0.0)  # the calm is over
        lost_again = await in_one_batch(db, writes(30))
        return lost, calm, lost_again, await stored(db)

    lost, calm, lost_again, ids = with_database(pg_url, work)
    assert outcome_types(lost) == [BatchLost, RuntimeError, None]
    assert outcome_types(calm) == [None, RuntimeError, None]
    assert outcome_types(lost_again) == [BatchLost, RuntimeError, None]
    assert ids == {0, 13, 21, 23, 33}


# Writes handed over to the end of the batch (`WriterConnection.write_later`).
T = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("n", Integer))
COUNT_T = statements.once(("test.count_t",), lambda: select(func.count()).select_from(T))
NO_TABLE = statements.once(("test.no_table",), lambda: select(literal_column("1")))
Then = Callable[[Connection], Awaitable[None]]


def handing_over(
    n: int,
    handed: dict[int, bool],
    undo: Undo = Undo.BATCH,
    check: Callable[[Connection, Result], Awaitable[None]] | None = None,
    then: Then | None = None,
) -> Write:
    """A transaction that hands over the INSERT of row `n` (noting in `handed` whether it
    was taken), then does `then`."""

    async def write(db: Database) -> None:
        async with db.write(undo=undo) as conn:
            insert = statements.insert(T, ("id", "n"))
            values = statements.params({"id": n, "n": 0})
            handed[n] = await conn.write_later(insert, values, check)
            if not handed[n]:
                await conn.execute(insert, values)
            if then is not None:
                await then(conn)

    return write


def test_writes_handed_over_run_together_before_the_commit(pg_url: str) -> None:
    """Transactions without savepoints hand their writes over: they run before the COMMIT,
    one round trip for the run of one statement. A batch's first transaction, and one whose
    caller cannot run it again, take savepoints and write at once."""

    async def work(db: Database) -> tuple[list[Any], list[Any], dict[int, bool], set[int], Any]:
        writer = writer_of(db)
        await insert(db, 100)  # connected
        writer._conn = recording = Recording(writer._conn)
        handed: dict[int, bool] = {}
        together = [inserting(1, Undo.RERUN), *(handing_over(n, handed) for n in (2, 3, 4))]
        first = await in_one_batch(db, together)
        alone = [
            handing_over(5, handed),
            handing_over(6, handed, Undo.SAVEPOINT),
            handing_over(7, handed, Undo.RERUN),
        ]
        second = await in_one_batch(db, alone)
        writer._conn = recording.conn
        return first, second, handed, await stored(db), recording.pipelined

    first, second, handed, ids, pipelined = with_database(pg_url, work)
    assert first == [None] * 4
    assert second == [None] * 3
    assert handed == {2: True, 3: True, 4: True, 5: False, 6: False, 7: False}
    assert ids == {0, 100, *range(1, 8)}
    assert pipelined == [3]


@pytest.mark.parametrize("fail", ["statement", "check"])
def test_a_write_handed_over_that_fails_takes_the_batch_back(pg_url: str, fail: str) -> None:
    """A write handed over that PostgreSQL refuses, or whose check raises, takes back the
    whole batch: every transaction of it answers `BatchLost` (their callers run them again)."""

    async def refuse(conn: Connection, result: Result) -> None:
        raise RuntimeError("the check refuses")

    async def work(db: Database) -> tuple[list[Any], set[int], int]:
        handed: dict[int, bool] = {}
        failing = (
            handing_over(0, handed)  # 0 is taken
            if fail == "statement"
            else handing_over(3, handed, check=refuse)
        )
        writes = [inserting(1, Undo.RERUN), handing_over(2, handed), failing]
        outcomes = await in_one_batch(db, writes)
        return outcomes, await stored(db), writer_of(db).transactions

    outcomes, ids, transactions = with_database(pg_url, work)
    assert outcome_types(outcomes) == [BatchLost, BatchLost, BatchLost]
    assert ids == {0}
    assert transactions == 0


def test_a_statement_on_their_tables_runs_after_them(pg_url: str) -> None:
    """A later statement that touches a table of the writes handed over runs after them (it
    sees them); one that touches none does not wait for them."""
    seen: list[Any] = []

    async def look(conn: Connection) -> None:
        await conn.execute(NO_TABLE)
        seen.append(len(writer_of(conn_db[0])._batch.later))  # type: ignore[union-attr]
        seen.append((await conn.execute(COUNT_T)).scalar())
        seen.append(len(writer_of(conn_db[0])._batch.later))  # type: ignore[union-attr]

    conn_db: list[Database] = []

    async def work(db: Database) -> tuple[list[Any], set[int]]:
        conn_db.append(db)
        handed: dict[int, bool] = {}
        writes = [
            inserting(1, Undo.RERUN),
            handing_over(2, handed),
            handing_over(3, handed, then=look),
        ]
        return await in_one_batch(db, writes), await stored(db)

    outcomes, ids = with_database(pg_url, work)
    assert outcomes == [None] * 3
    assert seen == [2, 4, 0]  # 2 and 3 waiting; then rows 0-3 seen, nothing left waiting
    assert ids == {0, 1, 2, 3}


@pytest.mark.parametrize("fails", [False, True])
def test_one_that_cannot_be_taken_back_joins_after_them(pg_url: str, fails: bool) -> None:
    """A transaction with a savepoint of its own joins a batch after the writes handed over
    have run. If they fail, the batch is rolled back first (its transactions answer
    `BatchLost`), and the joining one leads the next batch, unharmed."""

    async def work(db: Database) -> tuple[list[Any], set[int]]:
        handed: dict[int, bool] = {}
        writes = [
            inserting(1, Undo.RERUN),
            handing_over(0 if fails else 2, handed),
            inserting(3, Undo.SAVEPOINT),
            handing_over(4, handed),
        ]
        return await in_one_batch(db, writes), await stored(db)

    outcomes, ids = with_database(pg_url, work)
    if fails:
        assert outcome_types(outcomes) == [BatchLost, BatchLost, None, None]
        assert ids == {0, 3, 4}
    else:
        assert outcomes == [None] * 4
        assert ids == {0, 1, 2, 3, 4}


U = Table("u", T.metadata, Column("id", Integer, primary_key=True))
COUNT_U = statements.once(("test.count_u",), lambda: select(func.count()).select_from(U))
INSERT_U = statements.insert(U, ("id",))
# Row `v_id` of t, its n the rows of u: a write handed over that reads another table.
T_FROM_U = statements.once(
    ("test.t_from_u",),
    lambda: T.insert().from_select(
        ["id", "n"],
        select(bindparam("v_id", type_=Integer), func.count()).select_from(U),
    ),
)


def test_a_table_they_only_read_may_be_read_but_not_written_before_them(pg_url: str) -> None:
    """What the writes handed over only read, a later statement may read without waiting
    for them; one that writes it runs them first, so that they read it as it was."""
    seen: list[Any] = []
    dbs: list[Database] = []

    def waiting() -> int:
        return len(writer_of(dbs[0])._batch.later)  # type: ignore[union-attr]

    async def write(db: Database) -> None:
        async with db.write(undo=Undo.BATCH) as conn:
            seen.append(await conn.write_later(T_FROM_U, {"v_id": 2}))
            seen.append((await conn.execute(COUNT_U)).scalar())
            seen.append(waiting())
            await conn.execute(INSERT_U, statements.params({"id": 1}))
            seen.append(waiting())

    async def work(db: Database) -> tuple[list[Any], list[Any]]:
        dbs.append(db)
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE u (id int PRIMARY KEY)"))
        outcomes = await in_one_batch(db, [inserting(1, Undo.RERUN), write])
        async with db.read() as conn:
            rows = (await conn.execute(text("SELECT id, n FROM t ORDER BY id"))).all()
        return outcomes, [tuple(row) for row in rows]

    outcomes, rows = with_database(pg_url, work)
    assert outcomes == [None, None]
    assert seen == [True, 0, 1, 0]  # handed over; u read, still waiting; u written: run first
    assert rows == [(0, 0), (1, 0), (2, 0)]  # it read u before u's row was written
