"""Keyset paging links for console lists, from the same tokens the REST API uses."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from chinwag.console.html import Html, render
from chinwag.ops.actions import Outcome


def pager(outcome: Outcome, path: str, keep: Sequence[tuple[str, str]] = ()) -> Html:
    """ "Newer"/"older" links for a listing (page tokens `PB…`/`PA…`, as REST's meta has)."""
    listing = outcome.listing
    if listing is None or not listing.rows:
        return Html("")
    key = outcome.context.resource.sort_column
    size = [("PageSize", str(listing.request.size))]
    links = []
    if listing.page.has_previous:
        token = f"PB{listing.rows[0][key]}"
        query = urlencode([*keep, *size, ("PageToken", token)])
        links.append(render("<a rel=prev href='{href}'>← Previous</a>", href=f"{path}?{query}"))
    if listing.page.has_next:
        token = f"PA{listing.rows[-1][key]}"
        query = urlencode([*keep, *size, ("PageToken", token)])
        links.append(render("<a rel=next href='{href}'>Next →</a>", href=f"{path}?{query}"))
    return render("<nav class=pager>{links}</nav>", links=Html("".join(links)))
