"""A service's dashboard numbers without HTTP (ops/stats.py), on both databases: messages per
hour and per day in UTC buckets, active and busiest channels, deliveries by outcome, and
nothing of another account's service.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command

from chinwag import times
from chinwag.model.errors import NotFound
from chinwag.ops import stats as stats_module
from chinwag.ops.actions import perform
from chinwag.ops.stats import DAYS, HOURS, ServiceStats, service_stats
from chinwag.resources import TABLES
from chinwag.runtime import Runtime
from chinwag.settings import Settings
from chinwag.store.accounts import Account
from chinwag.store.db import Database
from chinwag.store.migrate import config, upgrade
from tests.store.test_deliveries import fail_all, hooked_service, other_account
from tests.store.test_operations import op, run

NOW = datetime(2026, 11, 30, 12, 30, tzinfo=UTC)


async def channel(runtime: Runtime, account: Account, service: str, name: str) -> str:
    made = await perform(
        runtime,
        op(
            account,
            "channel",
            "create",
            f"/v2/Services/{service}/Channels",
            {"ServiceSid": service},
            {"FriendlyName": name},
        ),
    )
    assert made.row is not None
    return str(made.row["sid"])


async def message_at(
    runtime: Runtime, account: Account, service: str, channel_sid: str, when: datetime
) -> str:
    """A message dated `when` (a history import's DateCreated); its SID."""
    path = f"/v2/Services/{service}/Channels/{channel_sid}/Messages"
    params = {"ServiceSid": service, "ChannelSid": channel_sid}
    form = {"Body": "hi", "DateCreated": times.render(when) or ""}
    made = await perform(runtime, op(account, "message", "create", path, params, form))
    assert made.row is not None
    return str(made.row["sid"])


async def alice_sends(
    runtime: Runtime, account: Account, service: str, channel_sid: str, count: int
) -> None:
    """`count` messages from alice, a client of the hooked service: each an onMessageSent
    delivery."""
    path = f"/v2/Services/{service}/Channels/{channel_sid}/Messages"
    params = {"ServiceSid": service, "ChannelSid": channel_sid}
    for n in range(count):
        form = {"Body": f"m{n}", "From": "alice"}
        await perform(runtime, op(account, "message", "create", path, params, form, "alice"))


async def change(
    runtime: Runtime, account: Account, name: str, action: Any, path: str, form: dict[str, str]
) -> None:
    """`action` on the v2 `path` of one row of resource `name` (path parameters from the path)."""
    parts = path.strip("/").split("/")[1:]
    keys = {"Services": "ServiceSid", "Channels": "ChannelSid", "Messages": "Sid"}
    params = {keys[parts[i]]: parts[i + 1] for i in range(0, len(parts), 2)}
    if name == "channel":
        params["Sid"] = params.pop("ChannelSid")
    await perform(runtime, op(account, name, action, path, params, form))


def test_messages_per_hour_and_per_day(fresh_database: str) -> None:
    """Messages fall into UTC hours (the last 24, the current one last) and days (the last 30,
    today last); older ones and another service's are in no bucket."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, quiet = await hooked_service(runtime, account, "busy")
        busy = await channel(runtime, account, service, "busy one")
        weekly = await channel(runtime, account, service, "weekly")
        other_service, other_channel = await hooked_service(runtime, account, "elsewhere")
        dates = {
            busy: [NOW - timedelta(minutes=m) for m in (1, 10, 29)],  # this hour: 12:00
            quiet: [NOW - timedelta(hours=3)],  # 09:00
            weekly: [NOW - timedelta(days=3), NOW - timedelta(days=40)],
        }
        dates[busy].append(NOW - timedelta(hours=23, minutes=45))  # yesterday 12:45: hour 1
        dates[busy].append(NOW - timedelta(hours=25))  # yesterday 11:30: daily only
        for channel_sid, whens in dates.items():
            for when in whens:
                await message_at(runtime, account, service, channel_sid, when)
        await message_at(runtime, account, other_service, other_channel, NOW)

        stats = await service_stats(runtime, account, service, NOW)
        assert len(stats.hourly) == HOURS
        assert stats.hourly[-1] == (datetime(2026, 11, 30, 12, tzinfo=UTC), 3)
        assert stats.hourly[0] == (datetime(2026, 11, 29, 13, tzinfo=UTC), 0)
        assert {hour.hour: n for hour, n in stats.hourly if n} == {12: 3, 9: 1}
        assert stats.messages_day == 4

        assert len(stats.daily) == DAYS
        assert stats.daily[-1] == (date(2026, 11, 30), 4)
        assert stats.daily[0] == (date(2026, 11, 1), 0)
        assert dict(stats.daily)[date(2026, 11, 29)] == 2
        assert dict(stats.daily)[date(2026, 11, 27)] == 1
        assert stats.messages_month == 7  # the 40-day-old one is in no bucket

    run(fresh_database, test)


def test_active_and_busiest_channels(fresh_database: str) -> None:
    """Active channels had a message in the last day or week; the busiest are the day's,
    most messages first, named."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, idle = await hooked_service(runtime, account, "chat")
        today = await channel(runtime, account, service, "today")
        also = await channel(runtime, account, service, "also today")
        week = await channel(runtime, account, service, "this week")
        for when in (NOW, NOW - timedelta(hours=2), NOW - timedelta(hours=5)):
            await message_at(runtime, account, service, today, when)
        await message_at(runtime, account, service, also, NOW - timedelta(hours=20))
        await message_at(runtime, account, service, week, NOW - timedelta(days=6))
        await message_at(runtime, account, service, idle, NOW - timedelta(days=9))

        stats = await service_stats(runtime, account, service, NOW)
        assert (stats.channels, stats.active_day, stats.active_week) == (4, 2, 3)
        assert [(c.sid, c.friendly_name, c.messages) for c in stats.busiest] == [
            (today, "today", 3),
            (also, "also today", 1),
        ]

    run(fresh_database, test)


def test_the_last_24_hours_are_the_hourly_charts(fresh_database: str) -> None:
    """A channel is active today, and among the busiest, for a message in the hourly chart's
    hours (the current one and the 23 before it): not for one earlier in the hour before."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, earlier = await hooked_service(runtime, account, "chat")
        charted = await channel(runtime, account, service, "charted")
        await message_at(runtime, account, service, charted, NOW - timedelta(hours=23, minutes=30))
        await message_at(runtime, account, service, earlier, NOW - timedelta(hours=23, minutes=45))
        stats = await service_stats(runtime, account, service, NOW)
        assert stats.hourly[0] == (datetime(2026, 11, 29, 13, tzinfo=UTC), 1)
        assert (stats.active_day, stats.active_week, stats.messages_day) == (1, 2, 1)
        assert [c.sid for c in stats.busiest] == [charted]

    run(fresh_database, test)


def test_deleted_moved_and_gone_messages_leave_their_hours(fresh_database: str) -> None:
    """The counts follow the messages: a deleted one leaves its hour, one whose DateCreated an
    update moves counts in its new hour, and a deleted channel's leave with it."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, kept = await hooked_service(runtime, account, "chat")
        doomed = await channel(runtime, account, service, "doomed")
        deleted = await message_at(runtime, account, service, kept, NOW)
        moved = await message_at(runtime, account, service, kept, NOW)
        await message_at(runtime, account, service, doomed, NOW - timedelta(hours=2))
        stats = await service_stats(runtime, account, service, NOW)
        assert [n for _, n in stats.hourly[-3:]] == [1, 0, 2]
        assert (stats.active_day, stats.messages_month) == (2, 3)

        base = f"/v2/Services/{service}/Channels"
        await change(runtime, account, "message", "delete", f"{base}/{kept}/Messages/{deleted}", {})
        earlier = {"DateCreated": times.render(NOW - timedelta(hours=5)) or ""}
        await change(
            runtime, account, "message", "update", f"{base}/{kept}/Messages/{moved}", earlier
        )
        await change(runtime, account, "channel", "delete", f"{base}/{doomed}", {})

        stats = await service_stats(runtime, account, service, NOW)
        assert {hour.hour: n for hour, n in stats.hourly if n} == {7: 1}
        assert (stats.channels, stats.active_day, stats.active_week) == (1, 1, 1)
        assert [(c.sid, c.messages) for c in stats.busiest] == [(kept, 1)]
        assert stats.messages_month == 1

    run(fresh_database, test)


def test_the_upgrade_counts_the_messages_already_there(fresh_database: str) -> None:
    """Migration 0008 counts the messages written before it: after a downgrade to 0007 (the
    counts gone) and the upgrade again, the dashboard reads the very same numbers."""
    made: list[Any] = []

    async def test(runtime: Runtime, account: Account) -> None:
        service, first = await hooked_service(runtime, account, "chat")
        second = await channel(runtime, account, service, "second")
        for when, where in [(NOW, first), (NOW, second), (NOW - timedelta(hours=3), first)]:
            await message_at(runtime, account, service, where, when)
        await message_at(runtime, account, service, second, NOW - timedelta(days=12))
        made.extend([account, service, await service_stats(runtime, account, service, NOW)])

    run(fresh_database, test)
    command.downgrade(config(fresh_database), "0007")
    upgrade(fresh_database)
    account, service, before = made

    async def again() -> ServiceStats:
        runtime = Runtime(Settings(database=fresh_database), Database(fresh_database), TABLES)
        try:
            return await service_stats(runtime, account, service, NOW)
        finally:
            await runtime.db.close()

    after = asyncio.run(again())
    assert after == before
    assert (after.messages_day, after.messages_month, after.active_day) == (3, 4, 2)


def test_deliveries_by_outcome(fresh_database: str) -> None:
    """The service's deliveries counted as pending, failed and delivered (zeros included)."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel_sid = await hooked_service(runtime, account, "hooked")
        await alice_sends(runtime, account, service, channel_sid, 3)
        stats = await service_stats(runtime, account, service)
        assert stats.deliveries == {"pending": 3, "failed": 0, "delivered": 0}
        await fail_all(runtime)
        stats = await service_stats(runtime, account, service)
        assert stats.deliveries == {"pending": 0, "failed": 3, "delivered": 0}

    run(fresh_database, test)


def test_channels_and_deliveries_are_counted_up_to_a_bound(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past COUNTED the count stops (at COUNTED + 1, "more than"), so a service with millions
    costs the dashboard no more; up to it the count is exact."""
    monkeypatch.setattr(stats_module, "COUNTED", 2)

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel_sid = await hooked_service(runtime, account, "many")
        stats = await service_stats(runtime, account, service)
        assert (stats.channels, stats_module.more_than(stats.channels)) == (1, False)
        for n in range(3):
            await channel(runtime, account, service, f"more {n}")
        await alice_sends(runtime, account, service, channel_sid, 4)
        stats = await service_stats(runtime, account, service)
        assert (stats.channels, stats_module.more_than(stats.channels)) == (3, True)
        assert stats.deliveries == {"pending": 3, "failed": 0, "delivered": 0}
        assert stats_module.more_than(stats.deliveries["pending"])

    run(fresh_database, test)


def test_another_accounts_service_is_not_found(fresh_database: str) -> None:
    """Asking for another account's service is a 404, as REST answers it."""

    async def test(runtime: Runtime, account: Account) -> None:
        other = await other_account(runtime)
        theirs, _ = await hooked_service(runtime, other, "theirs")
        with pytest.raises(NotFound):
            await service_stats(runtime, account, theirs, NOW)
        assert (await service_stats(runtime, other, theirs, NOW)).channels == 1

    run(fresh_database, test)
