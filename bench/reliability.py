"""Reliability of real-time delivery: many SDK-protocol clients follow one busy channel while the
server is killed (kill -9) and restarted and some clients lose their network; afterwards every
client must hold every message, in order, none lost.

One chinwag process on a fresh database. Each client speaks twilsock as the SDK does: `init`
with an access token, the channel's messages list subscribed with `/v4/Subscriptions`, and on
any disconnection (its own or the server's) it reconnects, signs in again and re-subscribes with
the `last_event_id` it holds, as the SDK does, so the server replays what it missed; events at or
below that id are dropped as the SDK drops them (counted as `duplicates`). Messages are created
over REST, one at a time, as fast as the server takes them:

1. steady: the first third, every client connected: delivery latency (REST create until each
   client read it) and server memory per connection;
2. at a third, the server is killed with SIGKILL and started again on the same database and port
   (the poster retries until it answers);
3. at two thirds, a fifth of the clients drop their connection (the socket aborted, no close
   handshake) and come back a second later;
4. the end: wait until every client holds every message the channel has, or the time limit.

    .venv/bin/python -m bench.reliability --db both --clients 500 --messages 600
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from bench import servers
from bench.client import LOCALHOST, Connection, HttpError, basic_auth, form
from bench.load import percentile
from chinwag.realtime.framing import decode, encode

PG_ADMIN = os.environ.get("CHINWAG_TEST_PG", servers.PG_DEFAULT)
WAIT = 30.0  # seconds for any one answer
DISCONNECTED = (OSError, WebSocketException, TimeoutError, asyncio.IncompleteReadError)


class Refused(Exception):
    """The server answered, but not with what the protocol promises (init or subscribe)."""


@dataclass
class Follower:
    """One SDK-protocol client following a list: what it holds, and how it got it."""

    url: str
    token: str
    list_name: str
    indices: list[int] = field(default_factory=list)  # item indices, in the order read
    seen_at: dict[int, float] = field(default_factory=dict)  # index -> perf_counter
    # index -> perf_counter when the subscription it arrived on was asked for
    subscribed_at: dict[int, float] = field(default_factory=dict)
    _asked_at: float = 0.0
    last_event_id: int = 0
    duplicates: int = 0  # events at or below last_event_id: dropped, as the SDK drops them
    connects: int = 0
    ws: ClientConnection | None = None
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    _list_sid: str | None = None
    _replies: dict[str, asyncio.Future[tuple[dict[str, Any], Any]]] = field(default_factory=dict)
    _asked: int = 0

    async def follow(self, stop: asyncio.Event) -> None:
        """Stay subscribed until `stop`: reconnect and re-subscribe after any disconnection."""
        while not stop.is_set():
            try:
                await self._session(stop)
            except (*DISCONNECTED, Refused):
                pass  # the server went away, or we dropped the line: come back
            self.subscribed.clear()
            if not stop.is_set():  # a spread-out backoff, so a restarted server is not stampeded
                await asyncio.sleep(0.2 + random.random())

    async def _session(self, stop: asyncio.Event) -> None:
        async with connect(self.url, open_timeout=WAIT, max_size=2**20) as ws:
            self.ws = ws
            self.connects += 1
            loop = asyncio.get_running_loop()
            reader = loop.create_task(self._read(ws))
            stopped = loop.create_task(stop.wait())
            try:
                await self._sign_in_and_subscribe()
                done, _ = await asyncio.wait([reader, stopped], return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    reader.result()  # the connection ended: raise why
            finally:
                stopped.cancel()
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, *DISCONNECTED):
                    await reader
                for waiting in self._replies.values():
                    waiting.cancel()
                self._replies.clear()

    async def _ask(self, header: dict[str, Any], body: Any = None) -> tuple[dict[str, Any], Any]:
        if self.ws is None:
            raise ConnectionResetError("not connected")
        self._asked += 1
        frame_id = f"TM{self._asked}"
        answer = asyncio.get_running_loop().create_future()
        self._replies[frame_id] = answer
        await self.ws.send(encode({**header, "id": frame_id}, body))
        try:
            return await asyncio.wait_for(answer, WAIT)
        except asyncio.CancelledError:
            raise ConnectionResetError("closed while waiting for a reply") from None

    async def _sign_in_and_subscribe(self) -> None:
        init = {"method": "init", "token": self.token, "capabilities": ["client_update"]}
        head, _ = await self._ask(init)
        if head["status"]["code"] != 200:
            raise Refused(f"init: {head['status']}")
        if self._list_sid is None:
            request = {"host": "cds", "path": f"/v3/Lists/{self.list_name}", "method": "GET"}
            head, found = await self._ask({"method": "message", "http_request": request})
            if head["http_status"]["code"] != 200:
                raise Refused(f"list: {head['http_status']}")
            self._list_sid = str(found["sid"])
            self.last_event_id = int(found.get("last_event_id", 0))
        sub = {"host": "cds", "path": "/v4/Subscriptions", "method": "POST"}
        self._asked_at = time.perf_counter()
        ask = {"object_sid": self._list_sid, "object_type": "list"}
        body = {
            "action": "establish",
            "correlation_id": self.connects,
            "requests": [{**ask, "last_event_id": self.last_event_id}],
        }
        head, _ = await self._ask({"method": "message", "http_request": sub}, body)
        if head["http_status"]["code"] >= 300:
            raise Refused(f"subscribe: {head['http_status']}")

    async def _read(self, ws: ClientConnection) -> None:
        async for data in ws:
            if not isinstance(data, bytes):
                raise Refused("twilsock frames are binary")
            frame = decode(data)
            head = frame.header
            if head["method"] == "reply":
                waiting = self._replies.pop(head["id"], None)
                if waiting is not None and not waiting.done():
                    waiting.set_result((head, frame.json() if frame.is_json() else None))
            elif head["method"] == "notification" and frame.is_json():
                self._event(frame.json())

    def _event(self, body: dict[str, Any]) -> None:
        kind, event = body.get("event_type"), body.get("event", {})
        if kind == "subscription_established":
            self.subscribed.set()
        elif kind == "list_item_added":
            event_id = int(event["id"])
            if event_id <= self.last_event_id:
                self.duplicates += 1
                return
            self.last_event_id = event_id
            index = int(event["item_index"])
            self.indices.append(index)
            self.seen_at.setdefault(index, time.perf_counter())
            self.subscribed_at.setdefault(index, self._asked_at)

    def drop(self) -> None:
        """The network goes away: the socket is cut with no close handshake."""
        if self.ws is not None:
            self.ws.transport.abort()


def _token(server: servers.Chinwag, key: tuple[str, str], service: str, identity: str) -> str:
    token = AccessToken(server.account_sid, key[0], key[1], identity=identity, ttl=3600)
    token.add_grant(ChatGrant(service_sid=service))
    return str(token.to_jwt())


class Poster:
    """Creates messages over REST one at a time; retries through a server restart."""

    def __init__(self, server: servers.Chinwag, path: str) -> None:
        self.server = server
        self.path = path
        self.auth = basic_auth(server.account_sid, server.auth_token)
        self.conn = Connection(server.port, self.auth, timeout=WAIT)
        self.started: dict[int, float] = {}  # index -> perf_counter just before its POST
        self.created: dict[int, float] = {}  # index -> perf_counter once its 201 was read

    async def post(self, n: int, deadline: float) -> int:
        """Create message `n`; its index. A create whose answer was lost may exist twice."""
        while True:
            began = time.perf_counter()
            try:
                response = await self.conn.request("POST", self.path, form([("Body", f"m{n}")]))
            except (*DISCONNECTED, HttpError):
                self.conn.close()
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)
                continue
            if response.status >= 300:
                raise RuntimeError(f"POST {self.path}: {response.status} {response.body[:200]!r}")
            index = int(response.json()["index"])
            self.started[index] = began
            self.created[index] = time.perf_counter()
            return index

    async def count(self) -> int:
        channel = self.path.rsplit("/", 1)[0]
        response = await self.conn.request("GET", channel)
        return int(response.json()["messages_count"])


async def _setup(server: servers.Chinwag) -> tuple[str, str]:
    """A service and a channel with one message (so its list exists): their SIDs."""
    rest = Connection(server.port, basic_auth(server.account_sid, server.auth_token))
    try:
        made = []
        for path, params in [("/v2/Services", [("FriendlyName", "reliability")]), ("", [])]:
            path = path or f"/v2/Services/{made[0]}/Channels"
            response = await rest.request("POST", path, form(params))
            made.append(str(response.json()["sid"]))
        await rest.request(
            "POST", f"/v2/Services/{made[0]}/Channels/{made[1]}/Messages", form([("Body", "first")])
        )
    finally:
        rest.close()
    return made[0], made[1]


def _kill_and_restart(server: servers.Chinwag) -> float:
    """SIGKILL, then start again on the same database and port; seconds until it answers."""
    if server.process is None:
        raise RuntimeError("chinwag is not running")
    server.process.kill()
    server.process.wait(timeout=30)
    server.process = None
    return server.start()


async def _wait_all_subscribed(followers: list[Follower], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        await asyncio.gather(*(f.subscribed.wait() for f in followers))


async def _until_complete(followers: list[Follower], last: int, seconds: float) -> bool:
    """Wait until every follower holds messages 1..last (0 was there before they came)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(len(f.seen_at) >= last for f in followers):
            return True
        await asyncio.sleep(0.05)
    return False


async def crowd(server: servers.Chinwag, clients: int) -> tuple[str, str, list[Follower]]:
    """A service, a channel with one message (`_setup`), and `clients` followers of its
    messages list, each a user of its own (not yet connected)."""
    key = await asyncio.to_thread(server.api_key)
    service, channel = await _setup(server)
    url = f"ws://{LOCALHOST}:{server.port}/v3/wsconnect"
    followers = [
        Follower(url, _token(server, key, service, f"f{i}"), f"{channel}.messages")
        for i in range(clients)
    ]
    return service, channel, followers


async def scenario(
    server: servers.Chinwag, clients: int, messages: int, drop_share: float = 0.2
) -> dict[str, Any]:
    """The four phases of the module docstring; the figures and the verdict (`lost`)."""
    service, channel, followers = await crowd(server, clients)
    stop = asyncio.Event()
    rss_before = servers.proc_memory(server.pid)["VmRSS"]
    tasks = []
    for i in range(0, clients, 50):  # connect in waves, as a crowd arriving
        batch = followers[i : i + 50]
        tasks += [asyncio.get_running_loop().create_task(f.follow(stop)) for f in batch]
        await _wait_all_subscribed(batch, 120)
    await asyncio.sleep(1)
    rss_after = servers.proc_memory(server.pid)["VmRSS"]
    poster = Poster(server, f"/v2/Services/{service}/Channels/{channel}/Messages")
    steady_end, drop_at = messages // 3, 2 * messages // 3
    restart_s = 0.0
    began = time.monotonic()
    try:
        for n in range(messages):
            if n == steady_end:
                await _until_complete(followers, n, 60)  # steady figures settle first
                restart_s = await asyncio.to_thread(_kill_and_restart, server)
            if n == drop_at:  # on live connections: every follower is back from the restart
                await _wait_all_subscribed(followers, 120)
                for follower in followers[: int(clients * drop_share)]:
                    follower.drop()
            await poster.post(n, time.monotonic() + 120)
        total = await poster.count()  # more than messages + 1 if a lost answer was retried
        complete = await _until_complete(followers, total - 1, 120)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        poster.conn.close()
    return _figures(followers, poster, total, complete, steady_end, rss_before, rss_after) | {
        "clients": clients,
        "dropped": int(clients * drop_share),
        "restart_s": round(restart_s, 2),
        "seconds": round(time.monotonic() - began, 1),
    }


def _figures(
    followers: list[Follower],
    poster: Poster,
    total: int,
    complete: bool,
    steady_end: int,
    rss_before: float,
    rss_after: float,
) -> dict[str, Any]:
    expected = set(range(1, total))  # message 0 was there before the followers came
    lost = sum(len(expected - set(f.seen_at)) for f in followers)
    out_of_order = sum(1 for f in followers if f.indices != sorted(set(f.indices)))
    steady = [
        (f.seen_at[i] - poster.started[i]) * 1000
        for f in followers
        for i in range(1, steady_end + 1)
        if i in poster.started and i in f.seen_at
    ]
    steady.sort()
    return {
        "messages": total,
        "complete": complete,
        "lost": lost,
        "clients_out_of_order": out_of_order,
        "duplicates_dropped": sum(f.duplicates for f in followers),
        # messages created before the subscription they arrived on was asked for: replayed
        "replayed": sum(
            1
            for f in followers
            for i, asked in f.subscribed_at.items()
            if i in poster.created and poster.created[i] < asked
        ),
        "reconnects": sum(f.connects - 1 for f in followers),
        "steady_p50_ms": round(percentile(steady, 50), 2) if steady else None,
        "steady_p99_ms": round(percentile(steady, 99), 2) if steady else None,
        "steady_max_ms": round(steady[-1], 2) if steady else None,
        "rss_before_mib": round(rss_before, 1),
        "rss_connected_mib": round(rss_after, 1),
        "kib_per_connection": round((rss_after - rss_before) * 1024 / len(followers), 1),
    }


def run(database: str, workdir: Path, opts: argparse.Namespace) -> dict[str, Any]:
    server = servers.Chinwag(database, workdir / "chinwag.log")
    server.start()
    try:
        return asyncio.run(scenario(server, opts.clients, opts.messages, opts.drop))
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--drop", type=float, default=0.2, help="share of clients that drop")
    parser.add_argument("--pg", default=PG_ADMIN)
    opts = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if opts.db == "both" else [opts.db]
    out = servers.on_each_database(
        kinds, opts.pg, "rel", lambda url, workdir: run(url, workdir, opts)
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
