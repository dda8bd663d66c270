"""Two users chat through the SDK; REST sees what they did, as their actions were operations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.realtime.conftest import Key, mint, run_sdk, ws_url
from tests.support.servers import Server


def test_two_users_chat(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """Create, join, typing, send, edit, read horizon, remove, leave: each seen by the other
    user live, and each visible over REST."""
    alice, bob, name = unique("alice"), unique("bob"), unique("general")
    args = (mint(api_key, service.sid, alice), mint(api_key, service.sid, bob), name)
    code, seen = run_sdk(sdk, "chat.js", ws_url(server), *args)
    assert code == 0, (seen.get("error"), seen)
    assert seen["members"] == sorted([alice, bob])
    assert seen["typing"] == bob
    assert seen["sentIndex"] == 0
    assert seen["received"] == {
        "index": 0,
        "author": alice,
        "body": "hello bob",
        "attributes": {"mood": "happy"},
    }
    assert seen["edited"] == "hello again"
    assert seen["horizonSeenByAlice"] == 0
    assert seen["unreadAfter"] == 0
    assert seen["removed"] == 0
    assert seen["left"] == bob
    channel = chat.services(service.sid).channels(name).fetch()
    assert channel.created_by == alice
    assert channel.friendly_name == "General"
    members = chat.services(service.sid).channels(channel.sid).members.list()
    assert [m.identity for m in members] == [alice]
    assert chat.services(service.sid).channels(channel.sid).messages.list() == []
