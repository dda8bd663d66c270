"""A row removed by another writer's transaction between an operation's read and its write.

On PostgreSQL a channel's writes by SID and by unique name, and a user's delete (which
removes the user's memberships, on its service's writer) run on different writers, so a row an
operation located can be gone by the time it writes. The write then finds no row: the
operation is run again (`RowGone`), and answers as the other change left things. Before, an
update or a create in a deleted channel answered 500, and a second delete 204 with its
removal announced twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from chinwag.model.errors import ApiError
from chinwag.ops import actions
from chinwag.ops.actions import perform
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account
from chinwag.store.db import Database
from tests.store.test_operations import chat, op, run

Remove = Callable[[Any], Awaitable[None]]


def removing_after_locate(monkeypatch: pytest.MonkeyPatch, remove: Remove) -> list[int]:
    """Once, right after an operation located its rows (before it writes), `remove` runs
    (given the transaction's connection); the attempts it saw, counted."""
    open_context = actions.open_context
    attempts: list[int] = []

    async def then_remove(runtime: Runtime, conn: Any, op: Any) -> Any:
        attempts.append(1)
        context = await open_context(runtime, conn, op)
        if len(attempts) == 1:
            await remove(conn)
        return context

    monkeypatch.setattr(actions, "open_context", then_remove)
    return attempts


DELETE_CHANNEL = text("DELETE FROM channels WHERE sid = :sid")


def by_another_writer(url: str, channel: str) -> Remove:
    """The channel goes in another process's transaction, committed first (PostgreSQL)."""

    async def remove(conn: Any) -> None:
        other = Database(url)
        try:
            async with other.write() as theirs:
                await theirs.execute(DELETE_CHANNEL, {"sid": channel})
        finally:
            await other.close()

    return remove


CASES = {
    "update a channel": ("channel", "update", "", {"FriendlyName": "renamed"}),
    "delete a channel": ("channel", "delete", "", {}),
    "send a message": ("message", "create", "/Messages", {"Body": "hi"}),
    "add a member": ("member", "create", "/Members", {"Identity": "ann"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_channel_deleted_by_another_writer_is_not_found(
    fresh_postgres: str, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The channel goes after the operation located it: 404, never a 500 or a write into
    the channel that is gone; the operation ran twice."""
    name, action, below, form = CASES[case]

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        attempts = removing_after_locate(monkeypatch, by_another_writer(fresh_postgres, channel))
        path = f"/v2/Services/{service}/Channels/{channel}{below}"
        params = {"ServiceSid": service, ("Sid" if not below else "ChannelSid"): channel}
        with pytest.raises(ApiError) as refused:
            await perform(runtime, op(account, name, action, path, params, form))
        assert refused.value.status == 404
        assert len(attempts) == 2
        async with runtime.db.read() as conn:
            for table in ("message", "member"):
                rows = select(func.count()).select_from(runtime.tables[table])
                assert (await conn.execute(rows)).scalar() == 0, table

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
            await conn.execute(DELETE_CHANNEL, {"sid": channel})

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

    run(fresh_database, test)
