"""Reads that ask the same, begun together, answered by one query.

Why. A message create that finds its channel's writer busy locates its path on a reading
connection while it waits (`ops.actions`). With many clients on one channel, dozens wait at
once, all asking the same row (one account, service and channel), and on PostgreSQL each took
a reading connection: past the pool's few, the rest located on their turns, a round trip each
in the one chain of the channel's writer (64 clients on one channel made fewer creates than 16).

How. The first read of a key waits for a connection; every read of the same key that begins
before that one's query is sent joins it and gets its result. A joiner began before the query
went, so the query sees every change committed before the joiner began, as a query of its own
would have: nothing is answered from an older read. The key must name everything the query
depends on (its statement and values); what differs between the joiners (a password to check)
is the caller's to apply to the shared result.

A read may give up (`until` done: its writer's turn came) while it still waits for a
connection: then it and its joiners get NOT_READ and read some other way. One whose query is
in flight is waited for, which is at most that round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Final

from chinwag.store.connection import Connection


class _NotRead:
    def __repr__(self) -> str:
        return "NOT_READ"


NOT_READ: Final = _NotRead()

Reader = Callable[[], contextlib.AbstractAsyncContextManager[Connection]]


class SharedReads:
    """The reads of one database waiting for their connection, by key."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._open: dict[Hashable, asyncio.Future[Any]] = {}

    async def read(
        self,
        key: Hashable,
        query: Callable[[Connection], Awaitable[Any]],
        until: asyncio.Future[Any],
    ) -> Any:
        """`query`'s result, run on a reading connection or shared with the read of `key` that
        waits for one; NOT_READ if `until` was done before a connection was free (for this
        read, or for the one it joined), or if the one it joined failed."""
        shared = self._open.get(key)
        if shared is not None:
            return await asyncio.shield(shared)
        shared = asyncio.get_running_loop().create_future()
        self._open[key] = shared

        async def run() -> Any:
            async with self._reader() as conn:
                self._close(key, shared)  # the query goes now: later reads cannot join it
                return await query(conn)

        task = asyncio.ensure_future(run())
        gave_up = False
        try:
            if not until.done():
                await asyncio.wait((task, until), return_when=asyncio.FIRST_COMPLETED)
            if not task.done() and self._open.get(key) is shared:  # still no connection
                task.cancel()
                gave_up = True
            result = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not gave_up or (current is not None and current.cancelling()):
                task.cancel()  # the caller itself is cancelled
                self._settle(key, shared, NOT_READ)
                raise
            result = NOT_READ
        except BaseException:
            self._settle(key, shared, NOT_READ)
            raise
        self._settle(key, shared, result)
        return result

    def _close(self, key: Hashable, shared: asyncio.Future[Any]) -> None:
        if self._open.get(key) is shared:
            del self._open[key]

    def _settle(self, key: Hashable, shared: asyncio.Future[Any], result: Any) -> None:
        self._close(key, shared)
        if not shared.done():
            shared.set_result(result)
