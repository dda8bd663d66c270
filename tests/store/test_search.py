"""The console's searches (ops/search.py) on both databases: a page reads at most `paging.WINDOW` rows of
the service, so a rare match costs the same on a service of any size, and its links go on from
where the window ended, both ways, until the whole service has been read."""

from __future__ import annotations

import pytest

from chinwag.model.params import Form
from chinwag.ops import paging, search
from chinwag.ops.actions import perform
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account
from tests.store.test_operations import op, run
from tests.store.test_stats import channel

Found = tuple[list[str], str | None, str | None]  # names, next token, previous token


async def service_with(runtime: Runtime, account: Account, names: list[str]) -> str:
    """A service with a channel of each name, made in that order; the service's SID."""
    form = {"FriendlyName": "search"}
    made = await perform(runtime, op(account, "service", "create", "/v2/Services", form=form))
    assert made.row is not None
    service = str(made.row["sid"])
    for name in names:
        await channel(runtime, account, service, name)
    return service


def test_a_search_reads_a_bounded_window_and_goes_on_from_its_end(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "WINDOW", 4)

    async def test(runtime: Runtime, account: Account) -> None:
        # needles at 1, 6, 7 and 10, in windows of four rows
        names = [f"{'needle' if n in (1, 6, 7, 10) else 'hay'} {n}" for n in range(11)]
        service = await service_with(runtime, account, names)

        async def page(token: str | None) -> Found:
            query = [("q", "NEEDLE"), ("PageSize", "2"), *([("PageToken", token)] if token else [])]
            async with runtime.db.read() as conn:
                found, _ = await search.channels(
                    conn, runtime.tables, account.sid, service, Form(query)
                )
            rows = found.rows
            last = rows[-1]["pk"] if rows else None
            first = rows[0]["pk"] if rows else None
            last = found.next_key if found.next_key is not None else last
            first = found.previous_key if found.previous_key is not None else first
            return (
                [str(r["friendly_name"]) for r in rows],
                f"PA{last}" if found.has_next else None,
                f"PB{first}" if found.has_previous else None,
            )

        forward: list[list[str]] = []
        token: str | None = None
        back = None
        while True:
            names, token, back = await page(token)
            forward.append(names)
            if token is None:
                break
        # rows 0-3 hold one needle, 4-7 two (a full page, with more rows unread), 8-10 the last
        assert forward == [["needle 1"], ["needle 6", "needle 7"], ["needle 10"]]

        backward: list[list[str]] = []
        while back is not None:
            names, _, back = await page(back)
            backward.append(names)
        # from row 10 back: 9-6 hold two, 5-2 none (an empty page that still goes on), 1-0 one
        assert backward == [["needle 6", "needle 7"], [], ["needle 1"]]

    run(fresh_database, test)


def test_without_a_match_a_page_is_a_plain_keyset_page(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paging, "WINDOW", 2)

    async def test(runtime: Runtime, account: Account) -> None:
        service = await service_with(runtime, account, [f"c{n}" for n in range(5)])
        async with runtime.db.read() as conn:
            found, _ = await search.channels(
                conn, runtime.tables, account.sid, service, Form([("PageSize", "4")])
            )
        assert [r["friendly_name"] for r in found.rows] == ["c0", "c1", "c2", "c3"]
        assert found.has_next
        assert found.next_key is None

    run(fresh_database, test)


def test_values_written_into_the_sql_are_quoted(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a window's values are written into its SQL (`paging._planned`): quotes,
    backslashes and SQL in a search stay text, found as such (on both databases)."""
    monkeypatch.setattr(paging, "WINDOW", 2)

    async def test(runtime: Runtime, account: Account) -> None:
        names = ["O'Brien", "back\\slash", "x'); DROP TABLE channels; --", "plain"]
        service = await service_with(runtime, account, names)
        for text, expected in [
            ("o'b", ["O'Brien"]),
            ("k\\s", ["back\\slash"]),
            ("'); drop", ["x'); DROP TABLE channels; --"]),
            ("%", []),
        ]:
            found: list[str] = []
            token: str | None = None
            while True:
                query = [("q", text), ("PageSize", "5"), *([("PageToken", token)] if token else [])]
                async with runtime.db.read() as conn:
                    page, _ = await search.channels(
                        conn, runtime.tables, account.sid, service, Form(query)
                    )
                found += [str(r["friendly_name"]) for r in page.rows]
                if not page.has_next:
                    break
                last = page.next_key if page.next_key is not None else page.rows[-1]["pk"]
                token = f"PA{last}"
            assert found == expected, text

    run(fresh_database, test)
