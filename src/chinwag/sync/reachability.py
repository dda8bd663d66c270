"""The user-info map's `reachability` item (`{online, notifiable}`), kept equal to the
counters on the user's row (domain/reachability.py), in the transaction that moved them.

The SDK listens for that item's updates and emits `userUpdated` with `online` / `notifiable`
among its `updateReasons`; an unchanged state writes no event.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import and_, select

from chinwag.store.db import Connection
from chinwag.store.tables import Tables
from chinwag.sync import engine
from chinwag.sync.chat import ensure_user_objects

ITEM = "reachability"


def state(user: dict[str, Any]) -> dict[str, bool]:
    """What the SDK shows: a counter that never moved (NULL) is false (as sync/chat.py makes
    the item)."""
    return {
        "online": bool(user.get("online_connections") or 0),
        "notifiable": bool(user.get("push_registrations") or 0),
    }


async def publish(conn: Connection, tables: Tables, service_sid: str, user_sid: str) -> None:
    """Write the user's reachability item if the service enables it and the state changed."""
    s, u, i = tables["service"], tables["user"], tables.sync_items
    enabled = (
        await conn.execute(select(s.c.reachability_enabled).where(s.c.sid == service_sid))
    ).scalar()
    if not enabled:
        return
    row = (await conn.execute(select(u).where(u.c.sid == user_sid))).first()
    if row is None:
        return  # the user was deleted meanwhile
    user = dict(row._mapping)
    objects = await ensure_user_objects(conn, tables, user, reachability=True)
    current = (
        await conn.execute(
            select(i.c.data).where(and_(i.c.object_sid == objects.info.sid, i.c.item_key == ITEM))
        )
    ).scalar()
    wanted = state(user)
    if current is not None and orjson.loads(current) == wanted:
        return
    await engine.set_item(conn, tables, objects.info.sid, ITEM, wanted)
