"""Fill one channel with many messages through chinwag's own tables (SQLAlchemy Core).

Much faster than the HTTP API, and still the real schema: rows of `TABLES["message"]` with the
defaults chinwag's declaration gives a new message, indexes continuing the channel's counter,
and the channel's `message_counter`, `messages_count` and `last_message_sid` moved, and the
messages counted in their hours (`message_hours`), in the same transaction as each batch,
exactly as creates would leave them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from chinwag import times
from chinwag.domain.activity import hour_of
from chinwag.resources import TABLES
from chinwag.resources.messages import MESSAGE
from chinwag.sids import new_sid
from chinwag.store import statements
from chinwag.store.db import async_url

BATCH = 10_000
TIME_LIMIT = 1800.0


def _message_defaults() -> dict[str, Any]:
    return {
        f.column: f.default
        for f in (*MESSAGE.fields, *MESSAGE.extra_columns)
        if f.stored and not callable(f.default)
    }


async def preload(
    database: str,
    channel_sid: str,
    count: int,
    keep: set[int],
    progress: Callable[[int], None] | None = None,
    dated: Callable[[int], datetime] | None = None,
) -> tuple[dict[int, str], float]:
    """Append `count` messages to the channel, dated `dated(n)` for the n-th (default: now);
    the SIDs at the indexes in `keep`, and seconds."""
    messages, channels = TABLES["message"], TABLES["channel"]
    engine = create_async_engine(async_url(database), connect_args=_connect_args(database))
    defaults = _message_defaults()
    kept: dict[int, str] = {}
    began = time.monotonic()
    try:
        async with engine.connect() as conn:
            channel = (
                (await conn.execute(select(channels).where(channels.c.sid == channel_sid)))
                .mappings()
                .one()
            )
            await conn.rollback()
        first = int(channel["message_counter"] or 0)
        done = 0
        while done < count:
            if time.monotonic() - began > TIME_LIMIT:
                raise RuntimeError(f"preload passed {TIME_LIMIT:.0f}s after {done} messages")
            size = min(BATCH, count - done)
            now = times.now()
            rows = []
            for i in range(first + done, first + done + size):
                when = now if dated is None else dated(i - first)
                sid = new_sid("IM")
                if i in keep:
                    kept[i] = sid
                rows.append(
                    {
                        **defaults,
                        "sid": sid,
                        "account_sid": channel["account_sid"],
                        "service_sid": channel["service_sid"],
                        "channel_sid": channel_sid,
                        "body": f"preloaded message {i}",
                        "from": "bench-preload",
                        "index": i,
                        "date_created": when,
                        "date_updated": when,
                    }
                )
            per_hour = Counter(hour_of(row["date_created"]) for row in rows)
            scope = {"channel_sid": channel_sid, "service_sid": channel["service_sid"]}
            counts = [
                statements.params({**scope, "hour": hour, "messages": n})
                for hour, n in per_hour.items()
            ]
            async with engine.begin() as conn:
                await conn.execute(messages.insert(), rows)
                await conn.execute(
                    channels.update()
                    .where(channels.c.sid == channel_sid)
                    .values(
                        message_counter=channels.c.message_counter + size,
                        messages_count=channels.c.messages_count + size,
                        last_message_sid=rows[-1]["sid"],
                    )
                )
                await conn.execute(_counts_statement(engine.dialect.name), counts)
            done += size
            if progress is not None:
                progress(done)
    finally:
        await engine.dispose()
    return kept, time.monotonic() - began


def _connect_args(database: str) -> dict[str, Any]:
    return {"timeout": 60} if database.startswith("sqlite") else {}


def _counts_statement(dialect: str) -> Any:
    hours = TABLES.message_hours
    columns = ("channel_sid", "hour", "messages", "service_sid")
    return statements.insert_adding(hours, columns, ("messages",), dialect)
