"""Sync writes: documents, lists and maps, each change an event in the object's own log.

Every function takes an open transaction (`conn`), so the change to a chat resource and the
Sync event that reports it commit together or not at all. Event ids come from the object's
row (`last_event_id + 1`, by one `UPDATE ... RETURNING`): per object they increase by one and
writers of one object take turns on its row lock, so they commit in id order.

Retention: an object's log keeps its newest RETAIN events; older ones are trimmed as new ones
are written (a client that was away for longer reloads the object instead of replaying).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Row, Select, Table, and_, bindparam, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from chinwag import times
from chinwag.sids import new_sid
from chinwag.store import statements
from chinwag.store.db import Connection
from chinwag.store.tables import Tables

RETAIN = 1000  # events kept per object
TRIM_EVERY = 100  # trim when an event id is a multiple of this: bounded, amortised work
CHANNEL = "chinwag_sync"  # PostgreSQL NOTIFY channel; the payload is the object's SID
PREFIX = {"document": "ET", "list": "ES", "map": "MP"}
# This process's hubs, woken after a commit that logged events on SQLite (PostgreSQL wakes
# every server through NOTIFY instead).
LOCAL_LISTENERS: list[Callable[[set[str]], None]] = []


def wake_local(sid: str) -> None:
    for listener in list(LOCAL_LISTENERS):
        listener({sid})


class SyncError(Exception):
    """A write that cannot apply: no such object or item."""


@dataclass(frozen=True)
class SyncObject:
    sid: str
    kind: str
    unique_name: str
    account_sid: str
    service_sid: str
    owner_sid: str | None
    data: Any
    revision: int
    last_event_id: int
    date_updated: Any
    removed: bool = False

    @classmethod
    def of(cls, row: Row[Any]) -> SyncObject:
        m = row._mapping
        return cls(
            m["sid"],
            m["kind"],
            m["unique_name"],
            m["account_sid"],
            m["service_sid"],
            m["owner_sid"],
            orjson.loads(m["data"]) if m["data"] is not None else None,
            int(m["revision"]),
            int(m["last_event_id"]),
            m["date_updated"],
            m["date_removed"] is not None,
        )


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def ensure(
    conn: Connection,
    tables: Tables,
    *,
    kind: str,
    unique_name: str,
    account_sid: str,
    service_sid: str,
    owner_sid: str | None = None,
    data: Any = None,
) -> SyncObject:
    """The object named `unique_name` in the service, created (without an event) if missing."""
    t = tables.sync_objects
    now = times.now()
    values = {
        "sid": new_sid(PREFIX[kind]),
        "account_sid": account_sid,
        "service_sid": service_sid,
        "kind": kind,
        "unique_name": unique_name,
        "owner_sid": owner_sid,
        "data": dumps(data if data is not None else {}) if kind == "document" else None,
        "revision": 0,
        "last_event_id": 0,
        "next_index": 0,
        "date_created": now,
        "date_updated": now,
    }
    named = {"service": service_sid, "name": unique_name}
    row = (await conn.execute(_by_name(t), named)).first()
    if row is not None:
        return SyncObject.of(row)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # Two first connects of one user may race: the unique name decides, neither fails.
    await conn.execute(insert(t).values(**values).on_conflict_do_nothing())
    row = (await conn.execute(_by_name(t), named)).first()
    assert row is not None  # noqa: S101  (inserted or already there, in this transaction)
    return SyncObject.of(row)


def _by_name(t: Table) -> Select[Any]:
    return statements.once(
        ("sync.by_name", id(t)),
        lambda: select(t).where(
            t.c.service_sid == bindparam("service"), t.c.unique_name == bindparam("name")
        ),
    )


def by_names(t: Table, count: int) -> Select[Any]:
    """Objects of a service by `count` unique names (`service`, `n0`...)."""
    return statements.once(
        ("sync.by_names", id(t), count),
        lambda: select(t).where(
            t.c.service_sid == bindparam("service"),
            or_(*(t.c.unique_name == bindparam(f"n{i}") for i in range(count))),
        ),
    )


def _advance_statement(t: Table, mode: str) -> Any:
    """The object's next event id and revision; `mode` also moves its list index ("index":
    take the next, "at_least": past `w_index`) or sets a document's data ("data")."""

    def build() -> Any:
        values: dict[str, Any] = {
            "last_event_id": t.c.last_event_id + 1,
            "revision": t.c.revision + 1,
            "date_updated": bindparam("v_now", type_=t.c.date_updated.type),
        }
        if mode == "index":
            values["next_index"] = t.c.next_index + 1
        elif mode == "at_least":
            index = bindparam("w_index", type_=t.c.next_index.type)
            values["next_index"] = case((t.c.next_index <= index, index + 1), else_=t.c.next_index)
        elif mode == "data":
            values["data"] = bindparam("v_data", type_=t.c.data.type)
        return (
            t.update()
            .where(t.c.sid == bindparam("w_sid"), t.c.date_removed.is_(None))
            .values(**values)
            .returning(t.c.last_event_id, t.c.revision, t.c.next_index, t.c.kind)
        )

    return statements.once(("sync.advance", id(t), mode), build)


async def _advance(
    conn: Connection, tables: Tables, sid: str, *, mode: str = "", **values: Any
) -> Any:
    """Next event id and revision of the object (see `_advance_statement`), as a row with
    `last_event_id`, `revision`, `next_index`, `kind`; locks its row."""
    statement = _advance_statement(tables.sync_objects, mode)
    row = (await conn.execute(statement, {"w_sid": sid, "v_now": times.now(), **values})).first()
    if row is None:
        raise SyncError(f"no Sync object {sid}")
    return row


async def _add_list_item(
    conn: Connection, tables: Tables, sid: str, index: int, data: Any, event_id: int
) -> None:
    now = times.now()
    values = {
        "object_sid": sid,
        "item_index": index,
        "data": dumps(data),
        "revision": 0,
        "last_event_id": event_id,
        "date_created": now,
        "date_updated": now,
    }
    insert = statements.insert(tables.sync_items, tuple(sorted(values)))
    await conn.execute(insert, statements.params(values))


async def _log(
    conn: Connection,
    tables: Tables,
    sid: str,
    event_id: int,
    event_type: str,
    payload: dict[str, Any],
) -> None:
    e = tables.sync_events
    now = times.now()
    payload = {**payload, "date_created": times.render(now)}
    values = {
        "object_sid": sid,
        "event_id": event_id,
        "event_type": event_type,
        "payload": dumps(payload),
        "date_created": now,
    }
    insert = statements.insert(e, tuple(sorted(values)))
    await conn.execute(insert, statements.params(values))
    if event_id % TRIM_EVERY == 0 and event_id > RETAIN:
        await conn.execute(
            e.delete().where(and_(e.c.object_sid == sid, e.c.event_id <= event_id - RETAIN))
        )
    if conn.dialect.name == "postgresql":
        # Delivered at commit, to every server on the database; never if it rolls back.
        notify = statements.once(
            ("sync.notify",), lambda: select(func.pg_notify(CHANNEL, bindparam("sid")))
        )
        await conn.execute(notify, {"sid": sid})
    else:
        conn.after_commit(lambda: wake_local(sid))


def _item_event(
    kind: str, sid: str, at: Any, data: Any, revision: int, obj_revision: int, url: str
) -> dict[str, Any]:
    slot = "item_index" if kind == "list" else "item_key"
    return {
        f"{kind}_sid": sid,
        slot: at,
        "item_data": data,
        "item_revision": str(revision),
        f"{kind}_revision": str(obj_revision),
        "item_url": url,
        "date_expires": None,
    }


def items_url(base: str, kind: str, sid: str) -> str:
    return f"{base}/v3/{kind.capitalize()}s/{sid}/Items"


async def list_append(conn: Connection, tables: Tables, sid: str, data: Any, base: str = "") -> int:
    """Add an item at the list's next index (gap-free, never reused); that index."""
    row = await _advance(conn, tables, sid, mode="index")
    index, event_id = int(row.next_index) - 1, int(row.last_event_id)
    await _add_list_item(conn, tables, sid, index, data, event_id)
    url = f"{items_url(base, 'list', sid)}/{index}"
    event = _item_event("list", sid, index, data, 0, int(row.revision), url)
    await _log(conn, tables, sid, event_id, "list_item_added", event)
    return index


async def put_list_item(
    conn: Connection, tables: Tables, sid: str, index: int, data: Any, base: str = ""
) -> int:
    """Add an item at a given index (a chat message's own index); the event id."""
    row = await _advance(conn, tables, sid, mode="at_least", w_index=index)
    event_id = int(row.last_event_id)
    await _add_list_item(conn, tables, sid, index, data, event_id)
    url = f"{items_url(base, 'list', sid)}/{index}"
    event = _item_event("list", sid, index, data, 0, int(row.revision), url)
    await _log(conn, tables, sid, event_id, "list_item_added", event)
    return event_id


def _item_where(tables: Tables, sid: str, kind: str, at: int | str) -> Any:
    i = tables.sync_items
    slot = i.c.item_index if kind == "list" else i.c.item_key
    return and_(i.c.object_sid == sid, slot == at)


async def set_item(
    conn: Connection, tables: Tables, sid: str, at: int | str, data: Any, base: str = ""
) -> int:
    """Set a map key (added or updated) or an existing list index; the event id."""
    row = await _advance(conn, tables, sid)
    kind, event_id = str(row.kind), int(row.last_event_id)
    i = tables.sync_items
    where = _item_where(tables, sid, kind, at)
    now = times.now()
    updated = (
        await conn.execute(
            i.update()
            .where(where)
            .values(
                data=dumps(data),
                revision=i.c.revision + 1,
                last_event_id=event_id,
                date_updated=now,
            )
            .returning(i.c.revision)
        )
    ).first()
    if updated is None:
        if kind != "map":
            raise SyncError(f"no item {at} in list {sid}")
        await conn.execute(
            i.insert().values(
                object_sid=sid,
                item_key=at,
                data=dumps(data),
                revision=0,
                last_event_id=event_id,
                date_created=now,
                date_updated=now,
            )
        )
    revision = int(updated.revision) if updated else 0
    url = f"{items_url(base, kind, sid)}/{at}"
    event = _item_event(kind, sid, at, data, revision, int(row.revision), url)
    verb = "updated" if updated else "added"
    await _log(conn, tables, sid, event_id, f"{kind}_item_{verb}", event)
    return event_id


async def remove_item(
    conn: Connection, tables: Tables, sid: str, at: int | str, base: str = ""
) -> int | None:
    """Remove a list index or map key; its event id, or None if there was no such item."""
    i = tables.sync_items
    kind_row = (
        await conn.execute(
            select(tables.sync_objects.c.kind).where(tables.sync_objects.c.sid == sid)
        )
    ).first()
    if kind_row is None:
        raise SyncError(f"no Sync object {sid}")
    kind = str(kind_row.kind)
    where = _item_where(tables, sid, kind, at)
    gone = (await conn.execute(i.delete().where(where).returning(i.c.data, i.c.revision))).first()
    if gone is None:
        return None
    row = await _advance(conn, tables, sid)
    event_id = int(row.last_event_id)
    url = f"{items_url(base, kind, sid)}/{at}"
    data = orjson.loads(gone.data)
    event = _item_event(kind, sid, at, data, int(gone.revision), int(row.revision), url)
    await _log(conn, tables, sid, event_id, f"{kind}_item_removed", event)
    return event_id


async def set_document(conn: Connection, tables: Tables, sid: str, data: Any) -> int:
    """Replace a document's data; the event id."""
    row = await _advance(conn, tables, sid, mode="data", v_data=dumps(data))
    event = {
        "document_sid": sid,
        "document_data": data,
        "document_revision": str(row.revision),
    }
    event_id = int(row.last_event_id)
    await _log(conn, tables, sid, event_id, "document_updated", event)
    return event_id


async def remove_object(conn: Connection, tables: Tables, sid: str) -> int:
    """Remove an object: its items go, a tombstone and its `*_removed` event stay."""
    row = await _advance(conn, tables, sid)
    kind, event_id = str(row.kind), int(row.last_event_id)
    t, i = tables.sync_objects, tables.sync_items
    await conn.execute(i.delete().where(i.c.object_sid == sid))
    await conn.execute(t.update().where(t.c.sid == sid).values(date_removed=times.now()))
    await _log(conn, tables, sid, event_id, f"{kind}_removed", {f"{kind}_sid": sid})
    return event_id
