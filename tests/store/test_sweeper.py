"""A deleted channel's messages and its removed Sync objects' items are swept after the delete,
a bounded batch a transaction (`store/sweeper.py`), instead of in the delete's own transaction."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from chinwag.ops.actions import Operation, perform
from chinwag.runtime import Runtime
from chinwag.store import sweeper
from chinwag.store.accounts import Account
from chinwag.store.db import Database
from chinwag.store.sweeper import Sweeper
from chinwag.sync.projection import channel_names, project
from tests.store.test_operations import op, run


async def _made(runtime: Runtime, operation: Operation) -> str:
    outcome = await perform(runtime, operation)
    assert outcome.row is not None
    return str(outcome.row["sid"])


async def _service(runtime: Runtime, account: Account) -> str:
    if project not in runtime.observers:
        runtime.observers.append(project)  # the Sync objects the client SDK reads, as served
    form = {"FriendlyName": "swept"}
    return await _made(runtime, op(account, "service", "create", "/v2/Services", form=form))


async def _channel(runtime: Runtime, account: Account, service: str, messages: int) -> str:
    path = f"/v2/Services/{service}/Channels"
    channel = await _made(runtime, op(account, "channel", "create", path, {"ServiceSid": service}))
    params = {"ServiceSid": service, "ChannelSid": channel}
    for n in range(messages):
        await _made(
            runtime,
            op(
                account,
                "message",
                "create",
                f"{path}/{channel}/Messages",
                params,
                {"Body": f"m{n}"},
            ),
        )
    return channel


async def _delete(
    runtime: Runtime, account: Account, name: str, path: str, params: dict[str, str]
) -> None:
    assert (await perform(runtime, op(account, name, "delete", path, params))).status == 204


async def _count(runtime: Runtime, table_name: str, **where: str) -> int:
    t = runtime.tables.by_name.get(table_name) or runtime.tables.metadata.tables[table_name]
    query = select(func.count()).select_from(t)
    for column, value in where.items():
        query = query.where(t.c[column] == value)
    async with runtime.db.read() as conn:
        return int((await conn.execute(query)).scalar())


async def _objects(runtime: Runtime, service: str, channel: str) -> list[str]:
    t = runtime.tables.sync_objects
    names = list(channel_names(channel).values())
    query = select(t.c.sid).where(t.c.service_sid == service, t.c.unique_name.in_(names))
    async with runtime.db.read() as conn:
        return [str(row.sid) for row in (await conn.execute(query)).all()]


async def _sweep_all(runtime: Runtime, batch: int) -> int:
    """Run sweeps until none is left; how many batches that took."""
    batches = 0
    while True:
        async with runtime.db.write() as conn:
            if not await sweeper.sweep_once(conn, runtime.tables, batch):
                return batches
        batches += 1
        assert batches < 100


def test_a_channel_delete_leaves_its_messages_to_the_sweeper(fresh_database: str) -> None:
    """The delete answers with the messages (and the Sync list's items) still stored, noted in
    `sweeps`; the sweeper then removes them in batches of its size, and its notes with them.
    Another channel's messages stay."""

    async def test(runtime: Runtime, account: Account) -> None:
        service = await _service(runtime, account)
        doomed = await _channel(runtime, account, service, 7)
        kept = await _channel(runtime, account, service, 2)
        objects = await _objects(runtime, service, doomed)
        items = sum([await _count(runtime, "sync_items", object_sid=sid) for sid in objects])
        assert items >= 7  # the message list's items, and the others'
        params = {"ServiceSid": service, "Sid": doomed}
        await _delete(
            runtime, account, "channel", f"/v2/Services/{service}/Channels/{doomed}", params
        )
        assert await _count(runtime, "messages", channel_sid=doomed) == 7
        assert await _count(runtime, "sweeps", kind="messages", owner_sid=doomed) == 1
        assert await _count(runtime, "sweeps", kind="sync_items") == len(objects)

        batches = await _sweep_all(runtime, batch=3)
        # messages: 3 + 3 + 1; the message list: 7 items in 3 batches; the others in one each
        assert batches >= 3 + 3
        assert await _count(runtime, "messages", channel_sid=doomed) == 0
        assert sum([await _count(runtime, "sync_items", object_sid=sid) for sid in objects]) == 0
        assert await _count(runtime, "sweeps") == 0
        assert await _count(runtime, "messages", channel_sid=kept) == 2

    run(fresh_database, test)


def test_a_service_delete_leaves_each_channels_messages(fresh_database: str) -> None:
    """A service's channels go by cascade; the sweeps note each one's messages, and the items
    of each of the service's Sync objects (unreachable with the service gone)."""

    async def test(runtime: Runtime, account: Account) -> None:
        service = await _service(runtime, account)
        channels = [await _channel(runtime, account, service, 2) for _ in range(3)]
        objects = [sid for channel in channels for sid in await _objects(runtime, service, channel)]
        other = await _service(runtime, account)
        elsewhere = await _channel(runtime, account, other, 1)
        kept = await _objects(runtime, other, elsewhere)
        items = sum([await _count(runtime, "sync_items", object_sid=sid) for sid in kept])
        await _delete(runtime, account, "service", f"/v2/Services/{service}", {"Sid": service})
        for channel in channels:
            assert await _count(runtime, "sweeps", kind="messages", owner_sid=channel) == 1
        for sid in objects:
            assert await _count(runtime, "sweeps", kind="sync_items", owner_sid=sid) == 1
        await _sweep_all(runtime, batch=1000)
        assert await _count(runtime, "messages", service_sid=service) == 0
        assert sum([await _count(runtime, "sync_items", object_sid=sid) for sid in objects]) == 0
        assert await _count(runtime, "messages", channel_sid=elsewhere) == 1
        assert sum([await _count(runtime, "sync_items", object_sid=sid) for sid in kept]) == items
        assert await _count(runtime, "sweeps") == 0

    run(fresh_database, test)


def test_a_sweep_past_a_remaining_row_starts_over(fresh_database: str) -> None:
    """Rows below a sweep's position (none should be) are not left behind: when the rows past
    it run out and some remain, the next batch starts from the first."""

    async def test(runtime: Runtime, account: Account) -> None:
        service = await _service(runtime, account)
        doomed = await _channel(runtime, account, service, 4)
        params = {"ServiceSid": service, "Sid": doomed}
        await _delete(
            runtime, account, "channel", f"/v2/Services/{service}/Channels/{doomed}", params
        )
        s = runtime.tables.sweeps
        async with runtime.db.write() as conn:
            await conn.execute(s.update().where(s.c.owner_sid == doomed).values(after=10**9))
        await _sweep_all(runtime, batch=2)
        assert await _count(runtime, "messages", channel_sid=doomed) == 0
        assert await _count(runtime, "sweeps") == 0

    run(fresh_database, test)


def test_the_sweeper_works_through_what_a_delete_left(fresh_database: str) -> None:
    """The server's worker: at start it sweeps what was left before (as after a restart, or
    `kill -9`: the sweeps are rows), a delete meanwhile wakes it at once, it goes a batch at a
    time, then waits; a sweep of a kind it does not know (a newer version's) is left alone."""

    async def test(runtime: Runtime, account: Account) -> None:
        service = await _service(runtime, account)
        before, during = [await _channel(runtime, account, service, 5) for _ in range(2)]
        base = f"/v2/Services/{service}/Channels"
        await _delete(
            runtime, account, "channel", f"{base}/{before}", {"ServiceSid": service, "Sid": before}
        )
        async with runtime.db.write() as conn:
            await sweeper.enqueue(conn, runtime.tables, "future_kind", "XX" + "0" * 32)
        worker = Sweeper(runtime.db, runtime.tables, batch=2, poll=60)  # no poll in the test
        runtime.sweeper = worker
        worker.start()
        try:
            params = {"ServiceSid": service, "Sid": during}
            await _delete(runtime, account, "channel", f"{base}/{during}", params)
            for _ in range(200):
                if await _count(runtime, "sweeps") == 1:
                    break
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()
        for channel in (before, during):
            assert await _count(runtime, "messages", channel_sid=channel) == 0
        assert await _count(runtime, "sweeps", kind="future_kind") == 1
        assert worker.removed >= 2 * 3  # 2 + 2 + 1 messages a channel, and the Sync items
        async with runtime.db.read() as conn:
            assert await sweeper.pending(conn, runtime.tables) == 1

    run(fresh_database, test)


def test_two_servers_never_sweep_the_same_owner(fresh_postgres: str) -> None:
    """Servers sharing one PostgreSQL database: a sweep being worked on by one (its row
    locked in that one's transaction) is skipped by another, which takes the next."""

    async def test(runtime: Runtime, account: Account) -> None:
        service = await _service(runtime, account)
        first, second = [await _channel(runtime, account, service, 3) for _ in range(2)]
        s = runtime.tables.sweeps
        async with runtime.db.write() as conn:
            await conn.execute(s.delete())  # the Sync objects' sweeps: only the two below
            for channel in (first, second):
                await sweeper.enqueue(conn, runtime.tables, "messages", channel)
        other = Database(fresh_postgres)
        try:
            async with runtime.db.write() as conn:
                assert await sweeper.sweep_once(conn, runtime.tables, batch=2)
                async with other.write() as elsewhere:
                    assert await sweeper.sweep_once(elsewhere, runtime.tables, batch=2)
                async with other.read() as seen:
                    after = select(s.c.owner_sid, s.c.after)
                    progress = {row.owner_sid: row.after for row in await seen.execute(after)}
                assert progress[second] is not None  # the other server took the second
                assert progress[first] is None  # not committed here yet
        finally:
            await other.close()
        assert await _count(runtime, "messages", channel_sid=first) == 1
        assert await _count(runtime, "messages", channel_sid=second) == 1

    run(fresh_postgres, test)
