"""Users through the official client: create, defaults, fetch, update, delete, list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from tests.api.fixtures_v1 import UNKNOWN, auth, new_channel, new_role, rejected
from tests.support.servers import Server


class TestCreate:
    def test_defaults(self, svc: Any, service: Any, server: Server, unique: Any) -> None:
        """A new user takes the service's default service role, "{}" attributes, no name."""
        identity = unique("alice")
        user = svc.users.create(identity=identity)
        assert user.sid.startswith("US")
        assert len(user.sid) == 34
        assert user.identity == identity
        assert user.account_sid == server.account_sid
        assert user.service_sid == service.sid
        assert user.role_sid == service.default_service_role_sid
        assert user.attributes == "{}"
        assert user.friendly_name is None
        assert user.joined_channels_count == 0
        assert isinstance(user.date_created, datetime)
        assert user.url == f"{server.url}/v1/Services/{service.sid}/Users/{user.sid}"

    def test_reachability_off_is_null(self, svc: Any, unique: Any) -> None:
        """With reachability disabled (the default), is_online and is_notifiable are null."""
        user = svc.users.create(identity=unique("offline"))
        assert user.is_online is None
        assert user.is_notifiable is None
        fetched = svc.users(user.sid).fetch()
        assert fetched.is_online is None
        assert fetched.is_notifiable is None

    def test_every_parameter(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Identity, RoleSid, Attributes and FriendlyName are all taken on create."""
        role = new_role(svc, "deployment", unique)
        user = svc.users.create(
            identity=unique("bob"),
            role_sid=role,
            attributes='{"team": "blue", "n": 1}',
            friendly_name="Bob é",
        )
        assert user.role_sid == role
        assert user.attributes == '{"team": "blue", "n": 1}'
        assert user.friendly_name == "Bob é"
        fetched = svc.users(user.sid).fetch()
        assert (fetched.role_sid, fetched.attributes, fetched.friendly_name) == (
            role,
            '{"team": "blue", "n": 1}',
            "Bob é",
        )

    def test_links(self, svc: Any, server: Server, service: Any, unique: Any) -> None:
        """links.user_channels points at the user's Channels list, which answers on this server."""
        user = svc.users.create(identity=unique("linked"))
        assert user.links == {"user_channels": f"{user.url}/Channels"}
        response = requests.get(user.links["user_channels"], auth=auth(server), timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["channels"] == []

    def test_identity_required(self, svc: Any) -> None:
        """Identity is required: 400 with 20001."""
        rejected(lambda: svc.users.create(identity=None), 400, 20001)
        assert svc.users.list() == []

    def test_duplicate_identity(self, svc: Any, unique: Any) -> None:
        """A second user with the same identity is 409 with 50201; the first one stays alone."""
        identity = unique("dup")
        first = svc.users.create(identity=identity)
        rejected(lambda: svc.users.create(identity=identity), 409, 50201)
        assert [u.sid for u in svc.users.list()] == [first.sid]

    def test_identity_is_case_sensitive(self, svc: Any, unique: Any) -> None:
        """Identities differing only in case are different users."""
        identity = unique("Carol")
        upper = svc.users.create(identity=identity)
        lower = svc.users.create(identity=identity.lower())
        assert upper.sid != lower.sid
        assert svc.users(identity.lower()).fetch().sid == lower.sid

    def test_identity_like_user_sid(self, svc: Any) -> None:
        """An identity matching the US SID pattern is 400 with 50206."""
        rejected(lambda: svc.users.create(identity="US" + "ab" * 16), 400, 50206)
        assert svc.users.list() == []

    def test_role_of_wrong_type(self, svc: Any, service: Any) -> None:
        """A user's role must be a deployment role: a channel role is 400."""
        channel_role = service.default_channel_role_sid
        rejected(lambda: svc.users.create(identity="dave", role_sid=channel_role), 400)
        assert svc.users.list() == []

    def test_unknown_role(self, svc: Any) -> None:
        """A RoleSid naming no role of the service is 400."""
        rejected(lambda: svc.users.create(identity="erin", role_sid=UNKNOWN["RL"]), 400)
        assert svc.users.list() == []

    def test_invalid_attributes(self, svc: Any) -> None:
        """Attributes must be valid JSON: 400 with 50304, and no user is created."""
        rejected(lambda: svc.users.create(identity="frank", attributes="{not json"), 400, 50304)
        assert svc.users.list() == []


class TestReachabilityEnabled:
    def test_null_until_online_or_registered(self, svc: Any, unique: Any) -> None:
        """With reachability on, a user never online and never registered for push reports null
        for both (Twilio's User page); tests/api/v2/test_reachability.py covers the rest."""
        svc.update(reachability_enabled=True)
        user = svc.users.create(identity=unique("reach"))
        fetched = svc.users(user.sid).fetch()
        assert fetched.is_online is None
        assert fetched.is_notifiable is None
        (listed,) = svc.users.list()
        assert listed.sid == user.sid
        assert listed.is_online is None
        assert listed.is_notifiable is None


class TestFetch:
    def test_by_sid(self, svc: Any, unique: Any) -> None:
        """A user is fetched by its SID."""
        user = svc.users.create(identity=unique("gina"), friendly_name="Gina")
        fetched = svc.users(user.sid).fetch()
        assert (fetched.sid, fetched.identity, fetched.friendly_name) == (
            user.sid,
            user.identity,
            "Gina",
        )

    def test_by_identity(self, svc: Any, unique: Any) -> None:
        """A user is fetched by its identity in place of the SID."""
        user = svc.users.create(identity=unique("hank"))
        fetched = svc.users(user.identity).fetch()
        assert fetched.sid == user.sid
        assert fetched.url == user.url

    def test_unknown(self, svc: Any) -> None:
        """An unknown user SID or identity is 404 with 20404."""
        rejected(lambda: svc.users(UNKNOWN["US"]).fetch(), 404, 20404)
        rejected(lambda: svc.users("nobody-here").fetch(), 404, 20404)


class TestUpdate:
    def test_role(self, svc: Any, unique: Callable[[str], str]) -> None:
        """RoleSid changes to another deployment role of the service, and stays changed."""
        user = svc.users.create(identity=unique("ivy"))
        role = new_role(svc, "deployment", unique)
        assert svc.users(user.sid).update(role_sid=role).role_sid == role
        assert svc.users(user.sid).fetch().role_sid == role

    def test_attributes_and_friendly_name(self, svc: Any, unique: Any) -> None:
        """Attributes and FriendlyName round-trip, and date_updated moves on."""
        user = svc.users.create(identity=unique("jack"))
        updated = svc.users(user.sid).update(attributes='{"x": [1, 2]}', friendly_name="Jack")
        assert updated.attributes == '{"x": [1, 2]}'
        assert updated.friendly_name == "Jack"
        assert updated.date_updated >= user.date_updated
        fetched = svc.users(user.sid).fetch()
        assert (fetched.attributes, fetched.friendly_name) == ('{"x": [1, 2]}', "Jack")
        assert fetched.identity == user.identity

    def test_by_identity(self, svc: Any, unique: Any) -> None:
        """A user is updated through its identity in place of the SID."""
        user = svc.users.create(identity=unique("kate"))
        assert svc.users(user.identity).update(friendly_name="Kate").sid == user.sid
        assert svc.users(user.sid).fetch().friendly_name == "Kate"

    def test_role_of_wrong_type(self, svc: Any, service: Any, unique: Any) -> None:
        """A channel role is refused as a user's role (400); the role is unchanged."""
        user = svc.users.create(identity=unique("liam"))
        update = svc.users(user.sid).update
        rejected(lambda: update(role_sid=service.default_channel_role_sid), 400)
        assert svc.users(user.sid).fetch().role_sid == service.default_service_role_sid

    def test_unknown_role(self, svc: Any, service: Any, unique: Any) -> None:
        """An unknown RoleSid is 400; the role is unchanged."""
        user = svc.users.create(identity=unique("mia"))
        rejected(lambda: svc.users(user.sid).update(role_sid=UNKNOWN["RL"]), 400)
        assert svc.users(user.sid).fetch().role_sid == service.default_service_role_sid

    def test_invalid_attributes(self, svc: Any, unique: Any) -> None:
        """Attributes that are not JSON are 400 with 50304, and nothing is written."""
        user = svc.users.create(identity=unique("noah"), attributes='{"keep": true}')
        update = svc.users(user.sid).update
        rejected(lambda: update(attributes="[1, 2", friendly_name="Noah"), 400, 50304)
        fetched = svc.users(user.sid).fetch()
        assert fetched.attributes == '{"keep": true}'
        assert fetched.friendly_name is None

    def test_unknown(self, svc: Any) -> None:
        """Updating an unknown user is 404 with 20404."""
        rejected(lambda: svc.users(UNKNOWN["US"]).update(friendly_name="x"), 404, 20404)


class TestDelete:
    def test_delete(self, svc: Any, unique: Any) -> None:
        """A deleted user is gone, and its identity can be used again."""
        user = svc.users.create(identity=unique("olga"))
        assert svc.users(user.sid).delete() is True
        rejected(lambda: svc.users(user.sid).fetch(), 404, 20404)
        again = svc.users.create(identity=user.identity)
        assert again.sid != user.sid

    def test_by_identity(self, svc: Any, unique: Any) -> None:
        """A user is deleted through its identity in place of the SID."""
        user = svc.users.create(identity=unique("pete"))
        assert svc.users(user.identity).delete() is True
        rejected(lambda: svc.users(user.sid).fetch(), 404, 20404)

    def test_unknown(self, svc: Any) -> None:
        """Deleting an unknown user is 404 with 20404."""
        rejected(svc.users(UNKNOWN["US"]).delete, 404, 20404)

    def test_removes_memberships(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Deleting a user removes its memberships: each channel's members_count drops."""
        user = svc.users.create(identity=unique("quinn"))
        other = svc.users.create(identity=unique("rose"))
        rooms = [new_channel(svc, unique), new_channel(svc, unique, type="private")]
        for room in rooms:
            svc.channels(room.sid).members.create(identity=user.identity)
            svc.channels(room.sid).members.create(identity=other.identity)
        assert svc.users(user.sid).fetch().joined_channels_count == 2
        assert svc.channels(rooms[0].sid).fetch().members_count == 2
        svc.users(user.sid).delete()
        for room in rooms:
            assert svc.channels(room.sid).fetch().members_count == 1
            members = svc.channels(room.sid).members.list()
            assert [m.identity for m in members] == [other.identity]
        assert svc.users(other.sid).fetch().joined_channels_count == 2

    def test_removes_invites(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Deleting a user removes its invites."""
        user = svc.users.create(identity=unique("sam"))
        stay = svc.users.create(identity=unique("tess"))
        room = new_channel(svc, unique)
        invites = svc.channels(room.sid).invites
        invite = invites.create(identity=user.identity)
        kept = invites.create(identity=stay.identity)
        svc.users(user.sid).delete()
        assert [i.sid for i in invites.list()] == [kept.sid]
        rejected(lambda: invites(invite.sid).fetch(), 404, 20404)

    def test_recreated_identity_starts_clean(self, svc: Any, unique: Callable[[str], str]) -> None:
        """A user created again after a delete has no memberships of the old one."""
        user = svc.users.create(identity=unique("uma"))
        room = new_channel(svc, unique)
        svc.channels(room.sid).members.create(identity=user.identity)
        svc.users(user.sid).delete()
        again = svc.users.create(identity=user.identity)
        assert again.joined_channels_count == 0
        assert svc.users(again.sid).user_channels.list() == []


class TestList:
    def test_empty(self, svc: Any) -> None:
        """A new service has no users."""
        assert svc.users.list() == []

    def test_follows_next_page_url(self, svc: Any, unique: Any) -> None:
        """list(page_size=2) follows next_page_url through 5 users, each once, in creation order."""
        sids = [svc.users.create(identity=unique(f"u{i}")).sid for i in range(5)]
        assert [u.sid for u in svc.users.list(page_size=2)] == sids
        assert [u.sid for u in svc.users.list(limit=3, page_size=2)] == sids[:3]

    def test_pages(self, svc: Any, unique: Any) -> None:
        """page() gives pages of page_size; the last page has no next page."""
        sids = [svc.users.create(identity=unique(f"p{i}")).sid for i in range(3)]
        first = svc.users.page(page_size=2)
        assert [u.sid for u in first] == sids[:2]
        second = first.next_page()
        assert [u.sid for u in second] == sids[2:]
        assert second.next_page() is None

    def test_list_is_per_service(self, chat: Any, svc: Any, unique: Any) -> None:
        """Users of another service are not listed, and the same identity may exist in both."""
        identity = unique("shared")
        mine = svc.users.create(identity=identity)
        other = chat.services.create(friendly_name=unique("other"))
        try:
            theirs = chat.services(other.sid).users.create(identity=identity)
            assert theirs.sid != mine.sid
            assert [u.sid for u in svc.users.list()] == [mine.sid]
        finally:
            chat.services(other.sid).delete()
