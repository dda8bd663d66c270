"""One account's webhook and push deliveries: listed by status, and the failed ones retried.

The outbox (events/outbox.py) keeps every delivery with its status; finished ones stay for a
while (`outbox.KEPT`) so an operator can see what was delivered and retry what failed. Every
function here is scoped to one account: another account's deliveries are never listed,
counted or retried, whatever SID or number is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, select

from chinwag.events import outbox
from chinwag.model.errors import InvalidParameter
from chinwag.ops.paging import Page, PageRequest, fetch_window
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account

# What an operator sees, and the outbox statuses behind it: a delivery being sent is pending.
STATUSES: dict[str, tuple[str, ...]] = {
    "pending": outbox.ACTIVE,
    "failed": ("failed",),
    "delivered": ("delivered",),
}
PK_MAX = 2**63 - 1  # a number past BIGINT names no delivery (and must not reach the driver)
COLUMNS = (
    "pk",
    "service_sid",
    "kind",
    "event",
    "url",
    "method",
    "status",
    "attempts",
    "retry_limit",
    "last_status",
    "last_error",
    "next_attempt_at",
    "date_created",
    "date_updated",
)


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries: one status (STATUSES), and optionally one service and one event."""

    status: str = "failed"
    service_sid: str | None = None
    event: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InvalidParameter("Status", f"must be one of {', '.join(STATUSES)}")


async def list_deliveries(
    runtime: Runtime, account: Account, which: DeliveryFilter, page: PageRequest
) -> Page:
    """A page of the account's deliveries of `which`, newest first, keyset-paged on `pk`
    (their parameters left out: `get_delivery` has them)."""
    o = runtime.tables.outbox
    query = select(*(o.c[name] for name in COLUMNS))
    scope, matches = _scope(runtime, account, which), _events(runtime, which)
    statuses = (o.c.status, STATUSES[which.status])
    async with runtime.db.read() as conn:
        return await fetch_window(
            conn, query, o.c.pk, scope, matches, page, descending=True, among=statuses
        )


async def get_delivery(runtime: Runtime, account: Account, pk: int) -> Mapping[str, Any] | None:
    """One delivery of the account, with its parameters decoded; None if it has no such one."""
    if not 0 < pk <= PK_MAX:
        return None
    o = runtime.tables.outbox
    query = select(o).where(o.c.account_sid == account.sid, o.c.pk == pk)
    async with runtime.db.read() as conn:
        row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    found = {name: row[name] for name in COLUMNS}
    found["params"] = orjson.loads(row["params"])
    return found


async def retry(runtime: Runtime, account: Account, pk: int) -> bool:
    """Send one failed delivery of the account again; False if it has no such failed one."""
    if not 0 < pk <= PK_MAX:
        return False
    o = runtime.tables.outbox
    return await _requeue(runtime, o.c.account_sid == account.sid, o.c.pk == pk) == 1


async def retry_failed(runtime: Runtime, account: Account, which: DeliveryFilter) -> int:
    """Send again every failed delivery of the account that `which` names (its status aside:
    only failed ones are retried); how many."""
    failed = DeliveryFilter("failed", which.service_sid, which.event)
    scope, matches = _scope(runtime, account, failed), _events(runtime, failed)
    deliverer = runtime.deliverer
    requeued = deliverer.notify if deliverer is not None else None
    return await outbox.requeue_failed(runtime.db, runtime.tables, scope, matches, requeued)


def _scope(runtime: Runtime, account: Account, which: DeliveryFilter) -> list[ColumnElement[bool]]:
    """The rows of `which`'s service, always within the account: with each of the status's
    values, a range of the index `(account_sid, status, pk)`, or `(service_sid, status, pk)`
    with a service."""
    o = runtime.tables.outbox
    where = [o.c.account_sid == account.sid]
    if which.service_sid:
        where.append(o.c.service_sid == which.service_sid)
    return where


def _events(runtime: Runtime, which: DeliveryFilter) -> list[ColumnElement[bool]]:
    """`which`'s event, if named: in no index (a page reads a bounded window for it)."""
    o = runtime.tables.outbox
    return [o.c.event == which.event] if which.event else []


async def _requeue(runtime: Runtime, *where: ColumnElement[bool]) -> int:
    async with runtime.db.write() as conn:
        count = await outbox.requeue(conn, runtime.tables, *where)
    if count and runtime.deliverer is not None:
        runtime.deliverer.notify()  # due now: no need to wait for the deliverer's next poll
    return count
