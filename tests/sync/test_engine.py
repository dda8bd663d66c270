"""The Sync engine on both databases: event ids, replay, item paging and retention."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import pytest

from chinwag.resources import TABLES
from chinwag.store.db import Database
from chinwag.store.migrate import upgrade
from chinwag.sync import engine
from chinwag.sync.live import Hub
from chinwag.sync.queries import events_after, find, items_page
from tests.support.databases import with_database

T = TypeVar("T")
ACCOUNT = "AC" + "0" * 32


@pytest.fixture(scope="module")
def url(database_url: str) -> str:
    upgrade(database_url)
    return database_url


def run(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    return with_database(url, work)


async def new_object(db: Database, kind: str, service: str | None = None) -> engine.SyncObject:
    async with db.write() as conn:
        return await engine.ensure(
            conn,
            TABLES,
            kind=kind,
            unique_name=f"test.{secrets.token_hex(4)}",
            account_sid=ACCOUNT,
            service_sid=service or "IS" + secrets.token_hex(16),
        )


class Collector:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def deliver(self, object_sid: str, event_id: int, body: bytes) -> None:
        self.events.append(orjson.loads(body))


def test_event_ids_increase_by_one_per_object(url: str) -> None:
    async def work(db: Database) -> tuple[list[int], list[int]]:
        one, two = await new_object(db, "list"), await new_object(db, "map")
        async with db.write() as conn:
            for n in range(3):
                await engine.list_append(conn, TABLES, one.sid, {"n": n})
            await engine.set_item(conn, TABLES, two.sid, "k", {"v": 1})
            await engine.set_item(conn, TABLES, two.sid, "k", {"v": 2})
            await engine.remove_item(conn, TABLES, two.sid, "k")
        async with db.read() as conn:
            a = await events_after(conn, TABLES, one.sid, 0, 10)
            b = await events_after(conn, TABLES, two.sid, 0, 10)
        assert [e.event_type for e in b] == [
            "map_item_added",
            "map_item_updated",
            "map_item_removed",
        ]
        return [e.event_id for e in a], [e.event_id for e in b]

    assert run(url, work) == ([1, 2, 3], [1, 2, 3])


def test_a_rolled_back_change_leaves_no_event(url: str) -> None:
    async def work(db: Database) -> int:
        doc = await new_object(db, "document")

        async def failing_change() -> None:
            async with db.write() as conn:
                await engine.set_document(conn, TABLES, doc.sid, {"x": 1})
                raise RuntimeError("the chat change failed")

        with pytest.raises(RuntimeError):
            await failing_change()
        async with db.read() as conn:
            found = await find(conn, TABLES, doc.service_sid, doc.unique_name)
            assert found is not None
            assert found.data == {}
            return len(await events_after(conn, TABLES, doc.sid, 0, 10))

    assert run(url, work) == 0


def test_subscribe_replays_everything_after_last_event_id(url: str) -> None:
    async def work(db: Database) -> list[tuple[str, int, Any]]:
        messages = await new_object(db, "list")
        async with db.write() as conn:
            for n in range(5):
                await engine.list_append(conn, TABLES, messages.sid, {"text": f"m{n}"})
        hub, sub = Hub(db, TABLES), Collector()
        await hub.subscribe(sub, messages.sid, 2)
        assert hub.position(sub, messages.sid) == 5
        return [(e["event_type"], e["event"]["id"], e["event"]["item_index"]) for e in sub.events]

    assert run(url, work) == [("list_item_added", i, i - 1) for i in (3, 4, 5)]


def test_live_delivery_after_commit_in_order(url: str) -> None:
    async def work(db: Database) -> list[int]:
        doc = await new_object(db, "document")
        hub, sub = Hub(db, TABLES), Collector()
        hub.start()
        try:
            await hub.subscribe(sub, doc.sid, 0)
            for n in range(4):
                async with db.write() as conn:
                    await engine.set_document(conn, TABLES, doc.sid, {"n": n})
            for _ in range(100):  # bounded: 10 s
                if len(sub.events) == 4:
                    break
                await asyncio.sleep(0.1)
        finally:
            await hub.stop()
        assert [e["event"]["document_data"] for e in sub.events] == [{"n": n} for n in range(4)]
        return [e["event"]["id"] for e in sub.events]

    assert run(url, work) == [1, 2, 3, 4]


def test_item_pages_by_keyset(url: str) -> None:
    async def work(db: Database) -> None:
        listing = await new_object(db, "list")
        async with db.write() as conn:
            for n in range(7):
                await engine.list_append(conn, TABLES, listing.sid, n)
        async with db.read() as conn:
            first = await items_page(
                conn, TABLES, listing, start=None, inclusive=True, descending=False, size=3
            )
            assert [i["item_index"] for i in first.items] == [0, 1, 2]
            assert first.has_after
            assert not first.has_before
            after = await items_page(
                conn, TABLES, listing, start=2, inclusive=False, descending=False, size=3
            )
            assert [i["item_index"] for i in after.items] == [3, 4, 5]
            assert after.has_before
            assert after.has_after
            newest = await items_page(
                conn, TABLES, listing, start=None, inclusive=True, descending=True, size=5
            )
            assert [i["item_index"] for i in newest.items] == [6, 5, 4, 3, 2]
            back = await items_page(
                conn, TABLES, listing, start=1, inclusive=True, descending=True, size=5
            )
            assert [i["item_index"] for i in back.items] == [1, 0]
            assert not back.has_after

    run(url, work)


def test_retention_keeps_the_newest_events(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "RETAIN", 20)
    monkeypatch.setattr(engine, "TRIM_EVERY", 10)

    async def work(db: Database) -> list[int]:
        doc = await new_object(db, "document")
        async with db.write() as conn:
            for n in range(50):
                await engine.set_document(conn, TABLES, doc.sid, {"n": n})
        async with db.read() as conn:
            return [e.event_id for e in await events_after(conn, TABLES, doc.sid, 0, 100)]

    kept = run(url, work)
    assert kept == list(range(31, 51))  # trimmed at 50: ids up to 30 go


def test_retention_keeps_item_removals_longer(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client away for longer than RETAIN events still learns which items went meanwhile:
    removals stay in the log for RETAIN_REMOVALS events (sync/catchup.py sends them)."""
    monkeypatch.setattr(engine, "RETAIN", 20)
    monkeypatch.setattr(engine, "RETAIN_REMOVALS", 60)
    monkeypatch.setattr(engine, "TRIM_EVERY", 10)

    async def work(db: Database) -> list[int]:
        roster = await new_object(db, "map")
        async with db.write() as conn:
            for n in range(100):  # events 1-100; every fifth removes the item before it
                if n % 5 == 4:
                    await engine.remove_item(conn, TABLES, roster.sid, f"k{n - 1}")
                else:
                    await engine.set_item(conn, TABLES, roster.sid, f"k{n}", {"n": n})
        async with db.read() as conn:
            return [e.event_id for e in await events_after(conn, TABLES, roster.sid, 0, 200)]

    kept = run(url, work)
    # trimmed at 100: other events up to 80, removals (5, 10, ...) up to 40
    assert kept == [45, 50, 55, 60, 65, 70, 75, 80, *range(81, 101)]
    assert engine.trimmed_through(100) == 80
    assert engine.trimmed_through(109) == 80
    assert engine.trimmed_through(19) == 0


def test_removed_object_keeps_its_removal_event(url: str) -> None:
    async def work(db: Database) -> tuple[Any, list[str]]:
        roster = await new_object(db, "map")
        async with db.write() as conn:
            await engine.set_item(conn, TABLES, roster.sid, "MB1", {"identity": "a"})
            await engine.remove_object(conn, TABLES, roster.sid)
        async with db.read() as conn:
            found = await find(conn, TABLES, roster.service_sid, roster.sid)
            events = await events_after(conn, TABLES, roster.sid, 0, 10)
        return found, [e.event_type for e in events]

    assert run(url, work) == (None, ["map_item_added", "map_removed"])


def test_ensure_is_idempotent(url: str) -> None:
    async def work(db: Database) -> bool:
        first = await new_object(db, "map", "IS" + "5" * 32)
        async with db.write() as conn:
            again = await engine.ensure(
                conn,
                TABLES,
                kind="map",
                unique_name=first.unique_name,
                account_sid=ACCOUNT,
                service_sid=first.service_sid,
            )
        return again.sid == first.sid

    assert run(url, work)
