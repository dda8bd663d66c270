"""Messages through the official client: create, indexes, update, delete, ordered lists, races."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest

from tests.api.fixtures_v1 import UNKNOWN, list_rejected, new_channel, rejected
from tests.conftest import make_client
from tests.support.servers import Server

BODY_MAX = 32 * 1024


def indexes(messages: list[Any]) -> list[int]:
    return [m.index for m in messages]


class TestCreate:
    def test_defaults(self, room: Any, channel: Any, service: Any, server: Server) -> None:
        """A message from no one is from "system", has "{}" attributes, index 0, to the channel."""
        message = room.messages.create(body="hello")
        assert message.sid.startswith("IM")
        assert len(message.sid) == 34
        assert message.account_sid == server.account_sid
        assert message.service_sid == service.sid
        assert message.channel_sid == channel.sid
        assert message.to == channel.sid
        assert message.body == "hello"
        assert message._from == "system"
        assert message.attributes == "{}"
        assert message.index == 0
        assert message.was_edited is False
        assert isinstance(message.date_created, datetime)
        assert message.url == f"{channel.url}/Messages/{message.sid}"

    def test_from_and_attributes(self, room: Any) -> None:
        """From and Attributes are taken as given, and the body keeps every character."""
        body = "héllo & = wörld +1 \n 🎉"
        message = room.messages.create(body=body, from_="alice", attributes='{"k": "v"}')
        assert message._from == "alice"
        assert message.attributes == '{"k": "v"}'
        assert message.body == body
        fetched = room.messages(message.sid).fetch()
        assert (fetched._from, fetched.attributes, fetched.body) == ("alice", '{"k": "v"}', body)

    def test_from_need_not_be_a_user(self, svc: Any, room: Any) -> None:
        """From is a free author string: no user is created for it."""
        room.messages.create(body="hi", from_="ghost-writer")
        rejected(lambda: svc.users("ghost-writer").fetch(), 404, 20404)

    def test_body_required(self, room: Any) -> None:
        """In v1 Body is required: a message without one is 400 and nothing is written."""
        rejected(lambda: room.messages.create(body=None), 400)
        assert room.messages.list() == []
        assert room.fetch().messages_count == 0

    def test_empty_body(self, room: Any) -> None:
        """An empty Body is a body: the message is created with ""."""
        assert room.messages.create(body="").body == ""

    def test_invalid_attributes(self, room: Any) -> None:
        """Attributes must be valid JSON: 400 with 50304, and no message is created."""
        rejected(lambda: room.messages.create(body="x", attributes="{oops"), 400, 50304)
        assert room.fetch().messages_count == 0

    def test_body_at_limit(self, room: Any) -> None:
        """A body of exactly 32 KiB is accepted whole."""
        assert len(room.messages.create(body="x" * BODY_MAX).body) == BODY_MAX

    def test_body_too_long(self, room: Any) -> None:
        """A body over 32 KiB is 400 with 50504, and no message (nor index) is used."""
        rejected(lambda: room.messages.create(body="x" * (BODY_MAX + 1)), 400, 50504)
        assert room.fetch().messages_count == 0
        assert room.messages.create(body="next").index == 0

    def test_body_limit_counts_bytes(self, room: Any) -> None:
        """The 32 KiB limit is in bytes: 16,385 two-byte characters are too long."""
        rejected(lambda: room.messages.create(body="é" * (BODY_MAX // 2 + 1)), 400, 50504)

    def test_unknown_channel(self, svc: Any) -> None:
        """Posting to an unknown channel is 404 with 20404."""
        rejected(lambda: svc.channels(UNKNOWN["CH"]).messages.create(body="x"), 404, 20404)


class TestIndex:
    def test_starts_at_zero_and_counts_up(self, room: Any) -> None:
        """A channel's first message has index 0, and each next one the index after it."""
        assert [room.messages.create(body=f"m{i}").index for i in range(5)] == [0, 1, 2, 3, 4]
        assert room.fetch().messages_count == 5

    def test_per_channel(self, svc: Any, room: Any, unique: Callable[[str], str]) -> None:
        """Each channel counts its own indexes from 0."""
        other = svc.channels(new_channel(svc, unique).sid)
        room.messages.create(body="a")
        room.messages.create(body="b")
        assert other.messages.create(body="c").index == 0
        assert room.messages.create(body="d").index == 2

    def test_never_reused_after_delete(self, room: Any) -> None:
        """Deleting the newest message does not free its index: the next message takes the next."""
        messages = [room.messages.create(body=f"m{i}") for i in range(3)]
        room.messages(messages[2].sid).delete()
        assert room.messages.create(body="after").index == 3
        room.messages(messages[0].sid).delete()
        assert room.messages.create(body="later").index == 4
        assert indexes(room.messages.list()) == [1, 3, 4]

    def test_never_reused_after_deleting_all(self, room: Any) -> None:
        """Even an emptied channel goes on from the next index."""
        messages = [room.messages.create(body=f"m{i}") for i in range(2)]
        for message in messages:
            room.messages(message.sid).delete()
        assert room.fetch().messages_count == 0
        assert room.messages.create(body="fresh").index == 2


class TestFetch:
    def test_by_sid(self, room: Any) -> None:
        """A message is fetched by its SID, with the same fields it was created with."""
        message = room.messages.create(body="find me", from_="bob")
        fetched = room.messages(message.sid).fetch()
        assert (fetched.sid, fetched.body, fetched._from, fetched.index, fetched.to) == (
            message.sid,
            "find me",
            "bob",
            0,
            message.to,
        )

    def test_unknown(self, room: Any) -> None:
        """An unknown message SID is 404 with 20404."""
        rejected(lambda: room.messages(UNKNOWN["IM"]).fetch(), 404, 20404)

    def test_of_another_channel(self, svc: Any, room: Any, unique: Callable[[str], str]) -> None:
        """A message SID is only reachable under its own channel."""
        message = room.messages.create(body="mine")
        other = svc.channels(new_channel(svc, unique).sid)
        rejected(lambda: other.messages(message.sid).fetch(), 404, 20404)


class TestUpdate:
    def test_body_sets_was_edited(self, room: Any) -> None:
        """Changing the body sets was_edited; index, from and attributes stay."""
        message = room.messages.create(body="first", from_="carol", attributes='{"a": 1}')
        assert message.was_edited is False
        updated = room.messages(message.sid).update(body="second")
        assert updated.body == "second"
        assert updated.was_edited is True
        assert (updated.index, updated._from, updated.attributes) == (0, "carol", '{"a": 1}')
        fetched = room.messages(message.sid).fetch()
        assert (fetched.body, fetched.was_edited) == ("second", True)

    def test_attributes_set_was_edited(self, room: Any) -> None:
        """Changing only the attributes sets was_edited too, and keeps the body."""
        message = room.messages.create(body="same")
        updated = room.messages(message.sid).update(attributes='{"pinned": true}')
        assert updated.attributes == '{"pinned": true}'
        assert updated.body == "same"
        assert updated.was_edited is True

    def test_others_not_edited(self, room: Any) -> None:
        """Editing one message leaves the others unedited."""
        first = room.messages.create(body="one")
        second = room.messages.create(body="two")
        room.messages(first.sid).update(body="uno")
        assert room.messages(second.sid).fetch().was_edited is False

    def test_invalid_attributes(self, room: Any) -> None:
        """Attributes that are not JSON are 400 with 50304; nothing changes."""
        message = room.messages.create(body="keep")
        update = room.messages(message.sid).update
        rejected(lambda: update(body="lost", attributes="{bad"), 400, 50304)
        fetched = room.messages(message.sid).fetch()
        assert (fetched.body, fetched.attributes, fetched.was_edited) == ("keep", "{}", False)

    def test_body_too_long(self, room: Any) -> None:
        """An updated body over 32 KiB is 400 with 50504; nothing changes."""
        message = room.messages.create(body="short")
        update = room.messages(message.sid).update
        rejected(lambda: update(body="y" * (BODY_MAX + 1)), 400, 50504)
        assert room.messages(message.sid).fetch().body == "short"

    def test_unknown(self, room: Any) -> None:
        """Updating an unknown message is 404 with 20404."""
        rejected(lambda: room.messages(UNKNOWN["IM"]).update(body="x"), 404, 20404)


class TestDelete:
    def test_delete(self, room: Any) -> None:
        """A deleted message is gone and messages_count drops by one."""
        keep = room.messages.create(body="keep")
        gone = room.messages.create(body="gone")
        assert room.fetch().messages_count == 2
        assert room.messages(gone.sid).delete() is True
        rejected(lambda: room.messages(gone.sid).fetch(), 404, 20404)
        assert room.fetch().messages_count == 1
        assert [m.sid for m in room.messages.list()] == [keep.sid]

    def test_unknown(self, room: Any) -> None:
        """Deleting an unknown message is 404 with 20404, and the count is unchanged."""
        room.messages.create(body="x")
        rejected(room.messages(UNKNOWN["IM"]).delete, 404, 20404)
        assert room.fetch().messages_count == 1

    def test_twice(self, room: Any) -> None:
        """Deleting a message twice is 404 the second time; the count drops once."""
        room.messages.create(body="stay")
        message = room.messages.create(body="x")
        room.messages(message.sid).delete()
        rejected(room.messages(message.sid).delete, 404, 20404)
        assert room.fetch().messages_count == 1


class TestList:
    @pytest.fixture
    def seven(self, room: Any) -> list[Any]:
        """Seven messages, indexes 0..6."""
        return [room.messages.create(body=f"m{i}") for i in range(7)]

    def test_ascending_by_default(self, room: Any, seven: list[Any]) -> None:
        """Without Order, messages are listed by index ascending."""
        assert indexes(room.messages.list()) == list(range(7))
        assert [m.body for m in room.messages.list()] == [f"m{i}" for i in range(7)]

    def test_order_asc(self, room: Any, seven: list[Any]) -> None:
        """Order=asc lists by index ascending."""
        assert indexes(room.messages.list(order="asc")) == list(range(7))

    def test_order_desc(self, room: Any, seven: list[Any]) -> None:
        """Order=desc lists by index descending."""
        assert indexes(room.messages.list(order="desc")) == list(range(6, -1, -1))

    @pytest.mark.parametrize("order", ["asc", "desc"])
    def test_paging_forwards(self, room: Any, seven: list[Any], order: str) -> None:
        """page_size=3 walks every message exactly once, in order, through next_page_url."""
        expected = list(range(7)) if order == "asc" else list(range(6, -1, -1))
        assert indexes(room.messages.list(order=order, page_size=3)) == expected
        page = room.messages.page(order=order, page_size=3)
        seen = []
        sizes = []
        while page is not None:
            records = list(page)
            sizes.append(len(records))
            seen += indexes(records)
            page = page.next_page()
        assert seen == expected
        assert sizes == [3, 3, 1]

    @pytest.mark.parametrize("order", ["asc", "desc"])
    def test_paging_over_gaps(self, room: Any, seven: list[Any], order: str) -> None:
        """Deleted messages leave gaps that paging steps over, in both orders."""
        for i in (1, 3, 4):
            room.messages(seven[i].sid).delete()
        expected = [0, 2, 5, 6] if order == "asc" else [6, 5, 2, 0]
        assert indexes(room.messages.list(order=order, page_size=2)) == expected

    def test_limit(self, room: Any, seven: list[Any]) -> None:
        """list(limit=) stops after that many, from the requested end."""
        assert indexes(room.messages.list(limit=2)) == [0, 1]
        assert indexes(room.messages.list(order="desc", limit=2)) == [6, 5]

    def test_bad_order(self, room: Any, seven: list[Any]) -> None:
        """An Order other than asc or desc is 400."""
        list_rejected(lambda: room.messages.list(order="sideways"), 400)

    def test_empty(self, room: Any) -> None:
        """A new channel has no messages."""
        assert room.messages.list() == []
        assert room.messages.list(order="desc") == []

    def test_unknown_channel(self, svc: Any) -> None:
        """Listing the messages of an unknown channel is 404 with 20404."""
        list_rejected(svc.channels(UNKNOWN["CH"]).messages.list, 404, 20404)


class TestConcurrency:
    def test_indexes_gap_free_under_race(
        self, server: Server, room: Any, channel: Any, service: Any
    ) -> None:
        """100 concurrent creates from 16 threads: indexes exactly 0..99, messages_count 100."""
        local = threading.local()

        def post(i: int) -> int:
            if not hasattr(local, "messages"):
                client = make_client(server)
                local.messages = client.chat.v1.services(service.sid).channels(channel.sid).messages
            return int(local.messages.create(body=f"race {i}", from_=f"t{i % 16}").index)

        with ThreadPoolExecutor(max_workers=16) as pool:
            got = list(pool.map(post, range(100)))
        assert sorted(got) == list(range(100))
        assert room.fetch().messages_count == 100
        listed = room.messages.list(page_size=30)
        assert indexes(listed) == list(range(100))
        assert sorted(m.body for m in listed) == sorted(f"race {i}" for i in range(100))
        assert room.messages.create(body="after").index == 100
