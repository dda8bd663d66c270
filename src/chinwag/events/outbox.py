"""The transactional outbox: deliveries written with the change they report, claimed by workers.

A delivery is enqueued inside the request's transaction, so a committed change always has its
deliveries and a rolled-back one never does. Workers claim the head of each queue (a target URL
and a channel, or a push recipient) with a lease: deliveries of one queue go one at a time and in
order, and a worker that dies mid-send leaves a lease that expires, so the delivery is sent again
(at least once; the idempotency token lets a receiver drop repeats).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import and_, exists, func, or_, select

from chinwag.store.db import Connection
from chinwag.store.tables import Tables

ACTIVE = ("pending", "sending")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Delivery:
    pk: int
    token: str
    account_sid: str
    kind: str  # webhook | push
    event: str
    url: str
    method: str
    params: dict[str, Any]
    retry_limit: int
    attempts: int


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
    now = utcnow()
    await conn.execute(
        tables.outbox.insert().values(
            token=secrets.token_hex(16),
            account_sid=account_sid,
            service_sid=service_sid,
            queue=queue,
            kind=kind,
            event=event,
            url=url,
            method=method,
            params=orjson.dumps(params).decode(),
            retry_limit=retry_limit,
            attempts=0,
            status="pending",
            next_attempt_at=now,
            date_created=now,
            date_updated=now,
        )
    )


async def claim(conn: Connection, tables: Tables, limit: int, lease: float) -> list[Delivery]:
    """Take up to `limit` due deliveries, each the oldest undelivered one of its queue."""
    o = tables.outbox
    earlier = o.alias("earlier")
    now = utcnow()
    due = or_(
        and_(o.c.status == "pending", o.c.next_attempt_at <= now),
        and_(o.c.status == "sending", o.c.lease_until < now),  # its worker died
    )
    blocked = exists().where(
        earlier.c.queue == o.c.queue, earlier.c.status.in_(ACTIVE), earlier.c.pk < o.c.pk
    )
    query = (
        select(o)
        .where(o.c.status.in_(ACTIVE), o.c.next_attempt_at <= now, due, ~blocked)
        .order_by(o.c.next_attempt_at, o.c.pk)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=o)
    rows = list((await conn.execute(query)).mappings())
    if not rows:
        return []
    await conn.execute(
        o.update()
        .where(o.c.pk.in_([r["pk"] for r in rows]))
        .values(status="sending", lease_until=now + timedelta(seconds=lease), date_updated=now)
    )
    return [
        Delivery(
            r["pk"],
            r["token"],
            r["account_sid"],
            r["kind"],
            r["event"],
            r["url"],
            r["method"],
            orjson.loads(r["params"]),
            r["retry_limit"],
            r["attempts"],
        )
        for r in rows
    ]


async def finish(
    conn: Connection,
    tables: Tables,
    delivery: Delivery,
    *,
    status: str,
    error: str | None = None,
    retry_in: float | None = None,
) -> None:
    """Record an attempt: delivered, failed for good, or pending again after `retry_in` seconds."""
    o = tables.outbox
    now = utcnow()
    values: dict[str, Any] = {
        "status": status,
        "attempts": delivery.attempts + 1,
        "last_error": error,
        "lease_until": None,
        "date_updated": now,
    }
    if retry_in is not None:
        values["next_attempt_at"] = now + timedelta(seconds=retry_in)
    await conn.execute(o.update().where(o.c.pk == delivery.pk).values(**values))


async def depth(conn: Connection, tables: Tables) -> int:
    """Deliveries not yet delivered or failed."""
    o = tables.outbox
    query = select(func.count()).select_from(o).where(o.c.status.in_(ACTIVE))
    return int((await conn.execute(query)).scalar() or 0)


async def listing(
    conn: Connection,
    tables: Tables,
    status: str | None = None,
    service_sid: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    o = tables.outbox
    query = select(o).order_by(o.c.pk.desc()).limit(limit)
    if status:
        query = query.where(o.c.status == status)
    if service_sid:
        query = query.where(o.c.service_sid == service_sid)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def retry(
    conn: Connection, tables: Tables, pk: int | None = None, all_failed: bool = False
) -> int:
    """Send failed deliveries again (their attempts start over); how many were requeued."""
    o = tables.outbox
    statement = o.update().where(o.c.status == "failed")
    if not all_failed:
        statement = statement.where(o.c.pk == pk)
    now = utcnow()
    result = await conn.execute(
        statement.values(status="pending", attempts=0, next_attempt_at=now, date_updated=now)
    )
    return int(result.rowcount)
