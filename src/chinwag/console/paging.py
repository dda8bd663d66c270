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
    """ "Previous"/"Next" links (page tokens `PB…`/`PA…`, as REST's `meta` builds them; a
    bounded search's page may name where the next one starts, even with no rows)."""
    first = page.previous_key if page.previous_key is not None else rows[0][key] if rows else None
    last = page.next_key if page.next_key is not None else rows[-1][key] if rows else None
    links = []
    for wanted, token, rel, label in (
        (page.has_previous and first is not None, f"PB{first}", "prev", "← Previous"),
        (page.has_next and last is not None, f"PA{last}", "next", "Next →"),
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
    if not links:
        return Html("")
    return render("<nav class=pager>{links}</nav>", links=join(links))


def outcome_pager(outcome: Outcome, path: str, keep: Keep = ()) -> Html:
    """The links of a listing an operation returned."""
    listing = outcome.listing
    if listing is None:
        return Html("")
    key = outcome.context.resource.sort_column
    return pager(path, listing.rows, listing.page, listing.request.size, key, keep)
