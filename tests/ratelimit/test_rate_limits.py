"""`--rate-limits twilio`: Twilio's Chat limits, through the official client.

Twilio's Chat Limits page: 30 actions per second per channel and per service, for writes,
averaged over a 5-second window, answered with 429. Every burst here is sent by eight threads
spread over three server processes on one database (see conftest.py), so the count is only
right if all of them share it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from chinwag import clock
from chinwag.resources import TABLES
from chinwag.store.db import Database
from tests.ratelimit.conftest import Limited
from tests.support.errors import twilio_error
from tests.support.servers import Server

CAPACITY = 150  # 30 actions per second x 5 seconds
THREADS = 8


Interval = tuple[float, float]  # when a request was sent and when its answer came


@dataclass
class Burst:
    accepted: list[Interval]
    refusals: list[tuple[Interval, TwilioRestException]]
    elapsed: float

    def assert_limited(self) -> None:
        """What any 5-second window allows, checked from the client's side of each request.

        A server handles a request between its sending and its answer, so: at least 150 pass
        (the first 150 always fit); no 5-second span holds more than 150 accepted requests;
        and every refusal overlaps 150 accepted ones in the 5 seconds before it. Within one
        window that is exactly 150.
        """
        accepted = self.accepted
        assert len(accepted) >= CAPACITY, (len(accepted), self.elapsed)
        for _, end in accepted:
            inside = sum(1 for s, e in accepted if s > end - 5 and e <= end)
            assert inside <= CAPACITY, (inside, self.elapsed)
        for (sent, answered), _ in self.refusals:
            before = sum(1 for s, e in accepted if e > sent - 5 and s <= answered)
            assert before >= CAPACITY, (before, self.elapsed)
        if self.elapsed < 5:
            assert len(accepted) == CAPACITY, (len(accepted), self.elapsed)
            assert self.refusals, "a burst beyond 150 in 5 seconds must be refused"


def timed(write: Callable[[], Any]) -> Interval:
    """One write made before a burst, and when it was made."""
    sent = time.monotonic()
    write()
    return (sent, time.monotonic())


def burst(
    limited: Limited,
    n: int,
    write: Callable[[Client, int], Any],
    prior: tuple[Interval, ...] = (),
) -> Burst:
    """`n` writes as fast as eight threads over three processes can send them (after `prior`
    writes of the same bucket, which count with them)."""
    local = threading.local()
    numbers = count()

    def one(i: int) -> tuple[Interval, TwilioRestException | None]:
        if not hasattr(local, "client"):
            local.client = limited.client(next(numbers))  # threads alternate between servers
        sent = time.monotonic()
        try:
            write(local.client, i)
        except TwilioRestException as refused:
            return (sent, time.monotonic()), refused
        return (sent, time.monotonic()), None

    began = min([time.monotonic(), *(sent for sent, _ in prior)])
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(one, range(n)))
    elapsed = time.monotonic() - began
    accepted = [*prior, *(interval for interval, refused in results if refused is None)]
    refusals = [(interval, refused) for interval, refused in results if refused is not None]
    return Burst(accepted, refusals, elapsed)


def fill(limited: Limited, bucket: str, actions: int, age_ms: int) -> None:
    """Record `actions` writes of `bucket` made `age_ms` ago, as a server would have."""

    async def run() -> None:
        db = Database(limited.servers[0].database)
        try:
            async with db.write() as conn:
                at = clock.now_ms() - age_ms
                rows = [{"bucket": bucket, "at": at} for _ in range(actions)]
                if rows:  # one multi-row INSERT (the store runs no executemany)
                    await conn.execute(TABLES.rate_actions.insert().values(rows))
        finally:
            await db.close()

    asyncio.run(run())


def post_message(client: Client, service_sid: str, channel_sid: str) -> Any:
    return client.chat.v1.services(service_sid).channels(channel_sid).messages.create(body="m")


def service_of(limited: Limited) -> Any:
    return limited.client(0).chat.v1.services.create(friendly_name="limited")


class TestPerChannel:
    def test_message_burst_across_processes(self, limited: Limited) -> None:
        """200 message creates in one channel: 150 pass within 5 s, the rest are 429 / 50063."""
        service = service_of(limited)
        channel = limited.client(0).chat.v1.services(service.sid).channels.create()

        def post(client: Client, i: int) -> None:
            post_message(client, service.sid, channel.sid)

        result = burst(limited, 200, post)
        result.assert_limited()
        for _, refused in result.refusals:
            assert (refused.status, refused.code) == (429, 50063), refused
        stored = limited.client(1).chat.v2.services(service.sid).channels(channel.sid).fetch()
        assert stored.messages_count == len(result.accepted)  # a refused write wrote nothing

    def test_channels_are_counted_separately(self, limited: Limited) -> None:
        """Updates count too; a full channel leaves other channels, and reads, untouched."""
        service = service_of(limited)
        svc = limited.client(0).chat.v2.services(service.sid)
        busy, quiet = svc.channels.create(), svc.channels.create()
        message: list[Any] = []
        created = timed(
            lambda: message.append(post_message(limited.client(1), service.sid, busy.sid))
        )

        def edit(client: Client, i: int) -> None:
            room = client.chat.v2.services(service.sid).channels(busy.sid)
            room.messages(message[0].sid).update(body=f"edit {i}")

        burst(limited, 170, edit, prior=(created,)).assert_limited()
        assert post_message(limited.client(1), service.sid, quiet.sid).index == 0
        assert svc.channels(busy.sid).messages(message[0].sid).fetch().was_edited is True
        assert [m.sid for m in svc.channels(busy.sid).messages.list()] == [message[0].sid]

    def test_exactly_150_across_servers(self, limited: Limited) -> None:
        """With 149 writes in the window, one more passes (on one server) and the next is
        refused (on the other): the count is shared and exact."""
        service = service_of(limited)
        channel = limited.client(0).chat.v1.services(service.sid).channels.create()
        fill(limited, channel.sid, 149, age_ms=1000)
        assert post_message(limited.client(0), service.sid, channel.sid).index == 0
        with pytest.raises(TwilioRestException) as refused:
            post_message(limited.client(1), service.sid, channel.sid)
        assert (refused.value.status, refused.value.code) == (429, 50063)
        assert refused.value.msg.endswith("Actions per second limit exceeded")

    def test_the_answer(self, limited: Limited) -> None:
        """The 429 is Twilio's error body with `Retry-After`: the seconds until the oldest write
        leaves the window; after waiting that long, a write passes again."""
        service = service_of(limited)
        channel = limited.client(0).chat.v1.services(service.sid).channels.create()
        fill(limited, channel.sid, 150, age_ms=2000)  # they leave the window 3 s from now
        url = f"{limited.servers[1].url}/v1/Services/{service.sid}/Channels/{channel.sid}"
        response = requests.post(
            f"{url}/Messages", data={"Body": "hi"}, auth=limited.auth, timeout=30
        )
        body = twilio_error(response, 429, 50063)
        assert body["message"] == "Actions per second limit exceeded"
        wait = int(response.headers["Retry-After"])
        assert 1 <= wait <= 3
        assert requests.get(url, auth=limited.auth, timeout=30).status_code == 200  # reads pass
        time.sleep(wait)
        assert post_message(limited.client(1), service.sid, channel.sid).index == 0

    def test_refused_and_failed_writes_do_not_count(self, limited: Limited) -> None:
        """Only performed actions count: invalid writes (400) and refused ones take no slot."""
        service = service_of(limited)
        channel = limited.client(0).chat.v1.services(service.sid).channels.create()

        def bad(client: Client, i: int) -> None:
            room = client.chat.v1.services(service.sid).channels(channel.sid)
            room.messages.create(body="x", attributes="{not json")

        result = burst(limited, 100, bad)
        assert result.accepted == []
        assert {(r.status, r.code) for _, r in result.refusals} == {(400, 50304)}
        fill(limited, channel.sid, 149, age_ms=0)
        assert post_message(limited.client(0), service.sid, channel.sid).index == 0


class TestPerService:
    def test_user_burst(self, limited: Limited) -> None:
        """User creates count against the service: 150 pass, the rest are 429 / 50074."""
        service = service_of(limited)
        made: list[Any] = []
        created = timed(
            lambda: made.append(limited.client(0).chat.v1.services(service.sid).channels.create())
        )  # a channel create is a service action too

        def create(client: Client, i: int) -> None:
            client.chat.v2.services(service.sid).users.create(identity=f"u{i}")

        result = burst(limited, 200, create, prior=(created,))
        result.assert_limited()
        for _, refused in result.refusals:
            assert (refused.status, refused.code) == (429, 50074), refused
            assert refused.msg.endswith("Global actions per second limit exceeded")
        users = limited.client(1).chat.v2.services(service.sid).users.list()
        assert len(users) == len(result.accepted) - 1
        # Messages count against their channel, not the service: the channel is still open.
        assert post_message(limited.client(1), service.sid, made[0].sid).index == 0

    def test_services_are_counted_separately(self, limited: Limited) -> None:
        first, second = service_of(limited), service_of(limited)
        fill(limited, first.sid, 150, age_ms=0)
        with pytest.raises(TwilioRestException) as refused:
            limited.client(0).chat.v1.services(first.sid).roles.create(
                friendly_name="busy", type="channel", permission=["sendMessage"]
            )
        assert (refused.value.status, refused.value.code) == (429, 50074)
        svc = limited.client(1).chat.v1.services(second.sid)
        role = svc.roles.create(friendly_name="free", type="channel", permission=["sendMessage"])
        assert role.friendly_name == "free"


def test_off_by_default(server: Server, client: Client) -> None:
    """Without the flag nothing is limited: 200 quick writes to one channel all pass."""
    service = client.chat.v1.services.create(friendly_name="unlimited")
    room = client.chat.v1.services(service.sid).channels(
        client.chat.v1.services(service.sid).channels.create().sid
    )
    for i in range(200):
        room.messages.create(body=f"m{i}")
    assert room.fetch().messages_count == 200
    client.chat.v1.services(service.sid).delete()
