"""Channels of a service: found by friendly or unique name and type, keyset-paged."""

from __future__ import annotations

from starlette.responses import Response

from chinwag import times
from chinwag.console.html import Html, join, render
from chinwag.console.page import Page
from chinwag.console.paging import pager
from chinwag.console.services import fetch_service, service_nav
from chinwag.console.web import Visit, get, link
from chinwag.context import Row
from chinwag.ops import search

_SEARCH = """<form method=get class=row role=search>
<label>Name contains <input name=q value='{q}' type=search></label>
<label>Type <select name=Type>{types}</select></label>
<button type=submit>Search</button></form>"""


def _types(chosen: str) -> Html:
    return join(
        render(
            "<option value='{v}'{sel}>{label}</option>",
            v=v,
            label=v or "any",
            sel=Html(" selected" if v == chosen else ""),
        )
        for v in ("", *search.CHANNEL_TYPES)
    )


def _row(service_sid: str, ch: Row) -> Html:
    return render(
        "<tr><td><a href='{href}'>{name}</a></td><td>{unique}</td><td>{type}</td>"
        "<td>{members}</td><td>{messages}</td><td>{last}</td><td class=sid>{sid}</td></tr>",
        href=link(f"/services/{service_sid}/channels/{ch['sid']}"),
        name=ch["friendly_name"] or ch["unique_name"] or ch["sid"],
        unique=ch["unique_name"] or "",
        type=ch["type"],
        members=ch["members_count"],
        messages=ch["messages_count"],
        last=times.render(ch["last_message_date"]) or "",
        sid=ch["sid"],
    )


async def list_channels(visit: Visit) -> Response:
    sid = visit.params["sid"]
    service = await fetch_service(visit, sid)  # 404 unless it is this account's
    async with visit.runtime.db.read() as conn:
        page, request = await search.channels(
            conn, visit.runtime.tables, visit.account.sid, sid, visit.form
        )
    q, kind = visit.form.get("q") or "", visit.form.get("Type") or ""
    path = link(f"/services/{sid}/channels")
    body = render(
        "<h1>Channels</h1>{nav}{search}<table><thead><tr><th>Name</th><th>Unique name</th>"
        "<th>Type</th><th>Members</th><th>Messages</th><th>Last message</th><th>SID</th></tr>"
        "</thead><tbody>{rows}</tbody></table>{pager}",
        nav=service_nav(service, f"/services/{sid}/channels"),
        search=render(_SEARCH, q=q, types=_types(kind)),
        rows=join(_row(sid, ch) for ch in page.rows)
        or render("<tr><td colspan=7 class=muted>No channels match.</td></tr>"),
        pager=pager(path, page.rows, page, request.size, "pk", [("q", q), ("Type", kind)]),
    )
    return visit.page("Channels", body)


PAGE = Page(None, "/services", (get("/services/{sid}/channels", list_channels),))
