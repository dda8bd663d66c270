"""One source of truth: what the app's backend does over REST reaches connected SDK clients."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

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
