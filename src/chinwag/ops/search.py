"""Reads the REST API has no list for: channels found by name, users by identity (the console's
search boxes).

Always scoped to the signed-in account and a service the caller already fetched through an
operation (so another account's service is a 404 before any of these run); keyset-paged with
the REST API's own page tokens (`ops.paging`).

A "contains" match cannot use an index, so a search page reads at most SCAN rows of the service
from its position, whatever the service's size: when that window holds fewer matches than a
page, the page is shorter and its "next" link goes on from the window's end.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from chinwag.model.params import Form
from chinwag.ops.paging import Page, PageRequest, fetch_page, page_request, positioned
from chinwag.store.db import Connection
from chinwag.store.tables import Tables

PAGE_MAX = 100
SCAN = 2000  # rows of a service one search page reads at most
CHANNEL_TYPES = ("public", "private")


def _matching(column: Any, text: str) -> Any:
    """Case-insensitive "contains", with `%` and `_` taken literally."""
    return func.lower(column).contains(text.lower(), autoescape=True)


async def channels(
    conn: Connection, tables: Tables, account_sid: str, service_sid: str, query: Form
) -> tuple[Page, PageRequest]:
    """Channels whose friendly or unique name contains `q`, of `Type`, with the time of their
    last message, in creation order."""
    ch, msg = tables["channel"], tables["message"]
    request = page_request(query, PAGE_MAX)
    scope = (ch.c.account_sid == account_sid, ch.c.service_sid == service_sid)
    stmt: Select[Any] = (
        select(ch, msg.c.date_created.label("last_message_date"))
        .select_from(ch.outerjoin(msg, msg.c.sid == ch.c.last_message_sid))
        .where(*scope)
    )
    matches: list[ColumnElement[bool]] = []
    text = (query.get("q") or "").strip()
    if text:
        matches.append(or_(_matching(ch.c.friendly_name, text), _matching(ch.c.unique_name, text)))
    if query.get("Type") in CHANNEL_TYPES:
        matches.append(ch.c.type == query.get("Type"))
    return await _search(conn, stmt, ch.c.pk, scope, matches, request), request


async def users(
    conn: Connection, tables: Tables, account_sid: str, service_sid: str, query: Form
) -> tuple[Page, PageRequest]:
    """Users whose identity (or friendly name) contains `q`, in creation order."""
    us = tables["user"]
    request = page_request(query, PAGE_MAX)
    scope = (us.c.account_sid == account_sid, us.c.service_sid == service_sid)
    stmt: Select[Any] = select(us).where(*scope)
    matches: list[ColumnElement[bool]] = []
    text = (query.get("q") or "").strip()
    if text:
        matches.append(or_(_matching(us.c.identity, text), _matching(us.c.friendly_name, text)))
    return await _search(conn, stmt, us.c.pk, scope, matches, request), request


async def _search(
    conn: Connection,
    stmt: Select[Any],
    key: ColumnElement[Any],
    scope: tuple[ColumnElement[bool], ...],
    matches: list[ColumnElement[bool]],
    request: PageRequest,
) -> Page:
    """A page of `stmt`'s rows that meet `matches`, among at most SCAN rows of `scope` from the
    request's position (the scope's `(parent, key)` index); no match asked: a plain page."""
    if not matches:
        return await fetch_page(conn, stmt, key, request)
    scoped = select(key.label("k")).where(*scope)
    window = positioned(scoped, key, request, False, request.after, request.before)
    read = window.limit(SCAN).subquery()
    found = stmt.where(and_(*matches), key.in_(select(read.c.k)))
    page = await fetch_page(conn, found, key, request)
    backwards = request.before is not None
    if page.has_previous if backwards else page.has_next:
        return page  # a full page: its edge row is where the next one starts
    count, last, first = (  # the window again, only when the page came up short
        await conn.execute(select(func.count(), func.max(read.c.k), func.min(read.c.k)))
    ).one()
    if count < SCAN:  # the window reached the end of the scope: the page is exact
        return page
    if backwards:
        return replace(page, has_previous=True, previous_key=int(first))
    return replace(page, has_next=True, next_key=int(last))
