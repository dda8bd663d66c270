"""One source of truth: what the app's backend does over REST reaches connected SDK clients."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.conftest import make_client
from tests.realtime.conftest import Key, NodeScript, mint, ws_url
from tests.support.servers import Server


def test_history_and_live_changes_made_over_rest(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """History written over REST before connecting is paged; a member added, a message sent,
    a rename and a user deleted over REST afterwards arrive live as channelJoined,
    messageAdded, channel updated and memberLeft (the deleted user's memberships went with
    it)."""
    alice = unique("alice")
    svc = chat.services(service.sid)
    history = svc.channels.create(unique_name=unique("history"), type="private")
    svc.channels(history.sid).members.create(identity=alice)
    svc.channels(history.sid).members.create(identity="bob")
    for n in range(3):
        svc.channels(history.sid).messages.create(body=f"m{n}", from_="bob")
    script = NodeScript(
        sdk, "follow.js", ws_url(server), mint(api_key, service.sid, alice), history.unique_name
    )
    try:
        ready = script.line()
        assert ready == {"ready": True}, ready
        live = svc.channels.create(unique_name=unique("live"), friendly_name="Live")
        svc.channels(live.sid).members.create(identity=alice)
        time.sleep(1)  # the SDK subscribes to the channel it joined before we post
        svc.channels(live.sid).messages.create(body="hello", from_="bot", attributes='{"k":1}')
        step = script.line()
        assert step == {"step": "rename"}, step
        svc.channels(live.sid).update(friendly_name="Renamed")
        step = script.line()
        assert step == {"step": "delete"}, step
        svc.users("bob").delete()
        seen = script.line()
    finally:
        code = script.close()
    assert code == 0, seen
    assert seen["subscribed"] == [history.unique_name]
    assert seen["newest"] == ["1:bob:m1", "2:bob:m2"]
    assert seen["older"] == [0]
    assert seen["members"] == sorted([alice, "bob"])
    assert seen["joined"] == live.unique_name
    assert seen["added"] == {"index": 0, "author": "bot", "body": "hello", "attributes": {"k": 1}}
    assert seen["renamed"] == "Renamed"
    assert seen["left"] == "bob"
    assert seen["membersAfter"] == [alice]


def test_a_user_deleted_over_rest_leaves_its_channels_in_its_own_sdk(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """The deleted user's own SDK, connected, leaves each of its channels (public and
    private), and its maps' removal that follows raises no error in it."""
    carol = unique("carol")
    svc = chat.services(service.sid)
    names = sorted([unique("public"), unique("private")])
    members = []
    for name, kind in zip(names, ("public", "private"), strict=True):
        channel = svc.channels.create(unique_name=name, type=kind)
        members.append(svc.channels(channel.sid).members.create(identity=carol))
    script = NodeScript(sdk, "gone.js", ws_url(server), mint(api_key, service.sid, carol))
    try:
        ready = script.line()
        assert ready == {"ready": names}, ready
        member = members[0]
        svc.channels(member.channel_sid).members(member.sid).update(last_consumed_message_index=0)
        step = script.line()
        assert step == {"step": "subscribed"}, step
        svc.users(carol).delete()
        seen = script.line()
    finally:
        code = script.close()
    assert code == 0, seen
    assert seen["left"] == names
    assert seen["errors"] == []
    assert seen["state"] == "connected"


def test_a_burst_of_messages_sent_at_once_reaches_the_sdk_once_each_in_order(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """Four backends send 48 messages to one channel at once over REST (their transactions
    share group commits; on PostgreSQL the later creates of a batch write what the SDK
    follows at the batch's end). A member's SDK gets each as messageAdded once, in index
    order, and its page of the channel's messages holds all of them."""
    alice = unique("alice")
    svc = chat.services(service.sid)
    channel = svc.channels.create(unique_name=unique("burst"))
    svc.channels(channel.sid).members.create(identity=alice)
    # Four, not more: the session's server keeps a connection for each (IDLE_KEEP), and the
    # suite's servers together must stay under PostgreSQL's max_connections (100 here).
    senders, each = 4, 12
    script = NodeScript(
        sdk,
        "burst.js",
        ws_url(server),
        mint(api_key, service.sid, alice),
        channel.unique_name,
        str(senders * each),
    )

    def send(n: int) -> None:
        messages = make_client(server).chat.v1.services(service.sid).channels(channel.sid).messages
        for i in range(each):
            messages.create(body=f"s{n}-{i}", from_="bot")

    try:
        ready = script.line()
        assert ready == {"ready": True}, ready
        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(send, range(senders)))
        seen = script.line(timeout=40)
    finally:
        code = script.close()
    assert code == 0, seen
    everything = list(range(senders * each))
    assert seen["added"] == everything
    assert seen["page"] == everything
    assert seen["bodies"] == sorted(f"s{n}-{i}" for n in range(senders) for i in range(each))
