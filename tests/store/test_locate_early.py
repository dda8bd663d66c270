"""A message create that must wait for its writer's turn locates its path meanwhile.

On PostgreSQL a channel's writes take turns on its writer, each a chain of round trips, so a
create that finds the writer busy reads its account, service and channel on a reading
connection while it waits, holding its place in the queue, and spends one round trip less of
the writer's turn (`ops.actions._may_locate_early`). What it read may be stale by its turn; the
channel's counter, moved by the create's own statement, finds a channel deleted meanwhile.
The writer is held here by another transaction on the channel's key, on both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import TextClause, func, select, text

from chinwag.model.errors import ApiError
from chinwag.ops.actions import Outcome, perform
from chinwag.ops.locate import Lookup
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account
from tests.store.test_operations import chat, op, run

WAIT = 10.0  # seconds at most for what the test waits on: a hang fails, it does not block


class Locates:
    """Each locate query an operation runs appends "locate" to `events`; `reached(n)` waits
    until `n` have run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, events: list[str]) -> None:
        self.events = events
        self.more = asyncio.Event()
        row = Lookup.row

        async def noted(looked: Lookup, conn: Any) -> Any:
            events.append("locate")
            self.more.set()
            return await row(looked, conn)

        monkeypatch.setattr(Lookup, "row", noted)

    async def reached(self, n: int) -> None:
        async def wait() -> None:
            while self.events.count("locate") < n:
                self.more.clear()
                await self.more.wait()

        await asyncio.wait_for(wait(), WAIT)


@asynccontextmanager
async def writer_held(
    runtime: Runtime, key: str, events: list[str], then: TextClause | None = None
) -> AsyncIterator[Callable[[], None]]:
    """A transaction on `key`'s writer holds its turn (after running `then`, if given) until
    the block's `release()` is called; it is committed when the block ends."""
    holding, released = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with runtime.db.write(key) as conn:
            if then is not None:
                await conn.execute(then)
            holding.set()
            await asyncio.wait_for(released.wait(), WAIT)
            events.append("released")

    task = asyncio.create_task(hold())
    await asyncio.wait_for(holding.wait(), WAIT)

    def release() -> None:
        released.set()

    try:
        yield release
    finally:
        released.set()
        await task


def send(
    runtime: Runtime, account: Account, service: str, channel: str, body: str = "hi"
) -> Awaitable[Outcome]:
    path = f"/v2/Services/{service}/Channels/{channel}/Messages"
    params = {"ServiceSid": service, "ChannelSid": channel}
    return perform(runtime, op(account, "message", "create", path, params, {"Body": body}))


async def messages_in(runtime: Runtime, channel: str) -> int:
    messages = runtime.tables["message"]
    query = select(func.count()).where(messages.c.channel_sid == channel)
    async with runtime.db.read() as conn:
        return int((await conn.execute(query)).scalar())


def test_a_create_behind_a_busy_writer_locates_while_it_waits(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its locate runs before the writer's turn comes, and only once; it then runs in the
    same batch as the transaction it waited for (its place was held: out of the queue, the
    batch would have committed without it)."""
    events: list[str] = []

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        locates = Locates(monkeypatch, events)
        before = runtime.db.commit_stats()
        async with writer_held(runtime, channel, events) as release:
            sending = asyncio.create_task(send(runtime, account, service, channel))
            await locates.reached(1)
            release()
            sent = await asyncio.wait_for(sending, WAIT)
        after = runtime.db.commit_stats()
        assert sent.status == 201
        assert sent.row is not None
        assert sent.row["index"] == 0
        assert events == ["locate", "released"]
        assert after["transactions"] - before["transactions"] == 2
        assert after["commits"] - before["commits"] == 1
        assert await messages_in(runtime, channel) == 1

    run(fresh_database, test)


def test_a_channel_deleted_earlier_in_the_batch_is_not_found(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transaction ahead deletes the channel (not yet committed, so the early locate still
    found it): the create's counter finds no channel, it runs again, located on its turn,
    and answers 404 without writing a message."""
    events: list[str] = []

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        locates = Locates(monkeypatch, events)
        delete = text("DELETE FROM channels WHERE sid = :sid").bindparams(sid=channel)
        async with writer_held(runtime, channel, events, then=delete) as release:
            sending = asyncio.create_task(send(runtime, account, service, channel))
            await locates.reached(1)
            release()
            with pytest.raises(ApiError) as raised:
                await asyncio.wait_for(sending, WAIT)
        assert (raised.value.status, raised.value.code) == (404, 20404)
        assert events == ["locate", "released", "locate"]
        assert runtime.metrics.retries == {("message", "row_gone"): 1}
        assert await messages_in(runtime, channel) == 0

    run(fresh_database, test)


def test_a_path_found_missing_early_answers_without_taking_a_turn(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 404 found while waiting answers at once, and its place in the queue is skipped: the
    writer goes on with the next transaction, which commits with the one ahead."""
    events: list[str] = []

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        locates = Locates(monkeypatch, events)
        before = runtime.db.commit_stats()
        async with writer_held(runtime, channel, events) as release:
            missing = "IS" + "0" * 32  # the channel's key, so its writer: in no such service
            with pytest.raises(ApiError) as raised:
                await asyncio.wait_for(send(runtime, account, missing, channel), WAIT)
            assert events == ["locate"]  # answered while the writer was still held
            later = asyncio.create_task(send(runtime, account, service, channel))
            await locates.reached(2)
            release()
            sent = await asyncio.wait_for(later, WAIT)
        after = runtime.db.commit_stats()
        assert (raised.value.status, raised.value.code) == (404, 20404)
        assert sent.status == 201
        assert after["transactions"] - before["transactions"] == 2
        assert after["commits"] - before["commits"] == 1

    run(fresh_database, test)


def test_a_turn_that_comes_first_waits_for_what_runs_meanwhile(fresh_database: str) -> None:
    """The turn comes while the transaction's work meanwhile still runs: the writer waits for
    it, and the transactions queued behind keep their order; one cancelled meanwhile gives its
    place up, and nothing of it runs."""

    async def test(runtime: Runtime, account: Account) -> None:
        order: list[str] = []
        meanwhile_started, meanwhile_may_end = asyncio.Event(), asyncio.Event()

        async def slow_meanwhile(turn: object) -> None:
            meanwhile_started.set()
            await asyncio.wait_for(meanwhile_may_end.wait(), WAIT)

        async def stuck_meanwhile(turn: object) -> None:
            await asyncio.sleep(WAIT * 2)

        async def write(name: str, meanwhile: Any = None) -> None:
            async with runtime.db.write("key", meanwhile=meanwhile):
                order.append(name)

        before = runtime.db.commit_stats()
        async with writer_held(runtime, "key", order) as release:
            slow = asyncio.create_task(write("slow", slow_meanwhile))
            await asyncio.wait_for(meanwhile_started.wait(), WAIT)
            stuck = asyncio.create_task(write("stuck", stuck_meanwhile))
            behind = asyncio.create_task(write("behind"))
            await asyncio.sleep(0.05)
            stuck.cancel()
            release()
            await asyncio.sleep(0.05)  # the turn is the slow one's: nothing else runs
            assert order == ["released"]
            meanwhile_may_end.set()
            await asyncio.wait_for(asyncio.gather(slow, behind), WAIT)
        with pytest.raises(asyncio.CancelledError):
            await stuck
        after = runtime.db.commit_stats()
        assert order == ["released", "slow", "behind"]
        assert after["transactions"] - before["transactions"] == 3
        assert after["commits"] - before["commits"] == 1

    run(fresh_database, test)


def test_with_every_reading_connection_taken_it_locates_on_its_turn(
    fresh_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting for a reading connection once its turn has come would hold up the writer: with
    none freed before its turn, the create locates on it, as any write does."""
    events: list[str] = []

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        locates = Locates(monkeypatch, events)
        async with AsyncExitStack() as reads:
            for _ in range(4):
                await reads.enter_async_context(runtime.db.read())
            assert runtime.db.pool_stats()["reader"] == (4, 4)
            async with writer_held(runtime, channel, events) as release:
                sending = asyncio.create_task(send(runtime, account, service, channel))
                await asyncio.sleep(0.1)  # time enough to have located early
                assert events == []
                release()
                await locates.reached(1)
                sent = await asyncio.wait_for(sending, WAIT)
        assert sent.status == 201
        assert events == ["released", "locate"]

    run(fresh_postgres, test, max_connections=5)  # one writer, four for reads


def test_creates_waiting_for_a_reading_connection_share_one_query(
    fresh_postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creates of one channel behind its busy writer, with every reading connection taken,
    wait for one together: the first one freed runs one locate for all of them, before their
    turns, and each then writes its own message in the batch."""
    events: list[str] = []

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        locates = Locates(monkeypatch, events)
        async with AsyncExitStack() as reads:
            one = AsyncExitStack()
            reads.push_async_callback(one.aclose)  # freed at the end if not before
            await one.enter_async_context(runtime.db.read())
            for _ in range(3):
                await reads.enter_async_context(runtime.db.read())
            async with writer_held(runtime, channel, events) as release:
                sends = [
                    asyncio.create_task(send(runtime, account, service, channel, f"m{n}"))
                    for n in range(5)
                ]
                await asyncio.sleep(0.1)
                assert events == []  # all wait for a reading connection
                await one.aclose()
                await locates.reached(1)
                await asyncio.sleep(0.1)  # time enough for any other locate
                release()
                sent = await asyncio.wait_for(asyncio.gather(*sends), WAIT)
        assert events == ["locate", "released"]
        assert [s.status for s in sent] == [201] * 5
        assert sorted(s.row["index"] for s in sent if s.row is not None) == [0, 1, 2, 3, 4]

    run(fresh_postgres, test, max_connections=5)  # one writer, four for reads
