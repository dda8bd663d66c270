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
The COMMIT opens the next batch in its own round trip (`COMMIT; BEGIN; SAVEPOINT request`), so
the next batch's first transaction starts with no opening round trip: one client writing alone
saves one of its five. Between batches the connection is thus idle in a transaction that has
done nothing: it holds no lock, no transaction ID and no snapshot (PostgreSQL takes those at a
transaction's first statement, not at BEGIN or SAVEPOINT), so it holds back neither vacuum nor
anyone's DDL. A connection that died meanwhile (a restart) is noticed before it is used, and
replaced as on a batch's opening statement.

Without a savepoint. A channel's writes take turns on its writer, so each savepoint's round
trip lengthens every turn. A transaction that fails after its first write only when it raced
another one (a message create, `group_commit.Undo.BATCH`) joins a batch without one when every
transaction before it in the batch can be run again by its caller (`Batch.rerunnable`): its
turn sends no opening statement (but the batch's first joiner's `SET LOCAL`). If it does fail
having sent a statement that may have changed anything (`Plan.reads_only`), or one PostgreSQL
refused (which aborts the transaction), nothing can take back its changes alone: the batch is
*lost*, rolled back at once (`ROLLBACK; BEGIN; SAVEPOINT request`), and the transactions
before it answer `BatchLost`, which the operations layer runs again as it runs RetryLater.
One that failed before any such statement leaves the batch as it was. After a lost batch the
writer gives every transaction its savepoint for CALM_AFTER_LOSS, so a client whose creates
keep failing late cannot keep taking back others' transactions.

Writes handed over. A transaction without a savepoint may also hand over a write whose
result nothing in it reads (`write_later`: a message create's Sync statement): it runs at the
batch's end, before its COMMIT, and every run of one statement shares one round trip (asyncpg
pipelines `fetchmany`), so such a create's turn is one round trip, its counted INSERT. Order
is kept: a later statement that touches a table what waits writes, or writes one it reads (or
whose tables are not known), runs it first, and so does a transaction that joins with a
savepoint (it cannot be taken back with the batch). A write handed over that fails, or whose check (its result, seen then)
raises, loses the batch as a transaction without a savepoint does; one lost as a transaction
with a savepoint joins is rolled back first, and that transaction leads the next batch.

Other writers. A process's other writers, its fellow workers and other servers each batch on
their own connection, and a batch keeps the row locks of all its transactions until its
COMMIT. If a transaction that is not its batch's first had to wait long for another writer's
lock, two batches could wait for each other (a deadlock PostgreSQL breaks only after
`deadlock_timeout`, a second). So from the second transaction on, a batch waits at most
LOCK_WAIT for a lock (`SET LOCAL lock_timeout`): past that, that transaction is rolled back to
its savepoint, the batch commits at once, and the transaction answers `RetryLater`, which the
operations layer runs again as the first of a batch (`lead`), where it waits as long as it
must (as every transaction did before batching): run again as a later one, a write that needs
locks other writers keep taking (a user's delete, over the memberships of busy channels) gave
way each time and answered 503. A batch's first transaction that waits holds up the writer's
later ones meanwhile, as a transaction holds up SQLite's one writer. The COMMIT itself waits
unbounded: with NOTIFYs it queues for the database's notification lock behind another
writer's COMMIT until that one's flush is done, a wait that cannot deadlock.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Table
from sqlalchemy.sql.base import Executable

from chinwag.store import statements
from chinwag.store.compiled import Compiler, Params, Plan, Result
from chinwag.store.connection import Check, Connection, DialectName
from chinwag.store.errors import BatchLost, DatabaseError, ResultError, RetryLater, Unavailable
from chinwag.store.group_commit import Batch, GroupWriter, Meanwhile, Undo
from chinwag.store.pg_driver import (
    CONNECTION_LOST,
    DRIVER_ERRORS,
    closed,
    database_error,
    run,
)

log = logging.getLogger("chinwag.store")
POSTGRESQL = DialectName("postgresql")
LOCK_WAIT = "50ms"  # the longest a batch's later transaction waits for another's lock
# A COMMIT with NOTIFYs takes the database's notification lock and holds it until its commit
# is flushed: another writer's COMMIT waits its turn for it, which cannot deadlock, and under
# LOCK_WAIT that wait failed the whole batch (503s) when a flush took longer.
_COMMIT_UNBOUNDED = "SET LOCAL lock_timeout = 0; COMMIT"
_OPEN = "BEGIN; SAVEPOINT request"
# After a batch was lost, its writer's transactions keep savepoints of their own this long
# (seconds): a client whose requests keep failing after their first write (racing its own
# other requests) can lose at most one batch of others' transactions in that time.
CALM_AFTER_LOSS = 1.0


class Pool(Protocol):
    """What the writer asks of the engine for its connection."""

    generation: int

    @property
    def compiler(self) -> Compiler: ...

    async def acquire(self) -> Any: ...

    async def release(self, conn: Any, generation: int | None = None) -> None: ...

    async def expire(self) -> None: ...


class Later(NamedTuple):
    """A write handed over to run at its batch's end (`WriterConnection.write_later`)."""

    plan: Plan
    sql: str
    args: list[Any]
    check: Check | None


class PgBatch(Batch):
    """A batch on PostgreSQL: it also knows whether its lock waits are bounded yet, and the
    writes its transactions handed over to run before its COMMIT."""

    __slots__ = ("later", "later_reads", "later_writes", "waits_bounded")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.waits_bounded = False  # LOCK_WAIT is set for the rest of it
        self.later: list[Later] = []
        self.later_writes: set[str] = set()  # the tables `later` writes...
        self.later_reads: set[str] = set()  # ...and those it only reads

    def hand_over(self, later: Later, touched: frozenset[str], written: frozenset[str]) -> None:
        self.later.append(later)
        self.later_writes |= written
        self.later_reads |= touched - written

    def meets_later(self, statement: Executable) -> bool:
        """Whether `statement` must wait for the writes handed over: it touches a table they
        write, or writes one they read (or its tables are not known). A read of what they
        only read (a member's roles) need not wait."""
        if not self.later:
            return False
        tables = _tables(statement)
        if tables is None:
            return True
        touched, written = tables
        return not (touched.isdisjoint(self.later_writes) and written.isdisjoint(self.later_reads))

    def clear_later(self) -> list[Later]:
        later, self.later = self.later, []
        self.later_writes, self.later_reads = set(), set()
        return later


RunLater = Callable[[PgBatch], Awaitable[None]]


def _tables(statement: Executable) -> tuple[frozenset[str], frozenset[str]] | None:
    """The tables `statement` touches and those it writes; None if not known."""
    touched, written = statements.tables_of(statement), statements.written_by(statement)
    return None if touched is None or written is None else (touched, written)


def _bounded(batch: Batch) -> bool:
    return isinstance(batch, PgBatch) and batch.waits_bounded


class WriterConnection(Connection):
    """One transaction's view of the writer's connection: it notes whether a statement is in
    flight, since a cancel then leaves the statement's outcome unknown."""

    __slots__ = (
        "_batch",
        "_compiler",
        "_conn",
        "_riders",
        "_run_later",
        "in_flight",
        "savepoint",
        "touched",
    )

    dialect = POSTGRESQL

    def __init__(
        self,
        conn: Any,
        compiler: Compiler,
        savepoint: bool = True,
        batch: PgBatch | None = None,
        run_later: RunLater | None = None,
    ) -> None:
        self._conn = conn
        self._compiler = compiler
        # Where writes are handed over (`write_later`), and what runs them; without, its
        # statements run at once (the checks of what was handed over run that way).
        self._batch = batch
        self._run_later = run_later
        self._riders: list[statements.Rider] = []
        self.in_flight = False
        self.savepoint = savepoint  # False: it joined its batch without one (`Undo.BATCH`)
        # It sent a statement that may have changed something, or one that failed (either
        # way, without a savepoint, only the batch's ROLLBACK takes it back).
        self.touched = False

    async def write_later(
        self, statement: Executable, params: Params, check: Check | None = None
    ) -> bool:
        # Only where the batch is taken back whole if this transaction fails (it joined
        # without a savepoint): what it hands over may fail after it has passed the turn on.
        batch = self._batch
        if batch is None or self.savepoint:
            return False
        tables = _tables(statement)
        if tables is None:
            return False
        carried: Params | None = params
        if self._riders:
            statement, carried = await self._with_riders(statement, params)
            tables = _tables(statement)
            assert tables is not None  # noqa: S101  (`carrying` makes one from a known one)
        plan, sql, args = self._compiler.prepare(statement, carried)
        batch.hand_over(Later(plan, sql, args, check), *tables)
        self.touched = True
        return True

    async def insert_later(
        self, table: Table, values: Mapping[str, Any], adding: tuple[str, ...] = ()
    ) -> None:
        # The writer's turn is a chain of round trips (one channel's writes take turns on it),
        # so a row nobody reads back rides on the next statement instead of costing one more.
        self._riders.append((table, values, adding))

    async def _with_riders(
        self, statement: Executable, params: Params | None
    ) -> tuple[Executable, Params | None]:
        """`statement` carrying the waiting rows (there are some) where it can
        (`statements.carrying`); else they are sent first, on their own."""
        if params is not None and statements.may_carry(statement, self._riders):
            riders, self._riders = self._riders, []
            return statements.carrying(statement, params, riders)
        # built per call (no key for a combined statement), or reads their tables
        await self.flush()
        return statement, params

    async def flush(self) -> None:
        """Send the waiting rows, a statement each: before a statement they cannot ride on,
        or at the transaction's end."""
        riders, self._riders = self._riders, []
        for table, values, adding in riders:
            await Connection.insert_later(self, table, values, adding)

    async def execute(self, statement: Executable, params: Params | None = None) -> Result:
        batch, run_later = self._batch, self._run_later
        if batch is not None and run_later is not None and batch.meets_later(statement):
            self.touched = True  # if they fail, the batch is taken back, this one's part too
            await run_later(batch)
        if self._riders:
            statement, params = await self._with_riders(statement, params)
        plan, sql, args = self._compiler.prepare(statement, params)
        self.touched = self.touched or not plan.reads_only
        self.in_flight = True
        try:
            result = await run(self._conn, plan, sql, args)
        except DRIVER_ERRORS as exc:
            self.in_flight = False
            self.touched = True  # PostgreSQL aborted the transaction, up to a savepoint
            raise database_error(exc) from exc
        self.in_flight = False
        return result


class PgWriter(GroupWriter):
    """The writing connection and the queue of transactions waiting for it."""

    def __init__(self, pool: Pool) -> None:
        super().__init__()
        self._pool = pool
        self._conn: Any = None
        self._generation = 0  # the pool's, when `_conn` was taken
        self._release_pending = False  # the last transaction's savepoint is still to release
        self._opened_ahead = False  # `_conn` is in the transaction the last COMMIT opened
        self._calm_until = 0.0  # the loop's time until which every transaction has a savepoint

    @property
    def connected(self) -> bool:
        return self._conn is not None

    async def _open(self, undo: Undo) -> tuple[PgBatch, bool]:
        """The turn's opening statement (see the module's notes); the batch it joined, and
        whether with a savepoint of its own."""
        batch = self._batch
        if batch is None:
            await self._begin()
            batch = PgBatch(asyncio.get_running_loop())
            self._batch = batch
            self._release_pending = False
            return batch, True
        assert isinstance(batch, PgBatch)  # noqa: S101  (this writer makes only those)
        savepoint = not (
            undo is Undo.BATCH
            and batch.rerunnable
            and asyncio.get_running_loop().time() >= self._calm_until
        )
        if savepoint and batch.later:
            # It cannot be taken back with the batch: what was handed over runs first, and
            # if that fails, the batch is rolled back and this transaction leads the next.
            try:
                await self._run_later(batch)
            except DatabaseError:
                if batch.broken:
                    raise
                return await self._restart(batch)
        await self._join(batch, savepoint)
        if savepoint:
            self._release_pending = False
        return batch, savepoint

    async def _join(self, batch: PgBatch, savepoint: bool) -> None:
        """Into the open batch: its own savepoint (releasing the last one's), or none."""
        opening = ""
        if savepoint and self._release_pending:
            opening += "RELEASE SAVEPOINT request; "
        if not batch.waits_bounded:
            opening += f"SET LOCAL lock_timeout = '{LOCK_WAIT}'; "
        if savepoint:
            opening += "SAVEPOINT request"
        if not opening:
            return
        try:
            await self._conn.execute(opening)
        except BaseException as exc:  # cancelled too: where the batch stands is unknown
            batch.broken = True
            if isinstance(exc, DRIVER_ERRORS):
                raise database_error(exc) from exc
            raise
        batch.waits_bounded = True

    async def _begin(self) -> None:
        """`BEGIN; SAVEPOINT request` (done already by the last COMMIT, on a connection still
        sound), once more on a new connection if the first was dead."""
        if self._opened_ahead:
            self._opened_ahead = False
            if self._generation == self._pool.generation and not closed(self._conn):
                return
        for attempt in (1, 2):
            try:
                if self._conn is not None and self._generation != self._pool.generation:
                    await self._drop()  # from before an expiry: replaced
                if self._conn is None:
                    self._generation = self._pool.generation
                    self._conn = await self._pool.acquire()
                await self._conn.execute(_OPEN)
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
        may the pool's others: they are expired). One still inside its abandoned batch is
        closed, which rolls the batch back: a reset would roll it back too, but asyncpg logs
        an error for each connection it resets inside a transaction."""
        conn, self._conn = self._conn, None
        self._opened_ahead = False
        if lost:
            await self._pool.expire()
        if conn is not None:
            if not closed(conn) and conn.is_in_transaction():
                conn.terminate()
            await self._pool.release(conn)

    async def _run_later(self, batch: PgBatch) -> None:
        """Run the writes the batch's transactions handed over (`write_later`), in the order
        they came, each run of one statement in one round trip (asyncpg pipelines them); then
        their checks. A failure takes the whole batch back (`Batch.lost`, raising
        `BatchLost`), or breaks it where the connection's state is unknown."""
        later = batch.clear_later()
        checking = WriterConnection(self._conn, self._pool.compiler, savepoint=False)
        try:
            start = 0
            while start < len(later):
                end = start + 1
                while end < len(later) and later[end].sql == later[start].sql:
                    end += 1
                await self._run_alike(checking, later[start:end])
                start = end
        except CONNECTION_LOST as exc:
            batch.broken = True
            raise database_error(exc) from exc
        except Exception as exc:  # a refused statement, or a check's verdict
            batch.lost = True
            raise BatchLost() from exc
        except BaseException:  # cancelled: where the transaction stands is unknown
            batch.broken = True
            raise

    async def _run_alike(self, checking: WriterConnection, alike: list[Later]) -> None:
        """Writes of one statement; a checked one returns one row each run."""
        first = alike[0]
        args = [each.args for each in alike]
        if not any(each.check for each in alike):
            await self._conn.executemany(first.sql, args)
            return
        records = await self._conn.fetchmany(first.sql, args)
        if len(records) != len(alike):
            raise ResultError(f"{len(records)} rows for {len(alike)} writes handed over")
        for each, record in zip(alike, records, strict=True):
            if each.check is not None:
                result = Result.of(each.plan, [record], list(record.keys()), 1)
                await each.check(checking, result)

    async def _restart(self, batch: PgBatch) -> tuple[PgBatch, bool]:
        """The open batch is lost as a transaction joins it: rolled back (its transactions
        answer `BatchLost`), and the joining one leads a new batch, with its savepoint."""
        self._batch = None
        try:
            await self._lose(batch)
        except DRIVER_ERRORS as exc:
            raise database_error(exc) from exc
        fresh = PgBatch(asyncio.get_running_loop())
        self._batch = fresh
        self._release_pending = False
        return fresh, True

    def _commit_now(self, batch: Batch) -> bool:
        self._commit_in_task(self._commit(batch))
        return False

    async def _commit(self, batch: Batch) -> None:
        """COMMIT (a broken batch: drop the connection, which rolls it back; a lost one: roll it
        back), then the next."""
        assert isinstance(batch, PgBatch)  # noqa: S101  (this writer makes only those)
        if batch.later and not (batch.lost or batch.broken):
            try:
                await self._run_later(batch)
            except DatabaseError:
                pass  # the batch is lost or broken: rolled back below
            except BaseException as exc:
                await self._interrupted(batch, exc)
                self._next()
                raise
        if batch.lost and not batch.broken:
            await self._roll_back(batch)
            return
        try:
            if batch.broken:
                await self._drop(lost=self._conn is not None and closed(self._conn))
                batch.settle(Unavailable("the transaction was rolled back by the database"))
                return
            commit = _COMMIT_UNBOUNDED if _bounded(batch) else "COMMIT"
            await self._conn.execute(f"{commit}; {_OPEN}")
            self._opened_ahead = True
        except DRIVER_ERRORS as exc:
            batch.settle(Unavailable(f"commit failed: {exc}"))
            await self._drop(lost=isinstance(exc, CONNECTION_LOST))
        except BaseException as exc:
            await self._interrupted(batch, exc)
            raise
        else:
            self._committed(batch)
        finally:
            self._next()

    async def _interrupted(self, batch: Batch, exc: BaseException) -> None:
        """The batch's end was cancelled mid-statement: where its transaction stands is
        unknown, so the connection goes (which rolls it back) and its transactions answer 503."""
        batch.settle(Unavailable(f"commit interrupted: {exc!r}"))
        with contextlib.suppress(*DRIVER_ERRORS):
            await self._drop()

    async def _roll_back(self, batch: Batch) -> None:
        """Roll back a lost batch, opening the next as a COMMIT does, then the next turn."""
        try:
            await self._lose(batch)
            self._opened_ahead = True
        except DRIVER_ERRORS:
            pass  # the connection was dropped; nothing of the batch was committed
        finally:
            self._next()

    async def _lose(self, batch: Batch) -> None:
        """`ROLLBACK` a lost batch and begin the next transaction with its savepoint; the
        batch's transactions answer `BatchLost`, since nothing of it was committed, even if
        the connection died (then dropped, and its error raised). A second of savepoints
        follows (CALM_AFTER_LOSS)."""
        self._calm_until = asyncio.get_running_loop().time() + CALM_AFTER_LOSS
        try:
            await self._conn.execute(f"ROLLBACK; {_OPEN}")
        except BaseException as exc:
            with contextlib.suppress(*DRIVER_ERRORS):
                await self._drop(lost=isinstance(exc, CONNECTION_LOST))
            raise
        finally:
            batch.settle(BatchLost())

    async def _undo(self, batch: Batch, request: WriterConnection) -> None:
        """Roll the failed transaction back to its savepoint; if that cannot be done (its
        statement's outcome unknown, the connection lost), the whole batch is broken. One
        without a savepoint that changed anything loses the batch (`Batch.lost`)."""
        if request.in_flight or batch.broken:
            batch.broken = True
            return
        if not request.savepoint:
            batch.lost = batch.lost or request.touched
            return
        try:
            await self._conn.execute("ROLLBACK TO SAVEPOINT request; RELEASE SAVEPOINT request")
        except DRIVER_ERRORS:
            batch.broken = True  # the failure the caller raises says enough
        except BaseException:
            batch.broken = True
            raise

    @asynccontextmanager
    async def transaction(
        self,
        lead: bool = False,
        meanwhile: Meanwhile | None = None,
        undo: Undo = Undo.SAVEPOINT,
    ) -> AsyncIterator[Connection]:
        """One request's transaction: its own savepoint in the open batch (`lead`: the first
        of a new one, whose lock waits are unbounded; `meanwhile`: run while it waits for its
        turn, if it must; `undo`: whether it may do without the savepoint); the block returns
        once the batch's COMMIT is durable."""
        await self._wait_turn(lead, meanwhile)
        try:
            batch, savepoint = await self._open(undo)
        except BaseException:
            self._pass_turn()
            raise
        request = WriterConnection(
            self._conn, self._pool.compiler, savepoint, batch, self._run_later
        )
        try:
            yield request
            await request.flush()
        except BaseException as exc:
            try:
                await self._undo(batch, request)
            finally:
                gave_way = isinstance(exc, RetryLater) and not batch.broken
                if gave_way:
                    log.debug("a write gave way to another writer's: %s", exc)
                batch.retried = batch.retried or gave_way
                self._pass_turn()
            raise
        self._release_pending = self._release_pending or savepoint
        await self._joined(batch, request, undo)

    async def close(self) -> None:
        await self._close_batches()
        with contextlib.suppress(*DRIVER_ERRORS):
            if self._opened_ahead and not closed(self._conn):
                await self._conn.execute("ROLLBACK")  # an empty transaction: ended politely
            self._opened_ahead = False
            await self._drop()
