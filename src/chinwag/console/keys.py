"""API keys of the signed-in account: create (the secret shown once), list, delete.

Keys are not a Chat resource (there is no Chat REST endpoint for them), so these actions call
the same store functions as `chinwag keys ...`, always scoped to the signed-in account.
"""

from __future__ import annotations

from starlette.responses import Response

from chinwag import times
from chinwag.console.html import Html, join, render
from chinwag.console.page import Page
from chinwag.console.web import Visit, csrf_field, get, link, post, redirect
from chinwag.store import accounts

NAME_MAX = 64


async def list_keys(visit: Visit, created: accounts.ApiKey | None = None) -> Response:
    async with visit.runtime.db.read() as conn:
        keys = await accounts.list_keys(conn, visit.runtime.tables, visit.account.sid)
    shown = Html("")
    if created is not None:
        shown = render(
            "<div class=secret role=status><p>Key <code>{sid}</code> created. Its secret is "
            "shown this once; keep it now:</p><p><code id=new-secret>{secret}</code></p></div>",
            sid=created.sid,
            secret=created.secret,
        )
    rows = join(
        render(
            "<tr><td class=sid>{sid}</td><td>{name}</td><td>{note}</td><td>"
            "<form method=post action='{action}' class=inline data-confirm='Delete key {sid}?'>"
            "{csrf}<button type=submit>Delete</button></form></td></tr>",
            sid=key.sid,
            name=key.friendly_name,
            note="" if key.can_sign else "cannot sign access tokens",
            action=link(f"/keys/{key.sid}/delete"),
            csrf=csrf_field(visit),
        )
        for key in keys
    )
    body = render(
        "<h1>API keys</h1>{shown}<form method=post action='{action}' class=row>{csrf}"
        "<label>Friendly name <input name=friendly_name maxlength={max}></label>"
        "<button type=submit>Create a key</button></form>"
        "<table><thead><tr><th>SID</th><th>Name</th><th></th><th></th></tr></thead>"
        "<tbody>{rows}</tbody></table><p class=muted>Listed {now}.</p>",
        shown=shown,
        action=link("/keys"),
        csrf=csrf_field(visit),
        max=NAME_MAX,
        rows=rows or render("<tr><td colspan=4 class=muted>No API keys.</td></tr>"),
        now=times.render(times.now()),
    )
    return visit.page("API keys", body, 201 if created else 200)


async def show_keys(visit: Visit) -> Response:
    return await list_keys(visit)


async def create_key(visit: Visit) -> Response:
    name = (visit.form.get("friendly_name") or "")[:NAME_MAX]
    async with visit.runtime.db.write() as conn:
        key = await accounts.create_key(conn, visit.runtime.tables, visit.account.sid, name)
    return await list_keys(visit, created=key)  # shown once, never stored readable in a URL


async def delete_key(visit: Visit) -> Response:
    async with visit.runtime.db.write() as conn:
        await accounts.delete_key(
            conn, visit.runtime.tables, visit.params["sid"], account_sid=visit.account.sid
        )
    return redirect("/keys")


PAGE = Page(
    "Keys",
    "/keys",
    (
        get("/keys", show_keys),
        post("/keys", create_key),
        post("/keys/{sid}/delete", delete_key),
    ),
)
