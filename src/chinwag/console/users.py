"""Users of a service: found by identity; one user's attributes, online state, channels and
push bindings."""

from __future__ import annotations

from starlette.responses import Response

from chinwag import times
from chinwag.console.html import Html, join, render
from chinwag.console.page import Page
from chinwag.console.paging import pager
from chinwag.console.services import fetch_service, service_nav
from chinwag.console.values import as_list
from chinwag.console.web import Visit, get, link, redirect, rows
from chinwag.context import Row
from chinwag.domain.consumption import unread
from chinwag.domain.reachability import is_notifiable, is_online
from chinwag.model.params import Form
from chinwag.ops import search
from chinwag.resources.bindings import USER_BINDING
from chinwag.resources.services import SERVICE
from chinwag.resources.user_channels import USER_CHANNEL
from chinwag.resources.users import USER

_SEARCH = """<form method=get class=row role=search>
<label>Identity contains <input name=q value='{q}' type=search></label>
<button type=submit>Search</button></form>"""


def _state(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


async def first_service(visit: Visit) -> Response:
    """The navigation's Users: the users of the account's first service."""
    outcome = await visit.perform(SERVICE, "list", "/v2/Services", form=Form([("PageSize", "1")]))
    found = rows(outcome)
    if not found:
        return visit.page("Users", render("<h1>Users</h1><p>There is no service yet.</p>"))
    return redirect(f"/services/{found[0]['sid']}/users")


def _user_row(service: Row, u: Row) -> Html:
    return render(
        "<tr><td><a href='{href}'>{identity}</a></td><td>{name}</td><td>{online}</td>"
        "<td>{channels}</td><td>{created}</td><td class=sid>{sid}</td></tr>",
        href=link(f"/services/{service['sid']}/users/{u['sid']}"),
        identity=u["identity"],
        name=u["friendly_name"] or "",
        online=_state(is_online(service, u)),
        channels=u["joined_channels_count"],
        created=times.render(u["date_created"]),
        sid=u["sid"],
    )


async def list_users(visit: Visit) -> Response:
    sid = visit.params["sid"]
    service = await fetch_service(visit, sid)
    async with visit.runtime.db.read() as conn:
        page, request = await search.users(
            conn, visit.runtime.tables, visit.account.sid, sid, visit.form
        )
    q = visit.form.get("q") or ""
    body = render(
        "<h1>Users</h1>{nav}{search}<table><thead><tr><th>Identity</th><th>Friendly name</th>"
        "<th>Online</th><th>Channels</th><th>Created</th><th>SID</th></tr></thead>"
        "<tbody>{rows}</tbody></table>{pager}",
        nav=service_nav(service, f"/services/{sid}/users"),
        search=render(_SEARCH, q=q),
        rows=join(_user_row(service, u) for u in page.rows)
        or render("<tr><td colspan=6 class=muted>No users match.</td></tr>"),
        pager=pager(
            link(f"/services/{sid}/users"), page.rows, page, request.size, "pk", [("q", q)]
        ),
    )
    return visit.page("Users", body)


def _channel_row(service_sid: str, c: Row) -> Html:
    return render(
        "<tr><td><a href='{href}' class=sid>{channel}</a></td><td>{status}</td><td>{read}</td>"
        "<td>{unread}</td><td>{level}</td></tr>",
        href=link(f"/services/{service_sid}/channels/{c['channel_sid']}"),
        channel=c["channel_sid"],
        status=c["status"],
        read="" if c["last_consumed_message_index"] is None else c["last_consumed_message_index"],
        unread=unread(c["last_consumed_message_index"], c["message_counter"]) or 0,
        level=c["notification_level"],
    )


def _binding_row(b: Row) -> Html:
    return render(
        "<tr><td>{type}</td><td>{endpoint}</td><td>{types}</td><td class=sid>{credential}</td>"
        "<td>{created}</td></tr>",
        type=b["binding_type"],
        endpoint=b["endpoint"],
        types=", ".join(as_list(b["message_types"])),
        credential=b["credential_sid"] or "",
        created=times.render(b["date_created"]),
    )


async def show_user(visit: Visit) -> Response:
    sid, us = visit.params["sid"], visit.params["us"]
    path = f"/v2/Services/{sid}/Users/{us}"
    outcome = await visit.perform(USER, "fetch", path, {"ServiceSid": sid, "Sid": us})
    user, service = outcome.row, outcome.context.parent("service")
    assert user is not None  # noqa: S101  (a fetch has its row)
    params = {"ServiceSid": sid, "UserSid": user["sid"]}
    path = f"/v2/Services/{sid}/Users/{user['sid']}"
    channels = await visit.perform(USER_CHANNEL, "list", path + "/Channels", params)
    bindings = await visit.perform(USER_BINDING, "list", path + "/Bindings", params)
    body = render(
        "<h1>{identity}</h1>{nav}<dl class=details><dt>SID</dt><dd class=sid>{sid}</dd>"
        "<dt>Friendly name</dt><dd>{name}</dd><dt>Online</dt><dd class=online>{online}</dd>"
        "<dt>Notifiable</dt><dd>{notifiable}</dd><dt>Role</dt><dd class=sid>{role}</dd>"
        "<dt>Attributes</dt><dd><code>{attributes}</code></dd><dt>Created</dt><dd>{created}</dd>"
        "</dl><h2>Channels</h2><table><thead><tr><th>Channel</th><th>Status</th>"
        "<th>Read up to</th><th>Unread</th><th>Notifications</th></tr></thead>"
        "<tbody>{channels}</tbody></table>{more}<h2>Push bindings</h2><table><thead><tr>"
        "<th>Type</th><th>Endpoint</th><th>Message types</th><th>Credential</th><th>Created</th>"
        "</tr></thead><tbody>{bindings}</tbody></table>",
        identity=user["identity"],
        nav=service_nav(service, ""),
        sid=user["sid"],
        name=user["friendly_name"] or "",
        online=_state(is_online(service, user)),
        notifiable=_state(is_notifiable(service, user)),
        role=user["role_sid"],
        attributes=user["attributes"],
        created=times.render(user["date_created"]),
        channels=join(_channel_row(sid, c) for c in rows(channels))
        or render("<tr><td colspan=5 class=muted>In no channel.</td></tr>"),
        more=render("<p class=muted>More channels follow.</p>")
        if channels.listing and channels.listing.page.has_next
        else Html(""),
        bindings=join(_binding_row(b) for b in rows(bindings))
        or render("<tr><td colspan=5 class=muted>No bindings.</td></tr>"),
    )
    return visit.page(str(user["identity"]), body)


PAGE = Page(
    "Users",
    "/users",
    (
        get("/users", first_service),
        get("/services/{sid}/users", list_users),
        get("/services/{sid}/users/{us}", show_user),
    ),
)
