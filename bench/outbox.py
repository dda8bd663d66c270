"""`python -m bench.outbox`: one delivery cycle's claim as the outbox's backlog grows.

A receiver that is down for a day leaves its queue's deliveries pending behind a head that
waits for its next retry. Beside that backlog, a few healthy queues have one due delivery each.
At each size the claim the deliverer runs every cycle (`events.outbox.claim`, in a write
transaction, as `Deliverer._cycle` runs it) is timed (median of `--tries`), and checked to
have taken the healthy queues' heads and nothing of the stalled queue; then the console's
deliveries pages (`ops.deliveries.list_deliveries`: the pending tab, filtered by an event all
of them have and by one none has, and the failed tab), and the backlog's count that
`/metrics` reads (`outbox.depth`, bounded). On PostgreSQL the table is analysed
after each fill, as autovacuum would have by then: a plan cached while the table was small
would otherwise be timed at its new size. JSON on stdout.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine

from bench.inprocess import new_service, on_each_database, options, say
from chinwag import times
from chinwag.events import outbox
from chinwag.ops import deliveries
from chinwag.ops.deliveries import DeliveryFilter
from chinwag.ops.paging import PageRequest
from chinwag.resources import TABLES
from chinwag.store.db import async_url

# The console's deliveries pages (`ops.deliveries`), newest first, 50 a page.
LISTINGS = {
    "list_pending": DeliveryFilter("pending"),
    "list_pending_one_event": DeliveryFilter("pending", event="onMessageSent"),
    "list_pending_other_event": DeliveryFilter("pending", event="onChannelAdded"),
    "list_failed": DeliveryFilter("failed"),
}
HEALTHY = 10  # queues with one due delivery each, beside the stalled one
BATCH = 10_000


def _row(account_sid: str, service_sid: str, queue: str, n: int, at: Any) -> dict[str, Any]:
    return {
        "token": f"{queue}-{n:012d}",
        "account_sid": account_sid,
        "service_sid": service_sid,
        "queue": queue,
        "kind": "webhook",
        "event": "onMessageSent",
        "url": "http://127.0.0.1:9/down",
        "method": "POST",
        "params": "{}",
        "retry_limit": 5,
        "attempts": 0,
        "status": "pending",
        "next_attempt_at": at,
        "date_created": at,
        "date_updated": at,
    }


async def _add(database: str, rows: list[dict[str, Any]]) -> None:
    engine = create_async_engine(async_url(database))
    try:
        for start in range(0, len(rows), BATCH):
            async with engine.begin() as conn:
                await conn.execute(TABLES.outbox.insert(), rows[start : start + BATCH])
        if engine.dialect.name == "postgresql":  # what autovacuum would have gathered by now
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE outbox"))
    finally:
        await engine.dispose()


async def measure(database: str, sizes: list[int], tries: int) -> list[dict[str, Any]]:
    async with new_service(database) as (runtime, account, sid):
        now = times.now()
        later = now + timedelta(hours=1)
        stalled = [_row(account.sid, sid, "stalled", 0, now)]
        stalled[0].update(attempts=1, next_attempt_at=later)  # its head waits for a retry
        await _add(database, stalled)
        results, have, o = [], 1, TABLES.outbox
        for size in sizes:
            await _add(
                database, [_row(account.sid, sid, "stalled", n, now) for n in range(have, size)]
            )
            have = size
            healthy = [
                _row(account.sid, sid, f"healthy-{size}-{q}", 0, now) for q in range(HEALTHY)
            ]
            await _add(database, healthy)
            spent = []
            for _ in range(tries):
                began = time.perf_counter()
                async with runtime.db.write() as conn:
                    batches = await outbox.claim(conn, TABLES, 32, 200, 60.0)
                spent.append((time.perf_counter() - began) * 1000)
                queues = sorted(b[0].token.rsplit("-", 1)[0] for b in batches)
                if queues != sorted(r["queue"] for r in healthy):
                    raise RuntimeError(f"claimed {queues}")
                taken = [d.pk for b in batches for d in b]
                async with runtime.db.write() as conn:  # given back for the next try
                    await conn.execute(update(o).where(o.c.pk.in_(taken)).values(lease_until=None))
            async with runtime.db.write() as conn:  # delivered: the next size has its own
                await conn.execute(update(o).where(o.c.pk.in_(taken)).values(status="delivered"))
            row = {"pending": size, "claim_ms": round(statistics.median(spent), 2)}
            for name, which in LISTINGS.items():
                times_ms = []
                for _ in range(tries):
                    began = time.perf_counter()
                    page = await deliveries.list_deliveries(
                        runtime, account, which, PageRequest(50, 0)
                    )
                    times_ms.append((time.perf_counter() - began) * 1000)
                row[f"{name}_ms"] = round(statistics.median(times_ms), 2)
                row[f"{name}_rows"] = len(page.rows)
            counts_ms = []
            for _ in range(tries):  # /metrics' chinwag_outbox_depth
                began = time.perf_counter()
                async with runtime.db.read_aside() as conn:
                    row["depth"] = await outbox.depth(conn, TABLES)
                counts_ms.append((time.perf_counter() - began) * 1000)
            row["depth_ms"] = round(statistics.median(counts_ms), 2)
            say(f"  {row}")
            results.append(row)
        return results


def main() -> None:
    args = options(
        "python -m bench.outbox",
        __doc__,
        "10000,100000,1000000",
        "pending deliveries in the stalled queue, growing",
    )
    out = on_each_database(args, "claim", lambda db: measure(db, args.sizes, args.tries))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
