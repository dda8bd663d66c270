"""A channel's messages per UTC hour, kept with the messages: the dashboard's source.

Each message counts in the `message_hours` row of its channel and the UTC hour of its
`date_created`, written in the message's own transaction: a create adds one (on PostgreSQL the
row rides on the create's next statement, no round trip of its own), a delete takes one off, an
update that moves `DateCreated` moves it. A channel's rows go with the channel (its foreign key
cascades). So the dashboard reads at most a row per channel and hour of its window, however many
messages those hours hold, and nothing of the messages table.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chinwag.context import Context, Row
from chinwag.store import statements

SECONDS = 3600


def hour_of(when: datetime) -> int:
    """The UTC hour `when` falls in, as hours since the epoch (a naive `when` is UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) // SECONDS


def hour_start(hour: int) -> datetime:
    """The aware start of hour `hour` (hours since the epoch)."""
    return datetime.fromtimestamp(hour * SECONDS, UTC)


async def count(call: Context, message: Row) -> None:
    """`message`, just created (or moved to its new date), counts in its hour."""
    values = {
        "channel_sid": message["channel_sid"],
        "service_sid": message["service_sid"],
        "hour": hour_of(message["date_created"]),
        "messages": 1,
    }
    await call.conn.insert_later(call.tables.message_hours, values, adding=("messages",))


async def uncount(call: Context, message: Row) -> None:
    """`message`, about to be deleted (or moved from its date), no longer counts in its hour
    (a row that falls to 0 stays: the reads skip it)."""
    statement = statements.update_returning(
        call.tables.message_hours, (), ("channel_sid", "hour"), returning=(), added=("messages",)
    )
    params = {
        "w_channel_sid": message["channel_sid"],
        "w_hour": hour_of(message["date_created"]),
        "a_messages": -1,
    }
    await call.conn.execute(statement, params)


async def move(call: Context, message: Row, to: datetime) -> None:
    """`message` now dated `to`: it counts in that hour instead. The earlier hour's row is
    written first, so two moves between the same hours lock their rows in the same order."""
    before, after = hour_of(message["date_created"]), hour_of(to)
    if before == after:
        return
    moved = {**message, "date_created": to}
    if after < before:
        await count(call, moved)
        await uncount(call, message)
    else:
        await uncount(call, message)
        await count(call, moved)
