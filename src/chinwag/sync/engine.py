"""Sync writes: documents, lists and maps, each change an event in the object's own log.

Every function takes an open transaction (`conn`), so the change to a chat resource and the
Sync event that reports it commit together or not at all. Event ids come from the object's
row (`last_event_id + 1`, by one `UPDATE ... RETURNING`): per object they increase by one and
writers of one object take turns on its row lock, so they commit in id order.

Retention: an object's log keeps its newest RETAIN events, and its item removals for
RETAIN_REMOVALS events; older ones are trimmed as new ones are written. A client that was away
for longer than RETAIN events gets the object's state in short (sync/catchup.py), which still
names the items removed meanwhile.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Row, ScalarSelect, Select, Table, and_, bindparam, func, or_, select

from chinwag import times
from chinwag.sids import new_sid
from chinwag.store import statements, sweeper
from chinwag.store.compiled import Result
from chinwag.store.db import Connection
from chinwag.store.queries import insert_ignoring_conflicts
from chinwag.store.tables import Tables
from chinwag.sync import fused

RETAIN = 1000  # events kept per object
RETAIN_REMOVALS = 100_000  # event ids back that an object's item removals are kept
TRIM_EVERY = 100  # trim when an event id is a multiple of this: bounded, amortised work
REMOVALS = ("list_item_removed", "map_item_removed")
CHANNEL = "chinwag_sync"  # PostgreSQL NOTIFY channel; the payload is the object's SID
PREFIX = {"document": "ET", "list": "ES", "map": "MP"}
# This process's hubs, woken after a commit that logged events on SQLite (PostgreSQL wakes
# every server through NOTIFY instead).
LOCAL_LISTENERS: list[Callable[[set[str]], None]] = []


def wake_local(sid: str) -> None:
    for listener in list(LOCAL_LISTENERS):
        listener({sid})


# SIDs of objects by (service SID, unique name), learnt from committed transactions. An
# object's SID never changes; a write by a SID that finds no live object raises SyncError, and
# the caller then forgets it and looks again (the object was removed, or made anew elsewhere).
_KNOWN: dict[tuple[str, str], str] = {}
KNOWN_MAX = 100_000


def known_sid(service_sid: str, unique_name: str) -> str | None:
    return _KNOWN.get((service_sid, unique_name))


def remember(conn: Connection, service_sid: str, unique_name: str, sid: str) -> None:
    """Know `sid` by its name once `conn`'s transaction has committed (never if it rolls back:
    the object may have been made in it)."""

    def learn() -> None:
        if len(_KNOWN) >= KNOWN_MAX:
            _KNOWN.clear()
        _KNOWN[(service_sid, unique_name)] = sid

    conn.after_commit(learn)


def forget(service_sid: str, unique_name: str) -> None:
    _KNOWN.pop((service_sid, unique_name), None)


class SyncError(Exception):
    """A write that cannot apply: no such object or item."""


class ObjectRemoved(SyncError):
    """A write to an object that is removed (it may have been, by another transaction, since
    the writer read it)."""


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
    # Two first connects of one user may race: the unique name decides, neither fails.
    await conn.execute(insert_ignoring_conflicts(conn, t, values))
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


def _advance_statement(t: Table, mode: str, lookup: ScalarSelect[Any] | None = None) -> Any:
    """The object's next event id and revision (see `fused.advance_values` for `mode`), and
    the lookup's value as `looked`."""

    def build() -> Any:
        returned: list[Any] = [t.c.last_event_id, t.c.revision, t.c.next_index, t.c.kind]
        if lookup is not None:
            returned.append(lookup.label("looked"))
        return (
            t.update()
            .where(t.c.sid == bindparam("w_sid"), t.c.date_removed.is_(None))
            .values(**fused.advance_values(t, mode))
            .returning(*returned)
        )

    return statements.once(("sync.advance", id(t), mode, id(lookup)), build)


async def _advance(
    conn: Connection,
    tables: Tables,
    sid: str,
    *,
    mode: str = "",
    lookup: fused.Lookup | None = None,
    **values: Any,
) -> Any:
    """Next event id and revision of the object (see `_advance_statement`), as a row with
    `last_event_id`, `revision`, `next_index`, `kind` (and `looked`); locks its row."""
    query = lookup.query if lookup else None
    statement = _advance_statement(tables.sync_objects, mode, query)
    params = {"w_sid": sid, "v_now": times.now(), **values, **(lookup.params if lookup else {})}
    row = (await conn.execute(statement, params)).first()
    if row is None:
        t = tables.sync_objects
        if (await conn.execute(select(t.c.pk).where(t.c.sid == sid))).first() is not None:
            raise ObjectRemoved(f"Sync object {sid} is removed")
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


@dataclass(frozen=True)
class _Entry:
    """An event for an object's log, written by `_log_all`."""

    sid: str
    event_id: int
    event_type: str
    payload: dict[str, Any]


_LOG_COLUMNS = ("date_created", "event_id", "event_type", "object_sid", "payload")


def _log_insert(e: Table, rows: int) -> Any:
    """INSERT of `rows` log entries in one statement (parameters `<column>_<row>`)."""
    if rows == 1:
        return statements.insert(e, _LOG_COLUMNS)
    return statements.once(
        ("sync.log", id(e), rows),
        lambda: e.insert().values(
            [
                {c: bindparam(f"{c}_{n}", type_=e.c[c].type) for c in _LOG_COLUMNS}
                for n in range(rows)
            ]
        ),
    )


async def _log(
    conn: Connection,
    tables: Tables,
    sid: str,
    event_id: int,
    event_type: str,
    payload: dict[str, Any],
) -> None:
    await _log_all(conn, tables, [_Entry(sid, event_id, event_type, payload)])


async def _log_all(conn: Connection, tables: Tables, entries: list[_Entry]) -> None:
    """Append `entries` to their objects' logs: one statement for all of them (a message
    create logs two events, its item's and its channel document's)."""
    e = tables.sync_events
    now = times.now()
    stamp = times.render(now)
    rows = [
        {
            "object_sid": entry.sid,
            "event_id": entry.event_id,
            "event_type": entry.event_type,
            "payload": dumps({**entry.payload, "date_created": stamp}),
            "date_created": now,
        }
        for entry in entries
    ]
    if len(rows) == 1:
        params = statements.params(rows[0])
    else:
        params = {f"{c}_{n}": v for n, row in enumerate(rows) for c, v in row.items()}
    await conn.execute(_log_insert(e, len(rows)), params)
    for entry in entries:
        await _trim(conn, tables, entry.sid, entry.event_id)
        if conn.dialect.name == "postgresql":
            # Delivered at commit, to every server on the database; never if it rolls back.
            notify = statements.once(
                ("sync.notify",), lambda: select(func.pg_notify(CHANNEL, bindparam("sid")))
            )
            await conn.execute(notify, {"sid": entry.sid})
        else:
            conn.after_commit(functools.partial(wake_local, entry.sid))


def trimmed_through(last_event_id: int) -> int:
    """The newest event id of an object at `last_event_id` that its log may have lost (item
    removals are kept longer): a client behind it cannot be replayed."""
    return max(0, last_event_id // TRIM_EVERY * TRIM_EVERY - RETAIN)


def _trim_statement(e: Table, removals: bool) -> Any:
    """Deletes `sid`'s events in (`lo`, `hi`]: item removals only, or all but item removals."""
    kinds = e.c.event_type.in_(REMOVALS) if removals else e.c.event_type.not_in(REMOVALS)
    return e.delete().where(
        e.c.object_sid == bindparam("sid"),
        e.c.event_id > bindparam("lo"),
        e.c.event_id <= bindparam("hi"),
        kinds,
    )


async def _trim(conn: Connection, tables: Tables, sid: str, event_id: int) -> None:
    """Every TRIM_EVERY events: the events that have just become older than RETAIN (but item
    removals), and the item removals older than RETAIN_REMOVALS. Each is a range of the
    `(object_sid, event_id)` index that the trim before left, so no trim reads the kept rows."""
    if event_id % TRIM_EVERY != 0:
        return
    e = tables.sync_events
    for removals, kept in ((False, RETAIN), (True, RETAIN_REMOVALS)):
        if event_id <= kept:
            continue
        statement = statements.once(
            ("sync.trim", id(e), removals), functools.partial(_trim_statement, e, removals)
        )
        # Twice the step back: a trim is in its write's transaction, so none is ever skipped,
        # and the extra step costs an index probe.
        hi = event_id - kept
        await conn.execute(statement, {"sid": sid, "lo": hi - 2 * TRIM_EVERY, "hi": hi})


def _item_event(
    kind: str, sid: str, at: Any, data: Any, revision: int, obj_revision: int | str, url: str
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
    conn: Connection,
    tables: Tables,
    sid: str,
    index: int,
    data: Any,
    base: str = "",
    lookup: fused.Lookup | None = None,
) -> int:
    """Add an item at a given index (a chat message's own index); the event id. With `lookup`,
    its value goes into the data under its key, read in the same statement."""
    if conn.dialect.name == "postgresql":
        return _written(
            sid, await write_all(conn, tables, [ItemAdded(sid, index, data, base, lookup)])
        )
    event_id, entry = await _put_item_unlogged(conn, tables, sid, index, data, base, lookup)
    await _log_all(conn, tables, [entry])
    return event_id


async def _put_item_unlogged(
    conn: Connection,
    tables: Tables,
    sid: str,
    index: int,
    data: Any,
    base: str,
    lookup: fused.Lookup | None,
) -> tuple[int, _Entry]:
    """`put_list_item` on SQLite but for its log entry, which the caller writes."""
    row = await _advance(conn, tables, sid, mode="at_least", w_index=index, lookup=lookup)
    if lookup is not None:
        data = {**data, lookup.key: row.looked}
    event_id = int(row.last_event_id)
    await _add_list_item(conn, tables, sid, index, data, event_id)
    url = f"{items_url(base, 'list', sid)}/{index}"
    event = _item_event("list", sid, index, data, 0, int(row.revision), url)
    return event_id, _Entry(sid, event_id, "list_item_added", event)


def _written(sid: str, ids: list[int | None]) -> int:
    if ids[0] is None:
        raise SyncError(f"no Sync object {sid}")
    return ids[0]


@dataclass(frozen=True)
class ItemAdded:
    """A list item added at its index (`put_list_item`), for `write_all`."""

    sid: str
    index: int
    data: Any
    base: str = ""
    lookup: fused.Lookup | None = None


@dataclass(frozen=True)
class DocumentSet:
    """A document's data replaced (`set_document`), for `write_all`."""

    sid: str
    data: Any


async def _write_each(
    conn: Connection, tables: Tables, writes: list[ItemAdded | DocumentSet]
) -> list[int | None]:
    """`write_all` on SQLite: the writes one after the other, their log entries together."""
    done: list[int | None] = []
    entries: list[_Entry] = []  # logged together, one statement
    for w in writes:
        try:
            if isinstance(w, ItemAdded):
                event_id, entry = await _put_item_unlogged(
                    conn, tables, w.sid, w.index, w.data, w.base, w.lookup
                )
            else:
                event_id, entry = await _set_document_unlogged(conn, tables, w.sid, w.data)
        except SyncError:
            done.append(None)
            continue
        done.append(event_id)
        entries.append(entry)
    if entries:
        await _log_all(conn, tables, entries)
    return done


async def write_all(
    conn: Connection, tables: Tables, writes: list[ItemAdded | DocumentSet]
) -> list[int | None]:
    """Each write's event id, or None where its object is not a live one (that write did
    nothing). On PostgreSQL all of them are one statement (`fused`, one round trip); elsewhere
    they run one after the other. Lookups of one call must not share parameter names."""
    if conn.dialect.name != "postgresql":
        return await _write_each(conn, tables, writes)
    statement, params = _fused(tables, writes)
    return await _logged(conn, tables, writes, await conn.execute(statement, params))


async def write_all_later(
    conn: Connection, tables: Tables, writes: list[ItemAdded | DocumentSet]
) -> list[int | None] | None:
    """As `write_all`, or None where the connection takes the statement to run at the end of
    its batch (`Connection.write_later`: PostgreSQL's writer, for a transaction taken back
    with its batch if it fails). Then an object found gone takes the batch back, and its
    transactions, run again, find it gone on their own (as `write_all`'s callers do)."""
    if conn.dialect.name != "postgresql":
        return await _write_each(conn, tables, writes)
    statement, params = _fused(tables, writes)
    check = functools.partial(_written_later, tables, writes)
    if await conn.write_later(statement, params, check):
        return None
    return await _logged(conn, tables, writes, await conn.execute(statement, params))


async def _written_later(
    tables: Tables, writes: list[ItemAdded | DocumentSet], conn: Connection, result: Result
) -> None:
    if None in await _logged(conn, tables, writes, result):
        raise SyncError("an object written at the end of its batch was gone")


async def _logged(
    conn: Connection, tables: Tables, writes: list[ItemAdded | DocumentSet], result: Result
) -> list[int | None]:
    """The event ids of `fused`'s one row; the logs trimmed where they grew a step."""
    row = result.first()
    assert row is not None  # noqa: S101  (one row, whatever was written)
    ids = [None if row[n] is None else int(row[n]) for n in range(len(writes))]
    for w, event_id in zip(writes, ids, strict=True):
        if event_id is not None:
            await _trim(conn, tables, w.sid, event_id)
    return ids


def _fused(tables: Tables, writes: list[ItemAdded | DocumentSet]) -> tuple[Any, dict[str, Any]]:
    """`write_all`'s one statement on PostgreSQL, and its parameters."""
    now = times.now()
    stamp = times.render(now)
    params: dict[str, Any] = {"v_now": now}
    parts = []
    for n, w in enumerate(writes):
        pre = fused.prefix(n)
        item_holes = None
        query = None
        if isinstance(w, ItemAdded):
            data = w.data
            if w.lookup is not None:
                data = {**data, w.lookup.key: fused.LOOKED}
                params.update(w.lookup.params)
                query = w.lookup.query
            url = f"{items_url(w.base, 'list', w.sid)}/{w.index}"
            event = _item_event("list", w.sid, w.index, data, 0, fused.REVISION, url)
            item = fused.Template.of(dumps(data))
            params.update(item.params(f"{pre}d"))
            params[f"{pre}w_index"] = w.index
            mode, event_type, item_holes = "at_least", "list_item_added", item.holes
        else:
            event = {
                "document_sid": w.sid,
                "document_data": w.data,
                "document_revision": fused.REVISION,
            }
            params[f"{pre}v_data"] = dumps(w.data)
            mode, event_type = "data", "document_updated"
        payload = fused.Template.of(dumps({**event, "date_created": stamp}))
        params.update(payload.params(f"{pre}p"))
        params[f"{pre}w_sid"], params[f"{pre}v_type"] = w.sid, event_type
        parts.append(fused.Part(mode, item_holes, payload.holes, query))
    t = tables
    statement = fused.statement(t.sync_objects, t.sync_items, t.sync_events, CHANNEL, tuple(parts))
    return statement, params


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
    if conn.dialect.name == "postgresql":
        return _written(sid, await write_all(conn, tables, [DocumentSet(sid, data)]))
    event_id, entry = await _set_document_unlogged(conn, tables, sid, data)
    await _log_all(conn, tables, [entry])
    return event_id


async def _set_document_unlogged(
    conn: Connection, tables: Tables, sid: str, data: Any
) -> tuple[int, _Entry]:
    """`set_document` on SQLite but for its log entry, which the caller writes."""
    row = await _advance(conn, tables, sid, mode="data", v_data=dumps(data))
    event = {
        "document_sid": sid,
        "document_data": data,
        "document_revision": str(row.revision),
    }
    event_id = int(row.last_event_id)
    return event_id, _Entry(sid, event_id, "document_updated", event)


async def remove_object(conn: Connection, tables: Tables, sid: str) -> int:
    """Remove an object: its items go, a tombstone and its `*_removed` event stay."""
    row = await _advance(conn, tables, sid)
    kind, event_id = str(row.kind), int(row.last_event_id)
    t = tables.sync_objects
    await sweeper.enqueue(conn, tables, "sync_items", sid)  # maybe a whole history: later
    await conn.execute(t.update().where(t.c.sid == sid).values(date_removed=times.now()))
    await _log(conn, tables, sid, event_id, f"{kind}_removed", {f"{kind}_sid": sid})
    return event_id
