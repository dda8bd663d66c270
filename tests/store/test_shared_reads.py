"""Reads of one key begun before the first one's query is sent share its result
(`store.shared_reads`); none is answered from a query sent before it began.

The reading connections here are a stand-in: a gate the test opens hands one out, and each
query notes the order in which it ran, so every interleaving is set by the test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from chinwag.store.shared_reads import NOT_READ, SharedReads

WAIT = 5.0


class Connections:
    """Reading connections handed out one per `free()`, or at once when `ready`."""

    def __init__(self, ready: bool = False) -> None:
        self.ready = ready
        self.freed: asyncio.Queue[None] = asyncio.Queue()
        self.queries = 0

    def free(self) -> None:
        self.freed.put_nowait(None)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Any]:
        if not self.ready:
            await self.freed.get()
        yield self

    def query(self, answer: Any, hold: asyncio.Event | None = None) -> Callable[[Any], Any]:
        async def run(conn: Any) -> Any:
            self.queries += 1
            if hold is not None:
                await asyncio.wait_for(hold.wait(), WAIT)
            return answer

        return run


def _run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), WAIT * 2))


def _pending() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_reads_begun_while_the_first_waits_share_its_query() -> None:
    async def test() -> None:
        conns = Connections()
        shared = SharedReads(conns.reader)
        reads = [
            asyncio.create_task(shared.read("k", conns.query({"row": 1}), _pending()))
            for _ in range(4)
        ]
        await _settle()
        conns.free()
        answers = await asyncio.gather(*reads)
        assert answers == [{"row": 1}] * 4
        assert conns.queries == 1

    _run(test)


def test_a_read_begun_after_the_query_went_runs_its_own() -> None:
    """The shared query is in flight: a read of the same key begun now could be answered
    from a state older than itself, so it waits for a connection and queries on its own."""

    async def test() -> None:
        conns = Connections()
        shared = SharedReads(conns.reader)
        hold = asyncio.Event()
        first = asyncio.create_task(shared.read("k", conns.query("old", hold), _pending()))
        await _settle()
        conns.free()
        await _settle()
        assert conns.queries == 1  # in flight
        later = asyncio.create_task(shared.read("k", conns.query("new"), _pending()))
        await _settle()
        assert not later.done()
        conns.free()
        assert await later == "new"
        hold.set()
        assert await first == "old"
        assert conns.queries == 2

    _run(test)


def test_other_keys_never_share() -> None:
    async def test() -> None:
        conns = Connections(ready=True)
        shared = SharedReads(conns.reader)
        a = shared.read("a", conns.query("A"), _pending())
        b = shared.read("b", conns.query("B"), _pending())
        assert await asyncio.gather(a, b) == ["A", "B"]
        assert conns.queries == 2

    _run(test)


def test_a_turn_that_comes_before_a_connection_gives_up_for_all_who_joined() -> None:
    """No connection before `until` is done: the first read and those that joined it get
    NOT_READ (they read on their turn), no query runs, and the connection freed later goes
    to the next read of the key."""

    async def test() -> None:
        conns = Connections()
        shared = SharedReads(conns.reader)
        turn = _pending()
        first = asyncio.create_task(shared.read("k", conns.query("x"), turn))
        joined = asyncio.create_task(shared.read("k", conns.query("y"), _pending()))
        await _settle()
        turn.set_result(None)
        assert await first is NOT_READ
        assert await joined is NOT_READ
        conns.free()
        assert await shared.read("k", conns.query("z"), _pending()) == "z"
        assert conns.queries == 1

    _run(test)


def test_a_turn_already_come_reads_nothing() -> None:
    async def test() -> None:
        conns = Connections(ready=True)
        shared = SharedReads(conns.reader)
        turn = _pending()
        turn.set_result(None)
        assert await shared.read("k", conns.query("x"), turn) is NOT_READ
        assert conns.queries == 0

    _run(test)


def test_a_query_in_flight_when_the_turn_comes_is_waited_for() -> None:
    async def test() -> None:
        conns = Connections(ready=True)
        shared = SharedReads(conns.reader)
        turn, hold = _pending(), asyncio.Event()
        first = asyncio.create_task(shared.read("k", conns.query("x", hold), turn))
        await _settle()
        turn.set_result(None)
        await _settle()
        assert not first.done()
        hold.set()
        assert await first == "x"

    _run(test)


def test_a_failed_query_fails_its_own_read_and_lets_the_joiners_read_their_way() -> None:
    async def test() -> None:
        conns = Connections()
        shared = SharedReads(conns.reader)

        async def broken(conn: Any) -> Any:
            raise RuntimeError("connection lost")

        first = asyncio.create_task(shared.read("k", broken, _pending()))
        joined = asyncio.create_task(shared.read("k", conns.query("y"), _pending()))
        await _settle()
        conns.free()
        with pytest.raises(RuntimeError):
            await first
        assert await joined is NOT_READ

    _run(test)


def test_a_cancelled_first_read_cancels_its_query_and_frees_its_joiners() -> None:
    async def test() -> None:
        conns = Connections()
        shared = SharedReads(conns.reader)
        first = asyncio.create_task(shared.read("k", conns.query("x"), _pending()))
        joined = asyncio.create_task(shared.read("k", conns.query("y"), _pending()))
        await _settle()
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await joined is NOT_READ
        conns.free()
        assert await shared.read("k", conns.query("z"), _pending()) == "z"
        assert conns.queries == 1

    _run(test)


def test_a_cancelled_joiner_leaves_the_others_their_answer() -> None:
    async def test() -> None:
        conns = Connections()
        shared = SharedReads(conns.reader)
        first = asyncio.create_task(shared.read("k", conns.query("x"), _pending()))
        joined = asyncio.create_task(shared.read("k", conns.query("y"), _pending()))
        other = asyncio.create_task(shared.read("k", conns.query("y"), _pending()))
        await _settle()
        joined.cancel()
        conns.free()
        assert await first == "x"
        assert await other == "x"
        with pytest.raises(asyncio.CancelledError):
            await joined
        assert conns.queries == 1

    _run(test)
