"""Catching up a subscriber whose `last_event_id` is older than the object's retained log.

twilio-sync (chat 5.x/6.x) has no answer of its own for that: `subscription_failed` with 404
makes it drop the object as removed, any other failure leaves it unsubscribed, and
`replay_status: "interrupted"` only makes it ask again from where it got to. So chinwag sends
what the log would have said in short: a document's current data as one `document_updated`;
a list's or map's items changed since the client's event (the newest SNAPSHOT_MAX of them),
each as an item event carrying the item's own last event id, oldest first, merged with the
removals in the log (kept for RETAIN_REMOVALS events, the newest SNAPSHOT_MAX of them). Items
never updated since they were made (revision 0) go as `*_item_added`, the others as
`*_item_updated`; twilio-sync turns an "added" of an item it holds into `itemUpdated`, and
ignores what it already knows by event id. Only a client away for longer than RETAIN_REMOVALS
events, or past more than SNAPSHOT_MAX removals, keeps showing an item removed meanwhile (until
it reloads the object).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import and_, bindparam, select

from chinwag import times
from chinwag.store import statements
from chinwag.store.db import Connection
from chinwag.store.tables import Tables
from chinwag.sync.engine import SyncObject, dumps, items_url, trimmed_through
from chinwag.sync.queries import Event

SNAPSHOT_MAX = 500  # items sent to one late subscriber (the SDK pages older history itself)


async def too_old(conn: Connection, tables: Tables, obj: SyncObject, last: int) -> bool:
    """Whether events after `last` were trimmed from the object's log, as of now (`obj` may
    have been read a moment ago)."""
    o = tables.sync_objects
    query = statements.once(
        ("catchup.newest", id(o)),
        lambda: select(o.c.last_event_id).where(o.c.sid == bindparam("sid")),
    )
    newest = (await conn.execute(query, {"sid": obj.sid})).scalar()
    return last < trimmed_through(obj.last_event_id if newest is None else int(newest))


async def snapshot(
    conn: Connection, tables: Tables, obj: SyncObject, last: int, base: str
) -> tuple[list[Event], int]:
    """The events that bring a client at `last` to the object's state as of an event id, and
    that id (live delivery goes on from there)."""
    e, i = tables.sync_events, tables.sync_items
    if obj.removed or obj.kind == "document":
        if obj.removed:
            query = select(e.c.event_id, e.c.event_type, e.c.payload).where(
                e.c.object_sid == obj.sid
            )
            row = (await conn.execute(query.order_by(e.c.event_id.desc()).limit(1))).first()
            if row is None:
                return [], obj.last_event_id
            return [Event(int(row.event_id), row.event_type, row.payload)], int(row.event_id)
        payload = {
            "document_sid": obj.sid,
            "document_data": obj.data,
            "document_revision": str(obj.revision),
            "date_created": times.render(obj.date_updated),
        }
        return [Event(obj.last_event_id, "document_updated", dumps(payload))], obj.last_event_id
    changed = (
        await conn.execute(
            select(i)
            .where(and_(i.c.object_sid == obj.sid, i.c.last_event_id > last))
            .order_by(i.c.last_event_id.desc())
            .limit(SNAPSHOT_MAX)
        )
    ).all()
    events = [_item(obj, dict(row._mapping), base) for row in changed]
    # As of the newest change read: later removals (and changes) come by live delivery.
    position = max([obj.last_event_id, *(event.event_id for event in events)])
    removals = await conn.execute(  # kept longer than other events (engine.RETAIN_REMOVALS)
        select(e.c.event_id, e.c.event_type, e.c.payload)
        .where(
            and_(
                e.c.object_sid == obj.sid,
                e.c.event_id > last,
                e.c.event_id <= position,
                e.c.event_type == f"{obj.kind}_item_removed",
            )
        )
        .order_by(e.c.event_id.desc())
        .limit(SNAPSHOT_MAX)
    )
    events += [Event(int(r.event_id), r.event_type, r.payload) for r in removals]
    return sorted(events, key=lambda event: event.event_id), position


def _item(obj: SyncObject, item: dict[str, Any], base: str) -> Event:
    slot = "item_index" if obj.kind == "list" else "item_key"
    at = item[slot]
    payload = {
        f"{obj.kind}_sid": obj.sid,
        slot: at,
        "item_data": orjson.loads(item["data"]),
        "item_revision": str(item["revision"]),
        f"{obj.kind}_revision": str(obj.revision),
        "item_url": f"{items_url(base, obj.kind, obj.sid)}/{at}",
        "date_expires": None,
        "date_created": times.render(item["date_updated"]),
    }
    verb = "added" if int(item["revision"]) == 0 else "updated"
    return Event(int(item["last_event_id"]), f"{obj.kind}_item_{verb}", dumps(payload))
