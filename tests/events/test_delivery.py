"""The outbox and its deliverer: retries with backoff, failure and requeue, order per channel,
isolation of slow endpoints, delivery after `kill -9`, and one delivery across two processes.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from typing import Any

import pytest

from tests.events.conftest import (
    Chinwag,
    Cluster,
    Hooks,
    OutboxRow,
    Reply,
    channel_with,
    parse_outbox,
    wait_for,
)
from tests.support.cli import CommandFailed
from tests.support.servers import free_port

TIMEOUT = 2.0  # --webhook-timeout of the module's server


@pytest.fixture(scope="module")
def chinwag(cluster: Cluster) -> Chinwag:
    """Post-events for every REST action, fast backoff, a 2 s timeout."""
    return cluster.start(
        "--rest-webhooks", "post", "--webhook-backoff", "0.05", "--webhook-timeout", str(TIMEOUT)
    )


def watched(chinwag: Chinwag, url: str, retries: int = 0) -> Any:
    """A service sending onMessageSent to `url`, with post_webhook_retry_count `retries`."""
    svc = chinwag.new_service(post_webhook_url=url, webhook_filters=["onMessageSent"])
    if retries:
        chinwag.chat2.services(svc.sid).update(post_webhook_retry_count=retries)
    return svc


def room_of(chinwag: Chinwag, svc: Any) -> Any:
    return chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)


def bodies(hits: list[Any]) -> list[str]:
    return [h.params["Body"] for h in hits]


def rows_for(chinwag: Chinwag, service_sid: str, status: str | None = None) -> list[OutboxRow]:
    return chinwag.outbox(service=service_sid, status=status)


class TestRetries:
    def test_retried_until_delivered(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """With post_webhook_retry_count 2, answers 503, 503, 200 deliver on the third attempt:
        RetryCount 0, 1, 2, the same idempotency token each time, then `delivered`."""
        svc = watched(chinwag, hooks.url("post"), retries=2)
        hooks.reply("post", Reply(503), Reply(503))
        room_of(chinwag, svc).messages.create(body="third time lucky", from_="alice")

        hits = hooks.wait("post", 3)
        assert [h.params["RetryCount"] for h in hits] == ["0", "1", "2"]
        assert [h.status for h in hits] == [503, 503, 200]
        assert len({h.token for h in hits}) == 1
        assert all(h.signed_by(chinwag.token) for h in hits)
        assert all(h.params["Body"] == "third time lucky" for h in hits)
        (row,) = wait_for(lambda: rows_for(chinwag, svc.sid, "delivered"), what="delivered row")
        assert (row.event, row.attempts) == ("onMessageSent", 3)

    @pytest.mark.parametrize("status", [429, 504])
    def test_429_and_504_are_retried(self, chinwag: Chinwag, hooks: Hooks, status: int) -> None:
        """429 and 504 are retried like 503."""
        svc = watched(chinwag, hooks.url("post"), retries=1)
        hooks.reply("post", Reply(status))
        room_of(chinwag, svc).messages.create(body="again", from_="alice")
        hits = hooks.wait("post", 2)
        assert [h.status for h in hits] == [status, 200]
        assert hits[0].token == hits[1].token

    def test_timeout_is_retried(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """An endpoint that does not answer within the timeout is tried again."""
        svc = watched(chinwag, hooks.url("post"), retries=1)
        hooks.reply("post", Reply(200, delay=TIMEOUT + 1.5))
        room_of(chinwag, svc).messages.create(body="slow", from_="alice")
        hits = hooks.wait("post", 2, timeout=TIMEOUT + 8)
        assert [h.params["RetryCount"] for h in hits] == ["0", "1"]
        assert hits[1].at - hits[0].at >= TIMEOUT * 0.9
        assert hits[0].token == hits[1].token

    @pytest.mark.parametrize("status", [400, 500])
    def test_other_errors_are_not_retried(
        self, chinwag: Chinwag, hooks: Hooks, status: int
    ) -> None:
        """A 400 or 500 fails the delivery after one attempt, retry count notwithstanding; the
        channel's next event goes out after it, and `events list --status failed` shows it."""
        svc = watched(chinwag, hooks.url("post"), retries=2)
        hooks.reply("post", Reply(status))
        room = room_of(chinwag, svc)
        room.messages.create(body="broken", from_="alice")
        room.messages.create(body="next", from_="alice")

        hits = hooks.wait("post", 2)
        assert bodies(hits) == ["broken", "next"]
        assert [h.status for h in hits] == [status, 200]

        def failed_here() -> list[OutboxRow]:
            failed = parse_outbox(chinwag.server.cli("events", "list", "--status", "failed"))
            return [r for r in failed if r.url == hooks.url("post")]

        # Outcomes are recorded once the sender's batch is done: both deliveries may have been
        # in one batch, so "next" can reach the receiver before "broken" is recorded as failed.
        mine = wait_for(failed_here, what="the failed row")
        assert len(mine) == 1, mine
        assert mine[0].attempts == 1
        assert mine[0].event == "onMessageSent"
        assert str(status) in (mine[0].error or "")

    def test_unreachable_endpoint_is_retried_then_failed(self, chinwag: Chinwag) -> None:
        """Nothing listening at the URL counts as no answer: retried, then failed and kept."""
        url = f"http://127.0.0.1:{free_port()}/nobody"
        svc = watched(chinwag, url, retries=1)
        room_of(chinwag, svc).messages.create(body="into the void", from_="alice")
        (row,) = wait_for(lambda: rows_for(chinwag, svc.sid, "failed"), what="a failed row")
        assert (row.url, row.attempts) == (url, 2)
        assert row.error

    def test_failed_after_its_retries_then_requeued(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """A 503-forever endpoint is tried 1 + retry count times, then failed and kept;
        `events retry --failed` sends it again (attempts start over, same token) and a healthy
        endpoint gets it."""
        svc = watched(chinwag, hooks.url("post"), retries=2)
        hooks.reply("post", then=Reply(503))
        room = room_of(chinwag, svc)
        room.messages.create(body="doomed", from_="alice")

        hits = hooks.wait("post", 3)
        assert [h.params["RetryCount"] for h in hits] == ["0", "1", "2"]
        (row,) = wait_for(lambda: rows_for(chinwag, svc.sid, "failed"), what="a failed row")
        assert (row.event, row.attempts, row.error) == ("onMessageSent", 3, "HTTP 503")
        assert len(hooks.hits("post")) == 3

        hooks.reply("post", then=Reply(200))
        output = chinwag.server.cli("events", "retry", "--failed")
        assert output.startswith("requeued "), output
        assert int(output.split()[1]) >= 1
        again = hooks.wait("post", 4)[3]
        assert again.status == 200
        assert again.token == hits[0].token
        assert again.params["RetryCount"] == "0"
        assert again.params["Body"] == "doomed"
        (done,) = wait_for(lambda: rows_for(chinwag, svc.sid, "delivered"), what="delivered")
        assert done.id == row.id

    def test_retry_one_by_id(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """`events retry ID` requeues that failed delivery; an unknown ID is an error."""
        svc = watched(chinwag, hooks.url("post"))
        hooks.reply("post", Reply(500))
        room_of(chinwag, svc).messages.create(body="once more", from_="alice")
        (row,) = wait_for(lambda: rows_for(chinwag, svc.sid, "failed"), what="a failed row")
        assert chinwag.server.cli("events", "retry", str(row.id)).strip() == "requeued 1"
        hits = hooks.wait("post", 2)
        assert [h.status for h in hits] == [500, 200]
        assert hits[0].token == hits[1].token
        with pytest.raises(CommandFailed):
            chinwag.server.cli("events", "retry", "999999999")


class TestOrdering:
    def test_channel_events_arrive_in_index_order(self, chinwag: Chinwag, hooks: Hooks) -> None:
        """20 messages of one channel arrive in index order, even when the receiver is slow
        to answer the first."""
        svc = watched(chinwag, hooks.url("post"))
        hooks.reply("post", Reply(200, delay=1.0))
        room = room_of(chinwag, svc)
        for n in range(20):
            room.messages.create(body=f"m{n}", from_="alice")
        hits = hooks.wait("post", 20)
        assert [int(h.params["Index"]) for h in hits] == list(range(20))
        assert bodies(hits) == [f"m{n}" for n in range(20)]
        assert hits[1].at - hits[0].at >= 0.9, "the second was sent before the first was answered"


class TestIsolation:
    def test_slow_endpoint_slows_neither_api_nor_others(
        self, chinwag: Chinwag, hooks: Hooks
    ) -> None:
        """While a slow endpoint backs up, creates still answer quickly, and another service's
        endpoint gets its event at once."""
        slow = watched(chinwag, hooks.url("slow"))
        fast = watched(chinwag, hooks.url("fast"))
        hooks.reply("slow", then=Reply(200, delay=1.5))
        room = room_of(chinwag, slow)
        other = room_of(chinwag, fast)

        started = time.monotonic()
        longest = 0.0
        for n in range(8):
            before = time.monotonic()
            room.messages.create(body=f"s{n}", from_="alice")
            longest = max(longest, time.monotonic() - before)
        spent = time.monotonic() - started
        assert longest < 1.0, f"a create took {longest:.2f}s"
        assert spent < 4.0, f"8 creates took {spent:.2f}s"
        assert len(hooks.hits("slow")) <= 3

        sent = time.monotonic()
        other.messages.create(body="quick", from_="bob")
        (hit,) = hooks.wait("fast", 1, timeout=3)
        assert hit.at - sent < 2.0
        assert len(hooks.hits("slow")) < 8, "the slow queue drained before the fast event"

        hooks.reply("slow", then=Reply(200))  # let the backlog drain
        assert bodies(hooks.wait("slow", 8, timeout=15)) == [f"s{n}" for n in range(8)]


class TestDurability:
    def test_pending_events_survive_kill_9(self, cluster: Cluster, hooks: Hooks) -> None:
        """Events pending at a `kill -9` are all delivered by the next server on the database
        (at least once: the idempotency token is the same on every attempt)."""
        first = cluster.start("--rest-webhooks", "post", "--webhook-backoff", "8")
        svc = watched(first, hooks.url("post"), retries=3)
        hooks.reply("post", then=Reply(503))
        room = room_of(first, svc)
        for n in range(5):
            room.messages.create(body=f"d{n}", from_="alice")
        hooks.wait("post", 1)

        def head_waiting() -> list[OutboxRow]:
            rows = rows_for(first, svc.sid)
            ready = len(rows) == 5 and all(r.status == "pending" for r in rows)
            # At least once, not exactly once: each poll is a CLI process, and on a busy machine
            # one can outlast the 8 s backoff, so "exactly once" was a window a poll could miss.
            return rows if ready and any(r.attempts >= 1 for r in rows) else []

        wait_for(head_waiting, what="five pending deliveries, the first tried")
        assert first.server.stop(signal.SIGKILL) == -signal.SIGKILL

        hooks.reply("post", then=Reply(200))
        second = cluster.start("--rest-webhooks", "post", "--webhook-backoff", "0.05", like=first)

        def delivered() -> dict[str, Any]:
            ok = {h.token: h for h in hooks.hits("post") if h.status == 200}
            return ok if len(ok) == 5 else {}

        tokens = wait_for(delivered, timeout=20, what="all five events after the restart")
        assert sorted(h.params["Body"] for h in tokens.values()) == [f"d{n}" for n in range(5)]
        assert sorted(int(h.params["Index"]) for h in tokens.values()) == list(range(5))
        first_try = hooks.hits("post")[0]
        assert first_try.status == 503
        assert first_try.token in tokens, "the retry after the restart changed the token"
        for hit in tokens.values():
            assert hit.signed_by(second.token)

        def recorded() -> list[OutboxRow]:
            # The receiver's 200 comes first; the deliverer records it in its next cycle.
            rows = rows_for(second, svc.sid)
            return rows if len(rows) == 5 and all(r.status == "delivered" for r in rows) else []

        wait_for(recorded, timeout=20, what="all five recorded as delivered")
        second.server.stop()


class TestTwoProcesses:
    def test_each_event_delivered_once(self, pg_cluster: Cluster, hooks: Hooks) -> None:
        """Two servers on one PostgreSQL database, both delivering, send each event once."""
        args = ("--rest-webhooks", "post", "--webhook-backoff", "0.05")
        one = pg_cluster.start(*args)
        two = pg_cluster.start(*args, like=one)
        hooks.reply("post", then=Reply(200, delay=0.02))
        svc = watched(one, hooks.url("post"))
        channels = [channel_with(one, svc.sid).sid for _ in range(4)]
        count = 0
        for n in range(12):
            for k, channel in enumerate(channels):
                side = one if (n + k) % 2 else two
                side.chat.services(svc.sid).channels(channel).messages.create(body=f"{k}-{n}")
                count += 1

        hooks.wait("post", count, timeout=20)
        wait_for(
            lambda: all(r.status == "delivered" for r in rows_for(one, svc.sid)),
            what="every delivery recorded as delivered",
        )
        hits = hooks.hits("post")
        repeats = {t: n for t, n in Counter(h.token for h in hits).items() if n > 1}
        assert repeats == {}, f"delivered more than once: {repeats}"
        assert len(hits) == count
        for k, channel in enumerate(channels):
            mine = [h for h in hits if h.params["ChannelSid"] == channel]
            assert [h.params["Body"] for h in mine] == [f"{k}-{n}" for n in range(12)]
