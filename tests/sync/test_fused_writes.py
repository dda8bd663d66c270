"""The message-create writes (`put_list_item` with a lookup, `set_document`) on both databases:
one statement per object on PostgreSQL, the same rows and events on SQLite; and the SIDs the
projection learns only from committed transactions."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import orjson
import pytest
from sqlalchemy import bindparam, select

from chinwag.resources import TABLES
from chinwag.store.db import Database, Undo
from chinwag.store.errors import BatchLost
from chinwag.store.migrate import upgrade
from chinwag.sync import engine, fused
from chinwag.sync.queries import events_after, find, items_page
from tests.support.databases import with_database

ACCOUNT = "AC" + "0" * 32
# Text that JSON escapes (quotes, backslashes, NUL, non-ASCII) and that looks like a hole.
AWKWARD = 'he said "hi" \\ \x00revision \u00e9\U0001f600 \\u0000looked'


@pytest.fixture(scope="module")
def url(database_url: str) -> str:
    upgrade(database_url)
    return database_url


async def made(db: Database, kind: str, service: str, name: str) -> engine.SyncObject:
    async with db.write() as conn:
        return await engine.ensure(
            conn, TABLES, kind=kind, unique_name=name, account_sid=ACCOUNT, service_sid=service
        )


async def list_doc_and_gone(
    db: Database,
) -> tuple[str, engine.SyncObject, engine.SyncObject, engine.SyncObject]:
    """A new service's SID, a list and a document of it, and a list of it already removed."""
    service = "IS" + secrets.token_hex(16)
    listing = await made(db, "list", service, f"l.{secrets.token_hex(4)}")
    doc = await made(db, "document", service, f"d.{secrets.token_hex(4)}")
    gone = await made(db, "list", service, f"g.{secrets.token_hex(4)}")
    async with db.write() as conn:
        await engine.remove_object(conn, TABLES, gone.sid)
    return service, listing, doc, gone


def by_name_lookup(service: str, name: str) -> fused.Lookup:
    """A lookup of some object's SID by its unique name (the projection's reads a member)."""
    t = TABLES.sync_objects
    query = select(t.c.sid).where(t.c.unique_name == bindparam("l_name")).scalar_subquery()
    return fused.Lookup("author", query, {"l_name": name})


def test_list_item_with_lookup_and_document_events(url: str) -> None:
    async def work(db: Database) -> None:
        service = "IS" + secrets.token_hex(16)
        listing = await made(db, "list", service, f"l.{secrets.token_hex(4)}")
        doc = await made(db, "document", service, f"d.{secrets.token_hex(4)}")
        found = by_name_lookup(service, doc.unique_name)
        missing = by_name_lookup(service, "no such name")
        async with db.write() as conn:
            first = await engine.put_list_item(
                conn, TABLES, listing.sid, 7, {"text": AWKWARD, "author": None}, "B", found
            )
            second = await engine.put_list_item(
                conn, TABLES, listing.sid, 3, {"text": "b", "author": "x"}, "B", missing
            )
            third = await engine.set_document(conn, TABLES, doc.sid, {"last": AWKWARD})
        assert (first, second, third) == (1, 2, 1)
        async with db.read() as conn:
            events = await events_after(conn, TABLES, listing.sid, 0, 10)
            doc_events = await events_after(conn, TABLES, doc.sid, 0, 10)
            now = await find(conn, TABLES, service, listing.unique_name)
            assert now is not None
            page = await items_page(
                conn, TABLES, now, start=None, inclusive=True, descending=False, size=10
            )
            document = await find(conn, TABLES, service, doc.unique_name)
        payloads = [orjson.loads(e.payload) for e in events]
        assert [e.event_type for e in events] == ["list_item_added", "list_item_added"]
        assert [p["item_index"] for p in payloads] == [7, 3]
        assert [p["item_data"] for p in payloads] == [
            {"text": AWKWARD, "author": doc.sid},
            {"text": "b", "author": None},
        ]
        assert [p["list_revision"] for p in payloads] == ["1", "2"]
        assert [p["item_url"] for p in payloads] == [
            f"B/v3/Lists/{listing.sid}/Items/{i}" for i in (7, 3)
        ]
        assert (now.revision, now.last_event_id, now.data) == (2, 2, None)
        stored: list[Any] = [
            (i["item_index"], orjson.loads(i["data"]), i["last_event_id"]) for i in page.items
        ]
        assert stored == [
            (3, {"text": "b", "author": None}, 2),
            (7, {"text": AWKWARD, "author": doc.sid}, 1),
        ]
        assert [orjson.loads(e.payload)["document_data"] for e in doc_events] == [{"last": AWKWARD}]
        assert orjson.loads(doc_events[0].payload)["document_revision"] == "1"
        assert document is not None
        assert document.data == {"last": AWKWARD}

    with_database(url, work)


def test_a_write_to_a_removed_object_raises_and_writes_nothing(url: str) -> None:
    async def work(db: Database) -> None:
        service = "IS" + secrets.token_hex(16)
        listing = await made(db, "list", service, f"l.{secrets.token_hex(4)}")
        doc = await made(db, "document", service, f"d.{secrets.token_hex(4)}")
        async with db.write() as conn:
            await engine.remove_object(conn, TABLES, listing.sid)
            await engine.remove_object(conn, TABLES, doc.sid)
        async with db.write() as conn:
            with pytest.raises(engine.SyncError):
                await engine.put_list_item(conn, TABLES, listing.sid, 0, {"n": 1})
            with pytest.raises(engine.SyncError):
                await engine.set_document(conn, TABLES, doc.sid, {"n": 1})
        async with db.read() as conn:
            assert [e.event_type for e in await events_after(conn, TABLES, listing.sid, 0, 9)] == [
                "list_removed"
            ]
            assert len(await events_after(conn, TABLES, doc.sid, 0, 9)) == 1

    with_database(url, work)


def test_sids_are_known_only_after_their_transaction_commits(url: str) -> None:
    async def work(db: Database) -> None:
        service, name = "IS" + secrets.token_hex(16), f"l.{secrets.token_hex(4)}"

        async def rolled_back() -> None:
            async with db.write() as conn:
                engine.remember(conn, service, name, "ES1")
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await rolled_back()
        assert engine.known_sid(service, name) is None
        async with db.write() as conn:
            engine.remember(conn, service, name, "ES2")
            assert engine.known_sid(service, name) is None
        assert engine.known_sid(service, name) == "ES2"
        engine.forget(service, name)
        assert engine.known_sid(service, name) is None

    with_database(url, work)


def test_write_all_writes_the_live_objects_and_names_the_gone_ones(url: str) -> None:
    """Writes sharing one statement (PostgreSQL) stay independent: a removed object's write
    does nothing and gives None, the others are written with their own events."""

    async def work(db: Database) -> None:
        service, listing, doc, gone = await list_doc_and_gone(db)
        lookup = by_name_lookup(service, doc.unique_name)
        async with db.write() as conn:
            ids = await engine.write_all(
                conn,
                TABLES,
                [
                    engine.ItemAdded(listing.sid, 0, {"text": "a", "author": None}, "", lookup),
                    engine.ItemAdded(gone.sid, 0, {"text": "b"}),
                    engine.DocumentSet(doc.sid, {"n": 1}),
                ],
            )
            again = await engine.write_all(conn, TABLES, [engine.DocumentSet(doc.sid, {"n": 2})])
        assert ids == [1, None, 1]
        assert again == [2]
        async with db.read() as conn:
            listed = await events_after(conn, TABLES, listing.sid, 0, 9)
            removed = await events_after(conn, TABLES, gone.sid, 0, 9)
            documented = await events_after(conn, TABLES, doc.sid, 0, 9)
        assert [orjson.loads(e.payload)["item_data"] for e in listed] == [
            {"text": "a", "author": doc.sid}
        ]
        assert [e.event_type for e in removed] == ["list_removed"]
        assert [orjson.loads(e.payload)["document_data"] for e in documented] == [
            {"n": 1},
            {"n": 2},
        ]
        assert [orjson.loads(e.payload)["document_revision"] for e in documented] == ["1", "2"]

    with_database(url, work)


def test_writes_handed_over_are_logged_as_at_once_and_a_gone_object_loses_the_batch(
    url: str,
) -> None:
    """`write_all_later` in transactions that joined their batch without a savepoint: on
    PostgreSQL the statement runs at the batch's end (None now), with the events `write_all`
    would have logged; a write to an object that is gone by then takes the batch back
    (`BatchLost`: the callers run again, and find it gone as `write_all`'s do). SQLite
    writes at once, as `write_all`."""

    async def work(db: Database) -> None:
        _, listing, doc, gone = await list_doc_and_gone(db)
        pg = db.dialect == "postgresql"

        async def later(writes: list[Any]) -> Any:
            async with db.write(undo=Undo.BATCH) as conn:
                return await engine.write_all_later(conn, TABLES, writes)

        first = [
            engine.ItemAdded(listing.sid, 0, {"text": "a"}),
            engine.DocumentSet(doc.sid, {"n": 1}),
        ]
        second = [engine.ItemAdded(listing.sid, 1, {"text": "b"})]
        held, handed = await behind_a_holder(db, [later(first), later(second)])
        assert held is None
        assert handed == ([None, None] if pg else [[1, 1], [2]])
        async with db.read() as conn:
            listed = await events_after(conn, TABLES, listing.sid, 0, 9)
            documented = await events_after(conn, TABLES, doc.sid, 0, 9)
        assert [(e.event_id, orjson.loads(e.payload)["item_index"]) for e in listed] == [
            (1, 0),
            (2, 1),
        ]
        assert [orjson.loads(e.payload)["document_data"] for e in documented] == [{"n": 1}]

        held, handed = await behind_a_holder(db, [later([engine.ItemAdded(gone.sid, 0, {})])])
        if pg:
            assert [type(held), *map(type, handed)] == [BatchLost, BatchLost]
        else:
            assert (held, handed) == (None, [[None]])

    with_database(url, work)


async def behind_a_holder(db: Database, writes: list[Any]) -> tuple[Any, list[Any]]:
    """`writes` (coroutines of write transactions) queued in order behind one that can be run
    again, all in one batch: what the holder ended with, and what each write gave."""
    held, go = asyncio.Event(), asyncio.Event()

    async def hold() -> BaseException | None:
        try:
            async with db.write(undo=Undo.RERUN):
                held.set()
                await asyncio.wait_for(go.wait(), 10)
        except BatchLost as lost:
            return lost
        return None

    holder = asyncio.create_task(hold())
    await asyncio.wait_for(held.wait(), 10)
    tasks = []
    for write in writes:
        tasks.append(asyncio.create_task(write))
        await asyncio.sleep(0)  # queued, in order
    go.set()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    return await holder, list(done)
