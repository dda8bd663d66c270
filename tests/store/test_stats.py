"""A service's dashboard numbers without HTTP (ops/stats.py), on both databases: messages per
hour and per day in UTC buckets, active and busiest channels, deliveries by outcome, and
nothing of another account's service.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chinwag import times
from chinwag.model.errors import NotFound
from chinwag.ops.actions import perform
from chinwag.ops.stats import DAYS, HOURS, service_stats
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account
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
) -> None:
    """A message dated `when` (a history import's DateCreated)."""
    path = f"/v2/Services/{service}/Channels/{channel_sid}/Messages"
    params = {"ServiceSid": service, "ChannelSid": channel_sid}
    form = {"Body": "hi", "DateCreated": times.render(when) or ""}
    await perform(runtime, op(account, "message", "create", path, params, form))


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


def test_deliveries_by_outcome(fresh_database: str) -> None:
    """The service's deliveries counted as pending, failed and delivered (zeros included)."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel_sid = await hooked_service(runtime, account, "hooked")
        path = f"/v2/Services/{service}/Channels/{channel_sid}/Messages"
        params = {"ServiceSid": service, "ChannelSid": channel_sid}
        for n in range(3):
            form = {"Body": f"m{n}", "From": "alice"}
            await perform(runtime, op(account, "message", "create", path, params, form, "alice"))
        stats = await service_stats(runtime, account, service)
        assert stats.deliveries == {"pending": 3, "failed": 0, "delivered": 0}
        await fail_all(runtime)
        stats = await service_stats(runtime, account, service)
        assert stats.deliveries == {"pending": 0, "failed": 3, "delivered": 0}

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
