"""Live delivery across processes: a change committed by one worker reaches subscribers held
by every worker (PostgreSQL NOTIFY; on SQLite the log's high-water poll)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from chinwag.realtime.framing import encode
from tests.conftest import make_client
from tests.events.conftest import wait_for
from tests.realtime.conftest import Key, mint, ws_url
from tests.realtime.test_protocol import WAIT, fetch, init, receive, reply_to, subscribe_from
from tests.support.servers import Server

CONNECTIONS = 8  # the kernel spreads them over the workers


def subscribe(ws: ClientConnection, list_name: str) -> str:
    """Follows a message list from its current event id; its SID."""
    listing = fetch(ws, f"/v3/Lists/{list_name}")
    subscribe_from(ws, listing["sid"], "list", listing["last_event_id"])
    return str(listing["sid"])


def next_event(ws: ClientConnection) -> dict[str, Any]:
    for _ in range(20):
        header, payload = receive(ws)
        if header["method"] == "notification" and payload.get("event_type") == "list_item_added":
            return dict(payload["event"])
    raise AssertionError("no list_item_added")


def test_every_worker_delivers(fresh_database: str, tmp_path: Path) -> None:
    server = Server(fresh_database, extra_args=["--workers", "2"])
    server.start(tmp_path / "server.log")
    sockets: list[ClientConnection] = []
    with ExitStack() as stack:
        stack.callback(server.stop)  # last: after the sockets close
        sid, secret = server.cli("keys", "create", "--account", server.account_sid).split()
        key = Key(sid, secret, server.account_sid)
        chat = make_client(server).chat.v1
        service = chat.services.create(friendly_name="workers")
        channel = chat.services(service.sid).channels.create(unique_name="busy")
        for n in range(CONNECTIONS):
            ws = stack.enter_context(connect(ws_url(server), open_timeout=WAIT, close_timeout=WAIT))
            sockets.append(ws)
            init(ws, mint(key, service.sid, f"user{n}"))
            subscribe(ws, f"{channel.sid}.messages")
        messages = chat.services(service.sid).channels(channel.sid).messages
        for n in range(3):
            messages.create(body=f"m{n}", from_="bot")
        seen = [[next_event(ws)["item_data"]["text"] for _ in range(3)] for ws in sockets]
    assert seen == [["m0", "m1", "m2"]] * CONNECTIONS  # everyone, in order


def follow_roster(ws: ClientConnection, channel_sid: str) -> None:
    """Subscribe to a channel's roster map, as the SDK does for a joined channel."""
    subscribe_from(ws, fetch(ws, f"/v3/Maps/{channel_sid}.roster")["sid"], "map", 0)


def typist(ws: ClientConnection) -> str:
    """The identity of the next typing indicator this socket hears."""
    for _ in range(50):
        header, payload = receive(ws)
        if header.get("message_type") == "twilio.ipmsg.typing_indicator":
            return str(payload["identity"])
    raise AssertionError("no typing indicator")


def test_typing_reaches_every_worker(fresh_database: str, tmp_path: Path) -> None:
    """A typing indicator reaches the channel's members on every worker, not only on the
    typist's (SQLite: a short-lived signal row; PostgreSQL: NOTIFY)."""
    server = Server(fresh_database, extra_args=["--workers", "2"])
    server.start(tmp_path / "server.log")
    with ExitStack() as stack:
        stack.callback(server.stop)
        sid, secret = server.cli("keys", "create", "--account", server.account_sid).split()
        key = Key(sid, secret, server.account_sid)
        chat = make_client(server).chat.v2
        service = chat.services.create(friendly_name="typing")
        channel = chat.services(service.sid).channels.create(unique_name="chatty")
        sockets = []
        for n in range(CONNECTIONS):
            chat.services(service.sid).channels(channel.sid).members.create(identity=f"user{n}")
            ws = stack.enter_context(connect(ws_url(server), open_timeout=WAIT, close_timeout=WAIT))
            registrations = [{"message_types": ["twilio.ipmsg.typing_indicator"]}]
            hello = {"method": "init", "id": "TMi", "token": mint(key, service.sid, f"user{n}")}
            ws.send(encode({**hello, "registrations": registrations}))
            reply_to(ws, "TMi")
            follow_roster(ws, channel.sid)
            sockets.append(ws)
        path = f"Client/v1/Services/{service.sid}/Typing"
        request = {"host": "aim", "path": path, "method": "POST"}
        body = {"channel_sid": channel.sid}
        sockets[0].send(encode({"method": "message", "id": "TMt", "http_request": request}, body))
        header, answer = reply_to(sockets[0], "TMt")
        assert header["http_status"]["code"] == 200, answer
        heard = [typist(ws) for ws in sockets[1:]]
    assert heard == ["user0"] * (CONNECTIONS - 1)


def test_online_while_a_connection_is_up_on_any_worker(fresh_database: str, tmp_path: Path) -> None:
    """One user's connections spread over the workers: online until the last one closes."""
    server = Server(fresh_database, extra_args=["--workers", "2"])
    server.start(tmp_path / "server.log")
    with ExitStack() as stack:
        stack.callback(server.stop)
        sid, secret = server.cli("keys", "create", "--account", server.account_sid).split()
        key = Key(sid, secret, server.account_sid)
        chat = make_client(server).chat.v2
        service = chat.services.create(friendly_name="presence")
        chat.services(service.sid).update(reachability_enabled=True)
        user = chat.services(service.sid).users("bob")
        tabs = []
        for _ in range(CONNECTIONS // 2):
            ws = stack.enter_context(connect(ws_url(server), open_timeout=WAIT, close_timeout=WAIT))
            init(ws, mint(key, service.sid, "bob"))
            tabs.append(ws)
        assert user.fetch().is_online is True
        for ws in tabs[:-1]:
            ws.close()
        # Each close is recorded after the socket is gone: the last tab keeps bob online.
        time.sleep(0.5)
        assert user.fetch().is_online is True
        tabs[-1].close()
        wait_for(lambda: user.fetch().is_online is False, what="bob offline")
