"""A user deleted over REST takes its Sync objects with it: its memberships leave their
channels' rosters and its my-channels map (the user's own SDK sees `channelLeft`), then its
my-channels and user-info maps are removed, their items swept, as a channel's objects are.
Before, the two maps stayed, items and all, for every user ever deleted."""

from __future__ import annotations

from sqlalchemy import select

from chinwag.ops.actions import perform
from chinwag.runtime import Runtime
from chinwag.store import sweeper
from chinwag.store.accounts import Account
from chinwag.sync.chat import channel_names, my_channels_name, user_info_name
from chinwag.sync.projection import project
from tests.store.test_operations import chat, op, run


def test_a_deleted_users_maps_are_removed_and_swept(fresh_database: str) -> None:
    async def test(runtime: Runtime, account: Account) -> None:
        runtime.observers.append(project)
        service, channel = await chat(runtime, account)
        users = f"/v2/Services/{service}/Users"
        for identity in ("ann", "bob"):
            form = {"Identity": identity}
            await perform(
                runtime, op(account, "user", "create", users, {"ServiceSid": service}, form)
            )
            members = f"/v2/Services/{service}/Channels/{channel}/Members"
            params = {"ServiceSid": service, "ChannelSid": channel}
            await perform(runtime, op(account, "member", "create", members, params, form))
        ann, bob = await _user_sid(runtime, "ann"), await _user_sid(runtime, "bob")
        before = await _objects(runtime)
        for user in (ann, bob):  # made when each joined (the roster names its user-info map)
            assert before[my_channels_name(user)] is None
            assert before[user_info_name(user)] is None

        path = f"{users}/{ann}"
        deleted = await perform(
            runtime, op(account, "user", "delete", path, {"ServiceSid": service, "Sid": ann})
        )
        assert deleted.status == 204

        after = await _objects(runtime)
        for name in (my_channels_name(ann), user_info_name(ann)):
            assert after[name] is not None, name  # removed: a tombstone
        for name in (my_channels_name(bob), user_info_name(bob)):
            assert after[name] is None, name  # another user's: untouched
        assert after[channel_names(channel)["roster"]] is None
        assert await _last_events(runtime, ann) == {
            my_channels_name(ann): "map_removed",
            user_info_name(ann): "map_removed",
        }
        async with runtime.db.write() as conn:
            while await sweeper.sweep_once(conn, runtime.tables):
                pass
        assert await _items_of(runtime, my_channels_name(ann)) == 0
        assert await _items_of(runtime, user_info_name(ann)) == 0
        assert await _items_of(runtime, my_channels_name(bob)) == 1  # the channel
        assert await _items_of(runtime, user_info_name(bob)) == 2  # friendlyName, attributes

    run(fresh_database, test)


async def _user_sid(runtime: Runtime, identity: str) -> str:
    users = runtime.tables["user"]
    async with runtime.db.read() as conn:
        found = await conn.execute(select(users.c.sid).where(users.c.identity == identity))
        return str(found.scalar())


async def _objects(runtime: Runtime) -> dict[str, object]:
    """Every Sync object's unique name, and when it was removed (None: it was not)."""
    t = runtime.tables.sync_objects
    async with runtime.db.read() as conn:
        rows = await conn.execute(select(t.c.unique_name, t.c.date_removed))
        return {row.unique_name: row.date_removed for row in rows}


async def _last_events(runtime: Runtime, user: str) -> dict[str, str]:
    t, e = runtime.tables.sync_objects, runtime.tables.sync_events
    names = (my_channels_name(user), user_info_name(user))
    last: dict[str, str] = {}
    async with runtime.db.read() as conn:
        for name in names:
            sid = select(t.c.sid).where(t.c.unique_name == name).scalar_subquery()
            newest = (
                select(e.c.event_type)
                .where(e.c.object_sid == sid)
                .order_by(e.c.event_id.desc())
                .limit(1)
            )
            last[name] = str((await conn.execute(newest)).scalar())
    return last


async def _items_of(runtime: Runtime, name: str) -> int:
    t, i = runtime.tables.sync_objects, runtime.tables.sync_items
    async with runtime.db.read() as conn:
        sid = select(t.c.sid).where(t.c.unique_name == name).scalar_subquery()
        rows = await conn.execute(select(i.c.pk).where(i.c.object_sid == sid))
        return len(rows.all())
