"""Private channels and invites through the real SDK, checked over REST.

A private channel is visible to its members and invitees only. `channel.invite(identity)` is
the Invite resource's create as the inviting user; the invitee hears `channelInvited`, then
`join()` makes it a member (the invite is gone) or `decline()` deletes the invite. Leaving a
private channel removes it from the user's list (`channelRemoved`); a public one is only left.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.realtime.conftest import Key, NodeScript, mint, ws_url
from tests.support.servers import Server

NOT_FOUND = {"status": 404, "code": 50300}


def test_private_channel_invites_and_leaving(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    alice, bob, carol = unique("alice"), unique("bob"), unique("carol")
    secret, public = unique("secret"), unique("open")
    svc = chat.services(service.sid)
    tokens = [mint(api_key, service.sid, who) for who in (alice, bob, carol)]
    script = NodeScript(sdk, "private.js", ws_url(server), *tokens, bob, carol, secret, public)
    try:
        step = script.line()
        assert step == {"step": "check", "invited": bob}, step
        channel = svc.channels(secret).fetch()
        invites = svc.channels(channel.sid).invites.list()
        assert [(i.identity, i.created_by) for i in invites] == [(bob, alice)]
        assert [c.status for c in svc.users(bob).user_channels.list()] == ["invited"]
        svc.channels(channel.sid).messages.create(body="checked")
        seen = script.line()
    finally:
        code = script.close()
    assert code == 0, seen
    assert seen["strangerByName"] == NOT_FOUND
    assert seen["strangerBySid"] == NOT_FOUND
    assert seen["strangerListed"] is False
    assert seen["invitedStatus"] == "invited"
    assert seen["invitedName"] == "Secret"
    assert seen["joinedStatus"] == "joined"
    assert seen["bobMembersSeen"] == sorted([alice, bob])
    assert seen["carolEvents"] == ["channelInvited", "channelLeft", "channelRemoved"]
    assert seen["bobPrivateEvents"] == [
        "channelInvited",
        "channelJoined",
        "channelLeft",
        "channelRemoved",
    ]
    assert seen["bobPublicEvents"] == ["channelJoined", "channelLeft"]
    assert seen["publicStillKnown"] is True

    channel = svc.channels(secret).fetch()
    assert channel.type == "private"
    assert (
        svc.channels(channel.sid).invites.list() == []
    )  # bob's taken by joining, carol's declined
    assert [m.identity for m in svc.channels(channel.sid).members.list()] == [alice]
    assert svc.users(carol).user_channels.list() == []
    opened = svc.channels(public).fetch()
    assert [m.identity for m in svc.channels(opened.sid).members.list()] == [alice]
