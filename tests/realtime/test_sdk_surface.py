"""The SDK methods no other test drives, used as an app uses them, checked against REST:
adding members by identity and removing them, message and member counts, every way of moving a
read horizon, member lookups, message paging both ways, a descriptor's channel, local lists,
following a user by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import make_client
from tests.realtime.conftest import Key, mint, run_sdk, ws_url
from tests.support.servers import Server


def test_the_rest_of_the_surface(
    server: Server, sdk: Path, api_key: Key, service: Any, unique: Any
) -> None:
    alice, bob, carol, dave = unique("alice"), unique("bob"), unique("carol"), unique("dave")
    name = unique("surface")
    tokens = (mint(api_key, service.sid, who) for who in (alice, bob, carol))
    code, seen = run_sdk(sdk, "surface.js", ws_url(server), *tokens, name, dave)
    assert code == 0, (seen.get("error"), seen)
    svc = make_client(server).chat.v2.services(service.sid)
    channel = svc.channels(name).fetch()
    members = {m.identity: m for m in svc.channels(channel.sid).members.list()}

    # channel.add(identity) and member.remove() (dave was added, then removed), and the counts
    assert sorted(members) == sorted([alice, bob, carol])
    assert seen["removedMember"] == dave
    assert svc.users(dave).fetch().identity == dave  # added by identity: made a user
    assert (seen["messagesCount"], seen["membersCount"]) == (5, 3)
    assert (channel.messages_count, channel.members_count) == (5, 3)
    assert seen["attributes"] == {"topic": "all"}

    # Read horizons: what the SDK was answered, and where REST says each ended
    assert seen["bob"] == {
        "none": None,
        "advancedTo2": 2,
        "advancedTo1": 2,
        "horizonAfterBack": 2,
        "all": 0,
        "unread": 0,
    }
    assert seen["carol"] == {"at3": 1, "none": None}
    assert members[bob].last_consumed_message_index == 4
    assert members[carol].last_consumed_message_index is None
    unread = {
        who: svc.users(who).user_channels(channel.sid).fetch().unread_messages_count
        for who in (bob, carol)
    }
    assert unread == {bob: 0, carol: None}

    # Paging
    assert seen["backwards"] == [[3, 4], [1, 2], [0], False]
    assert seen["backAgain"] == [3, 4]
    assert seen["forward"] == [[1, 2], [3, 4]]
    assert seen["anchored"] == [0, 1, 2]

    # Member lookups
    assert seen["aliceMemberSid"] == members[alice].sid
    assert seen["bySid"] == alice
    assert seen["messageMember"] == members[alice].sid
    assert seen["memberUser"] == alice
    assert seen["memberDescriptor"] == {
        "identity": alice,
        "friendlyName": svc.users(alice).fetch().friendly_name,
    }

    # Channel lists and following a user
    assert seen["descriptorChannel"] == channel.sid
    assert name in seen["local"]
    assert carol in seen["subscribedBefore"]
    assert seen["followedRename"] == "Carol C" == svc.users(carol).fetch().friendly_name
    assert carol not in seen["subscribedAfter"]
