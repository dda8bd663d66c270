"""SQLite through the standard sqlite3 module: one writer with group commit, one reader.

Writes. One connection takes the file's write lock (`BEGIN IMMEDIATE`) and holds it for a
*batch*: the transactions queued meanwhile run one after the other, each inside its own
`SAVEPOINT`, so an error rolls back that request's changes only; when the queue is empty (on the
loop's next turn, so that requests about to run join in) or the batch is full, one `COMMIT`
makes the whole batch durable, and only then does each `write()` block return. Nothing is acknowledged before the COMMIT that covers it: a failed COMMIT fails
every transaction of the batch.

What may block runs on the writer's own thread: a COMMIT that fsyncs (`synchronous=FULL`) and
a `BEGIN IMMEDIATE` that must wait for another process's lock. While an fsync runs, requests
queue, so the next batch takes them all: one fsync serves many requests. Everything else runs on
the event loop, where the bare stack runs it too: with the lock held, a statement is a few
microseconds of B-tree work, and so is a COMMIT that only hands the WAL to the operating system
(`synchronous=NORMAL`, the default), while a hop to a thread and back measured about 0.2 ms of
CPU on the 2-core machine (a write transaction with two hops cost 450 us, inline 25 us).

Reads. In WAL mode readers never wait for the writer, and see only committed data. They run in
autocommit (each statement is its own snapshot, as before) on one connection, on the event loop:
measured, a read statement costs less CPU than the two thread hops it would otherwise take.
A read whose cost grows with the data it counts (`read_aside`: a dashboard's month of messages)
runs on a connection and a thread of its own instead, so it never holds up the loop; so does a
write statement of that kind on the writer's thread (`execute_aside`: a delete that cascades),
and the COMMIT of its batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import create_engine
from sqlalchemy.sql.base import Executable

from chinwag.store.compiled import Compiler, Params, Plan, Result
from chinwag.store.connection import Connection, DialectName
from chinwag.store.errors import DatabaseError, IntegrityError, Refused, RowGone, Unavailable
from chinwag.store.group_commit import Batch, GroupWriter, Meanwhile, Undo
from chinwag.store.sqlite_checkpoint import BACKSTOP_PAGES, Checkpointer

T = TypeVar("T")

SQLITE = DialectName("sqlite")
BUSY_TIMEOUT_MS = 30_000


def sqlite_compiler() -> Compiler:
    """SQLAlchemy's pysqlite dialect, set up for this sqlite3 library, to compile with."""
    engine = create_engine("sqlite://")
    with engine.connect():  # initializes the dialect from the library's version
        pass
    dialect = engine.dialect
    engine.dispose()
    return Compiler(dialect)


def connect(path: str, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        timeout=30,
        isolation_level=None,  # we issue BEGIN ourselves
        check_same_thread=False,  # the writer's connection is used by its thread and the loop
        cached_statements=1024,  # each statement shape is prepared once per connection
    )
    for pragma in (
        "journal_mode=WAL",
        f"synchronous={synchronous}",
        "foreign_keys=ON",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
    ):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def database_error(exc: sqlite3.Error) -> DatabaseError:
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
        return RowGone("the owner the row refers to")  # (one writer: only by a bug)
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(str(exc))
    if isinstance(exc, sqlite3.DataError):  # a value past SQLite's limits ("too big")
        return Refused(str(exc))
    return Unavailable(str(exc))


class SqliteConnection(Connection):
    """A connection's statements, on the event loop; `execute_aside` on `thread` if given."""

    __slots__ = ("_compiler", "_conn", "_thread", "went_aside")

    dialect = SQLITE

    def __init__(
        self, conn: sqlite3.Connection, compiler: Compiler, thread: Executor | None = None
    ) -> None:
        self._conn = conn
        self._compiler = compiler
        self._thread = thread
        self.went_aside = False  # a statement ran on `thread`

    async def execute(self, statement: Executable, params: Params | None = None) -> Result:
        plan, sql, args = self._compiler.prepare(statement, params)
        return _result(plan, *self._run(sql, args))

    async def execute_aside(self, statement: Executable, params: Params | None = None) -> Result:
        if self._thread is None:
            return await self.execute(statement, params)
        plan, sql, args = self._compiler.prepare(statement, params)
        self.went_aside = True
        ran = asyncio.get_running_loop().run_in_executor(self._thread, self._run, sql, args)
        try:
            ran_out = await asyncio.shield(ran)
        except asyncio.CancelledError:
            # The connection is the statement's until it ends: only then may the caller roll back.
            while not ran.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({ran})
            raise
        return _result(plan, *ran_out)

    def _run(self, sql: str, args: Any) -> tuple[list[Any], Any, int]:
        """The statement's rows, cursor description and row count."""
        try:
            cursor = self._conn.execute(sql, args)
            description = cursor.description
            rows = cursor.fetchall() if description is not None else []
        except sqlite3.Error as exc:
            raise database_error(exc) from exc
        except (OverflowError, UnicodeEncodeError) as exc:
            # refused as it is bound: an integer past 64 bits, a string with a lone surrogate
            raise Refused(str(exc)) from exc
        return rows, description, cursor.rowcount


def _result(plan: Plan, rows: list[Any], description: Any, count: int) -> Result:
    """`Result` of a statement's rows, named by its plan (by the cursor for plain SQL text)."""
    keys = plan.keys or ([d[0] for d in description] if description else ())
    return Result.of(plan, rows, keys, count)


class AsideConnection(SqliteConnection):
    """A reading connection whose every statement runs on its thread (`read_aside`)."""

    __slots__ = ()

    async def execute(self, statement: Executable, params: Params | None = None) -> Result:
        return await self.execute_aside(statement, params)


class SqliteBatch(Batch):
    """A batch on SQLite: it also knows whether a statement of it ran aside (its COMMIT may
    then write many pages, and runs on the writer's thread too)."""

    __slots__ = ("heavy",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.heavy = False


class SqliteWriter(GroupWriter):
    """The one writing connection, its thread, and the queue of transactions waiting for it."""

    def __init__(self, path: str, synchronous: str, compiler: Compiler) -> None:
        super().__init__()
        self.path = path
        self.synchronous = synchronous
        self.compiler = compiler
        self.commit_on_thread = synchronous.upper() == "FULL"  # an fsync per COMMIT
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="chinwag-sqlite-writer")
        self.checkpointer = Checkpointer(lambda: connect(path, synchronous))

    async def _on_thread(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)

    # -- on the writer's thread --------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = connect(self.path, self.synchronous)
        # Checkpoints run on the checkpointer's thread; this connection's COMMITs only past
        # the backstop (sqlite_checkpoint.py).
        conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        return conn

    def _begin_waiting(self) -> None:
        """BEGIN IMMEDIATE, waiting (busy timeout) for another process to release the lock."""
        assert self._conn is not None  # noqa: S101  (connected by _acquire)
        if not self._conn.in_transaction:  # else: a cancelled turn's BEGIN, still empty
            self._conn.execute("BEGIN IMMEDIATE")

    def _commit(self, begin_next: bool) -> bool:
        """COMMIT, then (if transactions wait) BEGIN the next batch: whether it began."""
        conn = self._conn
        assert conn is not None  # noqa: S101  (a batch exists only once connected)
        try:
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        self.checkpointer.committed()
        if begin_next:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error:
                return False  # the next transaction tries again, and reports the error
            return True
        return False

    # -- on the event loop -------------------------------------------------------------------

    async def _acquire(self, lead: bool = False, meanwhile: Meanwhile | None = None) -> Batch:
        """Wait for this transaction's turn, running `meanwhile` if it must; the open batch it
        joins (`lead`: a new one)."""
        await self._wait_turn(lead, meanwhile)
        if self._batch is None:
            try:
                if self._conn is None:  # its pragmas may wait for the lock: off the loop
                    self._conn = await self._on_thread(self._connect)
                if not self._try_begin():
                    await self._on_thread(self._begin_waiting)
            except BaseException as exc:
                self._pass_turn()
                if isinstance(exc, sqlite3.Error):
                    raise database_error(exc) from exc
                raise
            self._batch = SqliteBatch(asyncio.get_running_loop())
        return self._batch

    def _try_begin(self) -> bool:
        """BEGIN IMMEDIATE without waiting: False if another process holds the lock."""
        conn = self._conn
        assert conn is not None  # noqa: S101  (connected by _acquire)
        if conn.in_transaction:
            return True
        conn.execute("PRAGMA busy_timeout=0")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # (extended codes too)
                raise
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return True

    def _may_wait_a_turn(self) -> bool:
        # Under NORMAL a transaction's statements never wait on SQLite, so without the wait for
        # the loop's next turn every request committed alone, each COMMIT writing its pages to
        # the WAL again (about 0.15 ms of CPU a create). Under FULL the fsync is the wait.
        return not self.commit_on_thread

    def _commit_now(self, batch: Batch) -> bool:
        assert isinstance(batch, SqliteBatch)  # noqa: S101  (this writer makes only those)
        if not self.commit_on_thread and not batch.heavy:
            self._commit_here(batch)
            return True
        self._commit_in_task(self._commit_batch(batch))
        return False

    def _commit_here(self, batch: Batch) -> None:
        """COMMIT on the loop (nothing to fsync), settling the batch before anyone waits."""
        try:
            self._commit(begin_next=False)
        except sqlite3.Error as exc:
            batch.settle(Unavailable(f"commit failed: {exc}"))
        else:
            self._committed(batch)

    async def _commit_batch(self, batch: Batch) -> None:
        loop = asyncio.get_running_loop()
        began = False
        begin_next = self._has_waiters()
        try:
            began = await self._on_thread(lambda: self._commit(begin_next))
        except sqlite3.Error as exc:
            batch.settle(Unavailable(f"commit failed: {exc}"))
        except BaseException as exc:
            batch.settle(Unavailable(f"commit interrupted: {exc!r}"))
            raise
        else:
            self._committed(batch)
        finally:
            if began:
                self._batch = SqliteBatch(loop)
            self._pass_turn()

    @asynccontextmanager
    async def transaction(
        self,
        lead: bool = False,
        meanwhile: Meanwhile | None = None,
        undo: Undo = Undo.SAVEPOINT,
    ) -> AsyncIterator[Connection]:
        """One request's transaction: its own savepoint in the open batch (`lead`: the first
        of a new one; `meanwhile`: run while it waits for its turn, if it must); the block
        returns once the batch's COMMIT is durable. Every one has its savepoint, whatever
        its `undo` (one costs SQLite no round trip), so no batch is ever lost here."""
        batch = await self._acquire(lead, meanwhile)
        conn = self._conn
        assert conn is not None  # noqa: S101  (_acquire connected)
        try:
            conn.execute("SAVEPOINT request")
        except sqlite3.Error as exc:
            batch.broken = True
            self._pass_turn()
            raise database_error(exc) from exc
        request = SqliteConnection(conn, self.compiler, self._thread)
        try:
            yield request
        except BaseException:
            try:
                conn.execute("ROLLBACK TO request")
                conn.execute("RELEASE request")
            except sqlite3.Error:
                batch.broken = True  # SQLite rolled the whole transaction back
            self._pass_turn()
            raise
        try:
            conn.execute("RELEASE request")
            kept = conn.in_transaction
        except sqlite3.Error:
            kept = False
        if not kept:  # an error made SQLite roll back the batch: no member may commit
            batch.broken = True
            self._pass_turn()
            raise Unavailable("the transaction was rolled back by the database")
        assert isinstance(batch, SqliteBatch)  # noqa: S101
        batch.heavy = batch.heavy or request.went_aside
        await self._joined(batch, request, undo)

    async def close(self) -> None:
        await self._close_batches()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._on_thread(conn.close)
        await self._on_thread(self.checkpointer.close)
        self._thread.shutdown(wait=True)


class SqliteEngine:
    """The writer, the reading connection, and the reading connection aside with its thread
    (each reading connection opened on first use)."""

    def __init__(self, path: str, synchronous: str) -> None:
        self.path = path
        self.synchronous = synchronous
        self.compiler = sqlite_compiler()
        self.writer = SqliteWriter(path, synchronous, self.compiler)
        self._reader: sqlite3.Connection | None = None
        self._aside: sqlite3.Connection | None = None
        self._aside_thread = ThreadPoolExecutor(1, thread_name_prefix="chinwag-sqlite-aside")
        self._aside_opening = asyncio.Lock()

    def write(
        self,
        key: str | None = None,
        lead: bool = False,
        meanwhile: Meanwhile | None = None,
        undo: Undo = Undo.SAVEPOINT,
    ) -> contextlib.AbstractAsyncContextManager[Connection]:
        return self.writer.transaction(lead, meanwhile, undo)  # one writer: every key

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        reader = self._reader
        if reader is None:
            try:
                reader = self._reader = connect(self.path, self.synchronous)
            except sqlite3.Error as exc:
                raise database_error(exc) from exc
        yield SqliteConnection(reader, self.compiler)

    @asynccontextmanager
    async def read_aside(self) -> AsyncIterator[Connection]:
        """Reads that may take long (a dashboard's counts over a month of messages): on the
        event loop they would hold up every other request meanwhile. One connection and one
        thread, so such reads take turns instead of taking more of the machine."""
        async with self._aside_opening:  # two first reads open one connection
            if self._aside is None:
                try:
                    self._aside = await asyncio.get_running_loop().run_in_executor(
                        self._aside_thread, connect, self.path, self.synchronous
                    )
                except sqlite3.Error as exc:
                    raise database_error(exc) from exc
        yield AsideConnection(self._aside, self.compiler, self._aside_thread)

    def pool_stats(self) -> dict[str, tuple[int, int]]:
        """(checked out, size) of the writer and of the readers."""
        return {"writer": (int(self.writer.busy), 1), "reader": (0, 1)}

    def commit_stats(self) -> dict[str, int]:
        return {"commits": self.writer.commits, "transactions": self.writer.transactions}

    async def close(self) -> None:
        await self.writer.close()
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._aside is not None:
            aside, self._aside = self._aside, None
            await asyncio.get_running_loop().run_in_executor(self._aside_thread, aside.close)
        self._aside_thread.shutdown(wait=True)
