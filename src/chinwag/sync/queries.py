"""Sync reads: an object by SID or unique name, item pages by keyset, events after an id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, or_, select

from chinwag import times
from chinwag.store.db import Connection
from chinwag.store.tables import Tables
from chinwag.sync.engine import SyncObject, items_url

MAX_PAGE = 100  # Sync's page size limit
DEFAULT_PAGE = 50


@dataclass(frozen=True)
class Event:
    event_id: int
    event_type: str
    payload: str  # JSON of the event without its id


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    has_before: bool  # items precede the first one in this order
    has_after: bool  # items follow the last one


async def find(conn: Connection, tables: Tables, service_sid: str, ident: str) -> SyncObject | None:
    """The live object whose SID or unique name is `ident`, in the service."""
    if "\x00" in ident:  # no object is named with one, and PostgreSQL refuses it as text
        return None
    t = tables.sync_objects
    which = t.c.sid == ident if ident[:2] in ("ET", "ES", "MP") else t.c.unique_name == ident
    query = select(t).where(and_(which, t.c.service_sid == service_sid, t.c.date_removed.is_(None)))
    row = (await conn.execute(query)).first()
    return SyncObject.of(row) if row else None


async def items_page(
    conn: Connection,
    tables: Tables,
    obj: SyncObject,
    *,
    start: int | str | None,
    inclusive: bool,
    descending: bool,
    size: int,
) -> Page:
    """Up to `size` items from `start` in key order: one keyset walk of the unique index."""
    i = tables.sync_items
    slot = i.c.item_index if obj.kind == "list" else i.c.item_key
    base = i.c.object_sid == obj.sid
    cond = base
    if start is not None:
        if descending:
            cond = and_(base, slot <= start if inclusive else slot < start)
        else:
            cond = and_(base, slot >= start if inclusive else slot > start)
    order = slot.desc() if descending else slot.asc()
    rows = (await conn.execute(select(i).where(cond).order_by(order).limit(size + 1))).all()
    has_after = len(rows) > size
    rows = rows[:size]
    has_before = False
    if rows and start is not None:
        first = rows[0]._mapping[slot.name]
        before = slot > first if descending else slot < first
        probe = select(i.c.pk).where(and_(base, before)).limit(1)
        has_before = (await conn.execute(probe)).first() is not None
    return Page([dict(r._mapping) for r in rows], has_before, has_after)


async def events_after(
    conn: Connection, tables: Tables, sid: str, after: int, limit: int
) -> list[Event]:
    """The object's logged events with ids above `after`, oldest first."""
    e = tables.sync_events
    query = (
        select(e.c.event_id, e.c.event_type, e.c.payload)
        .where(and_(e.c.object_sid == sid, e.c.event_id > after))
        .order_by(e.c.event_id)
        .limit(limit)
    )
    return [Event(int(r.event_id), r.event_type, r.payload) for r in await conn.execute(query)]


async def last_event_ids(conn: Connection, tables: Tables, sids: list[str]) -> dict[str, int]:
    """Each object's current last event id (removed objects too: their last is `*_removed`)."""
    t = tables.sync_objects
    query = select(t.c.sid, t.c.last_event_id).where(or_(*(t.c.sid == s for s in sids)))
    return {r.sid: int(r.last_event_id) for r in await conn.execute(query)} if sids else {}


def object_url(base: str, obj: SyncObject) -> str:
    return f"{base}/v3/{obj.kind.capitalize()}s/{obj.sid}"


def render_item(base: str, obj: SyncObject, item: dict[str, Any]) -> dict[str, Any]:
    at = item["item_index"] if obj.kind == "list" else item["item_key"]
    body: dict[str, Any] = {
        "data": orjson.loads(item["data"]),
        "revision": str(item["revision"]),
        "last_event_id": int(item["last_event_id"]),
        "date_updated": times.render(item["date_updated"]),
        "date_expires": None,
        "url": f"{items_url(base, obj.kind, obj.sid)}/{at}",
    }
    body["index" if obj.kind == "list" else "key"] = at
    return body


def render_object(base: str, obj: SyncObject) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sid": obj.sid,
        "unique_name": obj.unique_name,
        "url": object_url(base, obj),
        "revision": str(obj.revision),
        "last_event_id": obj.last_event_id,
        "date_updated": times.render(obj.date_updated),
        "date_expires": None,
    }
    if obj.kind == "document":
        body["data"] = obj.data
    else:
        body["links"] = {"items": items_url(base, obj.kind, obj.sid)}
    return body
