"""A server killed with kill -9 while a client is connected: the client reconnects by itself
and receives what was sent meanwhile (replayed from the Sync log) and what comes after."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from chinwag.sync.engine import RETAIN, TRIM_EVERY
from tests.conftest import make_client
from tests.realtime.conftest import NodeScript, make_key, mint, ws_url
from tests.support.chat import create_messages
from tests.support.servers import Server


def test_client_survives_kill9_and_restart(fresh_database: str, sdk: Path, tmp_path: Path) -> None:
    first = Server(fresh_database)
    first.start(tmp_path / "first.log")
    key = make_key(first)
    chat = make_client(first).chat.v1
    service = chat.services.create(friendly_name="restart")
    channel = chat.services(service.sid).channels.create(unique_name="lobby")
    chat.services(service.sid).channels(channel.sid).members.create(identity="alice")
    script = NodeScript(
        sdk, "reconnect.js", ws_url(first), mint(key, service.sid, "alice"), "lobby", "2"
    )
    second = first.sibling(port=first.port)
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


def test_client_away_longer_than_the_log(fresh_database: str, sdk: Path, tmp_path: Path) -> None:
    """While the client's server is down, more than the retained events are written through
    another server: after reconnecting the client gets the state in short (sync/catchup.py):
    the newest messages added, a message it had edited, another removed."""
    first = Server(fresh_database)
    first.start(tmp_path / "first.log")
    key = make_key(first)
    chat = make_client(first).chat.v1
    service = chat.services.create(friendly_name="away")
    channel = chat.services(service.sid).channels.create(unique_name="busy")
    chat.services(service.sid).channels(channel.sid).members.create(identity="alice")
    messages = chat.services(service.sid).channels(channel.sid).messages
    before = messages.create(body="before", from_="bot").sid
    doomed = messages.create(body="doomed", from_="bot").sid
    count = RETAIN + TRIM_EVERY + 1
    script = NodeScript(
        sdk,
        "catchup.js",
        ws_url(first),
        mint(key, service.sid, "alice"),
        "busy",
        f"m{count - 1}",
        "1",  # "doomed"
    )
    writer = first.sibling()
    second = first.sibling(port=first.port)
    try:
        assert script.line() == {"ready": True}
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        writer.start(tmp_path / "writer.log")
        messages = make_client(writer).chat.v1.services(service.sid).channels(channel.sid).messages
        create_messages(messages, [f"m{n}" for n in range(count - 1)])
        messages.create(body=f"m{count - 1}", from_="bot")  # the newest, which the client awaits
        messages(before).update(body="edited while away")
        messages(doomed).delete()
        second.start(tmp_path / "second.log")
        seen = script.line(timeout=100)
    finally:
        code = script.close()
        second.stop()
        writer.stop()
    assert code == 0, seen
    assert seen["before"] == ["before", "doomed"]
    assert seen["updated"] == [{"index": 0, "body": "edited while away"}]
    assert seen["removed"] == [1]
    indexes = [m["index"] for m in seen["added"]]
    assert indexes == sorted(set(indexes))  # in order, each once
    assert seen["added"][-1] == {"index": count + 1, "body": f"m{count - 1}"}
