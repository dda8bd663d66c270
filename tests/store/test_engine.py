"""The store's engines: values round-trip as SQLAlchemy's drivers gave them, driver errors become
store errors, and SQLite's group commit keeps each request's transaction its own and never
acknowledges one before the COMMIT that covers it; its WAL checkpoints run on a thread of their
own."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from chinwag.resources import TABLES
from chinwag.store import pg_writer, sqlite_checkpoint, statements
from chinwag.store.db import Connection, Database, async_url
from chinwag.store.engine_sqlite import SqliteEngine
from chinwag.store.errors import IntegrityError, Refused, Unavailable
from chinwag.store.migrate import upgrade

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def sid(prefix: str, n: int) -> str:
    return f"{prefix}{n:032x}"


def run(url: str, work: Callable[[Database], Awaitable[Any]], synchronous: str = "NORMAL") -> Any:
    async def main() -> Any:
        db = Database(url, synchronous=synchronous)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())


async def add_account(conn: Connection, n: int) -> None:
    await conn.execute(
        TABLES.accounts.insert().values(
            sid=sid("AC", n), friendly_name=f"n{n}", auth_token="t", date_created=NOW
        )
    )


async def account_sids(db: Database) -> set[str]:
    async with db.read() as conn:
        rows = (await conn.execute(select(TABLES.accounts.c.sid))).all()
    return {row[0] for row in rows}


def test_values_read_as_sqlalchemy_reads_them(fresh_database: str) -> None:
    """Datetimes, bytes, labels, expanding IN, rowcount: the same as SQLAlchemy's own engine."""
    upgrade(fresh_database)
    keys = TABLES.api_keys

    async def work(db: Database) -> tuple[list[dict[str, Any]], Any, int, list[Any]]:
        async with db.write() as conn:
            await add_account(conn, 1)
            await conn.execute(
                keys.insert().values(
                    sid=sid("SK", 1),
                    account_sid=sid("AC", 1),
                    friendly_name="k",
                    salt=b"\x00\x01salt",
                    secret_hash=b"\xff" * 32,
                    date_created=NOW,
                )
            )
            changed = await conn.execute(
                keys.update()
                .where(keys.c.sid.in_([sid("SK", 1), sid("SK", 2)]))
                .values(friendly_name="renamed")
            )
        prebuilt = select(keys.c.salt.label("s"), keys.c.date_created).where(
            keys.c.sid == bindparam("wanted")
        )
        async with db.read() as conn:
            rows = (await conn.execute(select(keys))).mappings().all()
            scalar = (await conn.execute(select(keys.c.secret_hash))).scalar_one()
            again = [
                (await conn.execute(prebuilt, {"wanted": sid("SK", n)})).first() for n in (1, 2)
            ]
        return rows, scalar, changed.rowcount, again

    rows, scalar, count, again = run(fresh_database, work)

    async def reference() -> list[dict[str, Any]]:
        engine = create_async_engine(async_url(fresh_database))
        try:
            async with engine.connect() as conn:
                return [dict(r) for r in (await conn.execute(select(keys))).mappings()]
        finally:
            await engine.dispose()

    assert rows == asyncio.run(reference())
    assert rows[0]["salt"] == b"\x00\x01salt"
    assert rows[0]["friendly_name"] == "renamed"
    assert scalar == b"\xff" * 32
    assert count == 1
    assert again[1] is None
    assert again[0] is not None
    assert again[0][0] == b"\x00\x01salt"
    assert again[0][1].replace(tzinfo=UTC) == NOW


def test_constraint_is_an_integrity_error(fresh_database: str) -> None:
    """A unique violation is the store's IntegrityError, and nothing of the transaction stays."""
    upgrade(fresh_database)

    async def work(db: Database) -> set[str]:
        async with db.write() as conn:
            await add_account(conn, 1)

        async def clash() -> None:
            async with db.write() as conn:
                await add_account(conn, 2)
                await add_account(conn, 1)

        with pytest.raises(IntegrityError):
            await clash()
        return await account_sids(db)

    assert run(fresh_database, work) == {sid("AC", 1)}


def test_a_value_the_database_cannot_store_is_refused(fresh_database: str) -> None:
    """An integer past 64 bits, a string with a lone surrogate (and on PostgreSQL a NUL in
    text) is the store's Refused, which the front doors answer with a 400, and nothing of its
    transaction stays."""
    upgrade(fresh_database)
    channels = TABLES["channel"]
    values: list[dict[str, Any]] = [{"message_counter": 2**64}, {"friendly_name": "a\ud800b"}]
    if fresh_database.startswith("postgresql"):  # SQLite stores a NUL as any other character
        values.append({"friendly_name": "a\x00b"})

    async def write(db: Database, n: int, value: dict[str, Any]) -> None:
        async with db.write() as conn:
            await add_account(conn, n)
            await conn.execute(channels.update().where(channels.c.sid == "x").values(value))

    async def work(db: Database) -> set[str]:
        for n, value in enumerate(values, start=1):
            with pytest.raises(Refused):
                await write(db, n, value)
        return await account_sids(db)

    assert run(fresh_database, work) == set()


def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'group.db'}"
    upgrade(url)
    return url


def writer_of(db: Database) -> Any:
    assert isinstance(db.engine, SqliteEngine)
    return db.engine.writer


@pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
def test_group_commit_isolates_each_transaction(tmp_path: Path, synchronous: str) -> None:
    """Concurrent writes share COMMITs; one that fails rolls back alone, the others commit."""
    url = sqlite_url(tmp_path)

    async def one(db: Database, n: int) -> None:
        async with db.write() as conn:
            await add_account(conn, n)
            await asyncio.sleep(0)  # let the others queue behind this one
            if n == 7:
                raise RuntimeError("request 7 fails after writing")

    async def work(db: Database) -> tuple[list[Any], set[str], dict[str, int]]:
        outcomes = await asyncio.gather(*(one(db, n) for n in range(40)), return_exceptions=True)
        return outcomes, await account_sids(db), db.commit_stats()

    outcomes, stored, stats = run(url, work, synchronous)
    failed = [n for n, o in enumerate(outcomes) if o is not None]
    assert failed == [7]
    assert isinstance(outcomes[7], RuntimeError)
    assert stored == {sid("AC", n) for n in range(40) if n != 7}
    assert stats["transactions"] == 39
    assert stats["commits"] < 39 / 4, f"writes were not grouped: {stats}"


def test_nothing_acknowledged_before_commit(tmp_path: Path) -> None:
    """While the COMMIT of a batch is held up, no write of it returns; then all return."""
    url = sqlite_url(tmp_path)
    gate = threading.Event()
    committing = threading.Event()

    async def work(db: Database) -> tuple[int, int, set[str]]:
        writer = writer_of(db)
        original = writer._commit

        def held_commit(begin_next: bool) -> bool:
            committing.set()
            gate.wait(10)
            return bool(original(begin_next))

        writer._commit = held_commit
        returned: list[int] = []

        async def one(n: int) -> None:
            async with db.write() as conn:
                await add_account(conn, n)
            returned.append(n)

        tasks = [asyncio.create_task(one(n)) for n in range(10)]
        assert await asyncio.to_thread(committing.wait, 10), "the batch never committed"
        await asyncio.sleep(0.2)
        early = len(returned)
        # a reader sees nothing of the batch yet: it is not committed
        seen = await account_sids(db)
        gate.set()
        await asyncio.gather(*tasks)
        assert seen == set()
        return early, len(returned), await account_sids(db)

    early, late, stored = run(url, work, "FULL")  # FULL: the COMMIT runs on the writer thread
    assert early == 0
    assert late == 10
    assert stored == {sid("AC", n) for n in range(10)}


def test_failed_commit_fails_every_transaction_of_the_batch(tmp_path: Path) -> None:
    """A COMMIT that fails answers every transaction it covered with Unavailable."""
    url = sqlite_url(tmp_path)

    async def work(db: Database) -> tuple[list[Any], set[str], list[Any]]:
        writer = writer_of(db)
        original = writer._commit
        fail = [True]

        def failing_commit(begin_next: bool) -> bool:
            if fail[0]:
                fail[0] = False
                writer._conn.execute("ROLLBACK")
                raise sqlite3.OperationalError("disk I/O error")
            return bool(original(begin_next))

        writer._commit = failing_commit

        async def one(n: int) -> None:
            async with db.write() as conn:
                await add_account(conn, n)
                await asyncio.sleep(0)

        first = await asyncio.gather(*(one(n) for n in range(5)), return_exceptions=True)
        stored = await account_sids(db)
        second = await asyncio.gather(*(one(n) for n in range(5, 8)), return_exceptions=True)
        return first, stored, second

    first, stored, second = run(url, work, "FULL")
    assert all(isinstance(o, Unavailable) for o in first), first
    assert stored == set()
    assert second == [None, None, None]
    assert run(url, account_sids) == {sid("AC", n) for n in range(5, 8)}


def test_write_waits_for_another_process_off_the_loop(tmp_path: Path) -> None:
    """With another connection holding the write lock, a write waits on the writer thread
    (the loop keeps serving reads) and goes through once the lock is released."""
    url = sqlite_url(tmp_path)
    run(url, account_sids)  # the server's connections have put the file in WAL mode
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def work(db: Database) -> tuple[bool, set[str], set[str]]:
        write = asyncio.create_task(one_write(db))
        await asyncio.sleep(0.3)
        blocked = not write.done()
        during = await account_sids(db)  # the loop is free while the write waits
        other.execute("COMMIT")
        await write
        return blocked, during, await account_sids(db)

    async def one_write(db: Database) -> None:
        async with db.write() as conn:
            await add_account(conn, 1)

    try:
        blocked, during, after = run(url, work)
    finally:
        other.close()
    assert blocked
    assert during == set()
    assert after == {sid("AC", 1)}


def test_checkpoints_run_on_their_own_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's COMMITs leave WAL checkpoints to the checkpointer's thread (every EVERY
    commits), keeping only a far-off automatic one; closing the engine stops the thread."""
    monkeypatch.setattr(sqlite_checkpoint, "EVERY", 4)
    url = sqlite_url(tmp_path)
    main_file = Path(url.removeprefix("sqlite:///"))

    async def work(db: Database) -> tuple[int, int, bool, bool, set[str]]:
        before = await asyncio.to_thread(main_file.read_bytes)
        for n in range(12):
            async with db.write() as conn:
                await add_account(conn, n)
        writer = writer_of(db)
        backstop = writer._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        for _ in range(100):
            if writer.checkpointer.checkpoints >= 1:
                break
            await asyncio.sleep(0.05)
        named = any(t.name == "chinwag-sqlite-checkpoint" for t in threading.enumerate())
        # only a checkpoint writes to the database file itself (COMMITs append to the WAL)
        copied = await asyncio.to_thread(main_file.read_bytes) != before
        return writer.checkpointer.checkpoints, backstop, named, copied, await account_sids(db)

    checkpoints, backstop, named, copied, stored = run(url, work)
    assert checkpoints >= 1
    assert backstop == sqlite_checkpoint.BACKSTOP_PAGES
    assert named
    assert copied
    assert stored == {sid("AC", n) for n in range(12)}
    assert not any(t.name == "chinwag-sqlite-checkpoint" for t in threading.enumerate())


def test_a_failed_checkpoint_is_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    """A checkpoint that fails is logged, and the next wake-up tries again."""
    calls: list[str] = []

    class FailsOnce:
        def execute(self, sql: str) -> FailsOnce:
            calls.append(sql)
            if len(calls) == 1:
                raise sqlite3.OperationalError("database is locked")
            return self

        def fetchall(self) -> list[Any]:
            return []

        def close(self) -> None:
            calls.append("close")

    def wake_and_wait(until: Callable[[], bool]) -> None:
        for _ in range(sqlite_checkpoint.EVERY):
            checkpointer.committed()
        deadline = time.monotonic() + 5
        while not until() and time.monotonic() < deadline:
            time.sleep(0.01)

    checkpointer = sqlite_checkpoint.Checkpointer(FailsOnce)  # type: ignore[arg-type]
    try:
        wake_and_wait(lambda: len(calls) == 1)
        assert checkpointer.checkpoints == 0
        wake_and_wait(lambda: checkpointer.checkpoints == 1)
    finally:
        checkpointer.close()
    assert checkpointer.checkpoints == 1
    assert calls == ["PRAGMA wal_checkpoint(PASSIVE)"] * 2 + ["close"]
    assert "WAL checkpoint failed: database is locked" in caplog.text


def account_values(n: int) -> dict[str, Any]:
    return {"sid": sid("AC", n), "friendly_name": f"n{n}", "auth_token": "t", "date_created": NOW}


def test_a_row_inserted_later_commits_with_its_transaction(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`insert_later` writes its row in the transaction. On PostgreSQL's writer it rides on the
    next statement made once that does not touch its table (one round trip), and is sent first
    before one that does (which must see it) or one built per call, or else at the end; a
    transaction that fails writes none of it."""
    upgrade(fresh_database)
    sent: list[str] = []
    original = pg_writer.run

    async def recording(conn: Any, plan: Any, sql: str, args: list[Any]) -> Any:
        sent.append(sql)
        return await original(conn, plan, sql, args)

    monkeypatch.setattr(pg_writer, "run", recording)
    accounts = TABLES.accounts

    def count_of(table: Any) -> Any:
        return statements.once(
            ("test.count", table.name), lambda: select(func.count()).select_from(table)
        )

    async def work(db: Database) -> tuple[int, int, set[str]]:
        async with db.write() as conn:  # rides on a statement of another table
            await conn.insert_later(accounts, account_values(1))
            keys = (await conn.execute(count_of(TABLES.api_keys), {})).scalar()
        async with db.write() as conn:  # sent before a statement that reads its table
            await conn.insert_later(accounts, account_values(2))
            counted = (await conn.execute(count_of(accounts), {})).scalar()
        async with db.write() as conn:  # sent before a statement built per call
            await conn.insert_later(accounts, account_values(3))
            await conn.execute(select(TABLES.api_keys.c.sid))
        async with db.write() as conn:  # sent at the end
            await conn.insert_later(accounts, account_values(4))

        async def failing() -> None:
            async with db.write() as conn:
                await conn.insert_later(accounts, account_values(5))
                await conn.execute(count_of(TABLES.api_keys), {})
                raise RuntimeError("the request fails after its write")

        with pytest.raises(RuntimeError):
            await failing()
        return keys, counted, await account_sids(db)

    keys, counted, stored = run(fresh_database, work)
    assert keys == 0
    assert counted == 2  # the statement saw its transaction's row
    assert stored == {sid("AC", n) for n in (1, 2, 3, 4)}
    if fresh_database.startswith("postgresql"):
        inserts = [sql for sql in sent if "INSERT INTO accounts" in sql]
        assert len(inserts) == 5
        assert "api_keys" in inserts[0]  # one statement: the row and the other table's count
        assert all("count(" not in sql and "api_keys" not in sql for sql in inserts[1:4])
        assert "api_keys" in inserts[4]


SLOW = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000)"
    " SELECT count(*) FROM c"
)


async def ticking_while(work: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
    """`work`'s result, and how often a task on the event loop ran while it was in flight."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        before = ticks
        result = await work()
        return result, ticks - before
    finally:
        ticker.cancel()


def test_a_statement_aside_in_a_write_leaves_the_loop_free_and_stays_in_its_transaction(
    fresh_database: str,
) -> None:
    """A write's statement whose cost grows with the rows it touches (a channel's delete and
    its cascade) goes through `execute_aside`: the event loop runs meanwhile, and the statement
    is still its transaction's: rolled back with it, committed with it. In a batch beside
    writes of the usual kind, only the failed transaction is undone."""

    async def heavy(db: Database, n: int, fail: bool) -> int:
        async with db.write() as conn:
            await add_account(conn, n)

            async def slow() -> Any:
                return (await conn.execute_aside(SLOW)).scalar()

            counted, ticked = await ticking_while(slow)
            assert counted == 1_000_000
            await conn.execute_aside(
                TABLES.accounts.update()
                .where(TABLES.accounts.c.sid == sid("AC", n))
                .values(friendly_name="aside")
            )
            if fail:
                raise RuntimeError("fails after its statements aside")
        return ticked

    async def light(db: Database, n: int) -> None:
        async with db.write() as conn:
            await add_account(conn, n)

    async def work(db: Database) -> tuple[list[Any], dict[str, str]]:
        outcomes = await asyncio.gather(
            heavy(db, 1, fail=False),
            light(db, 2),
            heavy(db, 3, fail=True),
            light(db, 4),
            return_exceptions=True,
        )
        async with db.read() as conn:
            a = TABLES.accounts
            rows = (await conn.execute(select(a.c.sid, a.c.friendly_name))).all()
        return outcomes, {row[0]: row[1] for row in rows}

    upgrade(fresh_database)
    outcomes, stored = run(fresh_database, work)
    assert outcomes[0] > 0  # the loop ran while the statement did
    assert outcomes[1] is None
    assert isinstance(outcomes[2], RuntimeError)
    assert outcomes[3] is None
    assert stored == {sid("AC", 1): "aside", sid("AC", 2): "n2", sid("AC", 4): "n4"}


def test_a_read_aside_leaves_the_event_loop_free(fresh_database: str) -> None:
    """A read that takes long (a dashboard's counts over a month of messages) goes through
    `read_aside`, and the event loop serves other requests meanwhile: a task on the loop keeps
    running while the read is in flight. SQLite's reads otherwise run on the loop itself;
    here they run on a thread of their own (on PostgreSQL the database server does the work)."""

    async def work(db: Database) -> tuple[int, int]:
        async with db.read_aside() as conn:

            async def slow() -> Any:
                return (await conn.execute(SLOW)).scalar()

            return await ticking_while(slow)

    counted, ticked = run(fresh_database, work)
    assert counted == 1_000_000
    assert ticked > 0


def test_deletes_that_cascade_are_known_by_the_schema() -> None:
    """A delete runs aside (`execute_aside`) where it cascades: from a channel to its messages,
    from a service to everything in it; a message's or a member's delete owns nothing."""
    owners = {name for name, table in TABLES.by_name.items() if TABLES.cascades(table)}
    assert {"channel", "service", "user"} <= owners
    assert not owners & {"message", "member", "role", "invite"}


def test_a_request_cancelled_during_a_statement_aside_rolls_back_after_it(
    fresh_database: str,
) -> None:
    """A request cancelled while its statement runs aside (a client gone mid-delete): the
    cancel waits for the statement to end before the transaction rolls back, so the connection
    is never used by two threads at once; nothing of it is written, and the next write works."""

    async def cancelled(db: Database, started: asyncio.Event) -> None:
        async with db.write() as conn:
            await add_account(conn, 1)
            started.set()
            await conn.execute_aside(SLOW)

    async def work(db: Database) -> tuple[int, set[str]]:
        started = asyncio.Event()
        task = asyncio.create_task(cancelled(db, started))
        await started.wait()
        await asyncio.sleep(0.01)  # the statement is running (on SQLite, on the writer's thread)
        task.cancel()

        async def ended() -> Any:
            return await asyncio.wait({task})

        _, ticked = await ticking_while(ended)
        assert task.cancelled()
        async with db.write() as conn:
            await add_account(conn, 2)
        return ticked, await account_sids(db)

    upgrade(fresh_database)
    ticked, stored = run(fresh_database, work)
    assert stored == {sid("AC", 2)}
    if fresh_database.startswith("sqlite"):
        # It waited on the loop, not in a ROLLBACK blocked on the connection's mutex.
        assert ticked > 100
