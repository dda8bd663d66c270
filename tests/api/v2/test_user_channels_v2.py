"""User Channels in v2: fetch, update (notification level, read horizon) and delete (= leave)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.v2.helpers import UNKNOWN, rejected
from tests.support.servers import Server


@pytest.fixture
def user(svc2: Any, unique: Callable[[str], str]) -> Any:
    """A user of the v2 service."""
    return svc2.users.create(identity=unique("reader"))


@pytest.fixture
def member(room2: Any, user: Any) -> Any:
    """The user, seated in the v2 channel."""
    return room2.members.create(identity=user.identity)


def post(room: Any, count: int) -> list[Any]:
    """`count` messages in the channel, indexed 0..count-1."""
    return [room.messages.create(body=f"message {i}") for i in range(count)]


class TestFetch:
    def test_joined(
        self,
        svc2: Any,
        service2: Any,
        server: Server,
        user: Any,
        channel2: Any,
        member: Any,
    ) -> None:
        """A membership fetched as a User Channel: joined, default level, v2 url and links."""
        entry = svc2.users(user.sid).user_channels(channel2.sid).fetch()
        assert entry.account_sid == server.account_sid
        assert entry.service_sid == service2.sid
        assert entry.channel_sid == channel2.sid
        assert entry.user_sid == user.sid
        assert entry.member_sid == member.sid
        assert entry.status == "joined"
        assert entry.notification_level == "default"
        assert entry.last_consumed_message_index is None
        assert entry.unread_messages_count is None
        base = f"{server.url}/v2/Services/{service2.sid}"
        assert entry.url == f"{base}/Users/{user.sid}/Channels/{channel2.sid}"
        assert entry.links["channel"] == f"{base}/Channels/{channel2.sid}"
        assert entry.links["member"] == member.url

    def test_by_identity_and_unique_name(
        self, svc2: Any, user: Any, unique: Callable[[str], str]
    ) -> None:
        """The path may name the user by identity and the channel by unique name."""
        name = unique("lobby")
        channel = svc2.channels.create(unique_name=name)
        svc2.channels(channel.sid).members.create(identity=user.identity)
        entry = svc2.users(user.identity).user_channels(name).fetch()
        assert entry.channel_sid == channel.sid
        assert entry.user_sid == user.sid
        assert entry.url.endswith(f"/Users/{user.sid}/Channels/{channel.sid}")

    def test_unread_follows_read_horizon(
        self, svc2: Any, room2: Any, user: Any, channel2: Any, member: Any
    ) -> None:
        """Once the member reports a read horizon, unread counts the newer messages."""
        post(room2, 3)
        room2.members(member.sid).update(last_consumed_message_index=0)
        entry = svc2.users(user.sid).user_channels(channel2.sid).fetch()
        assert entry.last_consumed_message_index == 0
        assert entry.unread_messages_count == 2

    def test_not_a_member_is_404(self, svc2: Any, user: Any, channel2: Any) -> None:
        """A channel the user is not in has no User Channel: 404 with 20404."""
        rejected(lambda: svc2.users(user.sid).user_channels(channel2.sid).fetch(), 404, 20404)

    def test_other_users_membership_is_404(
        self, svc2: Any, channel2: Any, member: Any, unique: Callable[[str], str]
    ) -> None:
        """Another user's membership is not this user's User Channel."""
        stranger = svc2.users.create(identity=unique("stranger"))
        fetch = svc2.users(stranger.sid).user_channels(channel2.sid).fetch
        rejected(fetch, 404, 20404)

    def test_unknown_channel_or_user_is_404(self, svc2: Any, user: Any, channel2: Any) -> None:
        """An unknown channel or user in the path is 404."""
        rejected(lambda: svc2.users(user.sid).user_channels(UNKNOWN["CH"]).fetch(), 404, 20404)
        rejected(lambda: svc2.users(UNKNOWN["US"]).user_channels(channel2.sid).fetch(), 404)

    def test_listed_with_v2_fields(self, svc2: Any, user: Any, channel2: Any, member: Any) -> None:
        """The v2 list carries user_sid, notification_level and url for each entry."""
        (entry,) = svc2.users(user.sid).user_channels.list()
        assert entry.channel_sid == channel2.sid
        assert entry.user_sid == user.sid
        assert entry.notification_level == "default"
        assert entry.url.endswith(f"/Users/{user.sid}/Channels/{channel2.sid}")


class TestUpdate:
    def test_muted(self, svc2: Any, user: Any, channel2: Any, member: Any) -> None:
        """NotificationLevel muted round-trips, and shows in the list; default restores it."""
        ctx = svc2.users(user.sid).user_channels(channel2.sid)
        updated = ctx.update(notification_level="muted")
        assert updated.notification_level == "muted"
        assert updated.status == "joined"
        assert updated.channel_sid == channel2.sid
        assert ctx.fetch().notification_level == "muted"
        assert [e.notification_level for e in svc2.users(user.sid).user_channels.list()] == [
            "muted"
        ]
        assert ctx.update(notification_level="default").notification_level == "default"

    def test_level_is_per_user(
        self,
        svc2: Any,
        room2: Any,
        user: Any,
        channel2: Any,
        member: Any,
        unique: Callable[[str], str],
    ) -> None:
        """Muting is the user's own: another member of the channel stays at default."""
        other = room2.members.create(identity=unique("other"))
        svc2.users(user.sid).user_channels(channel2.sid).update(notification_level="muted")
        entry = svc2.users(other.identity).user_channels(channel2.sid).fetch()
        assert entry.notification_level == "default"

    def test_read_horizon(
        self, svc2: Any, room2: Any, user: Any, channel2: Any, member: Any
    ) -> None:
        """LastConsumedMessageIndex moves the member's horizon; unread follows it."""
        post(room2, 4)
        ctx = svc2.users(user.sid).user_channels(channel2.sid)
        updated = ctx.update(last_consumed_message_index=1)
        assert updated.last_consumed_message_index == 1
        assert updated.unread_messages_count == 2
        seat = room2.members(member.sid).fetch()
        assert seat.last_consumed_message_index == 1
        assert seat.last_consumption_timestamp is not None
        assert ctx.update(last_consumed_message_index=3).unread_messages_count == 0

    def test_consumption_timestamp(
        self, svc2: Any, room2: Any, user: Any, channel2: Any, member: Any
    ) -> None:
        """LastConsumptionTimestamp is stored on the membership as given."""
        when = datetime(2019, 5, 4, 3, 2, 1, tzinfo=UTC)
        svc2.users(user.sid).user_channels(channel2.sid).update(
            last_consumed_message_index=0, last_consumption_timestamp=when
        )
        seat = room2.members(member.sid).fetch()
        assert seat.last_consumption_timestamp == when

    def test_level_and_horizon_together(
        self, svc2: Any, room2: Any, user: Any, channel2: Any, member: Any
    ) -> None:
        """One update may set the level and the horizon together."""
        post(room2, 2)
        ctx = svc2.users(user.identity).user_channels(channel2.sid)
        updated = ctx.update(notification_level="muted", last_consumed_message_index=0)
        assert (updated.notification_level, updated.unread_messages_count) == ("muted", 1)

    def test_bad_level(self, svc2: Any, user: Any, channel2: Any, member: Any) -> None:
        """A NotificationLevel other than default or muted is 400 with 50210."""
        ctx = svc2.users(user.sid).user_channels(channel2.sid)
        rejected(lambda: ctx.update(notification_level="loud"), 400, 50210)
        assert ctx.fetch().notification_level == "default"

    def test_bad_index(self, svc2: Any, user: Any, channel2: Any, member: Any) -> None:
        """A negative LastConsumedMessageIndex is 400."""
        ctx = svc2.users(user.sid).user_channels(channel2.sid)
        rejected(lambda: ctx.update(last_consumed_message_index=-1), 400)
        assert ctx.fetch().last_consumed_message_index is None

    def test_not_a_member_is_404(self, svc2: Any, user: Any, channel2: Any) -> None:
        """Updating the User Channel of a channel the user is not in is 404."""
        ctx = svc2.users(user.sid).user_channels(channel2.sid)
        rejected(lambda: ctx.update(notification_level="muted"), 404, 20404)


class TestDelete:
    def test_leaves_the_channel(
        self,
        svc2: Any,
        room2: Any,
        user: Any,
        channel2: Any,
        member: Any,
        unique: Callable[[str], str],
    ) -> None:
        """Deleting a User Channel is leaving: seat, counts and membership all go."""
        stays = room2.members.create(identity=unique("stays"))
        assert room2.fetch().members_count == 2
        assert svc2.users(user.sid).fetch().joined_channels_count == 1
        assert svc2.users(user.sid).user_channels(channel2.sid).delete() is True
        assert room2.fetch().members_count == 1
        assert svc2.users(user.sid).fetch().joined_channels_count == 0
        assert [m.sid for m in room2.members.list()] == [stays.sid]
        rejected(lambda: room2.members(member.sid).fetch(), 404, 20404)
        assert svc2.users(user.sid).user_channels.list() == []
        rejected(lambda: svc2.users(user.sid).user_channels(channel2.sid).fetch(), 404, 20404)

    def test_user_and_channel_remain(
        self, svc2: Any, room2: Any, user: Any, channel2: Any, member: Any
    ) -> None:
        """Leaving deletes only the membership: the user and the channel stay."""
        post(room2, 1)
        svc2.users(user.identity).user_channels(channel2.sid).delete()
        assert svc2.users(user.sid).fetch().identity == user.identity
        assert room2.fetch().messages_count == 1

    def test_can_join_again(
        self, svc2: Any, room2: Any, user: Any, channel2: Any, member: Any
    ) -> None:
        """After leaving, the user can be added to the channel again."""
        svc2.users(user.sid).user_channels(channel2.sid).delete()
        again = room2.members.create(identity=user.identity)
        assert again.sid != member.sid
        entry = svc2.users(user.sid).user_channels(channel2.sid).fetch()
        assert entry.member_sid == again.sid

    def test_not_a_member_is_404(self, svc2: Any, user: Any, channel2: Any) -> None:
        """Leaving a channel the user is not in is 404, and changes no count."""
        rejected(svc2.users(user.sid).user_channels(channel2.sid).delete, 404, 20404)
        assert svc2.users(user.sid).fetch().joined_channels_count == 0


@pytest.fixture
def invite(room2: Any, user: Any) -> Any:
    """The user, invited to the v2 channel (not a member)."""
    return room2.invites.create(identity=user.identity)


class TestInvited:
    """An invite is listed with status `invited` and a `url`; that url must answer."""

    def test_listed_url_answers(
        self, svc2: Any, service2: Any, server: Server, user: Any, channel2: Any, invite: Any
    ) -> None:
        (listed,) = svc2.users(user.sid).user_channels.list()
        assert listed.status == "invited"
        entry = svc2.users(user.sid).user_channels(channel2.sid).fetch()
        assert entry.url == listed.url
        assert entry.status == "invited"
        assert entry.channel_sid == channel2.sid
        assert entry.user_sid == user.sid
        assert entry.member_sid is None
        assert entry.notification_level == "default"
        assert entry.last_consumed_message_index is None
        assert entry.unread_messages_count is None
        base = f"{server.url}/v2/Services/{service2.sid}"
        assert entry.links == {"channel": f"{base}/Channels/{channel2.sid}", "member": None}

    def test_by_identity_and_unique_name(
        self, svc2: Any, user: Any, unique: Callable[[str], str]
    ) -> None:
        named = svc2.channels.create(unique_name=unique("lobby"))
        svc2.channels(named.sid).invites.create(identity=user.identity)
        entry = svc2.users(user.identity).user_channels(named.unique_name).fetch()
        assert (entry.channel_sid, entry.status) == (named.sid, "invited")

    def test_update_is_403_and_changes_nothing(
        self, svc2: Any, room2: Any, user: Any, channel2: Any, invite: Any
    ) -> None:
        """Level and read horizon belong to a membership: 403 / 50400 for an invitee."""
        ctx = svc2.users(user.sid).user_channels(channel2.sid)
        rejected(lambda: ctx.update(notification_level="muted"), 403, 50400)
        rejected(lambda: ctx.update(last_consumed_message_index=0), 403, 50400)
        assert ctx.fetch().notification_level == "default"
        assert [i.sid for i in room2.invites.list()] == [invite.sid]

    def test_delete_declines_the_invite(
        self, svc2: Any, room2: Any, user: Any, channel2: Any, invite: Any
    ) -> None:
        """Deleting an invited User Channel removes the invite; no seat or count moves."""
        assert svc2.users(user.sid).user_channels(channel2.sid).delete() is True
        assert room2.invites.list() == []
        assert room2.fetch().members_count == 0
        assert svc2.users(user.sid).fetch().joined_channels_count == 0
        assert svc2.users(user.sid).user_channels.list() == []
        rejected(lambda: svc2.users(user.sid).user_channels(channel2.sid).fetch(), 404, 20404)

    def test_joining_turns_it_into_a_membership(
        self, svc2: Any, room2: Any, user: Any, channel2: Any, invite: Any
    ) -> None:
        member = room2.members.create(identity=user.identity)
        entry = svc2.users(user.sid).user_channels(channel2.sid).fetch()
        assert (entry.status, entry.member_sid) == ("joined", member.sid)
