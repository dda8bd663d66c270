"""Invites through the official client: create, fetch, list, delete; no update; joining."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.api.fixtures_v1 import UNKNOWN, auth, list_rejected, new_channel, new_role, rejected
from tests.support.servers import Server


@pytest.fixture
def user(svc: Any, unique: Callable[[str], str]) -> Any:
    """A user of the test's service, to be invited."""
    return svc.users.create(identity=unique("guest"))


class TestCreate:
    def test_defaults(
        self, room: Any, channel: Any, user: Any, service: Any, server: Server
    ) -> None:
        """An invite takes the default channel role and is created by "system"."""
        invite = room.invites.create(identity=user.identity)
        assert invite.sid.startswith("IN")
        assert len(invite.sid) == 34
        assert invite.identity == user.identity
        assert invite.account_sid == server.account_sid
        assert invite.service_sid == service.sid
        assert invite.channel_sid == channel.sid
        assert invite.role_sid == service.default_channel_role_sid
        assert invite.created_by == "system"
        assert isinstance(invite.date_created, datetime)
        assert invite.url == f"{channel.url}/Invites/{invite.sid}"

    def test_role(self, svc: Any, room: Any, user: Any, unique: Callable[[str], str]) -> None:
        """RoleSid sets the role the invitee will get, a channel role of the service."""
        role = new_role(svc, "channel", unique)
        invite = room.invites.create(identity=user.identity, role_sid=role)
        assert invite.role_sid == role
        assert room.invites(invite.sid).fetch().role_sid == role

    def test_deployment_role(self, room: Any, user: Any, service: Any) -> None:
        """A deployment role is refused for an invite (400); nothing is written."""
        create = room.invites.create
        rejected(lambda: create(identity=user.identity, role_sid=service.default_service_role_sid))
        assert room.invites.list() == []

    def test_identity_required(self, room: Any) -> None:
        """Identity is required: 400 with 20001."""
        rejected(lambda: room.invites.create(identity=None), 400, 20001)
        assert room.invites.list() == []

    def test_identity_without_user(self, svc: Any, room: Any, unique: Any) -> None:
        """Inviting an identity that has no user is 404 with 20404, and creates no user."""
        identity = unique("stranger")
        rejected(lambda: room.invites.create(identity=identity), 404, 20404)
        rejected(lambda: svc.users(identity).fetch(), 404, 20404)
        assert room.invites.list() == []

    def test_duplicate(self, room: Any, user: Any) -> None:
        """Inviting the same identity twice is 409 with 50212; one invite stays."""
        first = room.invites.create(identity=user.identity)
        rejected(lambda: room.invites.create(identity=user.identity), 409, 50212)
        assert [i.sid for i in room.invites.list()] == [first.sid]

    def test_existing_member(self, room: Any, user: Any) -> None:
        """Inviting an identity that is already a member is 409; no invite is made."""
        room.members.create(identity=user.identity)
        rejected(lambda: room.invites.create(identity=user.identity), 409)
        assert room.invites.list() == []

    def test_same_user_two_channels(
        self, svc: Any, room: Any, user: Any, unique: Callable[[str], str]
    ) -> None:
        """One user may be invited to several channels."""
        other = svc.channels(new_channel(svc, unique).sid)
        assert room.invites.create(identity=user.identity).sid != (
            other.invites.create(identity=user.identity).sid
        )

    def test_unknown_channel(self, svc: Any, user: Any) -> None:
        """Inviting to an unknown channel is 404 with 20404."""
        invites = svc.channels(UNKNOWN["CH"]).invites
        rejected(lambda: invites.create(identity=user.identity), 404, 20404)


class TestFetch:
    def test_by_sid(self, room: Any, user: Any) -> None:
        """An invite is fetched by SID."""
        invite = room.invites.create(identity=user.identity)
        fetched = room.invites(invite.sid).fetch()
        assert (fetched.sid, fetched.identity, fetched.role_sid, fetched.created_by) == (
            invite.sid,
            user.identity,
            invite.role_sid,
            "system",
        )

    def test_unknown(self, room: Any) -> None:
        """An unknown invite SID is 404 with 20404."""
        rejected(lambda: room.invites(UNKNOWN["IN"]).fetch(), 404, 20404)

    def test_of_another_channel(
        self, svc: Any, room: Any, user: Any, unique: Callable[[str], str]
    ) -> None:
        """An invite SID is only reachable under its own channel."""
        invite = room.invites.create(identity=user.identity)
        other = svc.channels(new_channel(svc, unique).sid)
        rejected(lambda: other.invites(invite.sid).fetch(), 404, 20404)


class TestList:
    def test_all_and_identity_filter(self, svc: Any, room: Any, unique: Any) -> None:
        """Without a filter every invite is listed; Identity (repeated) selects some."""
        users = [svc.users.create(identity=unique(f"u{i}")) for i in range(3)]
        invites = [room.invites.create(identity=u.identity) for u in users]
        assert [i.sid for i in room.invites.list()] == [i.sid for i in invites]
        assert [i.sid for i in room.invites.list(identity=[users[1].identity])] == [invites[1].sid]
        both = room.invites.list(identity=[users[0].identity, users[2].identity])
        assert [i.sid for i in both] == [invites[0].sid, invites[2].sid]
        assert room.invites.list(identity=["nobody-invited"]) == []

    def test_paging(self, svc: Any, room: Any, unique: Any) -> None:
        """list(page_size=2) follows next_page_url: each invite once, in order."""
        users = [svc.users.create(identity=unique(f"p{i}")) for i in range(5)]
        sids = [room.invites.create(identity=u.identity).sid for u in users]
        assert [i.sid for i in room.invites.list(page_size=2)] == sids

    def test_unknown_channel(self, svc: Any) -> None:
        """Listing the invites of an unknown channel is 404 with 20404."""
        list_rejected(svc.channels(UNKNOWN["CH"]).invites.list, 404, 20404)


class TestDelete:
    def test_delete(self, room: Any, user: Any) -> None:
        """A deleted invite is gone, and the identity may be invited again."""
        invite = room.invites.create(identity=user.identity)
        assert room.invites(invite.sid).delete() is True
        rejected(lambda: room.invites(invite.sid).fetch(), 404, 20404)
        assert room.invites.list() == []
        assert room.invites.create(identity=user.identity).sid != invite.sid

    def test_unknown(self, room: Any) -> None:
        """Deleting an unknown invite is 404 with 20404."""
        rejected(room.invites(UNKNOWN["IN"]).delete, 404, 20404)

    def test_user_stays(self, svc: Any, room: Any, user: Any) -> None:
        """Deleting an invite leaves the user alone."""
        invite = room.invites.create(identity=user.identity)
        room.invites(invite.sid).delete()
        assert svc.users(user.sid).fetch().identity == user.identity


class TestNoUpdate:
    def test_client_has_no_update(self, room: Any, user: Any) -> None:
        """The client offers no update for an invite."""
        invite = room.invites.create(identity=user.identity)
        assert not hasattr(room.invites(invite.sid), "update")

    def test_post_to_instance_is_405(
        self, server: Server, service: Any, channel: Any, room: Any, user: Any
    ) -> None:
        """POST to an invite's URL is 405 (Twilio's 20004); the invite is unchanged."""
        invite = room.invites.create(identity=user.identity)
        response = requests.post(
            f"{server.url}/v1/Services/{service.sid}/Channels/{channel.sid}/Invites/{invite.sid}",
            data={"RoleSid": service.default_channel_creator_role_sid},
            auth=auth(server),
            timeout=30,
        )
        assert response.status_code == 405, response.text
        assert response.json()["code"] == 20004
        assert room.invites(invite.sid).fetch().role_sid == invite.role_sid


class TestJoining:
    def test_member_add_removes_invite(self, svc: Any, room: Any, user: Any) -> None:
        """Adding the invited identity as a member removes its invite."""
        invite = room.invites.create(identity=user.identity)
        room.members.create(identity=user.identity)
        rejected(lambda: room.invites(invite.sid).fetch(), 404, 20404)
        assert room.invites.list() == []
        statuses = [c.status for c in svc.users(user.sid).user_channels.list()]
        assert statuses == ["joined"]

    def test_other_invites_stay(
        self, svc: Any, room: Any, user: Any, unique: Callable[[str], str]
    ) -> None:
        """Joining one channel keeps the user's invites to others, and others' invites here."""
        other_room = svc.channels(new_channel(svc, unique).sid)
        elsewhere = other_room.invites.create(identity=user.identity)
        friend = svc.users.create(identity=unique("friend"))
        friend_invite = room.invites.create(identity=friend.identity)
        room.invites.create(identity=user.identity)
        room.members.create(identity=user.identity)
        assert [i.sid for i in other_room.invites.list()] == [elsewhere.sid]
        assert [i.sid for i in room.invites.list()] == [friend_invite.sid]
