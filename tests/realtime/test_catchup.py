"""A subscriber whose `last_event_id` is older than the retained log gets the object's state in
short (sync/catchup.py) instead of a replay with a hole in it."""

from __future__ import annotations

from typing import Any

from chinwag.sync.catchup import SNAPSHOT_MAX
from chinwag.sync.engine import RETAIN, TRIM_EVERY
from tests.realtime.conftest import Key, mint
from tests.realtime.test_protocol import fetch, init, receive, socket, subscribe_from
from tests.support.chat import create_messages
from tests.support.servers import Server

BEHIND = 5  # the event id the late client last saw: long trimmed
EARLY = 7  # a message removed just after it, before a thousand more


def test_a_late_subscriber_gets_the_state_in_short(
    server: Server, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """After more than the retained events, a client at an old event id gets the channel
    document's current data, the messages changed since (the edited one as updated, the
    removed ones as removed, also one removed long ago), and live delivery going on from
    there."""
    svc = chat.services(service.sid)
    channel = svc.channels.create(unique_name=unique("busy"))
    messages = svc.channels(channel.sid).messages
    count = RETAIN + TRIM_EVERY + 1  # the log has been trimmed past BEHIND
    sids = [messages.create(body=f"m{n}", from_="bot").sid for n in range(EARLY + 1)]
    messages(sids[EARLY]).delete()  # its removal is older than the RETAIN newest events
    sids += [m.sid for m in create_messages(messages, [f"m{n}" for n in range(EARLY + 1, count)])]
    messages(sids[-2]).update(body="edited")
    messages(sids[-3]).delete()
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, unique("late")))
        listing = fetch(ws, f"/v3/Lists/{channel.sid}.messages")
        events, established = subscribe_from(ws, listing["sid"], "list", BEHIND)
        ids = [e["event"]["id"] for e in events]
        assert ids == sorted(set(ids))  # in order, each once
        assert len(ids) <= SNAPSHOT_MAX + 3  # the newest changed items, and the removals
        early = [e for e in events if e["event_type"] == "list_item_removed"]
        assert [e["event"]["item_index"] for e in early] == [EARLY, count - 3]
        assert established["last_event_id"] == listing["last_event_id"] == ids[-1]
        assert established["replay_status"] == "completed"
        last = events[-3:]
        assert [(e["event_type"], e["event"]["item_index"]) for e in last] == [
            ("list_item_added", count - 1),
            ("list_item_updated", count - 2),
            ("list_item_removed", count - 3),
        ]
        assert last[1]["event"]["item_data"]["text"] == "edited"
        document = fetch(ws, f"/v3/Documents/{channel.sid}.channel")
        events, established = subscribe_from(ws, document["sid"], "document", BEHIND)
        assert [e["event_type"] for e in events] == ["document_updated"]
        assert events[0]["event"]["id"] == established["last_event_id"] == document["last_event_id"]
        assert events[0]["event"]["document_data"]["lastMessage"]["index"] == count - 1
        messages.create(body="live", from_="bot")
        while True:
            _, payload = receive(ws)
            if isinstance(payload, dict) and payload.get("event_type") == "list_item_added":
                break
        assert payload["event"]["item_data"]["text"] == "live"
        assert payload["event"]["id"] == listing["last_event_id"] + 1
