"""A client removed from a private channel stops hearing it, even one that does not cancel its
subscriptions as the SDK does (realtime/follows.py); leaving a public channel stops nothing."""

from __future__ import annotations

import time
from typing import Any

from websockets.sync.client import ClientConnection

from chinwag.realtime.framing import decode
from tests.realtime.conftest import Key, mint
from tests.realtime.test_protocol import fetch, init, receive, socket, subscribe_from
from tests.support.servers import Server

STRAGGLERS = 0.5  # seconds to keep listening after the last expected event


def texts_until(ws: ClientConnection, last: set[str]) -> list[str]:
    """The bodies of messages the client hears until it has heard every one of `last`, and
    STRAGGLERS seconds after."""
    heard: list[str] = []
    deadline = None
    while True:
        if deadline is None:
            _, payload = receive(ws)
        else:
            try:
                data = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return heard
            assert isinstance(data, bytes)
            frame = decode(data)
            payload = frame.json() if frame.is_json() else None
        if isinstance(payload, dict) and payload.get("event_type") == "list_item_added":
            heard.append(payload["event"]["item_data"]["text"])
        if deadline is None and last <= set(heard):
            deadline = time.monotonic() + STRAGGLERS


def test_a_removed_member_stops_hearing_a_private_channel(
    server: Server, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    svc = chat.services(service.sid)
    bob = unique("bob")
    secret = svc.channels.create(unique_name=unique("secret"), type="private")
    lounge = svc.channels.create(unique_name=unique("lounge"))
    hall = svc.channels.create(unique_name=unique("hall"))
    members = {c.sid: svc.channels(c.sid).members.create(identity=bob) for c in (secret, lounge)}
    svc.channels(hall.sid).members.create(identity=bob)
    lists = [f"{c.sid}.messages" for c in (secret, lounge, hall)]
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, bob))
        sids = [fetch(ws, f"/v3/Lists/{name}")["sid"] for name in lists]
        for sid in sids:  # the messages only: not the my-channels map, and never cancelled
            subscribe_from(ws, sid, "list", fetch(ws, f"/v3/Lists/{sid}")["last_event_id"])
        svc.channels(secret.sid).messages.create(body="before", from_="alice")
        assert texts_until(ws, {"before"}) == ["before"]

        for channel in (secret, lounge):
            svc.channels(channel.sid).members(members[channel.sid].sid).delete()
        svc.channels(secret.sid).messages.create(body="after", from_="alice")
        svc.channels(lounge.sid).messages.create(body="still public", from_="alice")
        svc.channels(hall.sid).messages.create(body="marker", from_="alice")
        heard = texts_until(ws, {"still public", "marker"})
    assert "after" not in heard
    assert sorted(heard) == ["marker", "still public"]
