"""The console's deliveries without HTTP (ops/deliveries.py), on both databases: one account's
webhooks and pushes listed by status and filter, newest first and keyset-paged; a failure's
last status and error; retrying one or all failed; never another account's; finished
deliveries pruned after their retention, a bounded batch at a time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from chinwag import clock
from chinwag.events import outbox
from chinwag.events.sending import Attempt
from chinwag.model.errors import InvalidParameter
from chinwag.ops import paging
from chinwag.ops.actions import perform
from chinwag.ops.deliveries import (
    DeliveryFilter,
    get_delivery,
    list_deliveries,
    retry,
    retry_failed,
)
from chinwag.ops.paging import PageRequest
from chinwag.resources import TABLES
from chinwag.runtime import Runtime
from chinwag.store import accounts
from chinwag.store.accounts import Account
from tests.store.test_operations import op, run

HOOK = "http://127.0.0.1:9/hook"


async def hooked_service(runtime: Runtime, account: Account, name: str) -> tuple[str, str]:
    """A service whose post-event URL hears onMessageSent, and a channel in it."""
    form = {"FriendlyName": name, "PostWebhookUrl": HOOK, "WebhookFilters": "onMessageSent"}
    service = await perform(runtime, op(account, "service", "create", "/v2/Services", form=form))
    assert service.row is not None
    sid = str(service.row["sid"])
    if service.row["post_webhook_url"] is None:  # v2 sets webhooks on update, not create
        await perform(
            runtime,
            op(account, "service", "update", f"/v2/Services/{sid}", {"Sid": sid}, form),
        )
    channel = await perform(
        runtime,
        op(account, "channel", "create", f"/v2/Services/{sid}/Channels", {"ServiceSid": sid}),
    )
    assert channel.row is not None
    channel_sid = str(channel.row["sid"])
    members = f"/v2/Services/{sid}/Channels/{channel_sid}/Members"
    await perform(  # alice, the client who sends, is a member (a client may send only there)
        runtime,
        op(
            account,
            "member",
            "create",
            members,
            {"ServiceSid": sid, "ChannelSid": channel_sid},
            {"Identity": "alice"},
        ),
    )
    return sid, channel_sid


async def send(runtime: Runtime, account: Account, service: str, channel: str, body: str) -> None:
    """A client's message: its post-event (onMessageSent) goes into the outbox."""
    path = f"/v2/Services/{service}/Channels/{channel}/Messages"
    params = {"ServiceSid": service, "ChannelSid": channel}
    form = {"Body": body, "From": "alice"}
    await perform(runtime, op(account, "message", "create", path, params, form, "alice"))


async def fail_all(runtime: Runtime, http_status: int = 500) -> None:
    """What the deliverer does with deliveries whose receiver answers `http_status` for good."""
    async with runtime.db.write() as conn:
        batches = await outbox.claim(conn, TABLES, 100, 100, 30.0)
        attempts = [
            Attempt(d, "failed", f"HTTP {http_status}", None, http_status)
            for batch in batches
            for d in batch
        ]
        await outbox.record(conn, TABLES, attempts)


async def bodies(runtime: Runtime, account: Account, which: DeliveryFilter) -> list[str]:
    page = await list_deliveries(runtime, account, which, PageRequest(100, 0))
    found = []
    for row in page.rows:
        full = await get_delivery(runtime, account, row["pk"])
        assert full is not None
        found.append(full["params"]["Body"])
    return found


async def walk(runtime: Runtime, account: Account, which: DeliveryFilter) -> list[int]:
    """Every delivery of `which`, following the pages of two from the first."""
    seen: list[int] = []
    request = PageRequest(2, 0)
    while True:
        page = await list_deliveries(runtime, account, which, request)
        seen += [r["pk"] for r in page.rows]
        if not page.has_next:
            return seen
        after = page.rows[-1]["pk"]
        request = PageRequest(2, request.page + 1, after=after, token=f"PA{after}")


async def other_account(runtime: Runtime) -> Account:
    async with runtime.db.write() as conn:
        return await accounts.create_account(conn, TABLES)


def test_lists_by_status_newest_first_within_the_account(fresh_database: str) -> None:
    """Pending deliveries are listed newest first with what an operator needs (event, URL,
    attempts), filtered by service and event; another account's are never there."""

    async def test(runtime: Runtime, account: Account) -> None:
        a_service, a_channel = await hooked_service(runtime, account, "a")
        b_service, b_channel = await hooked_service(runtime, account, "b")
        other = await other_account(runtime)
        o_service, o_channel = await hooked_service(runtime, other, "theirs")
        await send(runtime, account, a_service, a_channel, "a1")
        await send(runtime, account, b_service, b_channel, "b1")
        await send(runtime, account, a_service, a_channel, "a2")
        await send(runtime, other, o_service, o_channel, "secret")

        assert await bodies(runtime, account, DeliveryFilter("pending")) == ["a2", "b1", "a1"]
        assert await bodies(runtime, account, DeliveryFilter("pending", a_service)) == [
            "a2",
            "a1",
        ]
        pending = DeliveryFilter("pending", event="onMessageSent")
        page = await list_deliveries(runtime, account, pending, PageRequest(10, 0))
        assert [(r["event"], r["url"], r["attempts"], r["kind"]) for r in page.rows] == [
            ("onMessageSent", HOOK, 0, "webhook")
        ] * 3
        assert (
            await bodies(runtime, account, DeliveryFilter("pending", event="onMessageSend")) == []
        )
        # Another account's service named as the filter shows nothing of it.
        assert await bodies(runtime, account, DeliveryFilter("pending", o_service)) == []
        assert await bodies(runtime, account, DeliveryFilter("failed")) == []
        assert await bodies(runtime, other, DeliveryFilter("pending")) == ["secret"]

    run(fresh_database, test)


def test_pages_follow_the_keyset(fresh_database: str) -> None:
    """Pages of two walk every delivery once, newest first, forwards and back."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await hooked_service(runtime, account, "paged")
        for n in range(5):
            await send(runtime, account, service, channel, f"m{n}")
        which = DeliveryFilter("pending")
        seen = await walk(runtime, account, which)
        assert len(seen) == 5
        assert seen == sorted(seen, reverse=True)
        back = await list_deliveries(runtime, account, which, PageRequest(2, 1, before=seen[4]))
        assert [r["pk"] for r in back.rows] == seen[2:4]

    run(fresh_database, test)


def test_a_failure_shows_its_last_status_and_is_retried(fresh_database: str) -> None:
    """A failed delivery shows the receiver's last HTTP status, the error and its attempts;
    retrying it puts it back in the queue, due now, its attempts starting over."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await hooked_service(runtime, account, "failing")
        await send(runtime, account, service, channel, "lost")
        await fail_all(runtime, 500)
        page = await list_deliveries(runtime, account, DeliveryFilter("failed"), PageRequest(9, 0))
        [row] = page.rows
        assert (row["status"], row["last_status"], row["last_error"], row["attempts"]) == (
            "failed",
            500,
            "HTTP 500",
            1,
        )
        other = await other_account(runtime)
        assert await retry(runtime, other, row["pk"]) is False  # not theirs to retry
        assert await bodies(runtime, account, DeliveryFilter("failed")) == ["lost"]

        assert await retry(runtime, account, row["pk"]) is True
        assert await retry(runtime, account, row["pk"]) is False  # no longer failed
        again = await get_delivery(runtime, account, row["pk"])
        assert again is not None
        assert (again["status"], again["attempts"]) == ("pending", 0)
        async with runtime.db.write() as conn:  # the deliverer's next claim takes it
            [[claimed]] = await outbox.claim(conn, TABLES, 10, 10, 30.0)
        assert claimed.pk == row["pk"]

    run(fresh_database, test)


@pytest.mark.parametrize("batch", [1000, 2], ids=["one-batch", "batches-of-two"])
def test_retry_all_failed_of_a_filter(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """Retrying all failed of a service requeues those and no others: not another service's,
    not another account's, not the ones already delivered; in batches of any size (one
    transaction each)."""
    monkeypatch.setattr(outbox, "REQUEUE_BATCH", batch)

    async def test(runtime: Runtime, account: Account) -> None:
        a_service, a_channel = await hooked_service(runtime, account, "a")
        b_service, b_channel = await hooked_service(runtime, account, "b")
        other = await other_account(runtime)
        o_service, o_channel = await hooked_service(runtime, other, "theirs")
        for n in range(3):
            await send(runtime, account, a_service, a_channel, f"a{n}")
        await send(runtime, account, b_service, b_channel, "b0")
        await send(runtime, other, o_service, o_channel, "o0")
        await fail_all(runtime)

        other_event = DeliveryFilter("failed", event="onChannelAdded")
        assert await retry_failed(runtime, account, other_event) == 0, "an event none has"
        requeued = await retry_failed(runtime, account, DeliveryFilter("failed", a_service))
        assert requeued == 3
        assert await bodies(runtime, account, DeliveryFilter("pending")) == ["a2", "a1", "a0"]
        assert await bodies(runtime, account, DeliveryFilter("failed")) == ["b0"]
        assert await bodies(runtime, other, DeliveryFilter("failed")) == ["o0"]
        # The filter's status does not matter: only failed deliveries are ever retried.
        assert await retry_failed(runtime, account, DeliveryFilter("delivered")) == 1
        assert await bodies(runtime, account, DeliveryFilter("failed")) == []
        assert await bodies(runtime, other, DeliveryFilter("failed")) == ["o0"]

    run(fresh_database, test)


def test_a_delivered_one_keeps_its_status(fresh_database: str) -> None:
    """A delivered webhook is listed as delivered with the receiver's status, no error."""

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await hooked_service(runtime, account, "fine")
        await send(runtime, account, service, channel, "ok")
        async with runtime.db.write() as conn:
            [[d]] = await outbox.claim(conn, TABLES, 10, 10, 30.0)
            await outbox.record(conn, TABLES, [Attempt(d, "delivered", None, None, 204)])
        which = DeliveryFilter("delivered", service)
        [row] = (await list_deliveries(runtime, account, which, PageRequest(9, 0))).rows
        assert (row["last_status"], row["last_error"], row["attempts"]) == (204, None, 1)

    run(fresh_database, test)


def test_an_unknown_status_is_a_twilio_error() -> None:
    """A filter names pending, failed or delivered; anything else is a 400 naming Status."""
    with pytest.raises(InvalidParameter) as raised:
        DeliveryFilter("sending")
    assert (raised.value.status, raised.value.param) == (400, "Status")


async def _age(runtime: Runtime, status: str, days: float, count: int) -> None:
    """Make the oldest `count` rows of `status` look finished `days` ago."""
    o = TABLES.outbox
    async with runtime.db.write() as conn:
        pks = [
            pk
            for (pk,) in await conn.execute(
                select(o.c.pk).where(o.c.status == status).order_by(o.c.pk).limit(count)
            )
        ]
        await conn.execute(
            o.update()
            .where(o.c.pk.in_(pks))
            .values(date_updated=clock.utcnow() - timedelta(days=days))
        )


async def _count(runtime: Runtime, status: str) -> int:
    o = TABLES.outbox
    async with runtime.db.read() as conn:
        rows: Any = await conn.execute(select(o.c.pk).where(o.c.status == status))
        return len(list(rows))


def test_finished_deliveries_are_pruned_after_their_retention(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delivered rows older than their retention go, a bounded batch per call taken from the
    oldest; recent ones and pending ones stay."""
    monkeypatch.setattr(outbox, "PRUNE_BATCH", 3)

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await hooked_service(runtime, account, "history")
        for n in range(6):
            await send(runtime, account, service, channel, f"m{n}")
        async with runtime.db.write() as conn:
            [batch] = await outbox.claim(conn, TABLES, 10, 10, 30.0)
            delivered = [Attempt(d, "delivered", None, None, 200) for d in batch[:5]]
            await outbox.record(conn, TABLES, delivered, batch[5:])
        await _age(runtime, "delivered", 8, 4)  # four past the week, one recent

        kept = outbox.KEPT["delivered"]
        async with runtime.db.write() as conn:
            assert await outbox.prune(conn, TABLES, "delivered", kept) == 3  # one batch
        async with runtime.db.write() as conn:
            assert await outbox.prune(conn, TABLES, "delivered", kept) == 1
        async with runtime.db.write() as conn:
            assert await outbox.prune(conn, TABLES, "delivered", kept) == 0
        assert (await _count(runtime, "delivered"), await _count(runtime, "pending")) == (1, 1)

    run(fresh_database, test)


def test_an_event_filter_reads_a_bounded_window_and_goes_on_from_its_end(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event is in no index: a page reads at most `paging.WINDOW` of the status's rows
    from its position (newest first), and its links go on from where the window ended, both
    ways, so a rare event costs the same beside any number of others."""
    monkeypatch.setattr(paging, "WINDOW", 3)

    async def test(runtime: Runtime, account: Account) -> None:
        async with runtime.db.write() as conn:
            for n in range(10):  # the event at 1, 5 and 6
                await outbox.enqueue(
                    conn,
                    TABLES,
                    account_sid=account.sid,
                    service_sid=None,
                    queue=f"q{n}",
                    kind="webhook",
                    event="onMessageSent" if n in (1, 5, 6) else "onChannelAdded",
                    url=HOOK,
                    method="POST",
                    params={"N": n},
                    retry_limit=1,
                )
        which = DeliveryFilter("pending", event="onMessageSent")

        async def page(request: PageRequest) -> tuple[list[int], int | None, int | None]:
            found = await list_deliveries(runtime, account, which, request)
            numbers = []
            for row in found.rows:
                full = await get_delivery(runtime, account, row["pk"])
                assert full is not None
                numbers.append(full["params"]["N"])
            rows = found.rows
            last = (
                found.next_key if found.next_key is not None else rows[-1]["pk"] if rows else None
            )
            first = found.previous_key
            first = rows[0]["pk"] if first is None and rows else first
            return numbers, last if found.has_next else None, first if found.has_previous else None

        forward: list[list[int]] = []
        request = PageRequest(2, 0)
        back_from_one = None
        while True:
            numbers, after, before = await page(request)
            forward.append(numbers)
            back_from_one = before if numbers == [1] else back_from_one
            if after is None:
                break
            request = PageRequest(2, request.page + 1, after=after, token=f"PA{after}")
        # newest first, windows of three: 9-7 none (an empty page that goes on), 6-4 two, 3-1
        # one, 0 none (the window reached the end)
        assert forward == [[], [6, 5], [1], []]
        backward: list[list[int]] = []
        while back_from_one is not None:
            back = PageRequest(2, 1, before=back_from_one, token=f"PB{back_from_one}")
            numbers, _, back_from_one = await page(back)
            backward.append(numbers)
        # back from the page of 1: 2-4 none, 5-7 two, 8-9 none (the end)
        assert backward == [[], [6, 5], []]

    run(fresh_database, test)


def test_pending_merges_both_statuses_range_by_range(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Pending" is two statuses (`sending` left by older versions): each one's rows are read
    as their own index range and merged, so pages walk them all once, newest first, in both
    directions, with windows smaller than the list."""
    monkeypatch.setattr(paging, "WINDOW", 3)

    async def test(runtime: Runtime, account: Account) -> None:
        service, channel = await hooked_service(runtime, account, "merged")
        for n in range(7):
            await send(runtime, account, service, channel, f"m{n}")
        o = TABLES.outbox
        async with runtime.db.write() as conn:
            rows = await conn.execute(select(o.c.pk).order_by(o.c.pk))
            legacy = [pk for n, (pk,) in enumerate(rows) if n in (0, 2, 3, 6)]
            await conn.execute(o.update().where(o.c.pk.in_(legacy)).values(status="sending"))
        which = DeliveryFilter("pending")
        seen = await walk(runtime, account, which)
        assert len(seen) == 7
        assert seen == sorted(seen, reverse=True)
        back = PageRequest(2, 1, before=seen[5], token=f"PB{seen[5]}")
        page = await list_deliveries(runtime, account, which, back)
        assert [r["pk"] for r in page.rows] == seen[3:5]
        assert page.has_previous

    run(fresh_database, test)
