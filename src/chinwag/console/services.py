"""Services: the account's list, each service's settings (editable) and its roles."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from chinwag import times
from chinwag.console.html import Html, join, render
from chinwag.console.page import Page
from chinwag.console.paging import outcome_pager
from chinwag.console.settings_form import changes, fieldsets
from chinwag.console.values import as_list
from chinwag.console.web import Visit, csrf_field, get, link, post, redirect, rows
from chinwag.context import Row
from chinwag.resources.roles import ROLE
from chinwag.resources.services import SERVICE


async def list_services(visit: Visit) -> Response:
    outcome = await visit.perform(SERVICE, "list", "/v2/Services", form=visit.form)
    listed = join(
        render(
            "<tr><td><a href='{href}'>{name}</a></td><td class=sid>{sid}</td><td>{created}</td>"
            "<td><a href='{channels}'>Channels</a> · <a href='{users}'>Users</a></td></tr>",
            href=link(f"/services/{row['sid']}"),
            name=row["friendly_name"] or row["sid"],
            sid=row["sid"],
            created=times.render(row["date_created"]),
            channels=link(f"/services/{row['sid']}/channels"),
            users=link(f"/services/{row['sid']}/users"),
        )
        for row in rows(outcome)
    )
    body = render(
        "<h1>Services</h1><table><thead><tr><th>Name</th><th>SID</th><th>Created</th><th></th>"
        "</tr></thead><tbody>{rows}</tbody></table>{pager}",
        rows=listed or render("<tr><td colspan=4 class=muted>No services yet.</td></tr>"),
        pager=outcome_pager(outcome, link("/services")),
    )
    return visit.page("Services", body)


async def fetch_service(visit: Visit, sid: str) -> Row:
    """The service, or 404 (not this account's, or none)."""
    outcome = await visit.perform(SERVICE, "fetch", f"/v2/Services/{sid}", {"Sid": sid})
    assert outcome.row is not None  # noqa: S101  (a fetch has a row)
    return outcome.row


def service_nav(row: Row, here: str) -> Html:
    """The links between one service's pages."""
    sid = row["sid"]
    items = [
        ("Settings", f"/services/{sid}"),
        ("Channels", f"/services/{sid}/channels"),
        ("Users", f"/services/{sid}/users"),
    ]
    return render(
        "<p class=muted>Service <strong>{name}</strong> <span class=sid>{sid}</span></p>"
        "<nav class=pager>{links}</nav>",
        name=row["friendly_name"],
        sid=sid,
        links=join(
            render("<a href='{href}'>{label}</a>", href=link(p), label=label)
            if p != here
            else render("<strong>{label}</strong>", label=label)
            for label, p in items
        ),
    )


def _permissions(value: Any) -> str:
    return ", ".join(as_list(value))


async def roles_table(visit: Visit, sid: str) -> Html:
    params = {"ServiceSid": sid}
    outcome = await visit.perform(ROLE, "list", f"/v2/Services/{sid}/Roles", params)
    roles = join(
        render(
            "<tr><td>{name}</td><td>{type}</td><td class=sid>{sid}</td><td>{perms}</td></tr>",
            name=r["friendly_name"],
            type=r["type"],
            sid=r["sid"],
            perms=_permissions(r["permissions"]),
        )
        for r in rows(outcome)
    )
    return render(
        "<h2>Roles</h2><table><thead><tr><th>Name</th><th>Type</th><th>SID</th>"
        "<th>Permissions</th></tr></thead><tbody>{roles}</tbody></table>",
        roles=roles,
    )


async def show_service(visit: Visit) -> Response:
    sid = visit.params["sid"]
    row = await fetch_service(visit, sid)
    saved = render("<p class=note role=status>Saved.</p>") if visit.form.get("saved") else Html("")
    body = render(
        "<h1>{name}</h1>{nav}{saved}<h2>Settings</h2>"
        "<form method=post action='{action}' class='stack settings'>{csrf}{fields}"
        "<button type=submit>Save</button></form>{roles}",
        name=row["friendly_name"],
        nav=service_nav(row, f"/services/{sid}"),
        saved=saved,
        action=link(f"/services/{sid}"),
        csrf=csrf_field(visit),
        fields=fieldsets(SERVICE, "v2", row),
        roles=await roles_table(visit, sid),
    )
    return visit.page(str(row["friendly_name"]), body)


async def update_service(visit: Visit) -> Response:
    """Only what changed is sent, as a REST update of the service would send it."""
    sid = visit.params["sid"]
    row = await fetch_service(visit, sid)
    form = changes(SERVICE, "v2", row, visit.form)
    if form.values:
        await visit.perform(SERVICE, "update", f"/v2/Services/{sid}", {"Sid": sid}, form)
    return redirect(f"/services/{sid}?saved=1")


PAGE = Page(
    "Services",
    "/services",
    (
        get("/services", list_services),
        get("/services/{sid}", show_service),
        post("/services/{sid}", update_service),
    ),
)
