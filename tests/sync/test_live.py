"""The hub's replay on both databases: a subscriber that arrives while a read is under way gets
every event after its own position, none skipped (found by bench/reliability.py on PostgreSQL)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import orjson
import pytest

from chinwag.resources import TABLES
from chinwag.store.db import Connection, Database
from chinwag.store.migrate import upgrade
from chinwag.store.tables import Tables
from chinwag.sync import engine, live
from chinwag.sync.live import Hub
from tests.support.databases import with_database

ACCOUNT = "AC" + "0" * 32


@pytest.fixture(scope="module")
def url(database_url: str) -> str:
    upgrade(database_url)
    return database_url


class Collector:
    def __init__(self) -> None:
        self.ids: list[int] = []

    def deliver(self, object_sid: str, event_id: int, body: bytes) -> None:
        assert orjson.loads(body)["event"]["id"] == event_id
        self.ids.append(event_id)

    def typing(self, payload: dict[str, Any]) -> None:
        raise AssertionError("no typing here")


async def append(db: Database, sid: str, count: int) -> None:
    async with db.write() as conn:
        for n in range(count):
            await engine.list_append(conn, TABLES, sid, {"n": n})


def test_a_subscriber_arriving_during_a_read_misses_nothing(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, reading = asyncio.Event(), asyncio.Event()
    real = live.events_after

    async def held_once(conn: Connection, tables: Tables, sid: str, after: int, n: int) -> Any:
        found = await real(conn, tables, sid, after, n)
        if not gate.is_set():  # the first read waits until the late subscriber is in
            reading.set()
            await gate.wait()
        return found

    async def work(db: Database) -> tuple[list[int], list[int]]:
        async with db.write() as conn:
            made = await engine.ensure(
                conn,
                TABLES,
                kind="list",
                unique_name=f"test.{secrets.token_hex(4)}",
                account_sid=ACCOUNT,
                service_sid="IS" + secrets.token_hex(16),
            )
        await append(db, made.sid, 6)
        hub = Hub(db, TABLES)
        early, late = Collector(), Collector()
        await hub.subscribe(early, made.sid, 6)  # up to date
        await append(db, made.sid, 2)  # events 7 and 8
        monkeypatch.setattr(live, "events_after", held_once)
        hub.kick({made.sid})  # reads above 6 for `early`, and is held there
        await asyncio.wait_for(reading.wait(), 10)
        joining = asyncio.get_running_loop().create_task(hub.subscribe(late, made.sid, 2))
        await asyncio.sleep(0)  # `late` is registered while the read is still under way
        gate.set()
        await asyncio.wait_for(joining, 10)
        return early.ids, late.ids

    early, late = with_database(url, work)
    assert early == [7, 8]
    assert late == [3, 4, 5, 6, 7, 8]
