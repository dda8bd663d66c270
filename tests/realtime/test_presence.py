"""The lease rule of realtime/presence.py on both databases: connections of a process whose
lease ran out are reaped once, a stalled process that comes back counts its connections again,
a lease being renewed as a reap runs is left alone, and every counter move happens exactly
once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select

from chinwag.realtime.presence import Presence
from chinwag.resources import TABLES
from chinwag.runtime import Runtime
from chinwag.settings import Settings
from chinwag.store.db import Database
from tests.conftest import make_client
from tests.support.databases import with_database
from tests.support.servers import Server


async def count(db: Database, user_sid: str) -> int | None:
    u = TABLES["user"]
    async with db.read() as conn:
        value = (
            await conn.execute(select(u.c.online_connections).where(u.c.sid == user_sid))
        ).scalar()
    return None if value is None else int(value)


async def expire(db: Database, presence: Presence) -> None:
    """As if `presence`'s process had stopped renewing its lease long ago (kill -9)."""
    p = TABLES.realtime_processes
    async with db.write() as conn:
        await conn.execute(
            p.update().where(p.c.process_id == presence.process_id).values(expires_at=0)
        )


async def stop_heartbeat(presence: Presence) -> None:
    assert presence._task is not None
    presence._task.cancel()
    with contextlib.suppress(BaseException):
        await presence._task


def reachable_user(server: Server, unique: Any, identity: str) -> tuple[str, str]:
    """A new v2 service with reachability on, and a user of it: their SIDs."""
    svc = make_client(server).chat.v2.services.create(friendly_name=unique("lease"))
    v2 = make_client(server).chat.v2.services(svc.sid)
    v2.update(reachability_enabled=True)
    return svc.sid, v2.users.create(identity=unique(identity)).sid


@asynccontextmanager
async def two_processes(db: Database, url: str) -> AsyncIterator[tuple[Presence, Presence]]:
    """The presence of two server processes on `db`, each holding its lease, stopped after."""
    runtime = Runtime(Settings(database=url, reachability_lease=60), db, TABLES)
    first, second = Presence(runtime), Presence(runtime)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


def test_a_dead_process_is_reaped_once(server: Server, database_url: str, unique: Any) -> None:
    service, user = reachable_user(server, unique, "bob")

    async def work(db: Database) -> list[Any]:
        async with two_processes(db, database_url) as (dead, alive):
            mine = [await dead.connect(user, service) for _ in range(2)]
            theirs = await alive.connect(user, service)
            seen = [await count(db, user)]  # 3
            await stop_heartbeat(dead)
            await expire(db, dead)
            seen.append(await alive.reap())  # 1 process
            seen.append(await alive.reap())  # 0: already gone
            seen.append(await count(db, user))  # 1: alive's connection
            await dead.disconnect(mine[0])  # closing after the reap moves nothing
            seen.append(await count(db, user))  # 1
            await dead.renew()  # the stalled process is back: its open connection counts
            seen.append(await count(db, user))  # 2
            await dead.disconnect(mine[1])
            await alive.disconnect(theirs)
            seen.append(await count(db, user))  # 0
            return seen

    seen = with_database(database_url, work)
    assert seen == [3, 1, 0, 1, 1, 2, 0]
    assert make_client(server).chat.v2.services(service).users(user).fetch().is_online is False


def test_a_lease_being_renewed_is_not_reaped(
    server: Server, database_url: str, unique: Any
) -> None:
    """A process renews its lease just as it runs out, while another process reaps. The reap
    must leave that process and its connections alone: on PostgreSQL it skips the lease row the
    renewal holds (FOR UPDATE SKIP LOCKED); without the lock it removed the connections and then
    waited for the renewal, leaving a live lease with nothing counted under it. SQLite's single
    writer runs the reap after the renewal."""
    service, user = reachable_user(server, unique, "carol")

    async def work(db: Database) -> list[Any]:
        async with two_processes(db, database_url) as (late, reaper):
            await late.connect(user, service)
            await stop_heartbeat(late)
            await stop_heartbeat(reaper)
            await expire(db, late)
            async with db.write() as conn:  # the renewal, not yet committed
                await late._lease(conn, register=False)
                reaping = asyncio.ensure_future(reaper.reap())
                await asyncio.sleep(0.5)  # the reap runs (or waits) meanwhile
            reaped = await asyncio.wait_for(reaping, 10)
            return [reaped, await count(db, user), await reaper.reap()]

    assert with_database(database_url, work) == [0, 1, 0]
