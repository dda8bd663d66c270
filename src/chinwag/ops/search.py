"""Reads the REST API has no list for: channels found by name, users by identity (the console's
search boxes).

Always scoped to the signed-in account and a service the caller already fetched through an
operation (so another account's service is a 404 before any of these run); keyset-paged with
the REST API's own page tokens (`ops.paging`).

A "contains" match cannot use an index, so a search page reads at most `paging.WINDOW` rows of
the service from its position, whatever the service's size (`paging.fetch_window`): when that
window holds fewer matches than a page, the page is shorter and its "next" link goes on from
the window's end.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select

from chinwag.model.params import Form
from chinwag.ops.paging import Page, PageRequest, fetch_window, page_request
from chinwag.store.db import Connection
from chinwag.store.tables import Tables

PAGE_MAX = 100
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
    stmt: Select[Any] = select(ch, msg.c.date_created.label("last_message_date")).select_from(
        ch.outerjoin(msg, msg.c.sid == ch.c.last_message_sid)
    )
    matches: list[ColumnElement[bool]] = []
    text = (query.get("q") or "").strip()
    if text:
        matches.append(or_(_matching(ch.c.friendly_name, text), _matching(ch.c.unique_name, text)))
    if query.get("Type") in CHANNEL_TYPES:
        matches.append(ch.c.type == query.get("Type"))
    return await fetch_window(conn, stmt, ch.c.pk, scope, matches, request), request


async def users(
    conn: Connection, tables: Tables, account_sid: str, service_sid: str, query: Form
) -> tuple[Page, PageRequest]:
    """Users whose identity (or friendly name) contains `q`, in creation order."""
    us = tables["user"]
    request = page_request(query, PAGE_MAX)
    scope = (us.c.account_sid == account_sid, us.c.service_sid == service_sid)
    stmt: Select[Any] = select(us)
    matches: list[ColumnElement[bool]] = []
    text = (query.get("q") or "").strip()
    if text:
        matches.append(or_(_matching(us.c.identity, text), _matching(us.c.friendly_name, text)))
    return await fetch_window(conn, stmt, us.c.pk, scope, matches, request), request
