"""Members through the official client: create, fetch, update, list, delete, and both limits."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from twilio.base.exceptions import TwilioRestException

from tests.api.fixtures_v1 import UNKNOWN, list_rejected, new_channel, new_role, rejected
from tests.conftest import make_client
from tests.support.servers import Server


class TestCreate:
    def test_defaults(
        self, room: Any, channel: Any, service: Any, server: Server, unique: Any
    ) -> None:
        """A new member has the default channel role and has read nothing yet."""
        identity = unique("alice")
        member = room.members.create(identity=identity)
        assert member.sid.startswith("MB")
        assert len(member.sid) == 34
        assert member.identity == identity
        assert member.account_sid == server.account_sid
        assert member.service_sid == service.sid
        assert member.channel_sid == channel.sid
        assert member.role_sid == service.default_channel_role_sid
        assert member.last_consumed_message_index is None
        assert member.last_consumption_timestamp is None
        assert isinstance(member.date_created, datetime)
        channel_url = f"{server.url}/v1/Services/{service.sid}/Channels/{member.channel_sid}"
        assert member.url == f"{channel_url}/Members/{member.sid}"

    def test_role(self, svc: Any, room: Any, unique: Callable[[str], str]) -> None:
        """RoleSid sets the member's role to a channel role of the service."""
        role = new_role(svc, "channel", unique)
        member = room.members.create(identity=unique("bob"), role_sid=role)
        assert member.role_sid == role
        assert room.members(member.sid).fetch().role_sid == role

    def test_identity_required(self, room: Any) -> None:
        """Identity is required: 400 with 20001, and no member is added."""
        rejected(lambda: room.members.create(identity=None), 400, 20001)
        assert room.members.list() == []
        assert room.fetch().members_count == 0

    def test_deployment_role(self, svc: Any, room: Any, service: Any, unique: Any) -> None:
        """A member's role must be a channel role: a deployment role is 400; nothing is written."""
        identity = unique("carl")
        deployment = service.default_service_role_sid
        rejected(lambda: room.members.create(identity=identity, role_sid=deployment), 400)
        assert room.members.list() == []
        rejected(lambda: svc.users(identity).fetch(), 404, 20404)

    def test_unknown_role(self, room: Any, unique: Any) -> None:
        """A RoleSid naming no role of the service is 400."""
        rejected(lambda: room.members.create(identity=unique("dora"), role_sid=UNKNOWN["RL"]), 400)
        assert room.fetch().members_count == 0

    def test_creates_missing_user(self, svc: Any, room: Any, service: Any, unique: Any) -> None:
        """Adding an identity that has no user creates the user, with the default service role."""
        identity = unique("new")
        rejected(lambda: svc.users(identity).fetch(), 404, 20404)
        room.members.create(identity=identity)
        user = svc.users(identity).fetch()
        assert user.identity == identity
        assert user.role_sid == service.default_service_role_sid
        assert user.attributes == "{}"
        assert user.joined_channels_count == 1

    def test_uses_existing_user(self, svc: Any, room: Any, unique: Callable[[str], str]) -> None:
        """Adding an existing user's identity seats that user: no second user appears."""
        role = new_role(svc, "deployment", unique)
        user = svc.users.create(identity=unique("erin"), role_sid=role, friendly_name="Erin")
        room.members.create(identity=user.identity)
        assert [u.sid for u in svc.users.list()] == [user.sid]
        fetched = svc.users(user.sid).fetch()
        assert (fetched.role_sid, fetched.friendly_name) == (role, "Erin")
        assert fetched.joined_channels_count == 1

    def test_duplicate(self, svc: Any, room: Any, unique: Any) -> None:
        """The same identity twice in one channel is 409 with 50404; the counts stay put."""
        identity = unique("dup")
        first = room.members.create(identity=identity)
        rejected(lambda: room.members.create(identity=identity), 409, 50404)
        assert [m.sid for m in room.members.list()] == [first.sid]
        assert room.fetch().members_count == 1
        assert svc.users(identity).fetch().joined_channels_count == 1

    def test_identity_like_user_sid(self, svc: Any, room: Any) -> None:
        """An identity matching the US SID pattern is 400 with 50206, as for users."""
        rejected(lambda: room.members.create(identity="US" + "ef" * 16), 400, 50206)
        assert room.fetch().members_count == 0

    def test_unknown_channel(self, svc: Any, unique: Any) -> None:
        """Adding a member to an unknown channel is 404 with 20404, and creates no user."""
        identity = unique("lost")
        channel = svc.channels(UNKNOWN["CH"])
        rejected(lambda: channel.members.create(identity=identity), 404, 20404)
        rejected(lambda: svc.users(identity).fetch(), 404, 20404)

    def test_same_identity_in_two_channels(
        self, svc: Any, room: Any, unique: Callable[[str], str]
    ) -> None:
        """One identity may be a member of several channels, once in each."""
        identity = unique("twice")
        other = svc.channels(new_channel(svc, unique).sid)
        first = room.members.create(identity=identity)
        second = other.members.create(identity=identity)
        assert first.sid != second.sid
        assert svc.users(identity).fetch().joined_channels_count == 2


class TestFetch:
    def test_by_sid(self, room: Any, unique: Any) -> None:
        """A member is fetched by its SID."""
        member = room.members.create(identity=unique("fay"))
        fetched = room.members(member.sid).fetch()
        assert (fetched.sid, fetched.identity, fetched.role_sid) == (
            member.sid,
            member.identity,
            member.role_sid,
        )

    def test_by_identity(self, room: Any, unique: Any) -> None:
        """A member is fetched by its identity in place of the SID."""
        member = room.members.create(identity=unique("gus"))
        fetched = room.members(member.identity).fetch()
        assert fetched.sid == member.sid
        assert fetched.url == member.url

    def test_unknown(self, room: Any, svc: Any, unique: Any) -> None:
        """An unknown member SID, or a user who is not a member, is 404 with 20404."""
        rejected(lambda: room.members(UNKNOWN["MB"]).fetch(), 404, 20404)
        outsider = svc.users.create(identity=unique("out"))
        rejected(lambda: room.members(outsider.identity).fetch(), 404, 20404)

    def test_member_of_another_channel(
        self, svc: Any, room: Any, unique: Callable[[str], str]
    ) -> None:
        """A member SID is only reachable under its own channel."""
        member = room.members.create(identity=unique("hal"))
        other = svc.channels(new_channel(svc, unique).sid)
        rejected(lambda: other.members(member.sid).fetch(), 404, 20404)


class TestUpdate:
    def test_role(self, svc: Any, room: Any, unique: Callable[[str], str]) -> None:
        """RoleSid changes to another channel role, and stays changed."""
        member = room.members.create(identity=unique("ida"))
        role = new_role(svc, "channel", unique)
        assert room.members(member.sid).update(role_sid=role).role_sid == role
        assert room.members(member.sid).fetch().role_sid == role

    def test_deployment_role(self, room: Any, service: Any, unique: Any) -> None:
        """A deployment role is refused (400); the member keeps its role."""
        member = room.members.create(identity=unique("jon"))
        update = room.members(member.sid).update
        rejected(lambda: update(role_sid=service.default_service_role_sid), 400)
        assert room.members(member.sid).fetch().role_sid == service.default_channel_role_sid

    def test_last_consumed_message_index(self, room: Any, unique: Any) -> None:
        """LastConsumedMessageIndex is stored, and last_consumption_timestamp becomes a date."""
        member = room.members.create(identity=unique("kim"))
        for i in range(3):
            room.messages.create(body=f"m{i}")
        updated = room.members(member.sid).update(last_consumed_message_index=1)
        assert updated.last_consumed_message_index == 1
        assert isinstance(updated.last_consumption_timestamp, datetime)
        assert updated.last_consumption_timestamp >= member.date_created
        fetched = room.members(member.sid).fetch()
        assert fetched.last_consumed_message_index == 1
        assert fetched.last_consumption_timestamp == updated.last_consumption_timestamp

    def test_consumption_may_move_back(self, room: Any, unique: Any) -> None:
        """The REST API may set the read horizon to any value, backwards too."""
        member = room.members.create(identity=unique("lea"))
        room.members(member.sid).update(last_consumed_message_index=5)
        moved = room.members(member.sid).update(last_consumed_message_index=0)
        assert moved.last_consumed_message_index == 0
        assert room.members(member.sid).fetch().last_consumed_message_index == 0

    def test_negative_index(self, room: Any, unique: Any) -> None:
        """A negative LastConsumedMessageIndex is 400; nothing is written."""
        member = room.members.create(identity=unique("max"))
        rejected(lambda: room.members(member.sid).update(last_consumed_message_index=-1), 400)
        assert room.members(member.sid).fetch().last_consumed_message_index is None

    def test_by_identity(self, room: Any, unique: Any) -> None:
        """A member is updated through its identity in place of the SID."""
        member = room.members.create(identity=unique("ned"))
        updated = room.members(member.identity).update(last_consumed_message_index=0)
        assert updated.sid == member.sid
        assert room.members(member.sid).fetch().last_consumed_message_index == 0

    def test_unknown(self, room: Any) -> None:
        """Updating an unknown member is 404 with 20404."""
        update = room.members(UNKNOWN["MB"]).update
        rejected(lambda: update(last_consumed_message_index=0), 404, 20404)


class TestList:
    def test_all(self, room: Any, unique: Any) -> None:
        """Without a filter, every member, in the order they joined."""
        sids = [room.members.create(identity=unique(f"m{i}")).sid for i in range(3)]
        assert [m.sid for m in room.members.list()] == sids

    def test_repeated_identity_filter(self, room: Any, unique: Any) -> None:
        """Identity repeated selects those members only; an unknown identity matches nothing."""
        members = [room.members.create(identity=unique(f"f{i}")) for i in range(4)]
        chosen = [members[0].identity, members[2].identity]
        listed = room.members.list(identity=chosen)
        assert [m.sid for m in listed] == [members[0].sid, members[2].sid]
        assert [m.sid for m in room.members.list(identity=[members[3].identity])] == [
            members[3].sid
        ]
        assert room.members.list(identity=["nobody-at-all"]) == []

    def test_paging(self, room: Any, unique: Any) -> None:
        """list(page_size=2) follows next_page_url: each member once, in order."""
        sids = [room.members.create(identity=unique(f"p{i}")).sid for i in range(5)]
        assert [m.sid for m in room.members.list(page_size=2)] == sids

    def test_paging_with_filter(self, room: Any, unique: Any) -> None:
        """The Identity filter holds on every page reached through next_page_url."""
        members = [room.members.create(identity=unique(f"q{i}")) for i in range(5)]
        chosen = [m.identity for m in members[1:4]]
        listed = room.members.list(identity=chosen, page_size=1)
        assert [m.sid for m in listed] == [m.sid for m in members[1:4]]

    def test_unknown_channel(self, svc: Any) -> None:
        """Listing the members of an unknown channel is 404 with 20404."""
        list_rejected(svc.channels(UNKNOWN["CH"]).members.list, 404, 20404)


class TestDelete:
    def test_delete(self, svc: Any, room: Any, unique: Any) -> None:
        """A removed member is gone; counts drop; the user stays."""
        member = room.members.create(identity=unique("olly"))
        assert room.members(member.sid).delete() is True
        rejected(lambda: room.members(member.sid).fetch(), 404, 20404)
        assert room.members.list() == []
        assert room.fetch().members_count == 0
        user = svc.users(member.identity).fetch()
        assert user.joined_channels_count == 0

    def test_by_identity(self, room: Any, unique: Any) -> None:
        """A member is removed through its identity in place of the SID."""
        member = room.members.create(identity=unique("pam"))
        assert room.members(member.identity).delete() is True
        rejected(lambda: room.members(member.sid).fetch(), 404, 20404)

    def test_rejoin(self, room: Any, unique: Any) -> None:
        """A removed identity may join again, as a new member."""
        member = room.members.create(identity=unique("ray"))
        room.members(member.sid).delete()
        again = room.members.create(identity=member.identity)
        assert again.sid != member.sid
        assert room.fetch().members_count == 1

    def test_unknown(self, room: Any) -> None:
        """Removing an unknown member is 404 with 20404."""
        rejected(room.members(UNKNOWN["MB"]).delete, 404, 20404)


class TestLimits:
    def test_channel_members(self, svc: Any, room: Any, unique: Any) -> None:
        """With Limits.ChannelMembers=2, a third member is 403 with 50403; nothing is written."""
        svc.update(limits_channel_members=2)
        room.members.create(identity=unique("a"))
        room.members.create(identity=unique("b"))
        third = unique("c")
        rejected(lambda: room.members.create(identity=third), 403, 50403)
        assert room.fetch().members_count == 2
        assert len(room.members.list()) == 2
        rejected(lambda: svc.users(third).fetch(), 404, 20404)

    def test_channel_members_freed_by_delete(self, svc: Any, room: Any, unique: Any) -> None:
        """A seat freed by a removal can be taken again."""
        svc.update(limits_channel_members=1)
        first = room.members.create(identity=unique("a"))
        rejected(lambda: room.members.create(identity=unique("b")), 403, 50403)
        room.members(first.sid).delete()
        assert room.members.create(identity=unique("c")).sid
        assert room.fetch().members_count == 1

    def test_user_channels(self, svc: Any, unique: Callable[[str], str]) -> None:
        """With Limits.UserChannels=1, joining a second channel is 403 with 50208; nothing moves."""
        svc.update(limits_user_channels=1)
        first, second = (svc.channels(new_channel(svc, unique).sid) for _ in range(2))
        identity = unique("busy")
        first.members.create(identity=identity)
        rejected(lambda: second.members.create(identity=identity), 403, 50208)
        assert second.fetch().members_count == 0
        assert second.members.list() == []
        assert first.fetch().members_count == 1
        assert svc.users(identity).fetch().joined_channels_count == 1
        assert len(svc.users(identity).user_channels.list()) == 1

    def test_user_channels_freed_by_leave(self, svc: Any, unique: Callable[[str], str]) -> None:
        """After leaving a channel, a user at the limit may join another."""
        svc.update(limits_user_channels=1)
        first, second = (svc.channels(new_channel(svc, unique).sid) for _ in range(2))
        identity = unique("mover")
        member = first.members.create(identity=identity)
        first.members(member.sid).delete()
        assert second.members.create(identity=identity).identity == identity
        assert svc.users(identity).fetch().joined_channels_count == 1


def _attempt(server: Server, call: Callable[[Any], Any]) -> tuple[int, int | None]:
    """Run `call` with a client of this thread's own; (status, error code)."""
    client = make_client(server)
    try:
        call(client.chat.v1)
    except TwilioRestException as err:
        return err.status, err.code
    return 201, None


class TestConcurrency:
    def test_channel_member_limit_under_race(
        self, server: Server, svc: Any, room: Any, channel: Any, service: Any, unique: Any
    ) -> None:
        """50 concurrent adds against Limits.ChannelMembers=10: exactly 10 members, 40 x 403/50403."""
        svc.update(limits_channel_members=10)
        identities = [unique(f"racer{i}") for i in range(50)]

        def add(identity: str) -> tuple[int, int | None]:
            return _attempt(
                server,
                lambda chat: (
                    chat.services(service.sid)
                    .channels(channel.sid)
                    .members.create(identity=identity)
                ),
            )

        with ThreadPoolExecutor(max_workers=25) as pool:
            outcomes = list(pool.map(add, identities))
        assert outcomes.count((201, None)) == 10, outcomes
        assert outcomes.count((403, 50403)) == 40, outcomes
        assert room.fetch().members_count == 10
        members = room.members.list()
        assert len(members) == 10
        winners = {identities[i] for i, o in enumerate(outcomes) if o == (201, None)}
        assert {m.identity for m in members} == winners
        assert {u.identity for u in svc.users.list()} == winners

    def test_user_channel_limit_under_race(
        self, server: Server, svc: Any, service: Any, unique: Callable[[str], str]
    ) -> None:
        """One identity joining 12 channels at once with Limits.UserChannels=3: exactly 3 joins."""
        svc.update(limits_user_channels=3)
        identity = unique("joiner")
        svc.users.create(identity=identity)
        channels = [new_channel(svc, unique).sid for _ in range(12)]

        def join(channel_sid: str) -> tuple[int, int | None]:
            return _attempt(
                server,
                lambda chat: (
                    chat.services(service.sid)
                    .channels(channel_sid)
                    .members.create(identity=identity)
                ),
            )

        with ThreadPoolExecutor(max_workers=12) as pool:
            outcomes = list(pool.map(join, channels))
        assert outcomes.count((201, None)) == 3, outcomes
        assert outcomes.count((403, 50208)) == 9, outcomes
        assert svc.users(identity).fetch().joined_channels_count == 3
        assert len(svc.users(identity).user_channels.list()) == 3
        counts = [svc.channels(sid).fetch().members_count for sid in channels]
        assert sorted(counts) == [0] * 9 + [1] * 3
