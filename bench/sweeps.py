"""`python -m bench.sweeps`: deleting a channel as its messages grow, and what other writes wait.

At each size N a new channel gets N messages (`bench.preload`) and N items in its Sync message
list (the client SDK's copy, one item a message, as creates leave it). While one client creates
messages in another channel, one after the other (the "probe": any write of any account would
wait the same on SQLite's one writer), the channel is deleted through the operations layer and
the server's `Sweeper` removes what the delete left (`store/sweeper.py`). Figures: the delete's
own time, the seconds until nothing is left to sweep, and the probe's creates meanwhile (count,
p50, p99, max: the longest any write waited). Run against sources without the sweeper (an older
commit first on the path), the delete removes everything itself and `sweep_s` is 0. JSON on
stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.inprocess import create, new_service, on_each_database, options, say
from bench.preload import preload
from chinwag import times
from chinwag.model.params import Form
from chinwag.ops.actions import Operation, perform
from chinwag.resources import REGISTRY, TABLES
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account
from chinwag.store.db import async_url
from chinwag.sync.projection import channel_names, project

try:  # absent from the sources before the sweeper: the delete then removes everything itself
    from chinwag.store.sweeper import Sweeper, pending
except ImportError:  # pragma: no cover - only with an older commit's sources
    Sweeper = None  # type: ignore[assignment,misc]

ITEMS_BATCH = 10_000
RESOURCES = {res.name: res for res in REGISTRY}


async def _channel(runtime: Runtime, account: Account, service: str, name: str) -> str:
    path = f"/v2/Services/{service}/Channels"
    made = await perform(
        runtime, create(account, "channel", path, {"ServiceSid": service}, {"FriendlyName": name})
    )
    if made.row is None:
        raise RuntimeError("the channel was not made")
    return str(made.row["sid"])


async def _add_items(
    runtime: Runtime, database: str, service: str, channel: str, count: int
) -> None:
    """`count` items in the channel's Sync message list, as `count` message creates leave it."""
    t, i = TABLES.sync_objects, TABLES.sync_items
    name = channel_names(channel)["messages"]
    async with runtime.db.read() as conn:
        query = select(t.c.sid).where(t.c.service_sid == service, t.c.unique_name == name)
        listed = str((await conn.execute(query)).scalar())
    now = times.now()
    engine = create_async_engine(async_url(database))
    for start in range(0, count, ITEMS_BATCH):
        rows = [
            {
                "object_sid": listed,
                "item_index": n,
                "data": '{"body": "preloaded"}',
                "revision": 0,
                "last_event_id": 1_000_000_000 + n,
                "date_created": now,
                "date_updated": now,
            }
            for n in range(start, min(count, start + ITEMS_BATCH))
        ]
        async with engine.begin() as conn:
            await conn.execute(insert(i), rows)
    await engine.dispose()


async def _probe(
    runtime: Runtime, account: Account, service: str, channel: str, spent: list[float]
) -> None:
    """Create messages in `channel` one after the other, noting each one's milliseconds."""
    path = f"/v2/Services/{service}/Channels/{channel}/Messages"
    params = {"ServiceSid": service, "ChannelSid": channel}
    while True:
        began = time.perf_counter()
        await perform(runtime, create(account, "message", path, params, {"Body": "probe"}))
        spent.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(0.002)


async def _left(runtime: Runtime, channel: str) -> int:
    messages = TABLES["message"]
    async with runtime.db.read_aside() as conn:
        query = select(func.count()).where(messages.c.channel_sid == channel)
        return int((await conn.execute(query)).scalar())


async def _swept(runtime: Runtime, channel: str) -> None:
    """Return once none of the channel's messages is left, nor anything else to sweep (its
    Sync objects' items): the sweeper's pace, seconds."""
    for _ in range(36_000):  # at most an hour
        if not await _left(runtime, channel) and not await _sweeps(runtime):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{channel}'s messages were not swept within an hour")


async def _sweeps(runtime: Runtime) -> int:
    if Sweeper is None:
        return 0
    async with runtime.db.read() as conn:
        return await pending(conn, TABLES)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


async def measure(database: str, sizes: list[int]) -> list[dict[str, Any]]:
    async with new_service(database) as (runtime, account, service):
        runtime.observers.append(project)  # the Sync objects the client SDK reads, as served
        other = await _channel(runtime, account, service, "probe")
        sweeper = Sweeper(runtime.db, TABLES) if Sweeper is not None else None
        if sweeper is not None:
            runtime.sweeper = sweeper
            sweeper.start()
        results = []
        try:
            for size in sizes:
                doomed = await _channel(runtime, account, service, f"doomed-{size}")
                await preload(database, doomed, size, set())
                await _add_items(runtime, database, service, doomed, size)
                if await _left(runtime, doomed) != size:
                    raise RuntimeError(f"the channel holds not {size} messages")
                spent: list[float] = []
                probe = asyncio.create_task(_probe(runtime, account, service, other, spent))
                await asyncio.sleep(0.5)  # the probe's own pace first
                spent.clear()
                path = f"/v2/Services/{service}/Channels/{doomed}"
                params = {"ServiceSid": service, "Sid": doomed}
                began = time.perf_counter()
                deleted = await perform(
                    runtime,
                    Operation(RESOURCES["channel"], "delete", "v2", account, path, params, Form()),
                )
                delete_ms = (time.perf_counter() - began) * 1000
                await _swept(runtime, doomed)
                swept = time.perf_counter() - began - delete_ms / 1000
                probe.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await probe
                row = {
                    "messages": size,
                    "status": deleted.status,
                    "delete_ms": round(delete_ms, 1),
                    "sweep_s": round(swept, 2) if sweeper is not None else 0.0,
                    "probe_creates": len(spent),
                    "probe_p50_ms": _quantile(spent, 0.5),
                    "probe_p99_ms": _quantile(spent, 0.99),
                    "probe_max_ms": round(max(spent, default=0.0), 1),
                }
                say(f"  {row}")
                results.append(row)
        finally:
            if sweeper is not None:
                await sweeper.stop()
        return results


def main() -> None:
    args = options(
        "python -m bench.sweeps",
        __doc__,
        "10000,100000,1000000",
        "messages in each deleted channel, growing",
    )
    out = on_each_database(args, "channel deletes", lambda db: measure(db, args.sizes))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
