"""A service's numbers for its dashboard: messages over time, active channels, deliveries.

Every count is a range read of an index, never a scan of a table: messages through
`(service_sid, date_created, channel_sid)` (index-only: the hours and the channels are in the
index), deliveries through the outbox's `(service_sid, status, pk)`. The message counts read
the index entries of the last 30 days of that one service, so their cost follows its traffic
in that window, not the size of the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, select

from chinwag import clock
from chinwag.model.errors import NotFound
from chinwag.ops.deliveries import STATUSES
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account
from chinwag.store.db import Connection

HOURS = 24  # the hourly chart: the last 24 hours, the current one included
DAYS = 30  # the daily chart: the last 30 days (UTC), today included
BUSIEST = 5  # channels listed as the day's busiest


@dataclass(frozen=True)
class ChannelActivity:
    sid: str
    friendly_name: str | None
    unique_name: str | None
    messages: int  # in the last 24 hours


@dataclass(frozen=True)
class ServiceStats:
    service_sid: str
    friendly_name: str
    now: datetime
    hourly: list[tuple[datetime, int]]  # HOURS buckets, oldest first: (hour's start, messages)
    daily: list[tuple[date, int]]  # DAYS buckets, oldest first: (day, messages)
    channels: int  # all of the service's channels
    active_day: int  # channels with a message in the last 24 hours
    active_week: int  # ... in the last 7 days
    busiest: list[ChannelActivity]  # the most messages in the last 24 hours, most first
    deliveries: dict[str, int]  # by outcome (ops.deliveries.STATUSES), zero included

    @property
    def messages_day(self) -> int:
        return sum(n for _, n in self.hourly)

    @property
    def messages_month(self) -> int:
        return sum(n for _, n in self.daily)


def _hour(conn: Connection, column: Any) -> ColumnElement[Any]:
    """A date's UTC hour, in the database's own terms and cheaply (no arithmetic per row).
    Constants are literal so that GROUP BY repeats the very same expression."""
    if conn.dialect.name == "postgresql":  # a timestamp without zone, in UTC
        utc = column.op("AT TIME ZONE")(literal_column("'UTC'"))
        hour: ColumnElement[Any] = func.date_trunc(literal_column("'hour'"), utc)
        return hour
    # SQLite keeps UTC dates as text, "YYYY-MM-DD HH:MM:SS...": the hour is its first 13.
    return func.substr(column, literal_column("1"), literal_column("13"))


def _hour_start(value: datetime | str) -> datetime:
    """What `_hour` gave, as the aware start of that hour."""
    if isinstance(value, str):
        value = datetime.strptime(value, "%Y-%m-%d %H")  # noqa: DTZ007  (UTC, made aware below)
    return value.replace(tzinfo=UTC)


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
    messages = runtime.tables["message"]
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    first_day = now.date() - timedelta(days=DAYS - 1)
    since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    hour = _hour(conn, messages.c.date_created).label("hour")
    query = (
        select(hour, func.count().label("n"))
        .where(messages.c.service_sid == service_sid, messages.c.date_created >= since)
        .group_by(hour)
    )
    per_hour = {_hour_start(h): int(n) for h, n in await conn.execute(query)}
    hours = [this_hour - timedelta(hours=h) for h in range(HOURS - 1, -1, -1)]
    hourly = [(h, per_hour.get(h, 0)) for h in hours]
    per_day = {first_day + timedelta(days=d): 0 for d in range(DAYS)}
    for h, n in per_hour.items():
        if h.date() in per_day:  # a message dated in the future is in no bucket
            per_day[h.date()] += n
    return hourly, sorted(per_day.items())


async def _channel_counts(
    runtime: Runtime, conn: Connection, service_sid: str, now: datetime
) -> tuple[int, int, int]:
    """All channels, and those with a message in the last day and week (one range read)."""
    channels, messages = runtime.tables["channel"], runtime.tables["message"]
    total = await conn.execute(
        select(func.count()).select_from(channels).where(channels.c.service_sid == service_sid)
    )
    day_ago = now - timedelta(days=1)
    in_day = case((messages.c.date_created >= day_ago, messages.c.channel_sid))
    query = select(
        func.count(func.distinct(in_day)), func.count(func.distinct(messages.c.channel_sid))
    ).where(
        messages.c.service_sid == service_sid,
        messages.c.date_created >= now - timedelta(days=7),
    )
    day, week = (await conn.execute(query)).one()
    return int(total.scalar() or 0), int(day), int(week)


async def _busiest(
    runtime: Runtime, conn: Connection, service_sid: str, now: datetime
) -> list[ChannelActivity]:
    channels, messages = runtime.tables["channel"], runtime.tables["message"]
    n = func.count().label("n")
    counts = (
        select(messages.c.channel_sid, n)
        .where(
            messages.c.service_sid == service_sid,
            messages.c.date_created >= now - timedelta(days=1),
        )
        .group_by(messages.c.channel_sid)
        .order_by(n.desc(), messages.c.channel_sid)
        .limit(BUSIEST)
        .subquery("counts")
    )
    query = (
        select(channels.c.sid, channels.c.friendly_name, channels.c.unique_name, counts.c.n)
        .join(counts, counts.c.channel_sid == channels.c.sid)
        .order_by(counts.c.n.desc(), channels.c.sid)
    )
    return [ChannelActivity(*row) for row in await conn.execute(query)]


async def _deliveries(runtime: Runtime, conn: Connection, service_sid: str) -> dict[str, int]:
    """The service's deliveries kept in the outbox, by outcome (a delivery being sent is
    pending)."""
    o = runtime.tables.outbox
    query = (
        select(o.c.status, func.count())
        .where(o.c.service_sid == service_sid)  # the account's: its service was checked
        .group_by(o.c.status)
    )
    outcome = {status: name for name, statuses in STATUSES.items() for status in statuses}
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in await conn.execute(query):
        counts[outcome[status]] += int(n)
    return counts
