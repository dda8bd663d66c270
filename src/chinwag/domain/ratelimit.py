"""Twilio's Chat rate limits (`--rate-limits twilio`): 30 actions per second, averaged over 5 s.

Twilio's Chat Limits page and its changelog of 2020-03-31: writes are limited to 30 actions per
second separately for each channel (channel update; member, message and invite create, update
and delete) and to 30 per second for the service as a whole (channel create and delete; user
and role create, update and delete; binding delete), averaged over a 5-second window, and
answered with 429 (50063 for a channel, 50074 for the service). Reads are never limited.

"Averaged over 5 seconds" is kept exactly: an action is refused when 150 (30 x 5) actions of
its bucket already happened in the last 5 seconds. Each performed action is a row of
`rate_actions` (bucket, time in ms), written in the request's own transaction, so a request that
fails or is refused counts for nothing, and the count is shared by every process and server on
the database. The bucket is locked for the transaction (PostgreSQL: an advisory lock; SQLite
has one writer at a time), so concurrent requests cannot both take the last slot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import or_, select, text

from chinwag import clock
from chinwag.context import Context
from chinwag.model.errors import ApiError

Scope = Literal["channel", "service"]

# Which bucket each write charges (Twilio's lists; the rest of chinwag's writes follow them).
SCOPES: dict[tuple[str, str], Scope] = {
    ("channel", "create"): "service",
    ("channel", "delete"): "service",
    ("channel", "update"): "channel",
    **{(res, act): "channel" for res in ("member", "message") for act in ("create", "update")},
    **{(res, "delete"): "channel" for res in ("member", "message", "invite")},
    ("invite", "create"): "channel",
    # A user channel is a membership: updating or leaving it is a member update or delete.
    ("user_channel", "update"): "channel",
    ("user_channel", "delete"): "channel",
    # Channel webhooks change the channel's configuration, as a channel update does.
    **{("channel_webhook", act): "channel" for act in ("create", "update", "delete")},
    **{(res, act): "service" for res in ("user", "role") for act in ("create", "update", "delete")},
    ("binding", "delete"): "service",
    ("user_binding", "delete"): "service",
    ("binding", "create"): "service",  # chinwag's registration endpoint, as a client SDK's
}

ERRORS: dict[Scope, tuple[int, str]] = {
    "channel": (50063, "Actions per second limit exceeded"),
    "service": (50074, "Global actions per second limit exceeded"),
}


@dataclass(frozen=True)
class Window:
    """`rate` actions per second averaged over `seconds`: at most rate x seconds in any window."""

    rate: int = 30
    seconds: int = 5

    @property
    def capacity(self) -> int:
        return self.rate * self.seconds

    def cutoff(self, now_ms: int) -> int:
        """Actions at or before this instant have left the window that ends now."""
        return now_ms - self.seconds * 1000

    def wait_ms(self, oldest_counted: int | None, now_ms: int) -> int:
        """How long an action must wait; 0 when it may run now.

        `oldest_counted` is the time of the `capacity`-th newest action still in the window
        (None when fewer are): once it leaves the window, there is room again.
        """
        if oldest_counted is None or oldest_counted <= self.cutoff(now_ms):
            return 0
        return oldest_counted + self.seconds * 1000 - now_ms

    @staticmethod
    def retry_after(wait_ms: int) -> int:
        """Whole seconds for a `Retry-After` header: never 0, never too early."""
        return max(1, math.ceil(wait_ms / 1000))


TWILIO = Window()


class RateLimited(ApiError):
    """429 with Twilio's code for the bucket, and `Retry-After`."""

    def __init__(self, scope: Scope, wait_ms: int) -> None:
        code, message = ERRORS[scope]
        super().__init__(429, code, message)
        self.headers = {"Retry-After": str(TWILIO.retry_after(wait_ms))}


async def _bucket(call: Context, scope: Scope) -> str | None:
    """The SID of the channel or service an action is counted against."""
    if scope == "service":
        return str(call.parent("service")["sid"])
    if "channel" in call.parents:
        return str(call.parent("channel")["sid"])
    if call.resource.name == "channel":
        return None if call.preloaded is None else str(call.preloaded["sid"])
    # A user channel names its channel in the path, by SID or unique name.
    ident = call.path_params[call.resource.instance_param]
    channels = call.tables["channel"]
    query = select(channels.c.sid).where(
        channels.c.service_sid == call.parent("service")["sid"],
        or_(channels.c.sid == ident, channels.c.unique_name == ident),
    )
    sid = (await call.conn.execute(query.limit(1))).scalar()
    return None if sid is None else str(sid)


async def charge(call: Context, window: Window = TWILIO) -> None:
    """Count the call's action in its bucket, or refuse it with 429 when the bucket is full.

    Runs inside the action's write transaction, before the action.
    """
    scope = SCOPES.get((call.resource.name, call.action))
    if scope is None:
        return
    bucket = await _bucket(call, scope)
    if bucket is None:
        return  # nothing to count against: the action itself answers 404
    conn, log = call.conn, call.tables.rate_actions
    now = clock.now_ms()  # shared by every process and host: the database's clock
    cutoff = window.cutoff(now)
    values = {"bucket": bucket, "cutoff": cutoff, "now": now, "skip": window.capacity - 1}
    if conn.dialect.name == "postgresql":
        # The lock first, in a statement of its own: the next one's snapshot must see the
        # actions committed by whoever held it before.
        await conn.execute(PG_LOCK, {"bucket": bucket})
        oldest = (await conn.execute(PG_CHARGE, values)).scalar()
    else:  # one writer at a time: no lock needed
        await conn.execute(log.delete().where(log.c.bucket == bucket, log.c.at <= cutoff))
        query = (
            select(log.c.at)
            .where(log.c.bucket == bucket, log.c.at > cutoff)
            .order_by(log.c.at.desc())
            .offset(window.capacity - 1)
            .limit(1)
        )
        oldest = (await conn.execute(query)).scalar()
        if window.wait_ms(oldest, now) == 0:
            await conn.execute(log.insert().values(bucket=bucket, at=now))
    wait = window.wait_ms(oldest, now)
    if wait > 0:
        raise RateLimited(scope, wait)


PG_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:bucket, 0))")
# Prune, count and (when there is room) add the action, in one round trip.
PG_CHARGE = text(
    """
    WITH gone AS (DELETE FROM rate_actions WHERE bucket = :bucket AND at <= :cutoff),
    oldest AS (
        SELECT at FROM rate_actions WHERE bucket = :bucket AND at > :cutoff
        ORDER BY at DESC OFFSET :skip LIMIT 1
    ),
    added AS (
        INSERT INTO rate_actions (bucket, at)
        SELECT CAST(:bucket AS varchar), CAST(:now AS bigint)
        WHERE NOT EXISTS (SELECT 1 FROM oldest)
    )
    SELECT (SELECT at FROM oldest)
    """
)
