"""A message create that fails after its first write, in a batch of others.

On PostgreSQL a message create joins its group commit without a savepoint of its own when
every transaction before it can be run again (`group_commit.Undo.BATCH`): one round trip less
of its writer's turn. If it then fails after writing (only a race does that), the whole batch
is rolled back and the operations before it run again (`BatchLost`). Whichever way the
database undoes it, what the callers see is the same: the failed create answers its error,
every other one is created once, and the indexes have no gap. Both databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from chinwag.events import outbox
from chinwag.events.delivery import Deliverer
from chinwag.model.errors import ApiError
from chinwag.ops import actions
from chinwag.ops.actions import Outcome, perform
from chinwag.resources import TABLES
from chinwag.resources.messages import MessageRules
from chinwag.runtime import Runtime
from chinwag.settings import Settings
from chinwag.store.accounts import Account
from chinwag.store.db import Database, Undo
from chinwag.store.errors import BatchLost
from chinwag.store.migrate import upgrade
from tests.store.test_locate_early import WAIT, Locates, send
from tests.store.test_operations import chat, op, run


def test_a_create_failing_after_its_write_costs_the_others_a_rerun_at_most(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three creates queue behind a transaction that can be run again; the second fails after
    its counted INSERT (its rules raise, as when its media was claimed meanwhile). The first
    and third are created, each once, at indexes 0 and 1. On PostgreSQL the batch was lost:
    the holder and the first answered `BatchLost`, and the first ran again."""
    after_create = MessageRules.after_create

    async def late(self: MessageRules, call: Any, row: Any) -> Any:
        if row["body"] == "late":
            raise ApiError(400, 50508, "Media already sent with another message")
        return await after_create(self, call, row)

    monkeypatch.setattr(MessageRules, "after_create", late)
    events: list[str] = []

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await chat(runtime, account)
        locates = Locates(monkeypatch, events)
        holding, release = asyncio.Event(), asyncio.Event()

        async def hold() -> BaseException | None:
            try:
                async with runtime.db.write(channel, undo=Undo.RERUN):
                    holding.set()
                    await asyncio.wait_for(release.wait(), WAIT)
            except BatchLost as lost:
                return lost
            return None

        holder = asyncio.create_task(hold())
        await asyncio.wait_for(holding.wait(), WAIT)
        sends = []
        for body in ("first", "late", "third"):
            sends.append(asyncio.create_task(send(runtime, account, service, channel, body)))
            await asyncio.sleep(0)  # queued in this order
        try:
            await locates.reached(1)  # located while they waited (begun together: one query)
        finally:
            release.set()  # a failed wait fails the test rather than leaving the writer held
        outcomes = await asyncio.gather(*sends, return_exceptions=True)
        held = await holder

        first, failed, third = outcomes
        assert isinstance(failed, ApiError)
        assert (failed.status, failed.code) == (400, 50508)
        assert isinstance(first, Outcome)
        assert isinstance(third, Outcome)
        assert first.row is not None
        assert third.row is not None
        assert sorted([first.row["index"], third.row["index"]]) == [0, 1]
        path = f"/v2/Services/{service}/Channels/{channel}/Messages"
        params = {"ServiceSid": service, "ChannelSid": channel}
        listed = await perform(runtime, op(account, "message", "list", path, params))
        assert listed.result.listing is not None
        assert sorted(row["body"] for row in listed.result.listing.rows) == ["first", "third"]
        if runtime.db.dialect == "postgresql":
            assert isinstance(held, BatchLost)
            assert runtime.metrics.retries == {("message", "batch_lost"): 1}
        else:  # every transaction has its own savepoint: the failure was the late one's alone
            assert held is None
            assert runtime.metrics.retries == {}

    run(fresh_database, test)


@pytest.mark.parametrize(
    ("name", "action", "rate_limits", "undo"),
    [
        ("message", "create", "off", Undo.BATCH),
        ("message", "create", "twilio", Undo.RERUN),  # a 429 comes after its bucket's statement
        ("message", "update", "off", Undo.RERUN),
        ("channel", "create", "off", Undo.RERUN),
        ("member", "create", "off", Undo.RERUN),
    ],
)
def test_only_creates_that_fail_before_writing_do_without_a_savepoint(
    name: str, action: Any, rate_limits: str, undo: Undo
) -> None:
    settings = Settings(database="sqlite:///unused.db", rate_limits=rate_limits)
    runtime = SimpleNamespace(settings=settings)
    assert actions._undo(runtime, op(None, name, action, "/v2/Services")) is undo  # type: ignore[arg-type]


def test_a_delivery_cycle_taken_back_with_its_batch_runs_again_at_once(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deliverer's cycle (record what was sent, claim the next) can be run again, so it
    says so (`Undo.RERUN`: the message creates after it in its writer's batch may still join
    without savepoints). Taken back with its batch (`BatchLost`), it runs again at once, its
    claim looking from where the lost one began."""
    upgrade(fresh_database)
    seen: list[str] = []

    async def claim(conn: Any, tables: Any, free: int, *_: Any) -> list[Any]:
        rotation = _[-1]
        seen.append(rotation.after)
        rotation.after = "moved"
        return []

    monkeypatch.setattr(outbox, "claim", claim)

    async def main() -> tuple[list[Any], list[Undo], str]:
        db = Database(fresh_database)
        undos: list[Undo] = []
        write = db.write

        def lost_once(*args: Any, **kwargs: Any) -> Any:
            undos.append(kwargs["undo"])

            @asynccontextmanager
            async def transaction() -> AsyncIterator[Any]:
                async with write(*args, **kwargs) as conn:
                    yield conn
                if len(undos) == 1:
                    raise BatchLost()

            return transaction()

        monkeypatch.setattr(db, "write", lost_once)
        deliverer = Deliverer(db, TABLES, timeout=5, backoff_base=1)
        deliverer._rotation.after = "q1"
        try:
            return await deliverer._cycle(), undos, deliverer._rotation.after
        finally:
            await db.close()

    batches, undos, after = asyncio.run(main())
    assert batches == []
    assert undos == [Undo.RERUN, Undo.RERUN]
    assert seen == ["q1", "q1"]  # the second claim began where the lost one had
    assert after == "moved"
