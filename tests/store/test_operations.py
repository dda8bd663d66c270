"""The operations layer without HTTP: `perform` runs any action for any front door.

What a REST endpoint does, the client SDK's WebSocket and the console do through the same call,
with the same rules, errors and transaction; these tests call it directly, on both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from chinwag.context import Context, Row
from chinwag.model.errors import ApiError
from chinwag.model.params import Form
from chinwag.ops import media
from chinwag.ops.actions import Operation, Outcome, perform
from chinwag.ops.locate import Credentials
from chinwag.resources import REGISTRY, TABLES
from chinwag.runtime import Runtime
from chinwag.settings import Settings
from chinwag.store import accounts
from chinwag.store.accounts import Account
from chinwag.store.db import Database
from chinwag.store.errors import RetryLater
from chinwag.store.migrate import upgrade
from chinwag.sync import engine
from chinwag.sync.chat import channel_names
from chinwag.sync.projection import project
from chinwag.sync.queries import find, items_page

RESOURCES = {res.name: res for res in REGISTRY}


def run(
    fresh_database: str,
    test: Callable[[Runtime, Account], Awaitable[None]],
    max_connections: int = 20,
) -> None:
    """`test` with a runtime on `fresh_database` (upgraded) and an account in it."""
    upgrade(fresh_database)

    async def main() -> None:
        db = Database(fresh_database, max_connections=max_connections)
        runtime = Runtime(Settings(database=fresh_database), db, TABLES)
        try:
            async with runtime.db.write() as conn:
                account = await accounts.create_account(conn, TABLES)
            await test(runtime, account)
        except BaseException:
            await _cancel_the_rest()  # a failed test's tasks would keep `close` waiting
            raise
        finally:
            await runtime.db.close()

    asyncio.run(main())


async def _cancel_the_rest() -> None:
    others = asyncio.all_tasks() - {asyncio.current_task()}
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def op(
    principal: Any,
    name: str,
    action: Any,
    path: str,
    params: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    identity: str | None = None,
) -> Operation:
    return Operation(
        RESOURCES[name],
        action,
        "v2",
        principal,
        path,
        params or {},
        Form((form or {}).items()),
        base_url="http://chinwag.test",
        identity=identity,
    )


async def chat(runtime: Runtime, account: Account) -> tuple[str, str]:
    """A service and a channel in it, made as the account; their SIDs."""
    service = await perform(
        runtime, op(account, "service", "create", "/v2/Services", form={"FriendlyName": "ops"})
    )
    assert service.row is not None
    path = f"/v2/Services/{service.row['sid']}/Channels"
    params = {"ServiceSid": service.row["sid"]}
    channel = await perform(runtime, op(account, "channel", "create", path, params))
    assert channel.row is not None
    return str(service.row["sid"]), str(channel.row["sid"])


def test_a_client_action_runs_as_its_identity(fresh_database: str) -> None:
    """A message sent as an identity (a member: channel user) is the same row REST lists, from
    that identity, with the channel's index and counters moved in the same transaction."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        members = f"/v2/Services/{service}/Channels/{channel}/Members"
        params = {"ServiceSid": service, "ChannelSid": channel}
        await perform(
            runtime, op(account, "member", "create", members, params, {"Identity": "alice"})
        )
        path = f"/v2/Services/{service}/Channels/{channel}/Messages"
        sent: Outcome = await perform(
            runtime,
            op(
                account, "message", "create", path, params, {"Body": "hi", "From": "alice"}, "alice"
            ),
        )
        assert sent.status == 201
        assert sent.context.source == "SDK"
        listed = await perform(runtime, op(account, "message", "list", path, params))
        assert listed.listing is not None
        assert [(r["body"], r["from"], r["index"]) for r in listed.listing.rows] == [
            ("hi", "alice", 0)
        ]
        channel_path = f"/v2/Services/{service}/Channels/{channel}"
        fetched = await perform(
            runtime,
            op(account, "channel", "fetch", channel_path, {"ServiceSid": service, "Sid": channel}),
        )
        assert fetched.row is not None
        assert fetched.row["messages_count"] == 1

    run(fresh_database, test)


def test_a_client_is_held_to_its_roles_whatever_the_front_door(fresh_database: str) -> None:
    """The permission check is the operations layer's: a non-member may not send, a member
    (channel user) may not remove another's message, and the refused operations wrote nothing;
    the same operations without an identity (account credentials) are not restricted."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        params = {"ServiceSid": service, "ChannelSid": channel}
        messages = f"/v2/Services/{service}/Channels/{channel}/Messages"
        members = f"/v2/Services/{service}/Channels/{channel}/Members"
        with pytest.raises(ApiError) as outsider:
            await perform(
                runtime, op(account, "message", "create", messages, params, {"Body": "x"}, "eve")
            )
        await perform(
            runtime, op(account, "member", "create", members, params, {"Identity": "eve"})
        )
        posted = await perform(
            runtime, op(account, "message", "create", messages, params, {"Body": "by the bot"})
        )
        assert posted.row is not None
        one = {**params, "Sid": posted.row["sid"]}
        with pytest.raises(ApiError) as member:
            await perform(
                runtime, op(account, "message", "delete", f"{messages}/x", one, identity="eve")
            )
        listed = await perform(runtime, op(account, "message", "list", messages, params))
        assert listed.listing is not None
        assert [r["body"] for r in listed.listing.rows] == ["by the bot"]
        removed = await perform(runtime, op(account, "message", "delete", f"{messages}/x", one))
        assert removed.status == 204
        assert (outsider.value.status, outsider.value.code) == (403, 50107)
        assert (member.value.status, member.value.code) == (403, 50107)

    run(fresh_database, test)


def test_credentials_are_checked_and_other_accounts_are_not_found(fresh_database: str) -> None:
    """Basic credentials are verified by the same query that locates the path (401 when wrong),
    and another account's service is simply not there (404)."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, _ = await chat(runtime, account)
        async with runtime.db.write() as conn:
            other = await accounts.create_account(conn, TABLES)
        path = f"/v2/Services/{service}"
        wrong = Credentials(account.sid, "not the token")
        with pytest.raises(ApiError) as denied:
            await perform(runtime, op(wrong, "service", "fetch", path, {"Sid": service}))
        assert (denied.value.status, denied.value.code) == (401, 20003)
        with pytest.raises(ApiError) as missing:
            await perform(runtime, op(other, "service", "fetch", path, {"Sid": service}))
        assert (missing.value.status, missing.value.code) == (404, 20404)
        right = Credentials(account.sid, account.auth_token)
        found = await perform(runtime, op(right, "service", "fetch", path, {"Sid": service}))
        assert found.row is not None
        assert found.row["friendly_name"] == "ops"

    run(fresh_database, test)


def test_observers_write_in_the_transaction_of_the_change(fresh_database: str) -> None:
    """A write observer sees the row before and after, inside the action's transaction: when
    it fails, the change itself is rolled back."""

    seen: list[tuple[str, Any, Any]] = []

    async def observe(call: Context, before: Row | None, after: Row | None) -> None:
        seen.append((call.resource.name, before and before["sid"], after and after["sid"]))
        if after is not None and after.get("friendly_name") == "refused":
            raise ApiError(403, 20403, "refused by an observer")

    async def test(runtime: Runtime, account: Account) -> None:
        runtime.observers.append(observe)
        service, channel = await chat(runtime, account)
        assert seen == [("service", None, service), ("channel", None, channel)]
        path = f"/v2/Services/{service}/Channels"
        params = {"ServiceSid": service}
        with pytest.raises(ApiError):
            await perform(
                runtime, op(account, "channel", "create", path, params, {"FriendlyName": "refused"})
            )
        listed = await perform(runtime, op(account, "channel", "list", path, params))
        assert listed.listing is not None
        assert [r["sid"] for r in listed.listing.rows] == [channel]

    run(fresh_database, test)


@pytest.mark.parametrize("forgotten", ["channel", "messages"])
def test_a_message_reaches_the_sync_list_whichever_object_sid_is_forgotten(
    fresh_database: str, forgotten: str
) -> None:
    """The projection writes a new message by the SIDs of its channel's objects that earlier
    commits taught it. The SIDs are forgotten one at a time (a bounded cache is cleared between
    two of a channel's, an object is found gone): the message still reaches both the messages
    list the SDK reads and the channel document's `lastMessage`."""

    async def test(runtime: Runtime, account: Account) -> None:
        runtime.observers.append(project)
        service, channel = await chat(runtime, account)
        path = f"/v2/Services/{service}/Channels/{channel}/Messages"
        params = {"ServiceSid": service, "ChannelSid": channel}
        for body in ("first", "second"):
            await perform(runtime, op(account, "message", "create", path, params, {"Body": body}))
            engine.forget(service, channel_names(channel)[forgotten])
        async with runtime.db.read() as conn:
            listing = await find(conn, TABLES, service, channel_names(channel)["messages"])
            document = await find(conn, TABLES, service, channel_names(channel)["channel"])
            assert listing is not None
            assert document is not None
            page = await items_page(
                conn, TABLES, listing, start=None, inclusive=True, descending=False, size=10
            )
        assert [orjson.loads(i["data"])["text"] for i in page.items] == ["first", "second"]
        assert [i["item_index"] for i in page.items] == [0, 1]
        assert document.data["lastMessage"]["index"] == 1

    run(fresh_database, test)


def test_a_write_that_gave_way_runs_again(fresh_database: str) -> None:
    """A transaction that gave way to another process's (RetryLater, see store/pg_writer) is
    run again from the start, in a transaction of its own, which leads its writer's next
    batch (where it waits for locks as long as it must): one row, as asked."""

    calls: list[str] = []
    leads: list[bool] = []

    async def gives_way_once(call: Context, before: Row | None, after: Row | None) -> None:
        if call.resource.name == "channel":
            calls.append(after["sid"] if after else "")
            if len(calls) == 1:
                raise RetryLater("gave way to another process's transaction")

    async def test(runtime: Runtime, account: Account) -> None:
        runtime.observers.append(gives_way_once)
        write = runtime.db.write

        def recording(*args: Any) -> Any:  # key, lead, meanwhile, undo
            leads.append(args[1])
            return write(*args)

        runtime.db.write = recording  # type: ignore[method-assign]
        service, channel = await chat(runtime, account)
        runtime.db.write = write  # type: ignore[method-assign]
        assert leads[-2:] == [False, True]  # the channel's create, then its run again
        listed = await perform(
            runtime,
            op(
                account,
                "channel",
                "list",
                f"/v2/Services/{service}/Channels",
                {"ServiceSid": service},
            ),
        )
        assert listed.listing is not None
        assert [r["sid"] for r in listed.listing.rows] == [channel]
        assert calls[1] == channel
        assert len(calls) == 2
        assert runtime.metrics.retries == {("channel", "gave_way"): 1}
        assert 'chinwag_write_retries_total{resource="channel",reason="gave_way"} 1' in (
            runtime.metrics.render({}).splitlines()
        )

    run(fresh_database, test)


def test_a_media_row_the_database_refuses_is_a_400_and_keeps_no_file(
    fresh_database: str, tmp_path: Path
) -> None:
    """The same net under a media upload, which writes outside `perform` (its file first): a
    value the database refuses (a size past 64 bits) answers 400 / 20001, leaves no row and
    removes the uploaded file."""

    async def test(runtime: Runtime, account: Account) -> None:
        runtime.settings = replace(runtime.settings, media_dir=str(tmp_path / "media"))
        (tmp_path / "media").mkdir()
        service, _ = await chat(runtime, account)
        upload = tmp_path / "media" / "upload"
        upload.write_bytes(b"picture")
        path = f"/v2/Services/{service}/Media"
        create = op(account, "media", "create", path, {"ServiceSid": service})
        with pytest.raises(ApiError) as refused:
            await media.store(runtime, create, upload, 2**64, "big.png", "image/png")
        assert (refused.value.status, refused.value.code) == (400, 20001)
        assert list((tmp_path / "media").iterdir()) == []
        async with runtime.db.read() as conn:
            rows = await conn.execute(select(runtime.tables["media"].c.sid))
            assert rows.all() == []

    run(fresh_database, test)


def test_a_value_the_database_refuses_is_a_400_and_writes_nothing(fresh_database: str) -> None:
    """The net under every front door's own checks: a value that reaches the database and is
    refused there (here an observer's integer past 64 bits) answers 400 / 20001, not 503."""

    async def stores_too_much(call: Context, before: Row | None, after: Row | None) -> None:
        if call.resource.name == "channel" and after is not None:
            channels = call.tables["channel"]
            await call.conn.execute(
                channels.update()
                .where(channels.c.sid == after["sid"])
                .values(message_counter=2**64)
            )

    async def test(runtime: Runtime, account: Account) -> None:
        service, _ = await chat(runtime, account)
        runtime.observers.append(stores_too_much)
        path = f"/v2/Services/{service}/Channels"
        with pytest.raises(ApiError) as refused:
            await perform(
                runtime,
                op(
                    account, "channel", "create", path, {"ServiceSid": service}, {"UniqueName": "u"}
                ),
            )
        assert (refused.value.status, refused.value.code) == (400, 20001)
        runtime.observers.remove(stores_too_much)
        listed = await perform(
            runtime, op(account, "channel", "list", path, {"ServiceSid": service})
        )
        assert listed.listing is not None
        assert "u" not in [r["unique_name"] for r in listed.listing.rows]

    run(fresh_database, test)
