"""The transactional outbox: deliveries written with the change they report, claimed by workers.

A delivery is enqueued inside the request's transaction, so a committed change always has its
deliveries and a rolled-back one never does. Workers claim the head of each queue (a target URL
and a channel, or a push recipient) with the deliveries right behind it, in one transaction and
under a lease: deliveries of one queue go one at a time and in order, and a worker that dies
mid-send leaves a lease that expires, so its deliveries are sent again (at least once; the
idempotency token lets a receiver drop repeats). Outcomes are recorded a batch at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Table,
    and_,
    any_,
    bindparam,
    case,
    column,
    func,
    literal_column,
    not_,
    or_,
    select,
    text,
)

from chinwag import clock
from chinwag.events.sending import Attempt, Delivery
from chinwag.sids import ordered_hex
from chinwag.store import statements
from chinwag.store.compiled import Params, Result
from chinwag.store.db import Connection, Database
from chinwag.store.tables import Tables

ACTIVE = ("pending", "sending")
# Rows a statement of the deliverer may touch on the event loop; one that may touch more runs
# on SQLite's writer thread (`Connection.execute_aside`; elsewhere the database server does
# the work anyway). A full claim (32 queues of 200) held the loop 44-46 ms and recording its
# outcomes 42-52 ms, every cycle of a backlog's drain (5-7 ms aside); below this, the statement
# costs the loop less than the hop to the thread and back (about 0.2 ms).
ASIDE_ROWS = 64
QUEUE_KEY_MAX = 512  # bytes of a queue's name stored as it is; a longer one as its digest


def _queue_key(queue: str) -> str:
    """The `queue` column's value: the name, or the SHA-256 of a long one (a webhook URL may be
    kilobytes long, and a PostgreSQL index entry holds at most about 2.7 kB: the create that
    enqueued to such a URL failed). One name has one key, so its deliveries still go in order."""
    raw = queue.encode()
    return queue if len(raw) <= QUEUE_KEY_MAX else "sha256:" + hashlib.sha256(raw).hexdigest()


async def enqueue(
    conn: Connection,
    tables: Tables,
    *,
    account_sid: str,
    service_sid: str | None,
    queue: str,
    kind: str,
    event: str,
    url: str,
    method: str,
    params: dict[str, Any],
    retry_limit: int,
) -> None:
    now = clock.utcnow()
    # Nothing is read back: on PostgreSQL the row rides on the transaction's next statement.
    await conn.insert_later(
        tables.outbox,
        {
            "token": ordered_hex(),  # time-ordered: its unique index grows at one end
            "account_sid": account_sid,
            "service_sid": service_sid,
            "queue": _queue_key(queue),
            "kind": kind,
            "event": event,
            "url": url,
            "method": method,
            "params": orjson.dumps(params).decode(),
            "retry_limit": retry_limit,
            "attempts": 0,
            "status": "pending",
            "next_attempt_at": now,
            "date_created": now,
            "date_updated": now,
        },
    )


def _runner(conn: Connection, rows: int) -> Callable[[Any, Params | None], Awaitable[Result]]:
    """How a statement that touches up to `rows` rows runs: aside past ASIDE_ROWS."""
    return conn.execute_aside if rows > ASIDE_ROWS else conn.execute


def _unleased(o: Table, now: Any) -> ColumnElement[bool]:
    """Under no lease, or one that ran out (its worker died); never NULL."""
    return or_(o.c.lease_until.is_(None), o.c.lease_until < now)


def _due(o: Table, now: Any) -> ColumnElement[bool]:
    """A row a worker may send now: pending, due, and under no lease or one that ran out (its
    worker died). A claim sets only the lease: a row being sent stays `pending`, so neither
    the claim nor a release moves the row in the five indexes that name `status` (on SQLite
    the move cost 17 µs a row, the lease alone 4). `sending` rows were written by versions
    before that: taken as pending."""
    return and_(
        _unleased(o, now),
        or_(and_(o.c.status == "pending", o.c.next_attempt_at <= now), o.c.status == "sending"),
    )


# What a claim reads of each row: a `Delivery`'s fields, in its order.
_SENT = Delivery._fields
VISIT = 256  # queues a claim looks at, at most: its cost, whatever the backlog
# The partial indexes' own predicate, spelled as they are (SQLite uses a partial index only
# for a query whose WHERE names its predicate's very terms: not bound parameters).
_ACTIVE_SQL = "status IN ('pending', 'sending')"


def _active(t: Any) -> ColumnElement[bool]:
    """`t`'s row is undelivered, spelled as the partial indexes' predicate."""
    column: ColumnElement[str] = t.c.status
    return column.in_([literal_column(f"'{status}'") for status in ACTIVE])


class Rotation:
    """Where a deliverer's claims go on looking: the name of the last queue the claim before
    looked at, when more queues were there than it could look at (VISIT), else "" (from the
    first). One per deliverer."""

    __slots__ = ("after",)

    def __init__(self) -> None:
        self.after = ""

    @property
    def more(self) -> bool:
        return self.after != ""


# Up to `visit` queues that have undelivered rows, in name order after `after`, each with its
# head (its oldest undelivered row) and whether that is due: a skip scan of the partial index
# on (queue, pk), one seek per queue however many rows wait behind a head. SQLite's planner
# would rather read (status, pk), every undelivered row: {by_queue} names the index there.
_BY_QUEUE = "INDEXED BY ix_outbox_active_queue"
_HEADS_SQL = f"""
WITH RECURSIVE visited(queue, n) AS (
    SELECT (
        SELECT p.queue FROM outbox AS p {{by_queue}}
        WHERE p.{_ACTIVE_SQL} AND p.queue > :after ORDER BY p.queue LIMIT 1
    ), 1
    UNION ALL
    SELECT (
        SELECT p.queue FROM outbox AS p {{by_queue}}
        WHERE p.{_ACTIVE_SQL} AND p.queue > v.queue ORDER BY p.queue LIMIT 1
    ), v.n + 1
    FROM visited AS v
    WHERE v.queue IS NOT NULL AND v.n < :visit
)
SELECT v.queue, o.pk, o.next_attempt_at, CASE WHEN {{due_o}} THEN 1 ELSE 0 END AS due
FROM visited AS v
LEFT JOIN outbox AS o ON o.pk = (
    SELECT h.pk FROM outbox AS h
    WHERE h.{_ACTIVE_SQL} AND h.queue = v.queue ORDER BY h.pk LIMIT 1
)
WHERE v.queue IS NOT NULL
ORDER BY v.n
"""  # noqa: S608 (constants and bound parameters only)


# PostgreSQL's: each step of the skip scan reads the next index entry in (queue, pk) order, which
# is the next queue's head itself. Ordered by both columns (a range on the first), no plan can
# read it from another index: a head looked up by `queue = $1 ORDER BY pk`, planned once for
# any queue, was read by scanning the primary key for the queue's first row (7.5 s beside a
# million deliveries of another queue).
_HEADS_PG_SQL = f"""
WITH RECURSIVE visited(queue, pk, n) AS (
    (
        SELECT p.queue, p.pk, 1 FROM outbox AS p
        WHERE p.{_ACTIVE_SQL} AND p.queue > :after ORDER BY p.queue, p.pk LIMIT 1
    )
    UNION ALL
    SELECT following.queue, following.pk, v.n + 1
    FROM visited AS v
    CROSS JOIN LATERAL (
        SELECT p.queue, p.pk FROM outbox AS p
        WHERE p.{_ACTIVE_SQL} AND p.queue > v.queue ORDER BY p.queue, p.pk LIMIT 1
    ) AS following
    WHERE v.n < :visit
)
SELECT v.queue, o.pk, o.next_attempt_at, CASE WHEN {{due_o}} THEN 1 ELSE 0 END AS due
FROM visited AS v
JOIN outbox AS o ON o.pk = v.pk
ORDER BY v.n
"""  # noqa: S608 (constants and bound parameters only)


def _due_sql(alias: str) -> str:
    """`_due` as SQL text, of the row `alias` names, at `:now`."""
    return (
        f"({alias}.lease_until IS NULL OR {alias}.lease_until < :now) AND "
        f"(({alias}.status = 'pending' AND {alias}.next_attempt_at <= :now) "
        f"OR {alias}.status = 'sending')"
    )


def _heads_query(o: Table, dialect: str) -> Any:
    """The skip scan for `dialect` (`_HEADS_PG_SQL` or `_HEADS_SQL`). Parameters: `after`,
    `visit`, `now`. Rows: queue, head pk, head's next attempt, whether it is due."""

    def build() -> Any:
        if dialect == "postgresql":
            sql = _HEADS_PG_SQL.format(due_o=_due_sql("o"))
        else:
            sql = _HEADS_SQL.format(by_queue=_BY_QUEUE, due_o=_due_sql("o"))
        return text(sql).bindparams(
            bindparam("now", type_=o.c.next_attempt_at.type),
            bindparam("after", type_=o.c.queue.type),
            bindparam("visit", type_=Integer()),
        )

    return statements.once(("outbox.heads", id(o), dialect), build)


def _run_query(o: Table) -> Any:
    """SQLite: the first `per_queue` undelivered rows of queue `q`, in order, each with whether
    it is due. Parameters: `q`, `per_queue`, `now`."""

    def build() -> Any:
        now = bindparam("now", type_=o.c.next_attempt_at.type)
        return (
            select(*(o.c[name] for name in _SENT), case((_due(o, now), 1), else_=0))
            .where(_active(o), o.c.queue == bindparam("q"))
            .order_by(o.c.pk)
            .limit(bindparam("per_queue"))
        )

    return statements.once(("outbox.run", id(o)), build)


# PostgreSQL: the due run at the head of each queue in `queues`, every row locked, those
# another worker holds skipped (a gap ends the batch: see `claim`). Only the first `per_queue`
# rows of a queue are ranked (the innermost LIMIT), and a row is taken only while no row before
# it waits (`stalled`). The outer WHERE tests the row again once it is locked. The queue is
# named as a range of one, ordered by (queue, pk): as `queue = q.queue ORDER BY pk` a plan made
# once for any queue may read the primary key in order for the queue's rows (see above).
_RUNS_SQL = f"""
SELECT {", ".join(f"o.{name}" for name in _SENT)}, r.rank, r.queue
FROM unnest(CAST(:queues AS TEXT[])) AS q(queue)
CROSS JOIN LATERAL (
    SELECT f.pk, f.queue,
           row_number() OVER (ORDER BY f.pk) AS rank,
           sum(f.waits) OVER (ORDER BY f.pk) AS stalled
    FROM (
        SELECT p.pk, p.queue, CASE WHEN {{due_p}} THEN 0 ELSE 1 END AS waits
        FROM outbox AS p
        WHERE p.{_ACTIVE_SQL} AND p.queue >= q.queue AND p.queue <= q.queue
        ORDER BY p.queue, p.pk
        LIMIT :per_queue
    ) AS f
) AS r
JOIN outbox AS o ON o.pk = r.pk
WHERE r.stalled = 0 AND {{due_o}}
ORDER BY r.queue, r.rank
FOR UPDATE OF o SKIP LOCKED
"""  # noqa: S608 (constants and bound parameters only)


def _runs_query(o: Table) -> Any:
    def build() -> Any:
        sql = _RUNS_SQL.format(due_p=_due_sql("p"), due_o=_due_sql("o"))
        return text(sql).bindparams(
            bindparam("now", type_=o.c.next_attempt_at.type),
            bindparam("queues", type_=ARRAY(o.c.queue.type)),
            bindparam("per_queue", type_=Integer()),
        )

    return statements.once(("outbox.runs", id(o)), build)


async def claim(
    conn: Connection,
    tables: Tables,
    queues: int,
    per_queue: int,
    lease: float,
    rotation: Rotation | None = None,
) -> list[list[Delivery]]:
    """Take the due head of up to `queues` queues, each with up to `per_queue - 1` deliveries
    that follow it in its queue, oldest heads first; one list per queue, in queue order.

    A queue's batch is the unbroken run of due deliveries at its head: it stops before the first
    one that waits for a retry. The claim looks at VISIT queues at most (those after
    `rotation.after`, which it moves on), one index seek each, and at `per_queue` rows of the
    queues it takes: a backlog of a million deliveries behind a receiver that is down costs it
    no more than one. On PostgreSQL the rows are locked and those another worker holds are
    skipped, and a batch keeps only the rows that follow its head without a gap, so two workers
    never hold the same row.
    """
    o = tables.outbox
    now = clock.utcnow()
    after = rotation.after if rotation is not None else ""
    heads = _heads_query(o, conn.dialect.name)
    visited = list(await conn.execute(heads, {"after": after, "visit": VISIT, "now": now}))
    if rotation is not None:
        rotation.after = visited[-1][0] if len(visited) == VISIT else ""
    due = sorted((r for r in visited if r[3]), key=lambda r: (r[2], r[1]))
    names = [r[0] for r in due[:queues]]
    if not names:
        return []
    if conn.dialect.name == "postgresql":
        params = {"queues": names, "per_queue": per_queue, "now": now}
        runs: dict[str, list[Delivery]] = {name: [] for name in names}
        for r in await conn.execute(_runs_query(o), params):
            run = runs[r[-1]]
            if r[-2] == len(run) + 1:  # no gap since the head
                run.append(Delivery._make(r[: len(_SENT)]))
    else:  # one writer: nothing is held by another, each queue's rows read in place
        runs = {}
        read = _runner(conn, per_queue)
        for name in names:
            params = {"q": name, "per_queue": per_queue, "now": now}
            run = runs[name] = []
            for r in await read(_run_query(o), params):
                if not r[-1]:
                    break
                run.append(Delivery._make(r[: len(_SENT)]))
    batches = [runs[name] for name in names if runs[name]]
    taken = [d.pk for batch in batches for d in batch]
    if taken:
        held = _by_pks(conn, o, "taken")
        until = now + timedelta(seconds=lease)
        params = {"w_pks": _pk_list(conn, taken), "w_until": until, "w_now": now}
        await _runner(conn, len(taken))(held, params)
    return batches


async def record(
    conn: Connection,
    tables: Tables,
    attempts: Sequence[Attempt],
    released: Sequence[Delivery] = (),
) -> None:
    """Record attempts (the delivered ones in one statement) and give back `released`
    deliveries that were claimed but not sent: pending again, untried, due at once."""
    if not attempts and not released:
        return
    o = tables.outbox
    now = clock.utcnow()
    done: dict[int | None, list[int]] = {}  # by HTTP status: one statement each (mostly 200)
    for a in attempts:
        if a.status == "delivered":
            done.setdefault(a.http_status, []).append(a.delivery.pk)
    delivered = _by_pks(conn, o, "delivered")
    for http_status, pks in done.items():
        params = {"w_pks": _pk_list(conn, pks), "w_status": http_status, "w_now": now}
        await _runner(conn, len(pks))(delivered, params)
    for a in attempts:
        if a.status == "delivered":
            continue
        values: dict[str, Any] = {
            "status": a.status,
            "attempts": a.delivery.attempts + 1,
            "last_error": a.error,
            "last_status": a.http_status,
            "lease_until": None,
            "date_updated": now,
        }
        if a.retry_in is not None:
            values["next_attempt_at"] = now + timedelta(seconds=a.retry_in)
        await conn.execute(o.update().where(o.c.pk == a.delivery.pk).values(**values))
    if released:
        given_back = _by_pks(conn, o, "released")
        pks = _pk_list(conn, [d.pk for d in released])
        await _runner(conn, len(released))(given_back, {"w_pks": pks, "w_now": now})


def _pk_list(conn: Connection, pks: list[int]) -> Any:
    """`w_pks` of `_by_pks`: an array on PostgreSQL, a JSON array's text on SQLite."""
    return pks if conn.dialect.name == "postgresql" else orjson.dumps(pks).decode()


def _by_pks(conn: Connection, o: Table, change: str) -> Any:
    """The deliveries `w_pks` changed at `w_now`: "taken" (under a lease until `w_until`),
    "delivered" (with the receiver's `w_status`) or "released" (the lease dropped, if still
    undelivered: due again at once). Built once per table and database: one statement text for
    any number of deliveries (PostgreSQL prepares each text it meets: `= ANY(array)` there)."""

    def build() -> Any:
        if conn.dialect.name == "postgresql":
            among = o.c.pk == any_(bindparam("w_pks", type_=ARRAY(o.c.pk.type)))
        else:  # one JSON array: no statement expanded per list length
            listed: Any = select(column("value")).select_from(func.json_each(bindparam("w_pks")))
            among = o.c.pk.in_(listed)
        now = bindparam("w_now", type_=o.c.date_updated.type)
        values: dict[str, Any] = {"date_updated": now}  # `status` only where it changes
        if change == "taken":
            values["lease_until"] = bindparam("w_until", type_=o.c.lease_until.type)
            return o.update().where(among).values(values)
        values["lease_until"] = None
        if change == "released":
            return o.update().where(among, o.c.status.in_(ACTIVE)).values(values)
        values.update(
            status="delivered",
            attempts=o.c.attempts + 1,
            last_error=None,
            last_status=bindparam("w_status"),
        )
        return o.update().where(among).values(values)

    return statements.once(("outbox.by_pks", id(o), conn.dialect.name, change), build)


DEPTH_COUNTED = 100_000  # undelivered rows `depth` counts at most: a few ms of index


async def depth(conn: Connection, tables: Tables) -> int:
    """Deliveries not yet delivered or failed, counted up to DEPTH_COUNTED + 1 (which reads
    "more than DEPTH_COUNTED"): a receiver down for a day leaves millions, and a count of them
    all (every /metrics scrape) would grow with them. Read aside (`Database.read_aside`)."""
    o = tables.outbox
    undelivered = select(o.c.pk).where(o.c.status.in_(ACTIVE)).limit(DEPTH_COUNTED + 1)
    query = select(func.count()).select_from(undelivered.subquery())
    return int((await conn.execute(query)).scalar() or 0)


async def listing(
    conn: Connection,
    tables: Tables,
    status: str | None = None,
    service_sid: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The newest `limit` deliveries, of one status if given: `sending` is an undelivered one
    under a live lease (see `_due`), `pending` one waiting for a worker."""
    o = tables.outbox
    now = clock.utcnow()
    leased = and_(o.c.status.in_(ACTIVE), not_(_unleased(o, now)))
    query = select(o, leased.label("leased")).order_by(o.c.pk.desc()).limit(limit)
    if status == "sending":
        query = query.where(leased)
    elif status == "pending":
        query = query.where(o.c.status.in_(ACTIVE), _unleased(o, now))
    elif status:
        query = query.where(o.c.status == status)
    if service_sid:
        query = query.where(o.c.service_sid == service_sid)
    rows = []
    for r in (await conn.execute(query)).mappings():
        row = dict(r)
        leased = row.pop("leased")
        if row["status"] in ACTIVE:
            row["status"] = "sending" if leased else "pending"
        rows.append(row)
    return rows


async def requeue(
    conn: Connection, tables: Tables, *where: ColumnElement[bool], rows: int = 1
) -> int:
    """Failed deliveries matching `where` (up to `rows` of them) go back to the queue, due
    now, their attempts starting over (the last error stays until the next attempt); how
    many did."""
    o = tables.outbox
    now = clock.utcnow()
    statement = o.update().where(o.c.status == "failed", *where)
    result = await _runner(conn, rows)(
        statement.values(status="pending", attempts=0, next_attempt_at=now, date_updated=now),
        None,
    )
    return int(result.rowcount)


REQUEUE_BATCH = 1000  # failed deliveries a bulk retry reads per transaction


async def requeue_failed(
    db: Database,
    tables: Tables,
    scope: Sequence[ColumnElement[bool]] = (),
    matches: Sequence[ColumnElement[bool]] = (),
    requeued: Callable[[], None] | None = None,
) -> int:
    """Send again every failed delivery of `scope` (a range of an index on `(..., status,
    pk)`) that meets `matches`; how many. REQUEUE_BATCH of the range a write transaction, so a
    retry of a million failed deliveries holds the write lock for a bounded time at once and
    never stops the server's other writes; `requeued` is called after each batch that moved any
    (the deliverer can start on them meanwhile)."""
    o = tables.outbox
    total, after = 0, 0
    while True:
        read = (
            select(o.c.pk)
            .where(*scope, o.c.status == "failed", o.c.pk > after)
            .order_by(o.c.pk)
            .limit(REQUEUE_BATCH)
        )
        async with db.write() as conn:
            pks = [pk for (pk,) in await _runner(conn, REQUEUE_BATCH)(read, None)]
            chosen = o.c.pk.in_(pks)
            count = await requeue(conn, tables, chosen, *matches, rows=len(pks)) if pks else 0
        total += count
        if count and requeued is not None:
            requeued()
        if len(pks) < REQUEUE_BATCH:
            return total
        after = pks[-1]


# How long finished deliveries stay visible (the console's lists and counts) before `prune`
# removes them: delivered ones a week, failed ones (still retryable) a month.
KEPT = {"delivered": timedelta(days=7), "failed": timedelta(days=30)}
PRUNE_BATCH = 1000


async def prune(conn: Connection, tables: Tables, status: str, kept: timedelta) -> int:
    """Remove up to PRUNE_BATCH `status` rows finished more than `kept` ago; how many went.

    Only the oldest PRUNE_BATCH rows of that status are looked at (the `(status, pk)` index
    from its start), so each call's work is bounded however large the history is; rows are
    finished in about the order they were made, so the old ones are at the start.
    """
    o = tables.outbox
    oldest = (
        select(o.c.pk, o.c.date_updated)
        .where(o.c.status == status)
        .order_by(o.c.pk)
        .limit(PRUNE_BATCH)
        .subquery("oldest")
    )
    expired = select(oldest.c.pk).where(oldest.c.date_updated < clock.utcnow() - kept)
    removed = o.delete().where(o.c.status == status, o.c.pk.in_(expired))
    result = await _runner(conn, PRUNE_BATCH)(removed, None)
    return int(result.rowcount)
