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
    true,
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


def advance_values(t: Table, mode: str, prefix: str = "") -> dict[str, Any]:
    """The advance's SET: next event id and revision; `mode` also moves a list's index
    ("index": take the next, "at_least": past `<prefix>w_index`) or sets a document's data
    ("data": `<prefix>v_data`)."""
    values: dict[str, Any] = {
        "last_event_id": t.c.last_event_id + 1,
        "revision": t.c.revision + 1,
        "date_updated": bindparam("v_now", type_=t.c.date_updated.type),
    }
    if mode == "index":
        values["next_index"] = t.c.next_index + 1
    elif mode == "at_least":
        index = bindparam(f"{prefix}w_index", type_=t.c.next_index.type)
        values["next_index"] = case((t.c.next_index <= index, index + 1), else_=t.c.next_index)
    elif mode == "data":
        values["data"] = bindparam(f"{prefix}v_data", type_=t.c.data.type)
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


@dataclass(frozen=True)
class Part:
    """One object's write in a statement: how it advances (`advance_values`' mode), where the
    holes of its item's data (None: no item) and of its event's payload are, and its lookup."""

    mode: str
    item: tuple[str, ...] | None
    payload: tuple[str, ...]
    lookup: ScalarSelect[Any] | None = None


def prefix(n: int) -> str:
    """The prefix of the parameters of part `n` of a statement."""
    return f"s{n}_"


def statement(
    objects: Table, items: Table, events: Table, notify: str, parts: tuple[Part, ...]
) -> Any:
    """The writes of `parts` as one statement. Parameters: `v_now`, and per part (prefixed, see
    `prefix`) `w_sid`, `v_type`, the `p<k>` pieces of the payload, with an item `w_index` and
    its data's `d<k>` pieces, and its mode's own; a lookup's own parameters are not prefixed.
    One row: per part `e<n>`, the object's new event id (NULL when it is not a live object,
    and then that part wrote nothing)."""

    def build() -> Any:
        t = objects
        now = bindparam("v_now", type_=DateTime(timezone=True))
        ctes: list[Any] = []
        results: list[Any] = []
        for n, part in enumerate(parts):
            pre = prefix(n)
            returned: list[Any] = [t.c.sid, t.c.last_event_id, t.c.revision]
            if part.lookup is not None:
                returned.append(part.lookup.label("looked"))
            adv = (
                t.update()
                .where(
                    t.c.sid == bindparam(f"{pre}w_sid", type_=String), t.c.date_removed.is_(None)
                )
                .values(**advance_values(t, part.mode, pre))
                .returning(*returned)
                .cte(f"adv{n}")
            )
            logged = events.insert().from_select(
                ["object_sid", "event_id", "event_type", "payload", "date_created"],
                select(
                    adv.c.sid,
                    adv.c.last_event_id,
                    bindparam(f"{pre}v_type", type_=String),
                    _filled(f"{pre}p", part.payload, adv),
                    now,
                ),
            )
            ctes.append(logged.cte(f"logged{n}"))
            if part.item is not None:
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
                        bindparam(f"{pre}w_index", type_=BigInteger),
                        _filled(f"{pre}d", part.item, adv),
                        literal(0, BigInteger),
                        adv.c.last_event_id,
                        now,
                        now,
                    ),
                )
                ctes.append(added.cte(f"added{n}"))
            # NOTIFY here: a CTE that modifies nothing runs only if the query reads it.
            results.append(
                select(
                    adv.c.last_event_id, func.pg_notify(notify, adv.c.sid).label("notified")
                ).subquery(f"r{n}")
            )
        one = select(literal(1).label("one")).subquery("one")
        joined: Any = one
        for result in results:
            joined = joined.outerjoin(result, true())
        columns = [r.c.last_event_id.label(f"e{n}") for n, r in enumerate(results)]
        columns += [r.c.notified.label(f"n{n}") for n, r in enumerate(results)]
        return select(*columns).select_from(joined).add_cte(*ctes)

    key = (
        "sync.fused",
        id(objects),
        tuple((p.mode, p.item, p.payload, id(p.lookup)) for p in parts),
    )
    return statements.once(key, build)
