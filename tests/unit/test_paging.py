"""Page requests and the `meta` block: Twilio's shape over a keyset position."""

from __future__ import annotations

import pytest

from chinwag.api.forms import decode
from chinwag.model.errors import ApiError
from chinwag.ops.paging import Page, PageRequest, meta, page_request


class TestPageRequest:
    def test_defaults(self) -> None:
        """PageSize defaults to 50, Page to 0, and there is no position."""
        assert page_request(decode(b""), 1000) == PageRequest(50, 0)

    def test_clamped_to_the_paths_maximum(self) -> None:
        """A PageSize above the path's maximum is clamped, not refused."""
        assert page_request(decode(b"PageSize=5000"), 100).size == 100

    @pytest.mark.parametrize("query", [b"PageSize=0", b"PageSize=x", b"Page=-1", b"PageSize=-5"])
    def test_bad_numbers(self, query: bytes) -> None:
        """PageSize below 1, a negative Page or a non-number is 400/20001."""
        with pytest.raises(ApiError) as err:
            page_request(decode(query), 1000)
        assert (err.value.status, err.value.code) == (400, 20001)

    @pytest.mark.parametrize("token", ["PA12", "PB7"])
    def test_tokens(self, token: str) -> None:
        """PA<key> pages after a key, PB<key> before it."""
        request = page_request(decode(f"PageToken={token}".encode()), 50)
        assert request.token == token
        assert (request.after, request.before) == ((12, None) if token == "PA12" else (None, 7))

    @pytest.mark.parametrize("token", ["PAxyz", "XX1", "PA", "PA-1", "PA" + "9" * 40])
    def test_forged_tokens(self, token: str) -> None:
        """A token chinwag did not make is 400, never a crash."""
        with pytest.raises(ApiError):
            page_request(decode(f"PageToken={token}".encode()), 50)


class TestMeta:
    def test_first_page_of_several(self) -> None:
        """The first page links forward only; every URL is absolute and echoes the filters."""
        rows = [{"pk": 3}, {"pk": 5}]
        block = meta(
            "http://h/v1/X",
            "xs",
            [("Type", "public")],
            PageRequest(2, 0),
            Page(rows, has_next=True, has_previous=False),
            "pk",  # type: ignore[arg-type]
        )
        assert block["key"] == "xs"
        assert block["previous_page_url"] is None
        assert block["first_page_url"] == "http://h/v1/X?Type=public&PageSize=2&Page=0"
        assert block["next_page_url"] == "http://h/v1/X?Type=public&PageSize=2&Page=1&PageToken=PA5"

    def test_last_page(self) -> None:
        """The last page has no next_page_url, and links back before its first row."""
        block = meta(
            "http://h/v1/X",
            "xs",
            [],
            PageRequest(2, 1, after=5, token="PA5"),
            Page([{"pk": 8}], has_next=False, has_previous=True),
            "pk",  # type: ignore[list-item]
        )
        assert block["next_page_url"] is None
        assert block["previous_page_url"] == "http://h/v1/X?PageSize=2&Page=0&PageToken=PB8"
        assert block["url"] == "http://h/v1/X?PageSize=2&Page=1&PageToken=PA5"
