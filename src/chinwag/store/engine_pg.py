"""PostgreSQL through asyncpg directly: a pool, each statement shape prepared once per connection.

asyncpg's statement cache prepares each SQL string the first time a connection runs it; later
executions are one round trip. Write transactions run on a few connections of their own, the
writers, with group commit (`pg_writer`): a transaction's key (its channel, or else its
service) picks the writer, so the writes of one channel share batches and those of other
channels go on in parallel. Writes with no key (the webhook deliverer's cycles, the sweeper,
presence, the console) have a writer of their own where the pool has room for it, so none of
them takes turns in a channel's chain. Reads run on the other connections, without
BEGIN/COMMIT: under READ COMMITTED each statement has its own snapshot either way.

A read's connection goes back to chinwag's own short list of idle connections, not to
asyncpg's pool, and the next request takes it from there without awaiting anything: asyncpg's
`Pool.acquire(timeout=...)` and `Pool.release` each start a task (`wait_for`, `shield`), which
cost a read request about a fifth of its CPU. The engine counts the connections it has out and
asks the pool for one only while that count is under the maximum, so no request ever waits
inside the pool: when every connection is out, requests wait in the engine's own queue, in
order, and each connection released goes straight to the first of them. A connection unused
for IDLE_KEEP seconds goes back to the pool, so that after a burst a server holds no more
connections than it uses (the pool closes them after POOL_IDLE seconds more).

A PostgreSQL restart (or a killed backend) leaves dead connections in the pool. Instead of a
`SELECT 1` before every request, a connection error on a read's first statement (or a write
batch's, see `pg_writer`) expires the pool's connections and runs that statement once more on a
fresh connection; after that, errors answer 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.sql.base import Executable

from chinwag.store.compiled import Compiler, Params, Plan, Result
from chinwag.store.connection import Connection, DialectName
from chinwag.store.errors import Unavailable
from chinwag.store.group_commit import Meanwhile, Undo
from chinwag.store.pg_driver import CONNECTION_LOST, DRIVER_ERRORS, database_error, run, usable
from chinwag.store.pg_writer import PgWriter

POSTGRESQL = DialectName("postgresql")
_PLACE = object()  # handed to a waiting request: a place in the pool is its own (see acquire)
ACQUIRE_TIMEOUT = 60.0
MAX_WRITERS = 4  # keyed writing connections of a process at most (pg_writer)...
WRITER_SHARE = 5  # ...and one for each this many of its connections (so 4 of the default 20)
# With at least two keyed writers, the writes with no key get one more of their own. On a
# channel's writer, each deliverer's cycle (recording and claiming a few hundred deliveries,
# ten times a second under load) held the channel's chain for milliseconds: its creates with
# post-events ran at 887/s against 978/s for a channel of another writer, the same run.
KEYLESS_APART_FROM = 2
# Seconds a kept connection may go unused before it goes back to the pool, which closes it after
# POOL_IDLE more: after a burst, a server holds no more connections than it uses. Several servers
# (or workers) share one PostgreSQL's max_connections, so a burst's connections are not held for
# asyncpg's default of 300 s more.
IDLE_KEEP = 60.0
POOL_IDLE = 30.0


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Released connections keep their session (no `RESET ALL` round trip): chinwag sets no
    session state; an open transaction is still rolled back by asyncpg."""


class PgConnection(Connection):
    """A read's connection: statements in autocommit, each its own snapshot."""

    __slots__ = ("_conn", "_engine", "_generation", "_ran")

    dialect = POSTGRESQL

    def __init__(self, engine: PgEngine, conn: Any, generation: int) -> None:
        self._engine = engine
        self._conn = conn
        self._generation = generation  # the engine's, read before `conn` was acquired
        self._ran = False  # a statement of ours completed: no silent retry after this

    async def execute(self, statement: Executable, params: Params | None = None) -> Result:
        plan, sql, args = self._engine.compiler.prepare(statement, params)
        try:
            return await self._run(plan, sql, args)
        except CONNECTION_LOST as exc:
            if self._ran:
                raise database_error(exc) from exc
            try:
                await self._reconnect()
                return await self._run(plan, sql, args)
            except DRIVER_ERRORS as again:
                raise database_error(again) from again
        except DRIVER_ERRORS as exc:
            raise database_error(exc) from exc

    async def _run(self, plan: Plan, sql: str, args: list[Any]) -> Result:
        result = await run(self._conn, plan, sql, args)
        self._ran = True
        return result

    async def _reconnect(self) -> None:
        """Swap the dead connection for a fresh one (and make the pool renew the others)."""
        await self._engine.expire()
        old, self._conn = self._conn, None
        await self._engine.release(old)  # of an older generation now: the pool closes it
        self._generation = self._engine.generation
        self._conn = await self._engine.acquire()

    async def finish(self, sound: bool) -> None:
        """Hand the connection back: for reuse only after a read that ended well (a failed or
        cancelled one may have left the connection mid-statement, which the pool's release
        sorts out)."""
        conn, self._conn = self._conn, None
        await self._engine.release(conn, self._generation if sound else None)


class PgEngine:
    """An asyncpg pool, opened on first use (a database down at start answers 503, not a crash)."""

    def __init__(self, url: str, max_connections: int) -> None:
        parsed = make_url(url)
        self._async_url = parsed.set(drivername="postgresql+asyncpg").render_as_string(
            hide_password=False
        )
        self._dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._max_size = max_connections
        self._pool: asyncpg.Pool | None = None
        self._compiler: Compiler | None = None
        self._opening: asyncio.Lock | None = None
        # Checked out of the pool and free for the next request, with when each was released.
        self._idle: list[tuple[Any, float]] = []
        self._out = 0  # connections taken from the pool and not given back (busy or idle)
        self._waiting: deque[asyncio.Future[Any]] = deque()  # requests waiting for one, in order
        self.generation = 0  # moved by `expire`: older connections are not kept
        # Write transactions, with group commit: one writer for each WRITER_SHARE connections
        # (at most MAX_WRITERS); those of one key (a channel) always on the same writer.
        count = max(1, min(MAX_WRITERS, max_connections // WRITER_SHARE))
        self.keyed = [PgWriter(self) for _ in range(count)]
        apart = count >= KEYLESS_APART_FROM
        self.writer = PgWriter(self) if apart else self.keyed[0]  # writes with no key
        self.writers = [*self.keyed, self.writer] if apart else self.keyed

    @property
    def compiler(self) -> Compiler:
        assert self._compiler is not None  # noqa: S101  (set before any connection is given)
        return self._compiler

    async def _open(self) -> asyncpg.Pool:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is not None:
                return self._pool
            try:
                if self._compiler is None:
                    self._compiler = await _pg_compiler(self._async_url)
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._max_size,
                    statement_cache_size=1024,
                    max_inactive_connection_lifetime=POOL_IDLE,
                    reset=_keep_session,
                    # A writer idles between batches in the transaction its COMMIT opened
                    # (pg_writer), which holds nothing: no timeout may end its session.
                    server_settings={"idle_in_transaction_session_timeout": "0"},
                )
            except DRIVER_ERRORS as exc:
                raise database_error(exc) from exc
            except Exception as exc:  # SQLAlchemy's wrapping of the same, on the first connect
                raise Unavailable(str(exc)) from exc
            return self._pool

    async def acquire(self) -> Any:
        """A connection: a kept one, a new one from the pool while fewer than the maximum are
        out, or else the next one released, in the order the requests came."""
        while self._idle:
            conn, _ = self._idle.pop()  # the most recently used: its socket and caches are warm
            if usable(conn):
                return conn
            await self._to_pool(conn)
        if self._out < self._max_size:
            self._out += 1  # a place in the pool, ours from now on
        else:
            handed = await self._wait_turn()
            if handed is not _PLACE:
                return handed
        try:
            pool = self._pool or await self._open()
            return await pool.acquire(timeout=ACQUIRE_TIMEOUT)  # a place is free: no wait
        except BaseException as exc:
            self._give_place()
            if isinstance(exc, DRIVER_ERRORS):
                raise database_error(exc) from exc
            raise

    async def _wait_turn(self) -> Any:
        """The connection a release hands over, or _PLACE: a place in the pool, counted."""
        turn: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            async with asyncio.timeout(ACQUIRE_TIMEOUT):
                return await turn
        except BaseException as exc:
            if not turn.done():
                turn.cancel()
            elif not turn.cancelled():  # handed over just as this request gave up: pass it on
                got = turn.result()
                if got is _PLACE:
                    self._give_place()
                else:
                    await self.release(got, self.generation)
            if isinstance(exc, TimeoutError):
                raise Unavailable("no database connection was free in time") from exc
            raise

    def _hand(self, handed: Any) -> bool:
        """Give `handed` (a connection, or _PLACE) to the longest waiting request, if any."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(handed)
                return True
        return False

    def _give_place(self) -> None:
        """A place in the pool is free: the longest waiting request takes it, if any."""
        if not self._hand(_PLACE):
            self._out -= 1

    async def release(self, conn: Any, generation: int | None = None) -> None:
        """Hand `conn` back; it is kept for reuse if it is sound and from `generation` (as
        `generation` read before it was acquired: None, or older, after `expire`)."""
        if conn is None or self._pool is None:
            return
        if generation == self.generation and usable(conn):
            if self._hand(conn):  # the longest waiting request takes it as it is
                return
            now = time.monotonic()
            self._idle.append((conn, now))
            # Unused that long: fewer requests run now. (An idle server gets here too, from
            # its reachability heartbeat and its clock check.) Others may take from the list
            # while a connection goes back, hence the test of its length.
            while self._idle and now - self._idle[0][1] > IDLE_KEEP:
                oldest, _ = self._idle.pop(0)
                await self._to_pool(oldest)
            return
        await self._to_pool(conn)  # the pool resets or closes it

    async def _to_pool(self, conn: Any) -> None:
        self._give_place()
        if self._pool is None:
            return
        with contextlib.suppress(*DRIVER_ERRORS):  # a broken connection is closed by the pool
            await self._pool.release(conn)

    async def expire(self) -> None:
        """Every connection is replaced before its next use (one of them was found dead)."""
        self.generation += 1
        if self._pool is not None:
            await self._pool.expire_connections()
        await self._return_idle()  # released with an old generation: the pool closes them

    async def _return_idle(self) -> None:
        """Every kept connection back to the pool."""
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            await self._to_pool(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        generation = self.generation
        conn = PgConnection(self, await self.acquire(), generation)
        try:
            yield conn
        except BaseException:
            await conn.finish(sound=False)
            raise
        await conn.finish(sound=True)

    def read_aside(self) -> contextlib.AbstractAsyncContextManager[Connection]:
        """A long read runs in PostgreSQL, never on the event loop: a read as any other."""
        return self.read()

    def write(
        self,
        key: str | None = None,
        lead: bool = False,
        meanwhile: Meanwhile | None = None,
        undo: Undo = Undo.SAVEPOINT,
    ) -> contextlib.AbstractAsyncContextManager[Connection]:
        """A transaction on the writer of `key` (see `keyed`), or on the keyless one."""
        keyed = self.keyed
        writer = keyed[zlib.crc32(key.encode()) % len(keyed)] if key else self.writer
        return writer.transaction(lead, meanwhile, undo)

    def pool_stats(self) -> dict[str, tuple[int, int]]:
        """(checked out, size) of the writers' and of the readers' connections."""
        pool = self._pool
        busy = sum(w.busy for w in self.writers)
        writers = (busy, len(self.writers))
        if pool is None:
            return {"writer": writers, "reader": (0, 0)}
        size = pool.get_size() - sum(w.connected for w in self.writers)
        return {"writer": writers, "reader": (size - pool.get_idle_size() - len(self._idle), size)}

    def commit_stats(self) -> dict[str, int]:
        return {
            "commits": sum(w.commits for w in self.writers),
            "transactions": sum(w.transactions for w in self.writers),
        }

    async def close(self) -> None:
        for writer in self.writers:
            await writer.close()
        if self._pool is not None:
            await self._return_idle()
            pool, self._pool = self._pool, None
            await pool.close()


async def _pg_compiler(async_url: str) -> Compiler:
    """SQLAlchemy's asyncpg dialect, initialized against the server once, to compile with."""
    engine = create_async_engine(async_url)
    try:
        async with engine.connect():
            pass
    finally:
        await engine.dispose()
    return Compiler(engine.dialect)
