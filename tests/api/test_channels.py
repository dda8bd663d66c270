"""Channels through the official client: create, fetch, update, delete (with its cascade), list."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.api.fixtures_v1 import UNKNOWN, auth, list_rejected, new_channel, rejected
from tests.reliability.helpers import wait_until
from tests.support.databases import messages_of
from tests.support.servers import Server, nothing_to_sweep


class TestCreate:
    def test_defaults(self, svc: Any, service: Any, server: Server) -> None:
        """A channel created with no parameters is public, "{}", unnamed, by "system", empty."""
        room = svc.channels.create()
        assert room.sid.startswith("CH")
        assert len(room.sid) == 34
        assert room.account_sid == server.account_sid
        assert room.service_sid == service.sid
        assert room.type == "public"
        assert room.attributes == "{}"
        assert room.friendly_name is None
        assert room.unique_name is None
        assert room.created_by == "system"
        assert room.members_count == 0
        assert room.messages_count == 0
        assert isinstance(room.date_created, datetime)
        url = f"{server.url}/v1/Services/{service.sid}/Channels/{room.sid}"
        assert room.url == url
        assert room.links == {
            "members": f"{url}/Members",
            "messages": f"{url}/Messages",
            "invites": f"{url}/Invites",
            "last_message": None,  # the spec's v1 examples; the newest message once there is one
        }

    def test_last_message_link(self, svc: Any, server: Server) -> None:
        """links.last_message names the newest message, in v1 as in v2."""
        room = svc.channels.create()
        svc.channels(room.sid).messages.create(body="first")
        newest = svc.channels(room.sid).messages.create(body="second")
        link = svc.channels(room.sid).fetch().links["last_message"]
        assert link == newest.url
        response = requests.get(link, auth=auth(server), timeout=30)
        assert response.json()["body"] == "second"

    def test_links_answer(self, svc: Any, server: Server) -> None:
        """Each of the channel's list links is a list on this server."""
        room = svc.channels.create()
        for key, link in room.links.items():
            if key == "last_message":
                continue  # null in an empty channel
            response = requests.get(link, auth=auth(server), timeout=30)
            assert response.status_code == 200, (key, response.text)
            assert response.json()[key] == []

    def test_every_parameter(self, svc: Any, unique: Callable[[str], str]) -> None:
        """FriendlyName, UniqueName, Attributes and Type are all taken on create."""
        name = unique("general")
        room = svc.channels.create(
            friendly_name="General é", unique_name=name, attributes='{"topic": "x"}', type="private"
        )
        assert room.friendly_name == "General é"
        assert room.unique_name == name
        assert room.attributes == '{"topic": "x"}'
        assert room.type == "private"
        fetched = svc.channels(room.sid).fetch()
        assert (fetched.friendly_name, fetched.unique_name, fetched.attributes, fetched.type) == (
            "General é",
            name,
            '{"topic": "x"}',
            "private",
        )

    def test_unique_name_taken(self, svc: Any, unique: Callable[[str], str]) -> None:
        """A unique_name already used in the service is 409 with 50307; nothing is created."""
        name = unique("taken")
        first = svc.channels.create(unique_name=name)
        rejected(lambda: svc.channels.create(unique_name=name, type="private"), 409, 50307)
        assert [c.sid for c in svc.channels.list(type=["public", "private"])] == [first.sid]

    def test_unique_name_free_in_other_service(
        self, chat: Any, svc: Any, unique: Callable[[str], str]
    ) -> None:
        """unique_name is unique per service: another service may use the same one."""
        name = unique("both")
        svc.channels.create(unique_name=name)
        other = chat.services.create(friendly_name=unique("other"))
        try:
            assert chat.services(other.sid).channels.create(unique_name=name).unique_name == name
        finally:
            chat.services(other.sid).delete()

    def test_unique_name_like_channel_sid(self, svc: Any) -> None:
        """A unique_name matching the CH SID pattern is 400 with 50306."""
        rejected(lambda: svc.channels.create(unique_name="CH" + "ab" * 16), 400, 50306)
        assert svc.channels.list() == []

    def test_invalid_attributes(self, svc: Any) -> None:
        """Attributes must be valid JSON: 400 with 50304, and no channel is created."""
        rejected(lambda: svc.channels.create(attributes="{'single': 1}"), 400, 50304)
        assert svc.channels.list() == []

    def test_bad_type(self, svc: Any) -> None:
        """Type must be public or private: anything else is 400, and nothing is created."""
        rejected(lambda: svc.channels.create(type="secret"), 400)
        assert svc.channels.list(type=["public", "private"]) == []


class TestFetch:
    def test_by_sid(self, svc: Any, unique: Callable[[str], str]) -> None:
        """A channel is fetched by SID."""
        room = new_channel(svc, unique)
        fetched = svc.channels(room.sid).fetch()
        assert (fetched.sid, fetched.friendly_name) == (room.sid, room.friendly_name)

    def test_by_unique_name(self, svc: Any, unique: Callable[[str], str]) -> None:
        """A channel is fetched by its unique_name in place of the SID."""
        room = new_channel(svc, unique, unique_name=unique("lobby"))
        fetched = svc.channels(room.unique_name).fetch()
        assert fetched.sid == room.sid
        assert fetched.url == room.url

    def test_unknown(self, svc: Any) -> None:
        """An unknown channel SID or unique_name is 404 with 20404."""
        rejected(lambda: svc.channels(UNKNOWN["CH"]).fetch(), 404, 20404)
        rejected(lambda: svc.channels("no-such-room").fetch(), 404, 20404)


class TestUpdate:
    def test_names_and_attributes(self, svc: Any, unique: Callable[[str], str]) -> None:
        """FriendlyName, UniqueName and Attributes change together and stay changed."""
        room = new_channel(svc, unique, type="private")
        name = unique("renamed")
        updated = svc.channels(room.sid).update(
            friendly_name="Renamed", unique_name=name, attributes='{"v": 2}'
        )
        assert (updated.friendly_name, updated.unique_name, updated.attributes) == (
            "Renamed",
            name,
            '{"v": 2}',
        )
        assert updated.type == "private"
        assert updated.date_updated >= room.date_updated
        fetched = svc.channels(name).fetch()
        assert (fetched.sid, fetched.friendly_name, fetched.attributes) == (
            room.sid,
            "Renamed",
            '{"v": 2}',
        )

    def test_by_unique_name(self, svc: Any, unique: Callable[[str], str]) -> None:
        """A channel is updated through its unique_name in place of the SID."""
        room = new_channel(svc, unique, unique_name=unique("addr"))
        assert svc.channels(room.unique_name).update(friendly_name="By name").sid == room.sid
        assert svc.channels(room.sid).fetch().friendly_name == "By name"

    def test_old_unique_name_is_free(self, svc: Any, unique: Callable[[str], str]) -> None:
        """After a rename, the old unique_name no longer finds the channel and can be reused."""
        old, new = unique("old"), unique("new")
        room = new_channel(svc, unique, unique_name=old)
        svc.channels(room.sid).update(unique_name=new)
        rejected(lambda: svc.channels(old).fetch(), 404, 20404)
        assert new_channel(svc, unique, unique_name=old).unique_name == old

    def test_unique_name_taken(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Renaming to another channel's unique_name is 409 with 50307; nothing changes."""
        taken = unique("taken")
        new_channel(svc, unique, unique_name=taken)
        room = new_channel(svc, unique, unique_name=unique("mine"))
        update = svc.channels(room.sid).update
        rejected(lambda: update(unique_name=taken, friendly_name="x"), 409, 50307)
        fetched = svc.channels(room.sid).fetch()
        assert (fetched.unique_name, fetched.friendly_name) == (
            room.unique_name,
            room.friendly_name,
        )

    def test_keep_own_unique_name(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Setting a channel's unique_name to its current value is no conflict."""
        room = new_channel(svc, unique, unique_name=unique("same"))
        assert svc.channels(room.sid).update(unique_name=room.unique_name).unique_name == (
            room.unique_name
        )

    def test_unique_name_like_channel_sid(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Renaming to a CH SID pattern is 400 with 50306."""
        room = new_channel(svc, unique)
        rejected(lambda: svc.channels(room.sid).update(unique_name="CH" + "cd" * 16), 400, 50306)
        assert svc.channels(room.sid).fetch().unique_name is None

    def test_invalid_attributes(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Attributes that are not JSON are 400 with 50304, and nothing is written."""
        room = new_channel(svc, unique, attributes='{"keep": 1}')
        update = svc.channels(room.sid).update
        rejected(lambda: update(attributes="nope", friendly_name="changed"), 400, 50304)
        fetched = svc.channels(room.sid).fetch()
        assert (fetched.attributes, fetched.friendly_name) == ('{"keep": 1}', room.friendly_name)

    def test_type_is_fixed(self, server: Server, svc: Any, service: Any, unique: Any) -> None:
        """Update has no Type: the client cannot send one, and a raw Type is ignored."""
        room = new_channel(svc, unique)
        with pytest.raises(TypeError):
            svc.channels(room.sid).update(type="private")
        response = requests.post(
            f"{server.url}/v1/Services/{service.sid}/Channels/{room.sid}",
            data={"Type": "private", "FriendlyName": "still public"},
            auth=auth(server),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        assert response.json()["type"] == "public"
        assert response.json()["friendly_name"] == "still public"
        assert svc.channels(room.sid).fetch().type == "public"

    def test_unknown(self, svc: Any) -> None:
        """Updating an unknown channel is 404 with 20404."""
        rejected(lambda: svc.channels(UNKNOWN["CH"]).update(friendly_name="x"), 404, 20404)


class TestDelete:
    def test_delete(self, svc: Any, unique: Callable[[str], str]) -> None:
        """A deleted channel is gone, and its unique_name is free again."""
        name = unique("doomed")
        room = new_channel(svc, unique, unique_name=name)
        assert svc.channels(room.sid).delete() is True
        rejected(lambda: svc.channels(room.sid).fetch(), 404, 20404)
        rejected(lambda: svc.channels(name).fetch(), 404, 20404)
        assert new_channel(svc, unique, unique_name=name).sid != room.sid

    def test_by_unique_name(self, svc: Any, unique: Callable[[str], str]) -> None:
        """A channel is deleted through its unique_name in place of the SID."""
        room = new_channel(svc, unique, unique_name=unique("bye"))
        assert svc.channels(room.unique_name).delete() is True
        rejected(lambda: svc.channels(room.sid).fetch(), 404, 20404)

    def test_unknown(self, svc: Any) -> None:
        """Deleting an unknown channel is 404 with 20404."""
        rejected(svc.channels(UNKNOWN["CH"]).delete, 404, 20404)

    def test_cascades(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Deleting a channel deletes its members, messages and invites."""
        room = new_channel(svc, unique)
        ctx = svc.channels(room.sid)
        member = ctx.members.create(identity=unique("m"))
        message = ctx.messages.create(body="hello")
        invitee = svc.users.create(identity=unique("i"))
        invite = ctx.invites.create(identity=invitee.identity)
        ctx.delete()
        rejected(lambda: ctx.members(member.sid).fetch(), 404, 20404)
        rejected(lambda: ctx.messages(message.sid).fetch(), 404, 20404)
        rejected(lambda: ctx.invites(invite.sid).fetch(), 404, 20404)
        list_rejected(ctx.members.list, 404, 20404)
        assert svc.users(invitee.sid).user_channels.list() == []
        assert svc.users(member.identity).user_channels.list() == []

    def test_messages_are_swept_after_the_delete(
        self, svc: Any, unique: Callable[[str], str], database_url: str, server: Server
    ) -> None:
        """The delete answers at once; the server's sweeper then removes the channel's messages
        from the database (a batch at a time), and /metrics shows no sweep left."""
        room = new_channel(svc, unique)
        for n in range(5):
            svc.channels(room.sid).messages.create(body=f"m{n}")
        assert svc.channels(room.sid).delete() is True
        assert wait_until(lambda: messages_of(database_url, room.sid) == 0, 30) is not None
        assert wait_until(lambda: nothing_to_sweep(server), 30) is not None

    def test_users_leave(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Deleting a channel drops joined_channels_count of each of its members' users."""
        doomed, kept = new_channel(svc, unique), new_channel(svc, unique)
        users = [svc.users.create(identity=unique(f"u{i}")) for i in range(3)]
        for user in users:
            svc.channels(doomed.sid).members.create(identity=user.identity)
        svc.channels(kept.sid).members.create(identity=users[0].identity)
        assert svc.users(users[0].sid).fetch().joined_channels_count == 2
        svc.channels(doomed.sid).delete()
        counts = [svc.users(u.sid).fetch().joined_channels_count for u in users]
        assert counts == [1, 0, 0]
        assert svc.channels(kept.sid).fetch().members_count == 1

    def test_other_channels_untouched(self, svc: Any, unique: Callable[[str], str]) -> None:
        """Deleting one channel leaves another channel's members and messages alone."""
        doomed, kept = new_channel(svc, unique), new_channel(svc, unique)
        identity = unique("both")
        for room in (doomed, kept):
            svc.channels(room.sid).members.create(identity=identity)
            svc.channels(room.sid).messages.create(body="hi")
        svc.channels(doomed.sid).delete()
        fetched = svc.channels(kept.sid).fetch()
        assert (fetched.members_count, fetched.messages_count) == (1, 1)
        assert [m.identity for m in svc.channels(kept.sid).members.list()] == [identity]
        assert [m.body for m in svc.channels(kept.sid).messages.list()] == ["hi"]


class TestList:
    @pytest.fixture
    def rooms(self, svc: Any, unique: Callable[[str], str]) -> dict[str, list[str]]:
        """Two public and two private channels, interleaved; SIDs by type, in creation order."""
        made: dict[str, list[str]] = {"public": [], "private": [], "all": []}
        for kind in ("public", "private", "public", "private"):
            sid = new_channel(svc, unique, type=kind).sid
            made[kind].append(sid)
            made["all"].append(sid)
        return made

    def test_no_type_is_public_only(self, svc: Any, rooms: dict[str, list[str]]) -> None:
        """Without Type, the list holds public channels only (the filter defaults to public)."""
        listed = svc.channels.list()
        assert [c.sid for c in listed] == rooms["public"]
        assert {c.type for c in listed} == {"public"}

    def test_private(self, svc: Any, rooms: dict[str, list[str]]) -> None:
        """Type=private lists private channels only."""
        assert [c.sid for c in svc.channels.list(type=["private"])] == rooms["private"]

    def test_public(self, svc: Any, rooms: dict[str, list[str]]) -> None:
        """Type=public lists public channels only."""
        assert [c.sid for c in svc.channels.list(type=["public"])] == rooms["public"]

    def test_both_types(self, svc: Any, rooms: dict[str, list[str]]) -> None:
        """Type repeated (public and private) lists every channel, in creation order."""
        assert [c.sid for c in svc.channels.list(type=["public", "private"])] == rooms["all"]

    def test_paging_with_types(self, svc: Any, rooms: dict[str, list[str]]) -> None:
        """Paging by next_page_url keeps the Type filter: every channel once."""
        listed = svc.channels.list(type=["public", "private"], page_size=1)
        assert [c.sid for c in listed] == rooms["all"]
        assert [c.sid for c in svc.channels.list(type=["private"], page_size=1)] == rooms["private"]

    def test_next_page_url_echoes_types(
        self, server: Server, service: Any, rooms: dict[str, list[str]]
    ) -> None:
        """meta.next_page_url repeats each Type given."""
        response = requests.get(
            f"{server.url}/v1/Services/{service.sid}/Channels",
            params=[("Type", "public"), ("Type", "private"), ("PageSize", "2")],
            auth=auth(server),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        meta = response.json()["meta"]
        assert meta["key"] == "channels"
        assert "Type=public" in meta["next_page_url"]
        assert "Type=private" in meta["next_page_url"]

    def test_bad_type(self, svc: Any, rooms: dict[str, list[str]]) -> None:
        """An unknown Type value is 400."""
        list_rejected(lambda: svc.channels.list(type=["public", "secret"]), 400, 20001)

    def test_empty(self, svc: Any) -> None:
        """A new service has no channels."""
        assert svc.channels.list(type=["public", "private"]) == []


class TestCounts:
    def test_members_count(self, svc: Any, unique: Callable[[str], str]) -> None:
        """members_count follows member creates and deletes exactly."""
        room = new_channel(svc, unique)
        ctx = svc.channels(room.sid)
        members = [ctx.members.create(identity=unique(f"m{i}")) for i in range(4)]
        assert ctx.fetch().members_count == 4
        ctx.members(members[1].sid).delete()
        ctx.members(members[3].sid).delete()
        assert ctx.fetch().members_count == 2
        ctx.members.create(identity=unique("late"))
        assert ctx.fetch().members_count == 3
        assert len(ctx.members.list()) == 3

    def test_messages_count(self, svc: Any, unique: Callable[[str], str]) -> None:
        """messages_count follows message creates and deletes exactly; updates change nothing."""
        room = new_channel(svc, unique)
        ctx = svc.channels(room.sid)
        messages = [ctx.messages.create(body=f"m{i}") for i in range(5)]
        assert ctx.fetch().messages_count == 5
        ctx.messages(messages[0].sid).delete()
        ctx.messages(messages[4].sid).delete()
        ctx.messages(messages[2].sid).update(body="edited")
        assert ctx.fetch().messages_count == 3
        assert len(ctx.messages.list()) == 3

    def test_counts_in_list(self, svc: Any, unique: Callable[[str], str]) -> None:
        """A listed channel carries the same counts as a fetched one."""
        room = new_channel(svc, unique)
        ctx = svc.channels(room.sid)
        ctx.members.create(identity=unique("m"))
        ctx.messages.create(body="one")
        ctx.messages.create(body="two")
        (listed,) = svc.channels.list()
        assert (listed.members_count, listed.messages_count) == (1, 2)

    def test_invites_do_not_count(self, svc: Any, unique: Callable[[str], str]) -> None:
        """An invite is not a member: members_count stays 0."""
        room = new_channel(svc, unique)
        user = svc.users.create(identity=unique("inv"))
        svc.channels(room.sid).invites.create(identity=user.identity)
        assert svc.channels(room.sid).fetch().members_count == 0


class TestNameLengths:
    """Twilio's pages: names "can be up to 64 characters" in v1 and on a v2 create, and "up to
    256 characters" on a v2 update."""

    def test_v1_create_and_update_take_64(self, svc: Any, unique: Callable[[str], str]) -> None:
        created = svc.channels.create(friendly_name="f" * 64, unique_name="u" * 64)
        assert (len(created.friendly_name), len(created.unique_name)) == (64, 64)
        rejected(lambda: svc.channels.create(friendly_name="f" * 65), 400, 50003)
        rejected(lambda: svc.channels.create(unique_name="u" * 65), 400, 50004)
        ctx = svc.channels(created.sid)
        rejected(lambda: ctx.update(friendly_name="f" * 65), 400, 50003)
        rejected(lambda: ctx.update(unique_name="v" * 65), 400, 50004)
        assert ctx.fetch().friendly_name == "f" * 64
        assert [c.sid for c in svc.channels.list()] == [created.sid]

    def test_v2_update_takes_256(self, client: Any, service: Any) -> None:
        svc2 = client.chat.v2.services(service.sid)
        rejected(lambda: svc2.channels.create(friendly_name="f" * 65), 400, 50003)
        rejected(lambda: svc2.channels.create(unique_name="u" * 65), 400, 50004)
        channel = svc2.channels.create(friendly_name="short")
        updated = svc2.channels(channel.sid).update(friendly_name="f" * 256, unique_name="u" * 256)
        assert (len(updated.friendly_name), len(updated.unique_name)) == (256, 256)
        ctx = svc2.channels(channel.sid)
        rejected(lambda: ctx.update(friendly_name="f" * 257), 400, 50003)
        rejected(lambda: ctx.update(unique_name="w" * 257), 400, 50004)
