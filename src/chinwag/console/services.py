"""Services: the account's list of services."""

from __future__ import annotations

from starlette.responses import Response

from chinwag import times
from chinwag.console.html import join, render
from chinwag.console.page import Page
from chinwag.console.paging import pager
from chinwag.console.web import Visit, get, link
from chinwag.resources.services import SERVICE


async def list_services(visit: Visit) -> Response:
    outcome = await visit.perform(SERVICE, "list", "/v2/Services", form=visit.form)
    assert outcome.listing is not None  # noqa: S101  (a list action has a listing)
    rows = join(
        render(
            "<tr><td><a href='{href}'>{name}</a></td><td class=sid>{sid}</td>"
            "<td>{created}</td></tr>",
            href=link(f"/services/{row['sid']}"),
            name=row["friendly_name"] or row["sid"],
            sid=row["sid"],
            created=times.render(row["date_created"]),
        )
        for row in outcome.listing.rows
    )
    body = render(
        "<h1>Services</h1><table><thead><tr><th>Name</th><th>SID</th><th>Created</th></tr>"
        "</thead><tbody>{rows}</tbody></table>{pager}",
        rows=rows or render("<tr><td colspan=3 class=muted>No services yet.</td></tr>"),
        pager=pager(outcome, link("/services")),
    )
    return visit.page("Services", body)


PAGE = Page("Services", "/services", (get("/services", list_services),))
