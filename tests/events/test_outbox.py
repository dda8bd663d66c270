"""The outbox's claims and records on both databases: a queue's due run goes as one batch, in
order; a retry stalls its queue; an expired lease is claimed again; two claims never share a row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import orjson
import pytest
from sqlalchemy import select

from chinwag import clock
from chinwag.events import outbox
from chinwag.events.sending import Attempt, Delivery
from chinwag.resources import TABLES
from chinwag.store.db import Database
from chinwag.store.migrate import upgrade
from tests.support.databases import KINDS, fresh, with_database
from tests.support.plans import sqlite_plan

T = TypeVar("T")
LEASE = 30.0


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh(request.param, tmp_path) as url:
        upgrade(url)
        yield url


def run(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    return with_database(url, work)


async def enqueue(db: Database, queue: str, count: int) -> None:
    async with db.write() as conn:
        for n in range(count):
            await outbox.enqueue(
                conn,
                TABLES,
                account_sid="AC" + "0" * 32,
                service_sid=None,
                queue=queue,
                kind="webhook",
                event="onMessageSent",
                url="http://127.0.0.1:9/hook",
                method="POST",
                params={"Index": str(n), "Queue": queue},
                retry_limit=1,
            )


async def claim(db: Database, queues: int = 8, per_queue: int = 10) -> list[list[Delivery]]:
    async with db.write() as conn:
        return await outbox.claim(conn, TABLES, queues, per_queue, LEASE)


async def record(
    db: Database, attempts: list[Attempt], released: list[Delivery] | None = None
) -> None:
    async with db.write() as conn:
        await outbox.record(conn, TABLES, attempts, released or [])


async def statuses(db: Database) -> list[tuple[str, str, int]]:
    o = TABLES.outbox
    async with db.read() as conn:
        rows = await conn.execute(select(o.c.params, o.c.status, o.c.attempts).order_by(o.c.pk))
        return [(params, status, attempts) for params, status, attempts in rows]


def param(delivery: Delivery, name: str) -> str:
    value: str = orjson.loads(delivery.params)[name]
    return value


def indexes(batch: list[Delivery]) -> list[str]:
    return [param(d, "Index") for d in batch]


def test_a_queue_goes_as_one_batch_in_order(database: str) -> None:
    """Five deliveries of a queue come as one batch in order, at most `per_queue` of them; the
    rest wait until the batch is recorded, then come next."""

    async def work(db: Database) -> None:
        await enqueue(db, "a", 5)
        await enqueue(db, "b", 2)
        first = await claim(db, per_queue=3)
        assert sorted((param(d, "Queue"), indexes([d])[0]) for b in first for d in b) == [
            ("a", "0"),
            ("a", "1"),
            ("a", "2"),
            ("b", "0"),
            ("b", "1"),
        ]
        assert all(indexes(b) == sorted(indexes(b)) for b in first)
        assert await claim(db) == [], "queues in flight gave more"
        (a,) = [b for b in first if param(b[0], "Queue") == "a"]
        await record(db, [Attempt(d, "delivered") for d in a])
        (rest,) = await claim(db)
        assert indexes(rest) == ["3", "4"]
        done = [(s, n) for _, s, n in await statuses(db)]
        assert done[:3] == [("delivered", 1)] * 3

    run(database, work)


def test_a_retry_stalls_its_queue_only(database: str) -> None:
    """A head waiting for its retry holds back its queue (the released ones stay untried) while
    another queue goes on."""

    async def work(db: Database) -> None:
        await enqueue(db, "a", 3)
        (batch,) = await claim(db)
        head, *behind = batch
        await record(db, [Attempt(head, "pending", "HTTP 503", retry_in=60)], behind)
        await enqueue(db, "b", 1)
        (other,) = await claim(db)
        assert [param(d, "Queue") for d in other] == ["b"]
        rows = await statuses(db)
        assert [(s, n) for _, s, n in rows[:3]] == [("pending", 1), ("pending", 0), ("pending", 0)]

    run(database, work)


def test_failed_head_lets_the_queue_go_on(database: str) -> None:
    async def work(db: Database) -> None:
        await enqueue(db, "a", 2)
        (batch,) = await claim(db, per_queue=1)
        await record(db, [Attempt(batch[0], "failed", "HTTP 400")])
        (rest,) = await claim(db)
        assert indexes(rest) == ["1"]

    run(database, work)


def test_an_expired_lease_is_claimed_again(database: str) -> None:
    """Deliveries of a worker that died (its lease ran out) are claimed again, in order."""

    async def work(db: Database) -> None:
        await enqueue(db, "a", 2)
        await claim(db)
        o = TABLES.outbox
        async with db.write() as conn:
            await conn.execute(o.update().values(lease_until=clock.utcnow() - timedelta(seconds=1)))
        (again,) = await claim(db)
        assert indexes(again) == ["0", "1"]

    run(database, work)


def test_claims_at_once_share_nothing(database: str) -> None:
    """Claims running at the same time (on PostgreSQL in concurrent transactions, SKIP LOCKED)
    never hold the same delivery, and each batch starts at its queue's head."""

    async def work(db: Database) -> None:
        for queue in "abcdefgh":
            await enqueue(db, queue, 5)
        got = await asyncio.gather(*(claim(db, queues=2) for _ in range(4)))
        held = [d.pk for batches in got for b in batches for d in b]
        assert held
        assert len(held) == len(set(held)), "a delivery was claimed twice"
        for batches in got:
            for batch in batches:
                assert indexes(batch) == [str(n) for n in range(len(batch))]

    run(database, work)


def test_a_claim_leaves_the_status_and_listing_shows_it_sending(database: str) -> None:
    """A claim sets only the lease (the status indexes stay untouched): the row stays pending
    in the database, is listed as sending while the lease lives, and as pending once it ran
    out or was given back."""

    async def work(db: Database) -> None:
        await enqueue(db, "a", 3)
        (batch,) = await claim(db, per_queue=2)
        assert [s for _, s, _ in await statuses(db)] == ["pending"] * 3

        async def listed(status: str | None = None) -> list[tuple[int, str]]:
            async with db.read() as conn:
                rows = await outbox.listing(conn, TABLES, status)
            return [(r["pk"], r["status"]) for r in rows]

        held = [d.pk for d in batch]
        assert [pk for pk, _ in await listed("sending")] == held[::-1]
        everything = await listed()
        assert [s for _, s in everything] == ["pending", "sending", "sending"]
        assert await listed("pending") == everything[:1]
        await record(db, [], released=batch[1:])
        assert [pk for pk, _ in await listed("sending")] == held[:1]
        o = TABLES.outbox
        async with db.write() as conn:
            await conn.execute(o.update().values(lease_until=clock.utcnow() - timedelta(seconds=1)))
        assert [s for _, s in await listed()] == ["pending"] * 3
        assert await listed("sending") == []

    run(database, work)


def test_rows_left_sending_by_an_older_version_go_again(database: str) -> None:
    """Earlier versions marked a claimed row `sending`: once its lease has run out it is
    claimed again, in order, and recorded as any other."""

    async def work(db: Database) -> None:
        await enqueue(db, "a", 2)
        o = TABLES.outbox
        past = clock.utcnow() - timedelta(seconds=1)
        async with db.write() as conn:
            await conn.execute(o.update().values(status="sending", lease_until=past))
        (again,) = await claim(db)
        assert indexes(again) == ["0", "1"]
        assert await claim(db) == [], "a live lease was claimed again"
        await record(db, [Attempt(d, "delivered") for d in again])
        assert [s for _, s, _ in await statuses(db)] == ["delivered"] * 2

    run(database, work)


def test_a_claim_looks_at_visit_queues_and_goes_on_from_there(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more queues than a claim looks at (VISIT), the deliverer's claims go round them in
    name order: stalled queues take up a look but hold back no other queue for good, and after
    the last queue the rotation starts over."""
    monkeypatch.setattr(outbox, "VISIT", 3)

    async def work(db: Database) -> None:
        for queue in "abcd":
            await enqueue(db, queue, 2)
        o, later = TABLES.outbox, clock.utcnow() + timedelta(seconds=60)
        async with db.write() as conn:  # waiting for a retry
            await conn.execute(o.update().values(attempts=1, next_attempt_at=later))
        for queue in "ef":
            await enqueue(db, queue, 1)
        rotation = outbox.Rotation()

        async def turn() -> list[str]:
            async with db.write() as conn:
                got = await outbox.claim(conn, TABLES, 8, 10, LEASE, rotation)
            return sorted(param(b[0], "Queue") for b in got)

        assert await turn() == [], "a, b and c wait for their retries"
        assert rotation.after == "c"
        assert rotation.more
        assert await turn() == ["e", "f"]
        assert rotation.after == "f", "three queues looked at: there may be more"
        assert await turn() == []
        assert rotation.after == "", "past the last: from the first"
        assert not rotation.more
        await enqueue(db, "e", 1)  # behind e's head, which is still out
        assert await turn() == []

    run(database, work)


def test_a_backlog_behind_a_waiting_head_is_not_claimed(database: str) -> None:
    """A queue whose head waits for a retry keeps every delivery behind it, however many, and
    the claim takes the other queues' heads: oldest first, as many as asked."""

    async def work(db: Database) -> None:
        await enqueue(db, "a", 300)
        (batch,) = await claim(db, per_queue=1)
        await record(db, [Attempt(batch[0], "pending", "HTTP 503", retry_in=60)])
        for queue in "dcb":
            await enqueue(db, queue, 2)
        got = await claim(db, queues=2, per_queue=5)
        assert [(param(b[0], "Queue"), indexes(b)) for b in got] == [
            ("d", ["0", "1"]),
            ("c", ["0", "1"]),
        ]

    run(database, work)


def test_sqlite_claims_read_the_active_queue_index(tmp_path: Path) -> None:
    """SQLite's planner would read the (status, pk) index, every undelivered row, for the skip
    scan: the claim's statements name the partial (queue, pk) index, and seek it."""
    import sqlite3

    path = tmp_path / "plan.db"
    upgrade(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        for query in (
            outbox._heads_query(TABLES.outbox, "sqlite"),
            outbox._run_query(TABLES.outbox),
        ):
            plan = sqlite_plan(conn, query)
            scans = [
                s for s in plan if s.startswith("SCAN") and s not in ("SCAN v", "SCAN CONSTANT ROW")
            ]
            assert not scans, plan
            assert not [step for step in plan if "status_pk" in step], plan
            assert any("ix_outbox_active_queue" in step for step in plan), plan


def test_the_depth_counts_up_to_its_bound(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`depth` counts the undelivered (claimed ones too, not the finished) up to DEPTH_COUNTED
    and one more, which reads "more than": a backlog of millions costs a scrape no more."""
    monkeypatch.setattr(outbox, "DEPTH_COUNTED", 4)

    async def depth(db: Database) -> int:
        async with db.read() as conn:
            return await outbox.depth(conn, TABLES)

    async def work(db: Database) -> None:
        await enqueue(db, "a", 3)
        assert await depth(db) == 3
        (batch,) = await claim(db, per_queue=1)  # under a lease: still undelivered
        assert await depth(db) == 3
        await record(db, [Attempt(batch[0], "delivered", None)])
        assert await depth(db) == 2
        await enqueue(db, "b", 9)
        assert await depth(db) == 5  # 11 undelivered: more than 4

    run(database, work)


def test_a_cycle_of_many_rows_claims_and_records_them_all(database: str) -> None:
    """A queue's run of more than ASIDE_ROWS deliveries (its statements run on SQLite's writer
    thread) is claimed whole and in order, recorded delivered, and a run given back is claimed
    again: the same outcomes as a small cycle's."""
    many = outbox.ASIDE_ROWS * 2 + 5

    async def work(db: Database) -> None:
        await enqueue(db, "a", many)
        await enqueue(db, "b", many)
        first = await claim(db, queues=2, per_queue=many)
        assert sorted(len(b) for b in first) == [many, many]
        assert all(indexes(b) == [str(n) for n in range(many)] for b in first)
        a, b = sorted(first, key=lambda batch: param(batch[0], "Queue"))
        await record(db, [Attempt(d, "delivered", http_status=200) for d in a], released=b)
        (again,) = await claim(db, queues=2, per_queue=many)
        assert [d.pk for d in again] == [d.pk for d in b]
        rows = await statuses(db)
        assert [(s, n) for _, s, n in rows[:many]] == [("delivered", 1)] * many
        assert [(s, n) for _, s, n in rows[many:]] == [("pending", 0)] * many

    run(database, work)


def test_sqlite_runs_a_large_cycle_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite, the deliverer's statements that touch more than ASIDE_ROWS rows (each queue's
    run, the lease, the delivered outcomes, a prune, a bulk retry's read and update) run on the
    writer's thread, so a backlog's drain never holds up the requests on the event loop; a small
    cycle's stay on the loop, where they cost less than the hop."""
    import threading

    from chinwag.store import engine_sqlite

    url = f"sqlite:///{tmp_path / 'aside.db'}"
    upgrade(url)
    ran: list[tuple[str, bool]] = []  # (statement, run on the loop's thread)
    plain = engine_sqlite.SqliteConnection._run

    def spied(self: engine_sqlite.SqliteConnection, sql: str, args: object) -> object:
        ran.append((" ".join(sql.split()), threading.current_thread() is threading.main_thread()))
        return plain(self, sql, args)

    monkeypatch.setattr(engine_sqlite.SqliteConnection, "_run", spied)

    def where(start: str, *, having: str = "") -> set[bool]:
        """Where the statements beginning with `start` (and holding `having`) ran: True on
        the loop, False aside; at least one ran."""
        found = {on_loop for sql, on_loop in ran if sql.startswith(start) and having in sql}
        assert found, (start, having, ran)
        return found

    run_read = "SELECT outbox.pk, outbox.token,"
    by_pks, one_row = "json_each", "WHERE outbox.pk = ?"

    async def failed_cycle(db: Database, count: int) -> None:
        await enqueue(db, "q", count)
        ran.clear()
        (batch,) = await claim(db, queues=1, per_queue=count)
        await record(db, [Attempt(d, "failed", "HTTP 400", http_status=400) for d in batch])

    async def work(db: Database) -> None:
        await failed_cycle(db, 3)
        assert {on_loop for _, on_loop in ran} == {True}, ran
        await failed_cycle(db, outbox.ASIDE_ROWS + 1)
        assert where(run_read) == where("UPDATE outbox", having=by_pks) == {False}
        assert where("UPDATE outbox", having=one_row) == {True}, "one failure: one row"
        ran.clear()
        assert await outbox.requeue_failed(db, TABLES) == outbox.ASIDE_ROWS + 4
        assert where("SELECT outbox.pk FROM") == where("UPDATE outbox SET") == {False}
        (batch,) = await claim(db, queues=1, per_queue=outbox.ASIDE_ROWS + 4)
        ran.clear()
        await record(db, [Attempt(d, "delivered", http_status=200) for d in batch])
        assert where("UPDATE outbox", having=by_pks) == {False}
        ran.clear()
        async with db.write() as conn:
            assert await outbox.prune(conn, TABLES, "delivered", timedelta(0)) == len(batch)
        assert where("DELETE FROM outbox") == {False}
        assert await statuses(db) == []

    run(url, work)
