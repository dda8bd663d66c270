"""What both writers with group commit share (SQLite's in `engine_sqlite`, PostgreSQL's in
`pg_writer`): the batch that one COMMIT covers, and the turns of the transactions waiting for
the writer's one connection.

A transaction waits for its turn, runs its statements in the open batch (each writer opens it
its own way), and passes the turn on: to the next transaction waiting, which joins the batch,
or, when none waits, to the COMMIT. That COMMIT waits for the loop's next turn, so that the
requests the loop is about to run join the batch instead of each paying a COMMIT of their own;
a broken batch, a full one or one that must end now (`Batch.retried`, or a transaction that
must lead a batch of its own waits next) commits at once; a lost one (`Batch.lost`) rolls back
at once.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from chinwag.store.connection import Connection
from chinwag.store.errors import DatabaseError

MAX_BATCH = 64  # transactions per COMMIT at most: bounds the wait of the batch's first request

# What a transaction that must wait for its turn does meanwhile, in its place in the queue;
# given the turn, done once it has come (the writer then waits for what runs meanwhile).
Meanwhile = Callable[[asyncio.Future[None]], Awaitable[None]]


class Undo(enum.Enum):
    """How a transaction's changes are taken back if it fails, and what its caller does when
    a later transaction's failure takes back its batch (`BatchLost`)."""

    SAVEPOINT = "savepoint"  # its own savepoint; its caller cannot run it again
    RERUN = "rerun"  # its own savepoint; its caller runs it again on `BatchLost`
    # As RERUN, but where every transaction before it in the batch is RERUN or BATCH too, it
    # may join without a savepoint (a round trip on PostgreSQL's writer): failing after its
    # first write, it takes the whole batch back, and the others answer `BatchLost`. For a
    # transaction that fails after writing only when it raced another one.
    BATCH = "batch"


class Batch:
    """Transactions sharing one COMMIT; `done` resolves when it is durable (or failed)."""

    __slots__ = ("broken", "done", "lost", "rerunnable", "retried", "scheduled", "size")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.done: asyncio.Future[None] = loop.create_future()
        self.size = 0  # transactions released into it
        self.broken = False  # its database transaction is lost or unknown: it must not commit
        self.lost = False  # known to be undone by a transaction without a savepoint: roll back
        self.rerunnable = True  # every transaction released into it can be run again
        self.retried = False  # a transaction gave way to another writer's: commit now
        self.scheduled = False  # its COMMIT waits for the loop's next turn

    def settle(self, error: DatabaseError | None) -> None:
        if self.done.done():
            return
        if error is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(error)
            self.done.exception()  # retrieved: a batch nobody waits for logs nothing


class GroupWriter:
    """The queue of transactions waiting for the writer's connection, and the open batch they
    join. A subclass opens batches and commits them (`_commit_now`)."""

    def __init__(self) -> None:
        self._queue: deque[asyncio.Future[None]] = deque()  # transactions waiting for a turn
        self._leads: set[asyncio.Future[None]] = set()  # turns that must open a new batch
        self._busy = False  # a transaction has the connection, or a COMMIT is running
        self._batch: Batch | None = None  # the open (begun, uncommitted) batch
        self._commits: set[asyncio.Task[None]] = set()  # COMMITs running as tasks
        self.transactions = 0  # committed transactions, and the COMMITs that covered them
        self.commits = 0

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def waiting(self) -> int:
        return sum(1 for turn in self._queue if not turn.done())

    def _has_waiters(self) -> bool:
        while self._queue and self._queue[0].done():  # cancelled while waiting
            self._queue.popleft()
        return bool(self._queue)

    async def _wait_turn(self, lead: bool = False, meanwhile: Meanwhile | None = None) -> None:
        """Until this transaction has the connection; `lead`: as the first of a new batch (the
        open one commits before this transaction's turn). `meanwhile` runs if it must wait,
        holding its place in the queue: a turn that comes first waits for it (the writer
        idles meanwhile, as it would while the transaction ran it on its turn; it is given
        the turn, to stop waiting for anything else once it has come); out of the queue, it
        would let the batch commit early, into more, smaller batches."""
        batch = self._batch if lead else None
        if not self._busy and not self._has_waiters() and batch is None:
            self._busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        if lead:
            self._leads.add(turn)
            if batch is not None and not self._busy:  # it waits for the loop's next turn
                self._commit_idle(batch)  # to commit: now, and then this turn
        try:
            if meanwhile is not None:
                await meanwhile(turn)
            await turn
        except BaseException:  # cancelled, or what it did meanwhile failed
            if turn.done() and not turn.cancelled():  # the turn came first
                self._pass_turn()
            else:
                turn.cancel()  # skipped when its turn would come
            raise
        finally:
            self._leads.discard(turn)

    def _lead_waits(self) -> bool:
        """Whether the next turn is one that must open a new batch."""
        return self._has_waiters() and self._queue[0] in self._leads

    def _may_wait_a_turn(self) -> bool:
        """Whether a batch nobody waits for may wait for the loop's next turn to commit."""
        return True

    def _commit_now(self, batch: Batch) -> bool:
        """COMMIT `batch` (no longer the open one; the writer is busy): True if that is done
        and the turn passes on now, False if a task does it and passes the turn on later."""
        raise NotImplementedError

    def _pass_turn(self) -> None:
        """The connection is free: the next waiting transaction joins the open batch, or the
        batch commits (nobody waits, or it must end now), or the writer idles."""
        batch = self._batch
        if batch is not None:
            now = (
                batch.broken
                or batch.lost
                or batch.retried
                or batch.size >= MAX_BATCH
                or self._lead_waits()
            )
            if now or not self._has_waiters():
                if not now and self._may_wait_a_turn():
                    if not batch.scheduled:
                        batch.scheduled = True
                        asyncio.get_running_loop().call_soon(self._commit_scheduled, batch)
                    self._busy = False
                    return
                self._batch = None
                if not self._commit_now(batch):
                    return
        self._next()

    def _next(self) -> None:
        """The turn to the longest waiting transaction, or the writer idles."""
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
        self._commit_idle(batch)

    def _commit_idle(self, batch: Batch) -> None:
        """COMMIT the open batch while nobody has the turn."""
        self._batch = None
        self._busy = True
        if self._commit_now(batch):
            self._next()

    def _commit_in_task(self, commit: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(commit)
        self._commits.add(task)
        task.add_done_callback(self._commits.discard)

    def _committed(self, batch: Batch) -> None:
        self.commits += 1
        self.transactions += batch.size
        batch.settle(None)

    async def _joined(self, batch: Batch, request: Connection, undo: Undo = Undo.SAVEPOINT) -> None:
        """The transaction is released into `batch`: pass the turn on, and return once the
        batch's COMMIT is durable (or raise its failure: never acknowledged early)."""
        batch.size += 1
        batch.rerunnable = batch.rerunnable and undo is not Undo.SAVEPOINT
        self._pass_turn()
        if not batch.done.done():
            await asyncio.shield(batch.done)
        batch.done.result()
        request.committed()

    async def _close_batches(self) -> None:
        """At close: the batch whose COMMIT waits for the loop's next turn commits now, and
        the COMMITs running end (their transactions wait on them)."""
        if self._batch is not None and not self._busy:
            self._commit_idle(self._batch)
        while self._commits:
            await asyncio.gather(*self._commits, return_exceptions=True)
