"""The five generic actions (create, fetch, update, delete, list) every resource is served by.

Each runs inside the operation's transaction with its resource's Rules hooks, and every write
ends by announcing itself: post-event webhooks and push notifications into the outbox, and the
runtime's write observers (the real-time engine), all in the same transaction. They return rows,
never JSON: each front door renders its own way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, select

from chinwag import times
from chinwag.context import Context, Row
from chinwag.events.hooks import record_post
from chinwag.events.push import record_push
from chinwag.model.errors import ApiError, Conflict
from chinwag.model.params import Form, check_filter, parse
from chinwag.model.resource import Action, Field, Resource
from chinwag.ops.lookup import scope, scope_column, scope_sid, table, target
from chinwag.ops.paging import Page, PageRequest, Split, fetch_keyset_page, page_request
from chinwag.sids import new_sid
from chinwag.store import statements, sweeper
from chinwag.store.errors import RowGone

WRITES: frozenset[Action] = frozenset({"create", "update", "delete"})
MERGED_MAX = 20  # values of one filter a page reads as ranges and merges; more are an IN


def stored(f: Field, value: Any) -> Any:
    if f.kind == "list" and value is not None:
        return orjson.dumps(value).decode()
    return value


def _encode(res: Resource, values: dict[str, Any]) -> dict[str, Any]:
    kinds = {f.column: f for f in (*res.fields, *res.extra_columns)}
    return {col: stored(kinds[col], v) if col in kinds else v for col, v in values.items()}


@dataclass(frozen=True)
class Listing:
    """One page of a list, and what its `meta` block echoes."""

    rows: list[Row]
    page: Page
    request: PageRequest
    filters: list[tuple[str, str]] = field(default_factory=list)  # (param, value), as sent


@dataclass(frozen=True)
class Result:
    """What an action did: its status, and the row it wrote or read, or a page of rows."""

    status: int
    row: Row | None = None  # create, fetch, update: the row as it is now; delete: as it was
    listing: Listing | None = None


def lost_race(res: Resource) -> ApiError:
    """The 409 for a constraint a concurrent request broke first (the pre-checks saw none)."""
    if not res.unique:
        return Conflict(20409, "Conflicting concurrent modification")
    return Conflict(res.unique[0].code, res.unique[0].message)


async def check_unique(call: Context, merged: dict[str, Any], changed: set[str], sid: str) -> None:
    """409 with the rule's code when a changed unique column clashes with another row."""
    res = call.resource
    t = table(call)
    for rule in res.unique:
        if not changed.intersection(rule.columns) or any(merged[c] is None for c in rule.columns):
            continue
        clash = select(t.c.sid).where(
            scope(call, res, t), t.c.sid != sid, *(t.c[c] == merged[c] for c in rule.columns)
        )
        if (await call.conn.execute(clash.limit(1))).first() is not None:
            raise Conflict(rule.code, rule.message)


async def _announce(call: Context, before: Row | None, after: Row | None) -> None:
    """The action's post-event webhooks and push notifications into the outbox, and the
    observers' writes, in the action's transaction (`before`/`after`: None on create/delete)."""
    row = after if after is not None else before
    assert row is not None  # noqa: S101  (an action writes at least one row)
    await record_post(call, row)
    await record_push(call, row)
    for observe in call.observers:
        await observe(call, before, after)


async def create(call: Context, form: Form) -> Result:
    res = call.resource
    values = {
        **res.defaults(call),
        **parse(res.writable("create", call.version), form, creating=True, version=call.version),
    }
    await res.rules.before_create(call, values)
    sid = values.pop("sid", None) or new_sid(res.sid_prefix)
    await check_unique(call, values, set(values), sid)
    now = times.now()
    values.setdefault("date_created", now)
    values.setdefault("date_updated", values["date_created"])
    for anc in res.ancestors:
        values[anc.ref_column] = call.parents[anc.name]["sid"]
    values = {"sid": sid, "account_sid": call.account.sid, **_encode(res, values)}
    counted = [c for c, v in values.items() if isinstance(v, statements.Counted)]
    if counted:  # a value from a counter, moved by the INSERT itself (see Counted)
        by = values.pop(counted[0])
        columns = tuple(sorted([*values, counted[0]]))
        insert = statements.insert_counted(table(call), columns, counted[0], by)
        params = {**statements.params(values), **by.params()}
    else:
        insert = statements.insert(table(call), tuple(sorted(values)), returning=True)
        params = statements.params(values)
    inserted = (await call.conn.execute(insert, params)).mappings().first()
    if inserted is None:  # the counter's row (the channel) went since it was located
        raise RowGone("the counter's row")
    row = await res.rules.after_create(call, inserted) or inserted
    await _announce(call, None, row)
    return Result(201, row)


async def fetch(call: Context, form: Form) -> Result:
    return Result(200, await target(call))


async def update(call: Context, form: Form) -> Result:
    res = call.resource
    row = await target(call)
    changes = parse(
        res.writable("update", call.version), form, creating=False, version=call.version
    )
    await res.rules.before_update(call, row, changes)
    if not changes:
        return Result(200, row)
    await check_unique(call, {**row, **changes}, set(changes), row["sid"])
    changes.setdefault("date_updated", times.now())
    encoded = _encode(res, changes)
    statement = statements.update_returning(table(call), tuple(sorted(encoded)), ("pk",))
    values = {**statements.params(encoded), "w_pk": row["pk"]}
    updated = (await call.conn.execute(statement, values)).mappings().first()
    if updated is None:
        raise RowGone(res.name)
    after = await res.rules.after_update(call, row, updated) or updated
    await _announce(call, row, after)
    return Result(200, after)


async def delete(call: Context, form: Form) -> Result:
    res = call.resource
    row = await target(call)
    pk = row.get("pk")  # None: a view's row that is no row of its table (a user's invitation)
    t = table(call)
    owner = call.tables.cascades(t)  # its delete takes other rows with it
    if pk is not None and owner:  # before it counts what goes with it
        await res.rules.lock_ahead(call, row)
        await _lock(call, pk)
    await res.rules.before_delete(call, row)
    if pk is not None and not owner:  # after its channel and user, before Sync's
        await _lock(call, pk)
    await _announce(call, row, None)  # before the row (and its channel's webhooks) are gone
    if pk is None:
        return Result(204, row)
    await sweeper.leave(call.conn, call.tables, t, row["sid"])  # a channel's messages: later
    statement = t.delete().where(t.c.pk == pk)
    if owner:  # a channel's members, a service's channels: off the loop
        removed = await call.conn.execute_aside(statement)
    else:
        removed = await call.conn.execute(statement)
    if removed.rowcount == 0:  # and another transaction announced its removal already
        raise RowGone(res.name)
    return Result(204, row)


async def _lock(call: Context, pk: int) -> None:
    """Hold the row's lock before a delete counts what goes with it (on PostgreSQL; SQLite's
    one writer holds every row). A member added meanwhile by another writer's transaction (a
    channel's writes by SID and by unique name take different writers, a user's delete takes
    its service's) first commits, and the counts below see it: read before, it went by the
    delete's cascade uncounted, and the user's or channel's count stayed one too high.

    Lock order. Writers take rows in one order: a role given (`require_role`), channels (by
    `pk` among themselves), then users (likewise), then a channel's hourly counts, then
    members and messages, then Sync objects (the projection, last). A member's add or removal moves its channel's count, then
    its user's, then writes the member, then its roster; a channel's delete locks the
    channel, then its users (`counters.release`) and members, then its Sync objects go; a
    user's delete locks its channels first (`Rules.lock_ahead`), then itself, then its
    memberships. Two transactions on different writers that took them in opposite orders
    waited for each other: each gave way after LOCK_WAIT (`pg_writer`), and a delete that gave
    way three times answered 503. So a row whose delete takes others with it is locked
    before its rules count them, any other after its rules moved its channel's and user's
    counts (a member locked first came before its channel), and both before the projection."""
    t = table(call)
    locked = select(t.c.pk).where(t.c.pk == pk).with_for_update()
    if (await call.conn.execute(locked)).first() is None:
        raise RowGone(call.resource.name)


def _filters(
    call: Context, res: Resource, form: Form, params: dict[str, Any]
) -> tuple[list[str], list[tuple[str, str]]]:
    """The filtered columns (in declaration order, their values put in `params`) and the
    (param, value) pairs as sent, for `meta`."""
    echoed: list[tuple[str, str]] = []
    filtered: list[str] = []
    for flt in res.filters:
        chosen = form.getlist(flt.param)
        for value in chosen:
            check_filter(flt, value)
            echoed.append((flt.param, value))
        if not chosen and res.default_filter is not None:
            chosen = list(res.default_filter(call).get(flt.param, ()))
        if flt.choices and set(flt.choices) <= set(chosen):
            continue  # every row matches: the keyset's own index, not a filter's sorted union
        if chosen:
            filtered.append(flt.column)
            params[f"l_f_{flt.column}"] = sorted(set(chosen))
    return filtered, echoed


@dataclass(frozen=True)
class _Driver:
    """The filter whose own index `(scope, column, key)` a filtered page reads: its range in
    key order, or each value's range merged (`split`). Another indexed filter is matched on
    each row read, never read by its index: SQLite's planner, without statistics, took the
    newer of two equal-looking indexes (`Identity=ann&BindingType=apn` read every apn binding
    of the service to find ann's)."""

    column: str
    split: Split | None
    bypassed: tuple[str, ...]  # the other indexed filters, matched without their index


def _driver(
    call: Context, res: Resource, filtered: list[str], params: dict[str, Any]
) -> _Driver | None:
    """A free-valued filter (Identity: few rows a value) before one of a few choices, then the
    one with fewer values; its values split into ranges when there are several, up to
    MERGED_MAX. None when no filtered column has an index."""
    scope = scope_column(res, table(call)).name
    indexed = [c for c in filtered if (scope, c, res.sort_column) in res.indexes]
    if not indexed:
        return None
    chosen = {f.column: bool(f.choices) for f in res.filters}
    column = min(indexed, key=lambda c: (chosen[c], len(params[f"l_f_{c}"])))
    bypassed = tuple(c for c in indexed if c != column)
    if not 1 < len(params[f"l_f_{column}"]) <= MERGED_MAX:
        return _Driver(column, None, bypassed)
    values = params.pop(f"l_f_{column}")
    params.update((f"l_s_{i}", value) for i, value in enumerate(values))
    return _Driver(column, Split(column, len(values), "l_s_"), bypassed)


async def list_(call: Context, form: Form) -> Result:
    res = call.resource
    params: dict[str, Any] = {"l_scope": scope_sid(call, res)}
    filtered, echoed = _filters(call, res, form, params)
    descending = False
    if res.sort_column != "pk":  # ordered lists (messages) take Order=asc|desc
        order = form.get("Order")
        if order not in (None, "asc", "desc"):
            raise ApiError(400, 20001, f"Invalid parameter Order: {order!r}")
        if order:
            echoed.append(("Order", order))
        descending = order == "desc"
    request = page_request(form, res.page_size_max[call.version])
    driver = _driver(call, res, filtered, params)
    split = driver.split if driver else None
    # A filter of one value (the default list of public channels) compares with `=`: an
    # IN list is expanded into the SQL at every execution, a few per cent of a page.
    single = tuple(c for c in filtered if len(params.get(f"l_f_{c}", ())) == 1)
    for column in single:
        params[f"l_f_{column}"] = params[f"l_f_{column}"][0]

    def build() -> tuple[Select[Any], ColumnElement[Any]]:
        query, key = _list_query(call, res)
        for column in filtered:
            if split is not None and column == split.column:
                continue  # each arm of the merged page names one of its values
            matched: ColumnElement[Any] = query.selected_columns[column]
            if driver and column in driver.bypassed:
                matched = matched.concat("")  # an expression: no index serves it
            if column in single:
                query = query.where(matched == bindparam(f"l_f_{column}"))
                continue
            values: BindParameter[Any] = bindparam(f"l_f_{column}", expanding=True)
            query = query.where(matched.in_(values))
        return query, key

    shape = ("list", res.name, id(call.tables.of(res)), tuple(filtered), single, driver)
    page = await fetch_keyset_page(call.conn, shape, build, params, request, descending, split)
    return Result(200, listing=Listing(list(page.rows), page, request, echoed))


def _list_query(call: Context, res: Resource) -> tuple[Select[Any], ColumnElement[Any]]:
    """A list's rows (bound to `l_scope`) and keyset column; depends on the tables only."""
    custom = res.rules.list_query(call)
    if custom is not None:
        return custom
    t = table(call)
    column = scope_column(res, t)
    scoped = select(t).where(column == bindparam("l_scope", type_=column.type))
    return scoped, t.c[res.sort_column]


ACTIONS: dict[Action, Callable[[Context, Form], Awaitable[Result]]] = {
    "create": create,
    "fetch": fetch,
    "update": update,
    "delete": delete,
    "list": list_,
}
