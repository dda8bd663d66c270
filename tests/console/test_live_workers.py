"""A channel page's live stream, served by any of several workers, receives messages posted
through any other (PostgreSQL NOTIFY; on SQLite the event log's high-water poll)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import orjson
import pytest

from tests.conftest import make_client
from tests.support.console import signed_in
from tests.support.databases import KINDS, fresh
from tests.support.servers import Server

STREAMS = 6  # separate connections: the kernel spreads them over the two workers


@pytest.fixture(params=KINDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh(request.param, tmp_path) as url:
        yield url


def texts(lines: Iterator[str], count: int) -> list[str]:
    """The bodies of the next `count` added messages of a stream."""
    found: list[str] = []
    for line in lines:
        if line.startswith("data: "):
            change = orjson.loads(line.removeprefix("data: "))
            if change["event_type"] == "list_item_added":
                found.append(change["event"]["item_data"]["text"])
        if len(found) == count:
            return found
    raise AssertionError(f"the stream ended after {found}")


def test_every_worker_streams_every_message(fresh_database: str, tmp_path: Path) -> None:
    server = Server(fresh_database, extra_args=["--workers", "2"])
    server.start(tmp_path / "server.log")
    with ExitStack() as stack:
        stack.callback(server.stop)  # last: after the streams close
        v2 = make_client(server).chat.v2
        service = v2.services.create(friendly_name="workers")
        channel = v2.services(service.sid).channels.create(friendly_name="busy")
        messages = v2.services(service.sid).channels(channel.sid).messages
        messages.create(body="first", from_="bot")  # the channel's message list exists
        url = f"{server.url}/console/services/{service.sid}/channels/{channel.sid}/events"
        streams = []
        for _ in range(STREAMS):
            reply = signed_in(server).get(url, params={"since": "1"}, stream=True, timeout=20)
            stack.callback(reply.close)
            assert reply.headers["content-type"].startswith("text/event-stream")
            streams.append(reply.iter_lines(decode_unicode=True))
        for n in range(3):
            messages.create(body=f"m{n}", from_="bot")
        seen = [texts(lines, 3) for lines in streams]
    assert seen == [["m0", "m1", "m2"]] * STREAMS  # every stream, in order


def test_open_streams_end_when_the_server_stops(fresh_database: str, tmp_path: Path) -> None:
    """SIGTERM ends the console's streams at once, so the server stops cleanly instead of
    waiting out uvicorn's graceful timeout and cancelling them."""
    server = Server(fresh_database)
    server.start(tmp_path / "server.log")
    try:
        v2 = make_client(server).chat.v2
        service = v2.services.create(friendly_name="stopping")
        channel = v2.services(service.sid).channels.create(friendly_name="open")
        v2.services(service.sid).channels(channel.sid).messages.create(body="hi", from_="bot")
        url = f"{server.url}/console/services/{service.sid}/channels/{channel.sid}/events"
        reply = signed_in(server).get(url, params={"since": "0"}, stream=True, timeout=60)
        lines = reply.iter_lines(decode_unicode=True)
        assert texts(lines, 1) == ["hi"]
    finally:
        server.stop()  # SIGTERM
    assert [line for line in lines if line] == []  # the stream ended with the server
    assert server.log_path is not None
    log = server.log_path.read_text()
    assert "chinwag stopped cleanly" in log
    assert "graceful shutdown exceeded" not in log
