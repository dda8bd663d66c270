"""Keyset paging: `PageToken` names a position, so page 1000 costs what page 1 costs.

Tokens are Twilio-like: `PA<key>` is "the page after key", `PB<key>` "the page before key", where
key is the list's sort key (a row number, or a message index). A token only positions the
cursor inside a list that is already scoped to the caller, so a forged one reveals nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, Subquery, bindparam, func, select, union_all
from sqlalchemy.sql import visitors
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import BindParameter

from chinwag.model.errors import ApiError, InvalidParameter
from chinwag.model.params import INT_RE, Form
from chinwag.store import statements
from chinwag.store.db import Connection
from chinwag.urlencoding import urlencode

DEFAULT_SIZE = 50
WINDOW = 2000  # rows of its scope a page filtered beyond an index reads at most (fetch_window)
TOKEN_RE = re.compile(r"\AP([AB])([0-9]{1,18})\Z")  # ASCII digits, nothing after them


@dataclass(frozen=True)
class PageRequest:
    size: int
    page: int
    after: int | None = None  # PA<key>
    before: int | None = None  # PB<key>
    token: str | None = None


def page_request(query: Form, max_size: int) -> PageRequest:
    """PageSize (clamped to the path's maximum), Page and PageToken from the query."""
    size = _int(query, "PageSize", DEFAULT_SIZE, minimum=1)
    page = _int(query, "Page", 0, minimum=0)
    token = query.get("PageToken")
    if not token:
        return PageRequest(min(size, max_size), page)
    match = TOKEN_RE.match(token)
    if match is None:
        raise ApiError(400, 20001, f"Invalid PageToken {token!r}")
    key = int(match.group(2))
    if match.group(1) == "A":
        return PageRequest(min(size, max_size), page, after=key, token=token)
    return PageRequest(min(size, max_size), page, before=key, token=token)


def _int(query: Form, name: str, default: int, minimum: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not INT_RE.match(raw) or int(raw) < minimum:
        raise InvalidParameter(name, f"must be an integer of at least {minimum}")
    return int(raw)


@dataclass(frozen=True)
class Page:
    rows: Sequence[Mapping[str, Any]]
    has_next: bool
    has_previous: bool
    # Where the next (previous) page starts when that is not the last (first) row: a bounded
    # search that read its whole window without filling the page (ops/search.py).
    next_key: int | None = None
    previous_key: int | None = None


async def fetch_page(
    conn: Connection,
    query: Select[Any],
    key: ColumnElement[Any],
    request: PageRequest,
    descending: bool = False,
) -> Page:
    """One page of `query` in `key` order, read as `size + 1` rows to learn whether more follow."""
    query = positioned(query, key, request, descending, request.after, request.before)
    rows = (await conn.execute(query.limit(request.size + 1))).mappings()
    return _page(list(rows), request)


Among = tuple[ColumnElement[Any], Sequence[Any]]  # a column, and the few values it may have


async def fetch_window(
    conn: Connection,
    query: Select[Any],
    key: ColumnElement[Any],
    scope: Sequence[ColumnElement[bool]],
    matches: Sequence[ColumnElement[bool]],
    request: PageRequest,
    descending: bool = False,
    among: Among | None = None,
) -> Page:
    """A page of `query`'s rows within `scope` (which an index on `(..., key)` serves) that
    meet `matches` (which no index serves), among at most WINDOW rows of the scope from the
    request's position: its cost is bounded whatever the scope's size. When the window holds
    fewer matches than a page, the page is shorter and its next (previous) link goes on from
    the window's far end. No match asked: a plain page of the scope.

    `among` narrows the scope to a few values of one more column of that index, `(...,
    column, key)`: each value's rows are a range of it in key order, read one by one and
    merged, where `column IN (...)` would read and sort every row of all of them."""
    if among is not None and len(among[1]) == 1:
        scope, among = [*scope, among[0] == among[1][0]], None
    if not matches and among is None:
        return await fetch_page(conn, query.where(*scope), key, request, descending)
    # Without a match to look for, the window is the page itself.
    size = WINDOW if matches else request.size + 1
    read = _window(key, scope, among, request, descending, size)
    # The window is the scope: naming the scope again here would let SQLite's planner read
    # all of it through its index instead of the window's few keys.
    found = query.where(*matches, key.in_(select(read.c.k)))
    found = positioned(found, key, request, descending, request.after, request.before)
    rows = (await conn.execute(planned(conn, found.limit(request.size + 1)))).mappings()
    page = _page(list(rows), request)
    backwards = request.before is not None
    if page.has_previous if backwards else page.has_next:
        return page  # a full page: its edge row is where the next one starts
    edges = select(func.count(), func.max(read.c.k), func.min(read.c.k))
    count, highest, lowest = (await conn.execute(planned(conn, edges))).one()  # when short
    if count < size:  # the window reached the end of the scope: the page is exact
        return page
    # The window's far end, in the order it was read: up the keys or down them.
    far = int(lowest) if backwards != descending else int(highest)
    if backwards:
        return replace(page, has_previous=True, previous_key=far)
    return replace(page, has_next=True, next_key=far)


def planned(conn: Connection, statement: Any) -> Executable:
    """`statement`, on PostgreSQL with its values written into its SQL when it runs, so that
    it is planned for them each time: a generic plan, made once for any values, scans the
    table by key for a rare value it takes for a common one (a window's arm of a status no row
    has: 77 ms beside 300,000 deliveries, growing with them). These reads are few (the
    console's; the client SDK's list of a user's channels, as it connects), so planning each
    costs little; SQLAlchemy writes each value as the dialect's quoted literal. SQLite plans
    no statement for its values."""
    if conn.dialect.name != "postgresql":
        assert isinstance(statement, Executable)  # noqa: S101  (a SELECT)
        return statement

    def inline(element: Any, **_: Any) -> Any:
        if isinstance(element, BindParameter) and not element.literal_execute:
            return element.render_literal_execute()
        return None

    options: dict[str, Any] = {}
    inlined = visitors.replacement_traverse(statement, options, inline)
    assert isinstance(inlined, Executable)  # noqa: S101  (a copy of the statement)
    return inlined


def _window(
    key: ColumnElement[Any],
    scope: Sequence[ColumnElement[bool]],
    among: Among | None,
    request: PageRequest,
    descending: bool,
    size: int,
) -> Subquery:
    """The keys of the first `size` rows of the scope from the request's position, in the
    order a page reads them (`k`)."""

    def ranged(*narrower: ColumnElement[bool]) -> Select[Any]:
        scoped = select(key.label("k")).where(*scope, *narrower)
        return positioned(scoped, key, request, descending, request.after, request.before)

    if among is None:
        return ranged().limit(size).subquery()
    column, values = among
    parts = [ranged(column == value).limit(size).subquery() for value in values]
    merged = union_all(*(select(part.c.k) for part in parts)).subquery()
    return (
        select(merged.c.k)
        .order_by(_in_order(merged.c.k, request, descending))
        .limit(size)
        .subquery()
    )


@dataclass(frozen=True)
class Split:
    """A filter on one more column of an index `(scope, column, key)` with several values,
    bound as `{prefix}0`, `{prefix}1`, ...: each value's rows are a range of that index in key
    order, so a page reads at most a page and one row of each and merges them, where `column IN
    (...)` would read every row of the scope, or every row of those values, to sort them."""

    column: str
    count: int
    prefix: str


async def fetch_keyset_page(
    conn: Connection,
    shape: Hashable,
    build: Callable[[], tuple[Select[Any], ColumnElement[Any]]],
    params: Mapping[str, Any],
    request: PageRequest,
    descending: bool = False,
    split: Split | None = None,
) -> Page:
    """`fetch_page` of a query with bound parameters (`params`) only, so that its statement is
    built once per `shape` (which names everything `build` depends on) and position: a list
    request then pays no SQLAlchemy statement building."""

    def paged() -> Select[Any]:
        query, key = build()
        after, before = bindparam("k_after", type_=key.type), bindparam("k_before", type_=key.type)
        limit = bindparam("k_limit", type_=Integer)

        def read(rows: Select[Any]) -> Select[Any]:
            return positioned(rows, key, request, descending, after, before).limit(limit)

        if split is None:
            return read(query)
        column = query.selected_columns[split.column]
        arms = [
            read(query.where(column == bindparam(f"{split.prefix}{i}"))).subquery()
            for i in range(split.count)
        ]
        merged = union_all(*(select(*arm.c) for arm in arms)).subquery()
        merged_key = merged.c[str(key.key)]  # the key column, as the arms name it
        return select(*merged.c).order_by(_in_order(merged_key, request, descending)).limit(limit)

    position = (request.after is not None, request.before is not None, descending)
    statement = statements.once(("page", shape, split, *position), paged)
    values = {**params, "k_limit": request.size + 1}
    if request.after is not None:
        values["k_after"] = request.after
    if request.before is not None:
        values["k_before"] = request.before
    return _page(list((await conn.execute(statement, values)).mappings()), request)


def positioned(
    query: Select[Any],
    key: ColumnElement[Any],
    request: PageRequest,
    descending: bool,
    after: Any,
    before: Any,
) -> Select[Any]:
    """`query` from the request's position in `key` order; `after` and `before` are what the
    key is compared with (the token's values, or bound parameters)."""
    if request.after is not None:
        query = query.where(key < after if descending else key > after)
    if request.before is not None:
        query = query.where(key > before if descending else key < before)
    return query.order_by(_in_order(key, request, descending))


def _in_order(key: ColumnElement[Any], request: PageRequest, descending: bool) -> Any:
    """`key`'s order for reading the requested page: a PB page is read backwards."""
    ascending = (request.before is None) != descending
    return key.asc() if ascending else key.desc()


def _page(rows: list[Mapping[str, Any]], request: PageRequest) -> Page:
    """The page from its `size + 1` rows (in reading order)."""
    more = len(rows) > request.size
    rows = rows[: request.size]
    if request.before is not None:
        rows.reverse()
        return Page(rows, has_next=True, has_previous=more)
    return Page(rows, has_next=more, has_previous=request.token is not None)


def meta(
    list_url: str,
    list_key: str,
    filters: Sequence[tuple[str, str]],
    request: PageRequest,
    page: Page,
    sort_key: str,
) -> dict[str, Any]:
    """Twilio's `meta` block; every URL absolute, echoing the list's filters."""

    def url(page_no: int, token: str | None) -> str:
        params = [*filters, ("PageSize", str(request.size)), ("Page", str(page_no))]
        if token:
            params.append(("PageToken", token))
        return f"{list_url}?{urlencode(params)}"

    rows = page.rows
    next_url = prev_url = None
    if page.has_next and rows:
        next_url = url(request.page + 1, f"PA{rows[-1][sort_key]}")
    if page.has_previous and rows:
        prev_url = url(max(request.page - 1, 0), f"PB{rows[0][sort_key]}")
    return {
        "page": request.page,
        "page_size": request.size,
        "first_page_url": url(0, None),
        "previous_page_url": prev_url,
        "url": url(request.page, request.token),
        "next_page_url": next_url,
        "key": list_key,
    }
