"""`python -m bench.filters`: a filtered list page as the rows it skips grow.

A service of many private channels and a few public ones: the default channel list (Type
public) and `Type=private`, `Type=public&Type=private`, no filter, each timed through the
operations layer at each size (median of `--tries`). With the filter's own index range in
keyset order (`(service_sid, type, pk)`, migration 0009) a page reads its rows and stops; a scan
of the keyset index would read every private channel to find the public ones. Channels are
written straight into chinwag's table, as `bench/preload.py` writes messages. JSON on stdout.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.inprocess import RESOURCES, create, new_service, on_each_database, options, say
from chinwag import times
from chinwag.model.params import Form
from chinwag.ops.actions import Operation, perform
from chinwag.resources import TABLES
from chinwag.sids import new_sid
from chinwag.store.db import async_url

PUBLIC = 10  # public channels among the private ones
FILTERS = {
    "default (public)": [],
    "Type=private": [("Type", "private")],
    "Type=public&Type=private": [("Type", "public"), ("Type", "private")],
}
BATCH = 10_000


async def _add_private(database: str, account_sid: str, service_sid: str, count: int) -> None:
    engine = create_async_engine(async_url(database))
    now = times.now()
    try:
        for start in range(0, count, BATCH):
            rows = [
                {
                    "sid": new_sid("CH"),
                    "account_sid": account_sid,
                    "service_sid": service_sid,
                    "type": "private",
                    "members_count": 0,
                    "messages_count": 0,
                    "message_counter": 0,
                    "date_created": now,
                    "date_updated": now,
                }
                for _ in range(min(BATCH, count - start))
            ]
            async with engine.begin() as conn:
                await conn.execute(TABLES["channel"].insert(), rows)
        async with engine.begin() as conn:  # the statistics autovacuum would gather by now
            await conn.execute(text("ANALYZE channels"))
    finally:
        await engine.dispose()


async def measure(database: str, sizes: list[int], tries: int) -> list[dict[str, Any]]:
    """Per size (private channels, growing): each filter's page time, median ms, and rows."""
    async with new_service(database) as (runtime, account, sid):
        path = f"/v2/Services/{sid}/Channels"
        for _ in range(PUBLIC):
            await perform(runtime, create(account, "channel", path, {"ServiceSid": sid}, {}))
        results, have = [], 0
        for size in sizes:
            await _add_private(database, account.sid, sid, size - have)
            have = size
            row: dict[str, Any] = {"private_channels": size}
            for name, pairs in FILTERS.items():
                spent = []
                for _ in range(tries):
                    op = Operation(
                        RESOURCES["channel"],
                        "list",
                        "v2",
                        account,
                        path,
                        {"ServiceSid": sid},
                        Form(pairs),
                    )
                    began = time.perf_counter()
                    listed = await perform(runtime, op)
                    spent.append((time.perf_counter() - began) * 1000)
                row[name] = round(statistics.median(spent), 2)
                row[f"{name}: rows"] = len(listed.listing.rows) if listed.listing else 0
            results.append(row)
            say(f"  {size:>9,} private channels: " + ", ".join(f"{k} {row[k]} ms" for k in FILTERS))
        return results


def main() -> None:
    args = options("python -m bench.filters", __doc__, "1000,100000,1000000", "private channels")

    def measured(database: str) -> Any:
        return measure(database, args.sizes, args.tries)

    heading = f"{PUBLIC} public channels among the private ones"
    out = {"sizes": args.sizes, "public_channels": PUBLIC, "tries": args.tries}
    print(json.dumps({**out, **on_each_database(args, heading, measured)}, indent=2))


if __name__ == "__main__":
    main()
