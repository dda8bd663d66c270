"""Keyset paging links for console lists, with the same tokens the REST API uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from chinwag.console.html import Html, join, render
from chinwag.ops.actions import Outcome
from chinwag.ops.paging import Page

Keep = Sequence[tuple[str, str]]  # query parameters every link repeats (a search, a filter)


def pager(
    path: str, rows: Sequence[Mapping[str, Any]], page: Page, size: int, key: str, keep: Keep = ()
) -> Html:
    """ "Previous"/"Next" links (page tokens `PB…`/`PA…`, as REST's `meta` builds them)."""
    if not rows:
        return Html("")
    links = []
    for wanted, token, rel, label in (
        (page.has_previous, f"PB{rows[0][key]}", "prev", "← Previous"),
        (page.has_next, f"PA{rows[-1][key]}", "next", "Next →"),
    ):
        if wanted:
            query = urlencode([*keep, ("PageSize", str(size)), ("PageToken", token)])
            links.append(
                render(
                    "<a rel='{rel}' href='{href}'>{label}</a>",
                    rel=rel,
                    href=f"{path}?{query}",
                    label=label,
                )
            )
    return render("<nav class=pager>{links}</nav>", links=join(links))


def outcome_pager(outcome: Outcome, path: str, keep: Keep = ()) -> Html:
    """The links of a listing an operation returned."""
    listing = outcome.listing
    if listing is None:
        return Html("")
    key = outcome.context.resource.sort_column
    return pager(path, listing.rows, listing.page, listing.request.size, key, keep)
