"""`python -m bench.dashboard`: what a service's dashboard costs as its month of messages grows.

The dashboard (`ops/stats.py`) reads the service's messages per channel and hour
(`message_hours`), never the messages, so its cost must stay flat while the messages grow: the
non-negotiable "no request does work proportional to the size of the database". This fills
one service's channels with messages spread evenly over the last 30 days (`bench/preload.py`,
through chinwag's own tables) and times `service_stats` at each size, in process, median of
`--tries`; JSON on stdout, a table on stderr.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bench.inprocess import create, new_service, on_each_database, options, say
from bench.preload import preload
from chinwag import clock
from chinwag.ops.actions import perform
from chinwag.ops.stats import DAYS, service_stats
from chinwag.resources import TABLES


async def measure(
    database: str, sizes: list[int], channels: int, tries: int
) -> list[dict[str, Any]]:
    """Per size (messages, growing): the dashboard's median and longest read, and what it read."""
    async with new_service(database) as (runtime, account, sid):
        made = [
            await perform(
                runtime,
                create(
                    account,
                    "channel",
                    f"/v2/Services/{sid}/Channels",
                    {"ServiceSid": sid},
                    {"FriendlyName": f"c{n}"},
                ),
            )
            for n in range(channels)
        ]
        channel_sids = [str(c.row["sid"]) for c in made if c.row is not None]
        now = clock.utcnow()
        month = timedelta(days=DAYS).total_seconds()
        results, have = [], 0
        for size in sizes:
            per_channel = (size - have) // channels
            for channel_sid in channel_sids:  # each size's new messages spread over the month
                step = month / per_channel

                def dated(n: int, step: float = step) -> Any:
                    return now - timedelta(seconds=month - n * step)

                await preload(database, channel_sid, per_channel, set(), dated=dated)
            have += per_channel * channels
            times = []
            for _ in range(tries):
                began = time.perf_counter()
                stats = await service_stats(runtime, account, sid)
                times.append((time.perf_counter() - began) * 1000)
            async with runtime.db.read() as conn:
                hours = TABLES.message_hours
                rows = (await conn.execute(select(func.count()).select_from(hours))).scalar()
            results.append(
                {
                    "messages": have,
                    "counted_in_month": stats.messages_month,
                    "hour_rows": int(rows or 0),
                    "median_ms": round(statistics.median(times), 2),
                    "max_ms": round(max(times), 2),
                }
            )
            say(
                f"  {have:>9,} messages ({stats.messages_month:,} in the month, {rows:,} hour rows): dashboard {statistics.median(times):7.2f} ms"
            )
        return results


def main() -> None:
    args = options(
        "python -m bench.dashboard",
        __doc__,
        "10000,100000,1000000",
        "messages in the month",
        lambda parser: parser.add_argument("--channels", type=int, default=10),
    )
    heading = f"{args.channels} channels, messages spread over the last {DAYS} days"

    def measured(database: str) -> Any:
        return measure(database, args.sizes, args.channels, args.tries)

    out = {"sizes": args.sizes, "channels": args.channels, "tries": args.tries}
    print(json.dumps({**out, **on_each_database(args, heading, measured)}, indent=2))


if __name__ == "__main__":
    main()
