"""One statement per Sync object write on PostgreSQL: advance, item, log and NOTIFY together.

A Sync write is the object's `UPDATE ... RETURNING` (its next event id and revision), maybe an
item row, the event's log row and, on PostgreSQL, a `pg_notify`: four round trips when run one
by one. PostgreSQL runs them as one statement, the advance as a data-modifying CTE that the
inserts select from. What only the advance knows (the object's new revision, a value the
statement looks up such as the author's member SID) goes into the JSON texts through holes:
Python writes the JSON with a marker in each such place, and the statement joins the text
around the markers with the values (`||`). Per shape (mode, item or not, lookup, where the
holes are) the statement is built once, with bound parameters.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    ScalarSelect,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
)

from chinwag.store import statements

# Unguessable, so no value a client sends can be taken for a hole.
_MARK = "\x00" + secrets.token_hex(8)
REVISION = _MARK + "revision"  # the object's revision after the advance, as a JSON string
LOOKED = _MARK + "looked"  # the lookup's value, a JSON string or null
_HOLE = re.compile('"\\\\u0000' + _MARK[1:] + '(revision|looked)"')


@dataclass(frozen=True)
class Lookup:
    """A value of an item's data that the write's own statement reads (the message author's
    member SID): `key` in the data, `query` a scalar SELECT built once, with its `params`."""

    key: str
    query: ScalarSelect[Any]
    params: dict[str, Any]


@dataclass(frozen=True)
class Template:
    """JSON text split at its holes: `pieces` around `holes` (len(pieces) == len(holes) + 1)."""

    pieces: tuple[str, ...]
    holes: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> Template:
        parts = _HOLE.split(text)
        return cls(tuple(parts[0::2]), tuple(parts[1::2]))

    def params(self, prefix: str) -> dict[str, str]:
        return {f"{prefix}{k}": piece for k, piece in enumerate(self.pieces)}


def advance_values(t: Table, mode: str) -> dict[str, Any]:
    """The advance's SET: next event id and revision; `mode` also moves a list's index
    ("index": take the next, "at_least": past `w_index`) or sets a document's data ("data")."""
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
    return values


def _filled(prefix: str, holes: Sequence[str], adv: Any) -> ColumnElement[Any]:
    quote = literal('"', String)
    text: ColumnElement[Any] = bindparam(f"{prefix}0", type_=Text)
    for k, hole in enumerate(holes, 1):
        if hole == "revision":
            value = quote + cast(adv.c.revision, Text) + quote
        else:
            value = func.coalesce(quote + adv.c.looked + quote, literal("null", String))
        text = text + value + bindparam(f"{prefix}{k}", type_=Text)
    return text


def statement(
    objects: Table,
    items: Table,
    events: Table,
    notify_channel: str,
    *,
    mode: str,
    item: Template | None,
    payload: Template,
    lookup: ScalarSelect[Any] | None,
) -> Any:
    """The write as one statement: parameters `w_sid`, `v_now`, `v_type`, the `p<k>` pieces of
    the payload, and with an item `w_index` and its data's `d<k>` pieces; it returns the advanced
    object's `last_event_id` and `revision`, no row if there is no such (live) object."""
    key = (
        "sync.fused",
        id(objects),
        mode,
        item.holes if item else None,
        payload.holes,
        id(lookup),
    )

    def build() -> Any:
        t = objects
        returned: list[Any] = [t.c.sid, t.c.last_event_id, t.c.revision]
        if lookup is not None:
            returned.append(lookup.label("looked"))
        adv = (
            t.update()
            .where(t.c.sid == bindparam("w_sid", type_=String), t.c.date_removed.is_(None))
            .values(**advance_values(t, mode))
            .returning(*returned)
            .cte("adv")
        )
        now = bindparam("v_now", type_=DateTime(timezone=True))
        logged = events.insert().from_select(
            ["object_sid", "event_id", "event_type", "payload", "date_created"],
            select(
                adv.c.sid,
                adv.c.last_event_id,
                bindparam("v_type", type_=String),
                _filled("p", payload.holes, adv),
                now,
            ),
        )
        query = select(
            adv.c.last_event_id, adv.c.revision, func.pg_notify(notify_channel, adv.c.sid)
        ).add_cte(logged.cte("logged"))
        if item is not None:
            added = items.insert().from_select(
                [
                    "object_sid",
                    "item_index",
                    "data",
                    "revision",
                    "last_event_id",
                    "date_created",
                    "date_updated",
                ],
                select(
                    adv.c.sid,
                    bindparam("w_index", type_=BigInteger),
                    _filled("d", item.holes, adv),
                    literal(0, BigInteger),
                    adv.c.last_event_id,
                    now,
                    now,
                ),
            )
            query = query.add_cte(added.cte("added"))
        return query

    return statements.once(key, build)
