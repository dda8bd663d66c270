"""Isolation of the Chat v1 data plane: other accounts and other services see nothing of ours."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import OtherAccount
from tests.api.fixtures_v1 import list_rejected, rejected


@dataclass(frozen=True)
class World:
    """One of everything in the first account's service."""

    service: str
    channel: str
    unique_name: str
    user: str
    identity: str
    member: str
    message: str
    invite: str


@pytest.fixture
def world(chat: Any, service: Any, unique: Callable[[str], str]) -> World:
    svc = chat.services(service.sid)
    unique_name = unique("private-room")
    channel = svc.channels.create(unique_name=unique_name, type="private")
    room = svc.channels(channel.sid)
    user = svc.users.create(identity=unique("owner"))
    member = room.members.create(identity=user.identity)
    message = room.messages.create(body="secret", from_=user.identity)
    guest = svc.users.create(identity=unique("guest"))
    invite = room.invites.create(identity=guest.identity)
    return World(
        service.sid,
        channel.sid,
        unique_name,
        user.sid,
        user.identity,
        member.sid,
        message.sid,
        invite.sid,
    )


def assert_untouched(chat: Any, world: World) -> None:
    """Everything in `world` is still there, as created."""
    svc = chat.services(world.service)
    room = svc.channels(world.channel)
    assert room.fetch().unique_name == world.unique_name
    assert (room.fetch().members_count, room.fetch().messages_count) == (1, 1)
    assert svc.users(world.user).fetch().friendly_name is None
    assert room.members(world.member).fetch().identity == world.identity
    assert room.messages(world.message).fetch().body == "secret"
    assert room.invites(world.invite).fetch().sid == world.invite


def gone(call: Callable[[], Any]) -> None:
    rejected(call, 404, 20404)


def list_gone(call: Callable[[], Any]) -> None:
    list_rejected(call, 404, 20404)


class TestOtherAccount:
    @pytest.fixture
    def theirs(self, other: OtherAccount, world: World) -> Any:
        """Our service, as seen through the other account's client."""
        return other.chat.services(world.service)

    def test_users(self, chat: Any, theirs: Any, world: World) -> None:
        """Another account cannot fetch, update, delete, list or create users of our service."""
        for ref in (world.user, world.identity):
            gone(lambda ref=ref: theirs.users(ref).fetch())
            gone(lambda ref=ref: theirs.users(ref).update(friendly_name="hijacked"))
            gone(theirs.users(ref).delete)
            list_gone(theirs.users(ref).user_channels.list)
        list_gone(theirs.users.list)
        gone(lambda: theirs.users.create(identity="intruder"))
        assert_untouched(chat, world)
        assert len(chat.services(world.service).users.list()) == 2

    def test_channels(self, chat: Any, theirs: Any, world: World) -> None:
        """Another account cannot fetch, update, delete, list or create channels of our service."""
        for ref in (world.channel, world.unique_name):
            gone(lambda ref=ref: theirs.channels(ref).fetch())
            gone(lambda ref=ref: theirs.channels(ref).update(friendly_name="hijacked"))
            gone(theirs.channels(ref).delete)
        list_gone(theirs.channels.list)
        list_gone(lambda: theirs.channels.list(type=["public", "private"]))
        gone(lambda: theirs.channels.create(friendly_name="intruder"))
        assert_untouched(chat, world)
        all_types = chat.services(world.service).channels.list(type=["public", "private"])
        assert [c.sid for c in all_types] == [world.channel]

    def test_members(self, chat: Any, theirs: Any, world: World) -> None:
        """Another account cannot fetch, update, delete, list or add members of our channel."""
        members = theirs.channels(world.channel).members
        for ref in (world.member, world.identity):
            gone(lambda ref=ref: members(ref).fetch())
            gone(lambda ref=ref: members(ref).update(last_consumed_message_index=0))
            gone(members(ref).delete)
        list_gone(members.list)
        gone(lambda: members.create(identity="intruder"))
        assert_untouched(chat, world)
        member = chat.services(world.service).channels(world.channel).members(world.member)
        assert member.fetch().last_consumed_message_index is None

    def test_messages(self, chat: Any, theirs: Any, world: World) -> None:
        """Another account cannot fetch, update, delete, list or post messages in our channel."""
        messages = theirs.channels(world.channel).messages
        gone(lambda: messages(world.message).fetch())
        gone(lambda: messages(world.message).update(body="hijacked"))
        gone(messages(world.message).delete)
        list_gone(messages.list)
        gone(lambda: messages.create(body="intruder"))
        assert_untouched(chat, world)
        fetched = chat.services(world.service).channels(world.channel).messages(world.message)
        assert fetched.fetch().was_edited is False

    def test_invites(self, chat: Any, theirs: Any, world: World) -> None:
        """Another account cannot fetch, delete, list or create invites of our channel."""
        invites = theirs.channels(world.channel).invites
        gone(lambda: invites(world.invite).fetch())
        gone(invites(world.invite).delete)
        list_gone(invites.list)
        gone(lambda: invites.create(identity=world.identity))
        assert_untouched(chat, world)

    def test_own_service_sees_nothing(
        self, other: OtherAccount, world: World, unique: Callable[[str], str]
    ) -> None:
        """The other account's own service cannot reach our channel, user or messages by SID."""
        svc = other.chat.services.create(friendly_name=unique("other-svc"))
        try:
            mine = other.chat.services(svc.sid)
            gone(lambda: mine.channels(world.channel).fetch())
            gone(lambda: mine.users(world.user).fetch())
            gone(lambda: mine.users(world.identity).fetch())
            list_gone(mine.channels(world.channel).messages.list)
            assert mine.users.list() == []
        finally:
            other.chat.services(svc.sid).delete()


class TestOtherService:
    @pytest.fixture
    def sibling(self, chat: Any, unique: Callable[[str], str]) -> Iterator[Any]:
        """A second service of the same account."""
        svc = chat.services.create(friendly_name=unique("sibling"))
        yield chat.services(svc.sid)
        chat.services(svc.sid).delete()

    def test_channels_by_sid(self, chat: Any, sibling: Any, world: World) -> None:
        """Another service of the same account cannot reach our channel by SID or unique name."""
        for ref in (world.channel, world.unique_name):
            gone(lambda ref=ref: sibling.channels(ref).fetch())
            gone(lambda ref=ref: sibling.channels(ref).update(friendly_name="hijacked"))
            gone(sibling.channels(ref).delete)
        assert sibling.channels.list(type=["public", "private"]) == []
        assert_untouched(chat, world)

    def test_children_through_foreign_channel(self, chat: Any, sibling: Any, world: World) -> None:
        """Members, messages and invites of our channel are 404 through another service."""
        room = sibling.channels(world.channel)
        gone(lambda: room.members(world.member).fetch())
        gone(lambda: room.messages(world.message).fetch())
        gone(lambda: room.invites(world.invite).fetch())
        list_gone(room.members.list)
        list_gone(room.messages.list)
        list_gone(room.invites.list)
        gone(lambda: room.messages.create(body="cross-service"))
        gone(lambda: room.members.create(identity="cross-service"))
        assert_untouched(chat, world)

    def test_users_by_sid(self, chat: Any, sibling: Any, world: World) -> None:
        """Another service of the same account cannot reach our user by SID."""
        gone(lambda: sibling.users(world.user).fetch())
        gone(lambda: sibling.users(world.user).update(friendly_name="hijacked"))
        gone(sibling.users(world.user).delete)
        list_gone(sibling.users(world.user).user_channels.list)
        assert_untouched(chat, world)
