"""A server killed with kill -9 while a client is connected: the client reconnects by itself
and receives what was sent meanwhile (replayed from the Sync log) and what comes after."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.conftest import make_client
from tests.realtime.conftest import Key, NodeScript, mint, ws_url
from tests.support.servers import Server


def test_client_survives_kill9_and_restart(fresh_database: str, sdk: Path, tmp_path: Path) -> None:
    first = Server(fresh_database)
    first.start(tmp_path / "first.log")
    sid, secret = first.cli("keys", "create", "--account", first.account_sid).split()
    key = Key(sid, secret, first.account_sid)
    chat = make_client(first).chat.v1
    service = chat.services.create(friendly_name="restart")
    channel = chat.services(service.sid).channels.create(unique_name="lobby")
    chat.services(service.sid).channels(channel.sid).members.create(identity="alice")
    script = NodeScript(
        sdk, "reconnect.js", ws_url(first), mint(key, service.sid, "alice"), "lobby", "2"
    )
    second = Server(
        fresh_database, account_sid=first.account_sid, auth_token=first.auth_token, port=first.port
    )
    try:
        assert script.line() == {"ready": True}
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        second.start(tmp_path / "second.log")
        messages = make_client(second).chat.v1.services(service.sid).channels(channel.sid).messages
        messages.create(body="while you were away", from_="bot")
        time.sleep(0.5)
        messages.create(body="welcome back", from_="bot")
        seen = script.line(timeout=60)
    finally:
        code = script.close()
        second.stop()
    assert code == 0, seen
    assert seen["bodies"] == ["while you were away", "welcome back"]
