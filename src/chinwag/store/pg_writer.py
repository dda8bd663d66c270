"""PostgreSQL writes with group commit: each writer is one writing connection of a server
process (`engine_pg` keeps a few, and gives each channel's writes always the same one).

Why. A channel's messages take their gap-free index from its row, so its creates take turns on
that row's lock, and each held it until its own COMMIT had flushed the WAL (about 0.8 ms on
the development machine): one channel could never take more creates than flushes. Here, as on
SQLite (`engine_sqlite`), the write transactions that queue up meanwhile run one after the
other in one database transaction, each inside its own `SAVEPOINT`, so an error rolls back that
request's changes only; one COMMIT makes the whole *batch* durable, and only then does each
`write()` block return. Nothing is acknowledged before the COMMIT that covers it: a failed
COMMIT fails every transaction of the batch.

Round trips. A batch's first transaction opens with `BEGIN; SAVEPOINT request`, the next ones
with `RELEASE SAVEPOINT request; SAVEPOINT request` (the release of the one before), each one
simple-query round trip; a failed one ends with `ROLLBACK TO SAVEPOINT request; RELEASE ...`.

Other writers. A process's other writers, its fellow workers and other servers each batch on
their own connection, and a batch keeps the row locks of all its transactions until its
COMMIT. If a transaction that is not its batch's first had to wait long for another writer's
lock, two batches could wait for each other (a deadlock PostgreSQL breaks only after
`deadlock_timeout`, a second). So from the second transaction on, a batch waits at most
LOCK_WAIT for a lock (`SET LOCAL lock_timeout`): past that, that transaction is rolled back to
its savepoint, the batch commits at once, and the transaction answers `RetryLater`, which the
operations layer runs again, in a batch of its own where it waits as long as it must (as every
transaction did before batching). A batch's first transaction that waits holds up the writer's
later ones meanwhile, as a transaction holds up SQLite's one writer.

Failures. A dead connection found by a batch's opening statement is replaced and the statement
run once more (after a PostgreSQL restart every connection is dead); after that, errors answer
503. A connection lost mid-batch, or a transaction cancelled while its statement was in flight
(its outcome unknown), breaks the batch: it is rolled back, its transactions answer 503 and the
connection is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy.sql.base import Executable

from chinwag.store.compiled import Compiler, Params, Result
from chinwag.store.connection import Connection, DialectName
from chinwag.store.errors import DatabaseError, RetryLater, Unavailable
from chinwag.store.pg_driver import (
    CONNECTION_LOST,
    DRIVER_ERRORS,
    closed,
    database_error,
    run,
)

log = logging.getLogger("chinwag.store")
POSTGRESQL = DialectName("postgresql")
MAX_BATCH = 64  # transactions per COMMIT at most: bounds the wait of the batch's first request
LOCK_WAIT = "50ms"  # the longest a batch's later transaction waits for another's lock


class Pool(Protocol):
    """What the writer asks of the engine for its connection."""

    generation: int

    @property
    def compiler(self) -> Compiler: ...

    async def acquire(self) -> Any: ...

    async def release(self, conn: Any, generation: int | None = None) -> None: ...

    async def expire(self) -> None: ...


class Batch:
    """Transactions sharing one COMMIT; `done` resolves when it is durable (or failed)."""

    __slots__ = ("broken", "done", "retried", "scheduled", "size", "waits_bounded")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.done: asyncio.Future[None] = loop.create_future()
        self.size = 0  # transactions released into it
        self.broken = False  # its database transaction is lost or unknown: it must not commit
        self.retried = False  # a transaction gave way to another process's: commit now
        self.scheduled = False  # its COMMIT waits for the loop's next turn
        self.waits_bounded = False  # LOCK_WAIT is set for the rest of it

    def settle(self, error: DatabaseError | None) -> None:
        if self.done.done():
            return
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)
            self.done.exception()  # retrieved: a batch nobody waits for logs nothing


class WriterConnection(Connection):
    """One transaction's view of the writer's connection: it notes whether a statement is in
    flight, since a cancel then leaves the statement's outcome unknown."""

    __slots__ = ("_compiler", "_conn", "in_flight")

    dialect = POSTGRESQL

    def __init__(self, conn: Any, compiler: Compiler) -> None:
        self._conn = conn
        self._compiler = compiler
        self.in_flight = False

    async def execute(self, statement: Executable, params: Params | None = None) -> Result:
        plan, sql, args = self._compiler.prepare(statement, params)
        self.in_flight = True
        try:
            result = await run(self._conn, plan, sql, args)
        except DRIVER_ERRORS as exc:
            self.in_flight = False
            raise database_error(exc) from exc
        self.in_flight = False
        return result


class PgWriter:
    """The writing connection and the queue of transactions waiting for it."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._conn: Any = None
        self._generation = 0  # the pool's, when `_conn` was taken
        self._queue: deque[asyncio.Future[None]] = deque()  # transactions waiting for a turn
        self._busy = False  # a transaction has the connection, or a COMMIT is running
        self._batch: Batch | None = None  # the open (begun, uncommitted) batch
        self._release_pending = False  # the last transaction's savepoint is still to release
        self._commits: set[asyncio.Task[None]] = set()
        self.transactions = 0  # committed transactions, and the COMMITs that covered them
        self.commits = 0

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def _has_waiters(self) -> bool:
        while self._queue and self._queue[0].done():  # cancelled while waiting
            self._queue.popleft()
        return bool(self._queue)

    async def _wait_turn(self) -> None:
        if not self._busy and not self._has_waiters():
            self._busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # the turn came with the cancel
                self._pass_turn()
            raise

    async def _open(self) -> Batch:
        """The turn's opening statement (see the module's notes); the batch it joined."""
        batch = self._batch
        if batch is None:
            await self._begin()
            batch = self._batch = Batch(asyncio.get_running_loop())
        else:
            await self._join(batch)
        self._release_pending = False
        return batch

    async def _join(self, batch: Batch) -> None:
        opening = "RELEASE SAVEPOINT request; " if self._release_pending else ""
        if not batch.waits_bounded:
            opening += f"SET LOCAL lock_timeout = '{LOCK_WAIT}'; "
        try:
            await self._conn.execute(opening + "SAVEPOINT request")
        except BaseException as exc:  # cancelled too: where the batch stands is unknown
            batch.broken = True
            if isinstance(exc, DRIVER_ERRORS):
                raise database_error(exc) from exc
            raise
        batch.waits_bounded = True

    async def _begin(self) -> None:
        """`BEGIN; SAVEPOINT request`, once more on a new connection if the first was dead."""
        for attempt in (1, 2):
            try:
                if self._conn is not None and self._generation != self._pool.generation:
                    await self._drop()  # from before an expiry: replaced
                if self._conn is None:
                    self._generation = self._pool.generation
                    self._conn = await self._pool.acquire()
                await self._conn.execute("BEGIN; SAVEPOINT request")
                return
            except CONNECTION_LOST as exc:
                await self._drop(lost=True)
                if attempt == 2:
                    raise database_error(exc) from exc
            except BaseException as exc:  # cancelled too: the connection's state is unknown
                with contextlib.suppress(*DRIVER_ERRORS):
                    await self._drop()
                if isinstance(exc, DRIVER_ERRORS):
                    raise database_error(exc) from exc
                raise

    async def _drop(self, lost: bool = False) -> None:
        """Give the connection back for the pool to reset or close (`lost`: it died, and so
        may the pool's others: they are expired)."""
        conn, self._conn = self._conn, None
        if lost:
            await self._pool.expire()
        if conn is not None:
            await self._pool.release(conn)

    def _pass_turn(self) -> None:
        """The connection is free: the next waiting transaction joins the open batch, or the
        batch commits (nobody waits, it is full, broken or gave way), or the writer idles."""
        batch = self._batch
        if batch is not None and (
            batch.broken or batch.retried or batch.size >= MAX_BATCH or not self._has_waiters()
        ):
            if not (batch.broken or batch.retried or batch.size >= MAX_BATCH):
                # Nobody waits, but requests the loop is about to run may write: COMMIT on its
                # next turn, so that they join this batch.
                if not batch.scheduled:
                    batch.scheduled = True
                    asyncio.get_running_loop().call_soon(self._commit_scheduled, batch)
                self._busy = False
                return
            self._start_commit(batch)
            return
        self._next()

    def _next(self) -> None:
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._busy = False

    def _commit_scheduled(self, batch: Batch) -> None:
        batch.scheduled = False
        if self._batch is not batch or self._busy:
            return  # committed already, or a transaction of it runs: its turn's end decides
        self._busy = True
        self._start_commit(batch)

    def _start_commit(self, batch: Batch) -> None:
        self._batch = None
        task = asyncio.get_running_loop().create_task(self._commit(batch))
        self._commits.add(task)
        task.add_done_callback(self._commits.discard)

    async def _commit(self, batch: Batch) -> None:
        """COMMIT (a broken batch: drop the connection, which rolls it back), then the next."""
        try:
            if batch.broken:
                await self._drop(lost=self._conn is not None and closed(self._conn))
                batch.settle(Unavailable("the transaction was rolled back by the database"))
                return
            await self._conn.execute("COMMIT")
        except DRIVER_ERRORS as exc:
            batch.settle(Unavailable(f"commit failed: {exc}"))
            await self._drop(lost=isinstance(exc, CONNECTION_LOST))
        except BaseException as exc:
            batch.settle(Unavailable(f"commit interrupted: {exc!r}"))
            with contextlib.suppress(*DRIVER_ERRORS):
                await self._drop()
            raise
        else:
            self.commits += 1
            self.transactions += batch.size
            batch.settle(None)
        finally:
            self._next()

    async def _undo(self, batch: Batch, request: WriterConnection) -> None:
        """Roll the failed transaction back to its savepoint; if that cannot be done (its
        statement's outcome unknown, the connection lost), the whole batch is broken."""
        if request.in_flight or batch.broken:
            batch.broken = True
            return
        try:
            await self._conn.execute("ROLLBACK TO SAVEPOINT request; RELEASE SAVEPOINT request")
        except DRIVER_ERRORS:
            batch.broken = True  # the failure the caller raises says enough
        except BaseException:
            batch.broken = True
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One request's transaction: its own savepoint in the open batch; the block returns
        once the batch's COMMIT is durable."""
        await self._wait_turn()
        try:
            batch = await self._open()
        except BaseException:
            self._pass_turn()
            raise
        request = WriterConnection(self._conn, self._pool.compiler)
        try:
            yield request
        except BaseException as exc:
            try:
                await self._undo(batch, request)
            finally:
                gave_way = isinstance(exc, RetryLater) and not batch.broken
                if gave_way:
                    log.debug("a write gave way to another process's: %s", exc)
                batch.retried = batch.retried or gave_way
                self._pass_turn()
            raise
        batch.size += 1
        self._release_pending = True
        self._pass_turn()
        if not batch.done.done():
            await asyncio.shield(batch.done)
        batch.done.result()  # durable, or this raises: never acknowledged early
        request.committed()

    async def close(self) -> None:
        batch = self._batch
        if batch is not None and not self._busy:  # a COMMIT still waiting for its turn
            self._busy = True
            self._start_commit(batch)
        while self._commits:  # batches still committing: their requests wait on them
            await asyncio.gather(*self._commits, return_exceptions=True)
        with contextlib.suppress(*DRIVER_ERRORS):
            await self._drop()
