"""A row removed by another writer's transaction between an operation's read and its write.

On PostgreSQL a channel's writes by SID and by unique name, and a user's delete (which
removes the user's memberships, on its service's writer) run on different writers, so a row an
operation located can be gone by the time it writes. The write then finds no row: the
operation is run again (`RowGone`), and answers as the other change left things. Before, an
update or a create in a deleted channel answered 500, a join 403 (its member limit), an edit of
one of its messages (kept until swept) 500 from the Sync list removed with the channel, and a
second delete 204 with its removal announced twice; a create whose owner (a service, a
channel) went meanwhile was refused by its foreign key and answered 409, as if the caller had
reused a unique name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from chinwag.model.errors import ApiError
from chinwag.ops import actions
from chinwag.ops.actions import perform
from chinwag.resources import TABLES
from chinwag.runtime import Runtime
from chinwag.settings import Settings
from chinwag.store.accounts import Account
from chinwag.store.db import Database
from chinwag.store.errors import IntegrityError, RowGone
from chinwag.sync.projection import project
from tests.store.test_operations import chat, op, run
from tests.support.databases import with_database

Remove = Callable[[Any], Awaitable[None]]


def removing_after_locate(monkeypatch: pytest.MonkeyPatch, remove: Remove) -> list[int]:
    """Once, right after an operation located its rows (before it writes), `remove` runs
    (given the transaction's connection); the attempts it saw, counted."""
    open_context = actions.open_context
    attempts: list[int] = []
    removing: list[bool] = []  # while `remove` runs (its own operations are not counted)

    async def then_remove(runtime: Runtime, conn: Any, op: Any, found: Any = None) -> Any:
        if removing:
            return await open_context(runtime, conn, op, found)
        attempts.append(1)
        context = await open_context(runtime, conn, op, found)
        if len(attempts) == 1:
            removing.append(True)
            try:
                await remove(conn)
            finally:
                removing.pop()
        return context

    monkeypatch.setattr(actions, "open_context", then_remove)
    return attempts


def deleted_by_another_writer(url: str, account: Account, service: str, channel: str) -> Remove:
    """The channel is deleted through the operations layer of another process (its own
    Runtime and connections), committed first: on PostgreSQL, as on another writer."""

    async def remove(conn: Any) -> None:
        other = Runtime(Settings(database=url), Database(url), TABLES)
        other.observers.append(project)
        path = f"/v2/Services/{service}/Channels/{channel}"
        try:
            params = {"ServiceSid": service, "Sid": channel}
            await perform(other, op(account, "channel", "delete", path, params))
        finally:
            await other.db.close()

    return remove


CASES = {
    "update a channel": ("channel", "update", "", {"FriendlyName": "renamed"}),
    "delete a channel": ("channel", "delete", "", {}),
    "send a message": ("message", "create", "/Messages", {"Body": "sent"}),
    "edit a message": ("message", "update", "/Messages/{message}", {"Body": "edited"}),
    "add a member": ("member", "create", "/Members", {"Identity": "ann"}),
    "invite a user": ("invite", "create", "/Invites", {"Identity": "ann"}),
    "add a webhook": (
        "channel_webhook",
        "create",
        "/Webhooks",
        {
            "Type": "webhook",
            "Configuration.Url": "https://example.com/hook",
            "Configuration.Filters": "onMessageSent",
        },
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_channel_deleted_by_another_writer_is_not_found(
    fresh_postgres: str, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The channel is deleted after the operation located it: 404, never a 500 or a write
    into the channel that is gone (its messages stay until swept, and its Sync objects are
    removed: an edit's projection found no list); the operation ran twice."""
    name, action, below, form = CASES[case]

    async def test(runtime: Runtime, account: Account) -> None:
        runtime.observers.append(project)  # as the server's: the client SDK's Sync objects
        service, channel = await chat(runtime, account)
        messages = f"/v2/Services/{service}/Channels/{channel}/Messages"
        params = {"ServiceSid": service, "ChannelSid": channel}
        first = await perform(runtime, op(account, "message", "create", messages, params))
        assert first.row is not None
        users = f"/v2/Services/{service}/Users"
        form_ann = {"Identity": "ann"}  # to be invited
        await perform(
            runtime, op(account, "user", "create", users, {"ServiceSid": service}, form_ann)
        )
        remove = deleted_by_another_writer(fresh_postgres, account, service, channel)
        attempts = removing_after_locate(monkeypatch, remove)
        path = f"/v2/Services/{service}/Channels/{channel}{below}"
        params = {"ServiceSid": service, "ChannelSid": channel, "Sid": channel}
        if "{message}" in path:
            path = path.format(message=first.row["sid"])
            params["Sid"] = str(first.row["sid"])
        with pytest.raises(ApiError) as refused:
            await perform(runtime, op(account, name, action, path, params, form))
        assert refused.value.status == 404
        assert len(attempts) == 2
        async with runtime.db.read() as conn:
            left = runtime.tables["message"]
            bodies = [row[0] for row in (await conn.execute(select(left.c.body))).all()]
            assert bodies == [""]  # the first message alone, as it was, until swept
            for left_behind in ("member", "invite", "channel_webhook"):
                rows = select(func.count()).select_from(runtime.tables[left_behind])
                assert (await conn.execute(rows)).scalar() == 0, left_behind

    run(fresh_postgres, test)


def test_a_row_gone_within_the_transaction_is_run_again(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both databases: the update finds no row (here removed on its own connection, as only
    another writer can on PostgreSQL), so it is rolled back with what it did and run again,
    which finds the row (the removal was undone with it) and updates it."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)

        async def remove(conn: Any) -> None:
            await conn.execute(text("DELETE FROM channels WHERE sid = :sid"), {"sid": channel})

        attempts = removing_after_locate(monkeypatch, remove)
        path = f"/v2/Services/{service}/Channels/{channel}"
        params = {"ServiceSid": service, "Sid": channel}
        updated = await perform(
            runtime, op(account, "channel", "update", path, params, {"FriendlyName": "renamed"})
        )
        assert updated.status == 200
        assert updated.row is not None
        assert updated.row["friendly_name"] == "renamed"
        assert len(attempts) == 2
        assert runtime.metrics.retries == {("channel", "row_gone"): 1}

    run(fresh_database, test)


SERVICE_CASES = {
    "create a channel": ("channel", "/Channels", {"FriendlyName": "new"}),
    "create a user": ("user", "/Users", {"Identity": "bob"}),
    "create a role": (
        "role",
        "/Roles",
        {"FriendlyName": "r", "Type": "channel", "Permission": "sendMessage"},
    ),
}


@pytest.mark.parametrize("case", list(SERVICE_CASES))
def test_a_create_in_a_service_deleted_by_another_writer_is_not_found(
    fresh_postgres: str, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The service is deleted (on another writer: a service's delete is keyed by none) after
    a create in it located it: the INSERT's foreign key finds no service, the create runs
    again and answers 404, not 409 (a conflict the caller could not have caused)."""
    name, below, form = SERVICE_CASES[case]

    async def test(runtime: Runtime, account: Account) -> None:
        service, _ = await chat(runtime, account)

        async def remove(conn: Any) -> None:
            other = Runtime(Settings(database=fresh_postgres), Database(fresh_postgres), TABLES)
            try:
                path = f"/v2/Services/{service}"
                await perform(other, op(account, "service", "delete", path, {"Sid": service}))
            finally:
                await other.db.close()

        attempts = removing_after_locate(monkeypatch, remove)
        path = f"/v2/Services/{service}{below}"
        with pytest.raises(ApiError) as refused:
            await perform(runtime, op(account, name, "create", path, {"ServiceSid": service}, form))
        assert refused.value.status == 404
        assert len(attempts) == 2
        async with runtime.db.read() as conn:
            table = runtime.tables[name]
            assert (await conn.execute(select(func.count()).select_from(table))).scalar() == 0

    run(fresh_postgres, test)


def test_a_foreign_key_refusing_a_row_is_row_gone(fresh_database: str) -> None:
    """Both databases: a row whose owner is not there, refused by its foreign key, raises
    RowGone (the operation runs again and finds the owner gone), not IntegrityError (a
    409 for a unique value another request took first)."""

    async def work(db: Database) -> None:
        async with db.write() as conn:
            await conn.execute(text("CREATE TABLE owner (id int PRIMARY KEY)"))
            await conn.execute(
                text("CREATE TABLE owned (id int PRIMARY KEY, owner int REFERENCES owner (id))")
            )

        async def insert(*statements: str) -> None:
            async with db.write() as conn:
                for statement in statements:
                    await conn.execute(text(statement))

        with pytest.raises(RowGone):
            await insert("INSERT INTO owned VALUES (1, 7)")
        with pytest.raises(IntegrityError) as clash:
            await insert("INSERT INTO owner VALUES (1)", "INSERT INTO owner VALUES (1)")
        assert not isinstance(clash.value, RowGone)

    with_database(fresh_database, work)
