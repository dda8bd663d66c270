"""A service's numbers for its dashboard: messages over time, active channels, deliveries.

Every count is a range read of an index, never a scan of a table. Messages are counted per
channel and UTC hour as they are written (`domain/activity.py`): the charts, the active and the
busiest channels read the service's rows of the last 30 days through `(service_sid, hour,
channel_sid)`, at most one per channel and hour whatever the messages in it, never the
messages themselves. Channels are counted through `(service_sid, pk)` and
deliveries through the outbox's `(service_sid, status, pk)`, each up to COUNTED entries (the
dashboard says "more" past that). "The last 24 hours" are the hourly chart's buckets: the
current hour and the 23 before it; "the week" the current hour and the 167 before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from chinwag import clock
from chinwag.domain import activity
from chinwag.model.errors import NotFound
from chinwag.ops.deliveries import STATUSES
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account
from chinwag.store.db import Connection

HOURS = 24  # the hourly chart: the last 24 hours, the current one included
WEEK_HOURS = 7 * 24  # a channel active this week had a message in these hours
DAYS = 30  # the daily chart: the last 30 days (UTC), today included
BUSIEST = 5  # channels listed as the day's busiest
# Channels and deliveries are counted up to this many: a service's millions cost no more.
COUNTED = 10_000


@dataclass(frozen=True)
class ChannelActivity:
    sid: str
    friendly_name: str | None
    unique_name: str | None
    messages: int  # in the hourly chart's hours


@dataclass(frozen=True)
class ServiceStats:
    service_sid: str
    friendly_name: str
    now: datetime
    hourly: list[tuple[datetime, int]]  # HOURS buckets, oldest first: (hour's start, messages)
    daily: list[tuple[date, int]]  # DAYS buckets, oldest first: (day, messages)
    channels: int  # all of the service's channels, up to COUNTED + 1 (`more_than`)
    active_day: int  # channels with a message in the hourly chart's hours
    active_week: int  # ... in the last 7 x 24 hours (the current one included)
    busiest: list[ChannelActivity]  # the most messages in the hourly chart's hours, most first
    deliveries: dict[str, int]  # by outcome (ops.deliveries.STATUSES), zeros too; as channels

    @property
    def messages_day(self) -> int:
        return sum(n for _, n in self.hourly)

    @property
    def messages_month(self) -> int:
        return sum(n for _, n in self.daily)


async def service_stats(
    runtime: Runtime, account: Account, service_sid: str, now: datetime | None = None
) -> ServiceStats:
    """The dashboard of one of the account's services as of `now` (default: the present);
    404 for a service the account does not have."""
    now = (now or clock.utcnow()).astimezone(UTC)
    async with runtime.db.read_aside() as conn:  # a month of index entries: off the loop
        services = runtime.tables["service"]
        service = (
            await conn.execute(
                select(services.c.friendly_name).where(
                    services.c.account_sid == account.sid, services.c.sid == service_sid
                )
            )
        ).first()
        if service is None:
            raise NotFound(f"/Services/{service_sid}")
        hourly, daily = await _message_counts(runtime, conn, service_sid, now)
        channels, day, week = await _channel_counts(runtime, conn, service_sid, now)
        return ServiceStats(
            service_sid,
            service[0] or "",
            now,
            hourly,
            daily,
            channels,
            day,
            week,
            await _busiest(runtime, conn, service_sid, now),
            await _deliveries(runtime, conn, service_sid),
        )


async def _message_counts(
    runtime: Runtime, conn: Connection, service_sid: str, now: datetime
) -> tuple[list[tuple[datetime, int]], list[tuple[date, int]]]:
    """Per hour over the last DAYS days in one grouped range read; the days are summed here."""
    hours = runtime.tables.message_hours
    this_hour = activity.hour_of(now)
    first_day = now.date() - timedelta(days=DAYS - 1)
    since = activity.hour_of(datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC))
    query = (
        select(hours.c.hour, func.sum(hours.c.messages))
        .where(hours.c.service_sid == service_sid, hours.c.hour >= since)
        .group_by(hours.c.hour)
    )
    per_hour = {int(h): int(n) for h, n in await conn.execute(query)}
    hourly = [
        (activity.hour_start(h), per_hour.get(h, 0))
        for h in range(this_hour - HOURS + 1, this_hour + 1)
    ]
    per_day = {first_day + timedelta(days=d): 0 for d in range(DAYS)}
    for h, n in per_hour.items():
        day = activity.hour_start(h).date()
        if day in per_day:  # a message dated in the future is in no bucket
            per_day[day] += n
    return hourly, sorted(per_day.items())


def _active(hours: Any, service_sid: str, since: int) -> Any:
    """The service's rows of channels with messages in the hours from `since` on."""
    return (hours.c.service_sid == service_sid, hours.c.hour >= since, hours.c.messages > 0)


async def _channel_counts(
    runtime: Runtime, conn: Connection, service_sid: str, now: datetime
) -> tuple[int, int, int]:
    """All channels, and those with a message in the hourly chart's hours and in the week's
    (one range read)."""
    channels, hours = runtime.tables["channel"], runtime.tables.message_hours
    total = await _counted(conn, channels.c.pk, channels.c.service_sid == service_sid)
    day_since = activity.hour_of(now) - HOURS + 1
    in_day = case((hours.c.hour >= day_since, hours.c.channel_sid))
    query = select(
        func.count(func.distinct(in_day)), func.count(func.distinct(hours.c.channel_sid))
    ).where(*_active(hours, service_sid, activity.hour_of(now) - WEEK_HOURS + 1))
    day, week = (await conn.execute(query)).one()
    return total, int(day), int(week)


async def _busiest(
    runtime: Runtime, conn: Connection, service_sid: str, now: datetime
) -> list[ChannelActivity]:
    """The channels with the most messages in the hourly chart's hours."""
    channels, hours = runtime.tables["channel"], runtime.tables.message_hours
    n = func.sum(hours.c.messages).label("n")
    counts = (
        select(hours.c.channel_sid, n)
        .where(*_active(hours, service_sid, activity.hour_of(now) - HOURS + 1))
        .group_by(hours.c.channel_sid)
        .order_by(n.desc(), hours.c.channel_sid)
        .limit(BUSIEST)
        .subquery("counts")
    )
    query = (
        select(channels.c.sid, channels.c.friendly_name, channels.c.unique_name, counts.c.n)
        .join(counts, counts.c.channel_sid == channels.c.sid)
        .order_by(counts.c.n.desc(), channels.c.sid)
    )
    rows = await conn.execute(query)
    return [ChannelActivity(sid, name, unique, int(n)) for sid, name, unique, n in rows]


async def _deliveries(runtime: Runtime, conn: Connection, service_sid: str) -> dict[str, int]:
    """The service's deliveries kept in the outbox, by outcome (a delivery being sent is
    pending), each counted up to COUNTED."""
    o = runtime.tables.outbox
    return {
        name: await _counted(  # the account's: its service was checked
            conn, o.c.pk, o.c.service_sid == service_sid, o.c.status.in_(statuses)
        )
        for name, statuses in STATUSES.items()
    }


async def _counted(conn: Connection, column: Any, *where: Any) -> int:
    """How many rows `where` selects, read up to COUNTED + 1 index entries: past COUNTED the
    number says "more" (`more_than`), at a cost that stays bounded however many there are."""
    rows = select(column).where(*where).limit(COUNTED + 1).subquery()
    return int((await conn.execute(select(func.count()).select_from(rows))).scalar() or 0)


def more_than(n: int) -> bool:
    """Whether a count of the dashboard's stopped at COUNTED (there are more)."""
    return n > COUNTED
