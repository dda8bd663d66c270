"""Writers take rows in one order: channels, users, a channel's hourly counts, members and
messages, Sync objects (`ops/crud.py`).

On PostgreSQL a user's delete runs on its service's writer, and a channel's writes on that
channel's (by SID, or by unique name: another one), so they run at the same moment and take
the same rows' locks. A member's removal locks its channel, then its user; a user's delete
locked the user, then the channels it leaves: two of them waited for each other until one
gave way (after 50 ms, and after three times answered 503). Here a session of the test holds
the lock an operation on another writer holds first (a channel's, as a member's add or
removal there does; a member's, as an update of it does before its roster), while the delete
waits for it: the row that other operation would lock next must still be free, or the two
would be deadlocked.

The same holds for a check a write makes of rows another writer may change meanwhile: a
role's delete looks for holders, an invite for a membership, a client's join of a private
channel relies on its invite. Each keeps what it checked (a lock, or the invite it must
consume), so the other writer's change is either seen or waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select

from chinwag.model.errors import ApiError
from chinwag.ops.actions import Outcome, perform
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account
from chinwag.sync.chat import channel_names
from chinwag.sync.projection import project
from tests.store.test_operations import chat, op, run

# A row a test locks, or checks is free: (table, WHERE clause on $1 and $2, its arguments).
RowOf = tuple[str, str, tuple[Any, ...]]


def by_sid(table: str, sid: str) -> RowOf:
    return (table, "sid = $1", (sid,))


async def waiting_for_a_lock(conn: Any) -> None:
    """Until another session of the database waits for a lock (10 s at most). Asked inside
    the test's transaction, whose first read of `pg_stat_activity` PostgreSQL would otherwise
    keep for every later one: each look clears that snapshot."""
    for _ in range(1000):
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("nothing waited for the lock")


def _locking(row: RowOf, nowait: bool = False) -> str:
    table, where, _ = row  # the tests' own names, never input
    locking = f"SELECT 1 FROM {table} WHERE {where} FOR UPDATE"  # noqa: S608
    return locking + (" NOWAIT" if nowait else "")


async def free(conn: Any, row: RowOf) -> bool:
    """Whether `row` can be locked at once (in a savepoint of the test's transaction)."""
    try:
        async with conn.transaction():
            assert await conn.fetchval(_locking(row, nowait=True), *row[2]) == 1, row
    except asyncpg.LockNotAvailableError:
        return False
    return True


# Work of the test's session, given its connection: what another writer's transaction does.
Step = Callable[[Any], Awaitable[Any]]


def sql(statement: str, *args: Any) -> Step:
    return lambda conn: conn.execute(statement, *args)


Operation = Callable[[], Coroutine[Any, Any, Outcome]]


async def behind_another_writer(
    url: str, first: Step, operation: Operation, then: Step | None = None
) -> tuple[Any, asyncio.Task[Outcome]]:
    """In a transaction of the test's own session (as another writer's): `first`, then start
    `operation` and wait until it waits for a lock the session holds, then `then` (if any) and
    commit. What `then` returned, and the operation's task (it goes on once the session
    commits)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await first(conn)
            running = asyncio.create_task(operation())
            await waiting_for_a_lock(conn)
            assert not running.done()
            found = await then(conn) if then is not None else None
    finally:
        await conn.close()
    return found, running


async def while_locked(
    url: str, held: RowOf, delete: Operation, next_row: RowOf
) -> tuple[bool, Outcome]:
    """Lock `held`, start `delete` and hold the lock until it waits for it: whether
    `next_row` was free then, and the delete's outcome once the lock is let go."""

    async def lock(conn: Any) -> None:
        assert await conn.fetchval(_locking(held), *held[2]) == 1, held

    was_free, deleting = await behind_another_writer(
        url, lock, delete, lambda conn: free(conn, next_row)
    )
    return bool(was_free), await deleting


async def joined(runtime: Runtime, account: Account, service: str, channel: str) -> str:
    """The member SID of a new user "ann" added to the channel."""
    users = f"/v2/Services/{service}/Users"
    await perform(
        runtime, op(account, "user", "create", users, {"ServiceSid": service}, {"Identity": "ann"})
    )
    members = f"/v2/Services/{service}/Channels/{channel}/Members"
    params = {"ServiceSid": service, "ChannelSid": channel}
    member = await perform(
        runtime, op(account, "member", "create", members, params, {"Identity": "ann"})
    )
    assert member.row is not None
    return str(member.row["sid"])


def delete_user(runtime: Runtime, account: Account, service: str, user: str) -> Any:
    path = f"/v2/Services/{service}/Users/{user}"
    params = {"ServiceSid": service, "Sid": user}
    return lambda: perform(runtime, op(account, "user", "delete", path, params))


def remove_member(
    runtime: Runtime, account: Account, service: str, channel: str, member: str
) -> Any:
    path = f"/v2/Services/{service}/Channels/{channel}/Members/{member}"
    params = {"ServiceSid": service, "ChannelSid": channel, "Sid": member}
    return lambda: perform(runtime, op(account, "member", "delete", path, params))


def test_a_users_delete_locks_its_channels_before_itself(fresh_postgres: str) -> None:
    """While a channel the user is in is locked (a member's add or removal there, which locks
    the user next), the user's delete waits for it without holding the user's row."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        await joined(runtime, account, service, channel)
        user = await _sid_of(runtime, "user", "identity", "ann")
        was_free, deleted = await while_locked(
            fresh_postgres,
            by_sid("channels", channel),
            delete_user(runtime, account, service, user),
            by_sid("users", user),
        )
        assert was_free
        assert deleted.status == 204
        assert await _count(runtime, "member") == 0
        assert await _members_count(runtime, channel) == 0

    run(fresh_postgres, test)


def test_a_members_removal_locks_its_channel_before_itself(fresh_postgres: str) -> None:
    """While its channel is locked (a user's delete, which removes the member by cascade
    next), the member's removal waits for it without holding the member's row."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        member = await joined(runtime, account, service, channel)
        was_free, deleted = await while_locked(
            fresh_postgres,
            by_sid("channels", channel),
            remove_member(runtime, account, service, channel, member),
            by_sid("members", member),
        )
        assert was_free
        assert deleted.status == 204
        assert await _count(runtime, "member") == 0
        assert await _members_count(runtime, channel) == 0
        users = runtime.tables["user"]
        async with runtime.db.read() as conn:
            joined_count = select(users.c.joined_channels_count)
            assert (await conn.execute(joined_count)).scalar() == 0

    run(fresh_postgres, test)


@pytest.mark.parametrize("deleted", ["member", "user"])
def test_a_delete_locks_the_member_it_removes_before_its_sync_objects(
    fresh_postgres: str, deleted: str
) -> None:
    """While a member is locked (its update, which writes its roster item next), neither the
    member's removal nor its user's delete has taken the channel's roster (a Sync object)."""

    async def test(runtime: Runtime, account: Account) -> None:
        runtime.observers.append(project)  # as the server's: the rosters the SDK reads
        service, channel = await chat(runtime, account)
        member = await joined(runtime, account, service, channel)
        user = await _sid_of(runtime, "user", "identity", "ann")
        roster = await _sid_of(runtime, "sync_objects", "unique_name", _roster_of(channel))
        if deleted == "member":
            delete = remove_member(runtime, account, service, channel, member)
        else:
            delete = delete_user(runtime, account, service, user)
        was_free, outcome = await while_locked(
            fresh_postgres, by_sid("members", member), delete, by_sid("sync_objects", roster)
        )
        assert was_free
        assert outcome.status == 204
        assert await _count(runtime, "member") == 0
        assert await _members_count(runtime, channel) == 0

    run(fresh_postgres, test)


def test_a_messages_delete_locks_its_channel_before_its_hourly_count(
    fresh_postgres: str,
) -> None:
    """While its channel is locked (a message's create there, which counts it in its hour
    next), the message's delete has not taken the hour's count."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        messages = f"/v2/Services/{service}/Channels/{channel}/Messages"
        params = {"ServiceSid": service, "ChannelSid": channel}
        sent = await perform(runtime, op(account, "message", "create", messages, params))
        assert sent.row is not None
        sid = str(sent.row["sid"])
        path = f"{messages}/{sid}"
        hour = ("message_hours", "channel_sid = $1", (channel,))
        was_free, deleted = await while_locked(
            fresh_postgres,
            by_sid("channels", channel),
            lambda: perform(
                runtime, op(account, "message", "delete", path, {**params, "Sid": sid})
            ),
            hour,
        )
        assert was_free
        assert deleted.status == 204
        hours = runtime.tables.message_hours
        async with runtime.db.read() as conn:
            assert (await conn.execute(select(func.sum(hours.c.messages)))).scalar() == 0

    run(fresh_postgres, test)


def _roster_of(channel: str) -> str:
    return channel_names(channel)["roster"]


async def _sid_of(runtime: Runtime, name: str, column: str, value: str) -> str:
    t = runtime.tables.sync_objects if name == "sync_objects" else runtime.tables[name]
    async with runtime.db.read() as conn:
        found = (await conn.execute(select(t.c.sid).where(t.c[column] == value))).scalar()
    assert found is not None, (name, value)
    return str(found)


async def _count(runtime: Runtime, name: str) -> int:
    async with runtime.db.read() as conn:
        rows = select(func.count()).select_from(runtime.tables[name])
        return int((await conn.execute(rows)).scalar() or 0)


async def _members_count(runtime: Runtime, channel: str) -> int:
    channels = runtime.tables["channel"]
    async with runtime.db.read() as conn:
        count = select(channels.c.members_count).where(channels.c.sid == channel)
        return int((await conn.execute(count)).scalar() or 0)


def test_a_services_delete_locks_its_channels_before_its_users(fresh_postgres: str) -> None:
    """While one of its channels is locked (a member's add there, which locks the member's
    user next), the service's delete waits for it without holding any of its users' rows.
    PostgreSQL's cascade takes a service's channels before its users (the order of its
    foreign keys' triggers), which is the lock order: this keeps it so."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        await joined(runtime, account, service, channel)
        user = await _sid_of(runtime, "user", "identity", "ann")
        path = f"/v2/Services/{service}"
        was_free, deleted = await while_locked(
            fresh_postgres,
            by_sid("channels", channel),
            lambda: perform(runtime, op(account, "service", "delete", path, {"Sid": service})),
            by_sid("users", user),
        )
        assert was_free
        assert deleted.status == 204
        assert await _count(runtime, "user") == 0
        assert await _count(runtime, "member") == 0

    run(fresh_postgres, test)


async def _role(runtime: Runtime, account: Account, service: str) -> str:
    path = f"/v2/Services/{service}/Roles"
    form = {"FriendlyName": "reader", "Type": "channel", "Permission": "sendMessage"}
    made = await perform(
        runtime, op(account, "role", "create", path, {"ServiceSid": service}, form)
    )
    assert made.row is not None
    return str(made.row["sid"])


def test_a_role_deleted_meanwhile_is_given_to_no_member(fresh_postgres: str) -> None:
    """A member's add with a RoleSid while that role's delete (another writer: the role's
    service's) holds it waits for the delete, then finds the role gone: 400, and no member
    holds a role that is no more."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        role = await _role(runtime, account, service)
        members = f"/v2/Services/{service}/Channels/{channel}/Members"
        params = {"ServiceSid": service, "ChannelSid": channel}
        form = {"Identity": "ann", "RoleSid": role}
        _, adding = await behind_another_writer(  # as the role's delete: locked, then removed
            fresh_postgres,
            sql("SELECT 1 FROM roles WHERE sid = $1 FOR UPDATE", role),
            lambda: perform(runtime, op(account, "member", "create", members, params, form)),
            sql("DELETE FROM roles WHERE sid = $1", role),
        )
        with pytest.raises(ApiError) as refused:
            await adding
        assert (refused.value.status, refused.value.code) == (400, 50100)
        assert await _count(runtime, "member") == 0

    run(fresh_postgres, test)


def test_a_role_given_meanwhile_is_not_deleted(fresh_postgres: str) -> None:
    """A role's delete while a user is being given that role (another writer's transaction,
    which holds the role's key-share lock until it commits) waits for it, then finds the
    holder: 409, and the role stays."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, _ = await chat(runtime, account)
        role = await _role(runtime, account, service)
        users = f"/v2/Services/{service}/Users"
        await perform(
            runtime,
            op(account, "user", "create", users, {"ServiceSid": service}, {"Identity": "ann"}),
        )
        path = f"/v2/Services/{service}/Roles/{role}"
        remove = op(account, "role", "delete", path, {"ServiceSid": service, "Sid": role})
        _, deleting = await behind_another_writer(  # as a holder's write: role kept, then given
            fresh_postgres,
            sql("SELECT 1 FROM roles WHERE sid = $1 FOR KEY SHARE", role),
            lambda: perform(runtime, remove),
            sql("UPDATE users SET role_sid = $1 WHERE identity = 'ann'", role),
        )
        with pytest.raises(ApiError) as refused:
            await deleting
        assert (refused.value.status, refused.value.code) == (409, 50100)
        roles = runtime.tables["role"]
        async with runtime.db.read() as read:
            kept = await read.execute(select(roles.c.sid).where(roles.c.sid == role))
            assert kept.first() is not None

    run(fresh_postgres, test)


def test_an_invite_while_the_user_joins_waits_and_finds_the_member(fresh_postgres: str) -> None:
    """An invite of a user who is joining the channel at the same moment (another writer's
    member add, which has moved the user's count and holds its row) waits for the join and
    answers 409 / 50404: a user is never both member and invitee of a channel (User Channels
    pages by the channel across both)."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        channels = f"/v2/Services/{service}/Channels"
        elsewhere = await perform(
            runtime, op(account, "channel", "create", channels, {"ServiceSid": service})
        )
        assert elsewhere.row is not None
        model = await joined(runtime, account, service, str(elsewhere.row["sid"]))
        user = await _sid_of(runtime, "user", "identity", "ann")
        invites = f"/v2/Services/{service}/Channels/{channel}/Invites"
        params = {"ServiceSid": service, "ChannelSid": channel}
        columns = [c.name for c in runtime.tables["member"].c if c.name != "pk"]
        copied = ", ".join({"sid": "$1", "channel_sid": "$2"}.get(c, c) for c in columns)
        join = f"INSERT INTO members ({', '.join(columns)}) SELECT {copied} FROM members WHERE sid = $3"  # noqa: S608
        invite = op(account, "invite", "create", invites, params, {"Identity": "ann"})
        _, inviting = await behind_another_writer(  # as a member's add: user's count, member
            fresh_postgres,
            sql(
                "UPDATE users SET joined_channels_count = joined_channels_count + 1 WHERE sid = $1",
                user,
            ),
            lambda: perform(runtime, invite),
            sql(join, "MB" + "0" * 32, channel, model),
        )
        with pytest.raises(ApiError) as refused:
            await inviting
        assert (refused.value.status, refused.value.code) == (409, 50404)
        assert await _count(runtime, "invite") == 0

    run(fresh_postgres, test)


def test_a_join_whose_invite_is_taken_back_meanwhile_is_refused(fresh_postgres: str) -> None:
    """A client joins a private channel by its invite while the invite is taken back on
    another writer: the join, allowed by the invite it saw, finds it gone when it consumes
    it, runs again and is refused as a join without an invite is (the private channel is not
    found); nothing is written."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, _ = await chat(runtime, account)
        channels = f"/v2/Services/{service}/Channels"
        private = await perform(
            runtime,
            op(
                account, "channel", "create", channels, {"ServiceSid": service}, {"Type": "private"}
            ),
        )
        assert private.row is not None
        channel = str(private.row["sid"])
        users = f"/v2/Services/{service}/Users"
        await perform(
            runtime,
            op(account, "user", "create", users, {"ServiceSid": service}, {"Identity": "ann"}),
        )
        params = {"ServiceSid": service, "ChannelSid": channel}
        invited = await perform(
            runtime,
            op(
                account,
                "invite",
                "create",
                f"{channels}/{channel}/Invites",
                params,
                {"Identity": "ann"},
            ),
        )
        assert invited.row is not None
        members = f"{channels}/{channel}/Members"
        join = op(account, "member", "create", members, params, {"Identity": "ann"}, identity="ann")
        _, joining = await behind_another_writer(  # as the invite's delete, by unique name
            fresh_postgres,
            sql("DELETE FROM invites WHERE sid = $1", invited.row["sid"]),
            lambda: perform(runtime, join),
        )
        with pytest.raises(ApiError) as refused:
            await joining
        assert (refused.value.status, refused.value.code) == (404, 50300)  # as to any stranger
        assert await _count(runtime, "member") == 0
        assert await _members_count(runtime, channel) == 0

    run(fresh_postgres, test)
