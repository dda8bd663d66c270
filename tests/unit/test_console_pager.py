"""The console's paging links: REST's tokens, and a bounded search's page that names where the
next one starts (ops/search.py), with rows or without."""

from __future__ import annotations

from chinwag.console.paging import pager
from chinwag.ops.paging import Page

ROWS = [{"pk": 3}, {"pk": 7}]


def test_links_from_the_rows() -> None:
    html = str(pager("/c", ROWS, Page(ROWS, has_next=True, has_previous=True), 2, "pk"))
    assert "PageToken=PB3" in html
    assert "PageToken=PA7" in html


def test_a_bounded_search_goes_on_from_its_window() -> None:
    page = Page([], has_next=True, has_previous=False, next_key=40)
    html = str(pager("/c", [], page, 2, "pk", [("q", "x")]))
    assert "q=x&amp;PageSize=2&amp;PageToken=PA40" in html  # escaped in the attribute
    assert "PB" not in html
    page = Page(ROWS, has_next=True, has_previous=True, next_key=40, previous_key=1)
    html = str(pager("/c", ROWS, page, 2, "pk"))
    assert "PageToken=PA40" in html
    assert "PageToken=PB1" in html


def test_no_links_without_a_way_on() -> None:
    assert str(pager("/c", [], Page([], has_next=False, has_previous=False), 2, "pk")) == ""
    assert str(pager("/c", ROWS, Page(ROWS, has_next=False, has_previous=False), 2, "pk")) == ""
