"""User Channels through the official client: the channels a user has joined or is invited to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.fixtures_v1 import UNKNOWN, list_rejected, new_channel
from tests.support.servers import Server


@pytest.fixture
def user(svc: Any, unique: Callable[[str], str]) -> Any:
    """A user of the test's service."""
    return svc.users.create(identity=unique("reader"))


class TestStatus:
    def test_joined(
        self,
        svc: Any,
        user: Any,
        service: Any,
        server: Server,
        unique: Callable[[str], str],
    ) -> None:
        """A channel the user is a member of is listed "joined", with its member and links."""
        channel = new_channel(svc, unique)
        member = svc.channels(channel.sid).members.create(identity=user.identity)
        (entry,) = svc.users(user.sid).user_channels.list()
        assert entry.account_sid == server.account_sid
        assert entry.service_sid == service.sid
        assert entry.channel_sid == channel.sid
        assert entry.member_sid == member.sid
        assert entry.status == "joined"
        assert entry.last_consumed_message_index is None
        assert entry.unread_messages_count is None
        assert entry.links["channel"] == channel.url
        assert entry.links["member"] == member.url

    def test_invited(self, svc: Any, user: Any, unique: Callable[[str], str]) -> None:
        """A channel the user is invited to is listed "invited", with no member."""
        channel = new_channel(svc, unique, type="private")
        svc.channels(channel.sid).invites.create(identity=user.identity)
        (entry,) = svc.users(user.sid).user_channels.list()
        assert entry.channel_sid == channel.sid
        assert entry.status == "invited"
        assert entry.member_sid is None
        assert entry.last_consumed_message_index is None
        assert entry.links["channel"] == channel.url
        assert entry.links.get("member") is None

    def test_joined_and_invited_together(
        self, svc: Any, user: Any, unique: Callable[[str], str]
    ) -> None:
        """Joined and invited channels are listed together, each once, in channel order."""
        joined, invited, unrelated, also = (new_channel(svc, unique) for _ in range(4))
        svc.channels(joined.sid).members.create(identity=user.identity)
        svc.channels(invited.sid).invites.create(identity=user.identity)
        svc.channels(also.sid).members.create(identity=user.identity)
        svc.channels(unrelated.sid).members.create(identity=unique("someone-else"))
        entries = svc.users(user.sid).user_channels.list()
        assert [(e.channel_sid, e.status) for e in entries] == [
            (joined.sid, "joined"),
            (invited.sid, "invited"),
            (also.sid, "joined"),
        ]

    def test_invite_becomes_joined(self, svc: Any, user: Any, unique: Callable[[str], str]) -> None:
        """Once the invitee is added as a member, the channel is listed once, as joined."""
        channel = new_channel(svc, unique)
        svc.channels(channel.sid).invites.create(identity=user.identity)
        member = svc.channels(channel.sid).members.create(identity=user.identity)
        (entry,) = svc.users(user.sid).user_channels.list()
        assert (entry.status, entry.member_sid) == ("joined", member.sid)

    def test_leaving_removes_entry(self, svc: Any, user: Any, unique: Callable[[str], str]) -> None:
        """After the member is removed, the channel is no longer listed."""
        channel = new_channel(svc, unique)
        member = svc.channels(channel.sid).members.create(identity=user.identity)
        svc.channels(channel.sid).members(member.sid).delete()
        assert svc.users(user.sid).user_channels.list() == []

    def test_none(self, svc: Any, user: Any, unique: Callable[[str], str]) -> None:
        """A user in no channel has an empty list, even when channels exist."""
        new_channel(svc, unique)
        assert svc.users(user.sid).user_channels.list() == []


class TestUnread:
    def test_null_until_consumption_reported(
        self, svc: Any, user: Any, unique: Callable[[str], str]
    ) -> None:
        """unread_messages_count stays null while the member has reported no consumption."""
        channel = new_channel(svc, unique)
        room = svc.channels(channel.sid)
        room.members.create(identity=user.identity)
        for i in range(3):
            room.messages.create(body=f"m{i}")
        (entry,) = svc.users(user.sid).user_channels.list()
        assert entry.last_consumed_message_index is None
        assert entry.unread_messages_count is None

    def test_newest_index_minus_consumed(
        self, svc: Any, user: Any, unique: Callable[[str], str]
    ) -> None:
        """Once consumption is reported, unread = newest index - last consumed index."""
        channel = new_channel(svc, unique)
        room = svc.channels(channel.sid)
        member = room.members.create(identity=user.identity)
        for i in range(5):
            room.messages.create(body=f"m{i}")
        room.members(member.sid).update(last_consumed_message_index=1)
        (entry,) = svc.users(user.sid).user_channels.list()
        assert entry.last_consumed_message_index == 1
        assert entry.unread_messages_count == 3
        room.messages.create(body="one more")
        (entry,) = svc.users(user.sid).user_channels.list()
        assert entry.unread_messages_count == 4
        room.members(member.sid).update(last_consumed_message_index=5)
        (entry,) = svc.users(user.sid).user_channels.list()
        assert (entry.last_consumed_message_index, entry.unread_messages_count) == (5, 0)

    def test_never_negative(self, svc: Any, user: Any, unique: Callable[[str], str]) -> None:
        """A read horizon beyond the newest message counts as nothing unread."""
        channel = new_channel(svc, unique)
        room = svc.channels(channel.sid)
        member = room.members.create(identity=user.identity)
        room.messages.create(body="only")
        room.members(member.sid).update(last_consumed_message_index=9)
        (entry,) = svc.users(user.sid).user_channels.list()
        assert entry.unread_messages_count == 0

    def test_per_channel(self, svc: Any, user: Any, unique: Callable[[str], str]) -> None:
        """Each channel's unread count uses that channel's own messages and horizon."""
        busy, quiet = new_channel(svc, unique), new_channel(svc, unique)
        for channel, count in ((busy, 6), (quiet, 2)):
            room = svc.channels(channel.sid)
            member = room.members.create(identity=user.identity)
            for i in range(count):
                room.messages.create(body=f"m{i}")
            room.members(member.sid).update(last_consumed_message_index=0)
        entries = {e.channel_sid: e for e in svc.users(user.sid).user_channels.list()}
        assert entries[busy.sid].unread_messages_count == 5
        assert entries[quiet.sid].unread_messages_count == 1


class TestAddressing:
    def test_by_identity(self, svc: Any, user: Any, unique: Callable[[str], str]) -> None:
        """The user may be named by identity in the path, with the same result as by SID."""
        channel = new_channel(svc, unique)
        svc.channels(channel.sid).members.create(identity=user.identity)
        by_identity = svc.users(user.identity).user_channels.list()
        by_sid = svc.users(user.sid).user_channels.list()
        assert [e.channel_sid for e in by_identity] == [channel.sid]
        assert [e.member_sid for e in by_identity] == [e.member_sid for e in by_sid]

    def test_unknown_user(self, svc: Any) -> None:
        """An unknown user SID or identity is 404 with 20404."""
        list_rejected(svc.users(UNKNOWN["US"]).user_channels.list, 404, 20404)
        list_rejected(svc.users("no-such-user").user_channels.list, 404, 20404)


class TestPaging:
    def test_page_size(self, svc: Any, user: Any, unique: Callable[[str], str]) -> None:
        """page_size=2 walks five channels through next_page_url, each once, in order."""
        channels = [new_channel(svc, unique).sid for _ in range(5)]
        for i, sid in enumerate(channels):
            if i % 2:
                svc.channels(sid).invites.create(identity=user.identity)
            else:
                svc.channels(sid).members.create(identity=user.identity)
        listed = svc.users(user.sid).user_channels.list(page_size=2)
        assert [e.channel_sid for e in listed] == channels
        first = svc.users(user.sid).user_channels.page(page_size=2)
        assert [e.channel_sid for e in first] == channels[:2]
        assert [e.channel_sid for e in first.next_page()] == channels[2:4]
