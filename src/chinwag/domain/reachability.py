"""Reachability: whether a user is online and notifiable, as Twilio's User resource reports it.

Two counters on the user's row hold the state, each NULL until the first event ever happens:
`online_connections` (open client connections; NULL = never been online) and
`push_registrations` (push bindings; NULL = never had one). Twilio reports `is_online` and
`is_notifiable` as null in both "never" cases, and as true/false afterwards, so a counter that
has left NULL never returns to it. Counters move by one atomic UPDATE, so several connections,
processes and servers keep them exact.

The real-time front door (the SDK's WebSocket) calls `connected` / `disconnected`; every way a
push binding is made or removed calls `registrations_changed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, case, func

from chinwag.store.db import Connection


async def _move(conn: Connection, users: Table, user_sid: str, column: str, by: int) -> None:
    """Add `by` to a NULL-until-first-use counter, never below 0."""
    current = func.coalesce(users.c[column], 0) + by
    value = case((current < 0, 0), else_=current)
    await conn.execute(users.update().where(users.c.sid == user_sid).values({column: value}))


async def connected(conn: Connection, users: Table, user_sid: str) -> None:
    """A client of the user connected: the user is online (and has now been online)."""
    await _move(conn, users, user_sid, "online_connections", 1)


async def disconnected(conn: Connection, users: Table, user_sid: str) -> None:
    """A client of the user went away: offline once its last connection has gone."""
    await _move(conn, users, user_sid, "online_connections", -1)


async def registrations_changed(
    conn: Connection, users: Table, changes: Iterable[tuple[str, int]]
) -> None:
    """Push bindings were added (+n) or removed (-n) for these users."""
    for user_sid, by in changes:
        if by:
            await _move(conn, users, user_sid, "push_registrations", by)


def is_online(service: Mapping[str, Any], user: Mapping[str, Any]) -> bool | None:
    """Twilio: null unless the service enables reachability and the user has ever been online."""
    count = user.get("online_connections")  # a pre-event preview may lack it
    if not service["reachability_enabled"] or count is None:
        return None
    return bool(count > 0)


def is_notifiable(service: Mapping[str, Any], user: Mapping[str, Any]) -> bool | None:
    """Twilio: true if a registration exists, false if none is left, null if there never was one
    or the service does not enable reachability."""
    count = user.get("push_registrations")
    if not service["reachability_enabled"] or count is None:
        return None
    return bool(count > 0)
