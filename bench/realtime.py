"""Real-time: how long a REST message create takes to reach subscribed SDK-protocol clients, and
what an idle connection costs the server.

One chinwag server on a fresh database. Clients speak twilsock over WebSockets as the SDK does
(`init` with an access token minted by the `twilio` package, then a `/v4/Subscriptions`
establish on the channel's messages list). For each subscriber count, messages are created one
at a time over REST (keep-alive HTTP); the latency of a message for a subscriber is the time
from just before the POST until that subscriber has read its `list_item_added` notification
(same machine, one clock). Idle memory: the server's RSS with N connections that did `init`
and nothing else, minus its RSS before, over N.

    .venv/bin/python -m bench.realtime --db sqlite --subscribers 1,100 --messages 200 --idle 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant
from websockets.asyncio.client import ClientConnection, connect

from bench import servers
from bench.client import LOCALHOST, Connection, basic_auth, form
from bench.load import percentile
from chinwag.realtime.framing import decode, encode

PG_ADMIN = os.environ.get("CHINWAG_TEST_PG", servers.PG_DEFAULT)
WAIT = 30.0  # seconds for any one answer; every loop below is bounded by it


def _token(server: servers.Chinwag, key: tuple[str, str], service: str, identity: str) -> str:
    token = AccessToken(server.account_sid, key[0], key[1], identity=identity, ttl=3600)
    token.add_grant(ChatGrant(service_sid=service))
    return str(token.to_jwt())


async def _rest(conn: Connection, path: str, params: list[tuple[str, str]]) -> Any:
    response = await conn.request("POST", path, form(params))
    if response.status >= 300:
        raise RuntimeError(f"POST {path}: {response.status} {response.body[:200]!r}")
    return response.json()


class Client:
    """One SDK-protocol connection: its socket and what it read, by message index."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: dict[int, float] = {}  # message index -> perf_counter when read
        self.replies: dict[str, Any] = {}
        self.established = asyncio.Event()
        self.reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        async for data in self.ws:
            if not isinstance(data, bytes):
                raise TypeError("twilsock frames are binary")
            frame = decode(data)
            head = frame.header
            if head["method"] == "reply":
                self.replies[head["id"]] = (head, frame.json() if frame.is_json() else None)
            elif head["method"] == "notification" and frame.is_json():
                body = frame.json()
                if body.get("event_type") == "list_item_added":
                    self.seen.setdefault(int(body["event"]["item_index"]), time.perf_counter())
                elif body.get("event_type") == "subscription_established":
                    self.established.set()

    async def ask(self, frame_id: str, header: dict[str, Any], body: Any = None) -> Any:
        await self.ws.send(encode({**header, "id": frame_id}, body))
        deadline = time.monotonic() + WAIT
        while frame_id not in self.replies:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reply to {frame_id}")
            await asyncio.sleep(0.005)
        return self.replies.pop(frame_id)


async def _open(url: str, token: str) -> Client:
    ws = await connect(url, open_timeout=WAIT, max_size=2**20)
    client = Client(ws)
    client.reader = asyncio.get_running_loop().create_task(client.read())
    init = {"method": "init", "token": token, "capabilities": ["client_update"]}
    head, _ = await client.ask("TMinit", init)
    if head["status"]["code"] != 200:
        raise RuntimeError(f"init refused: {head['status']}")
    return client


async def _subscribe(client: Client, list_name: str) -> None:
    request = {"host": "cds", "path": f"/v3/Lists/{list_name}", "method": "GET"}
    head, found = await client.ask("TMl", {"method": "message", "http_request": request})
    if head["http_status"]["code"] != 200:
        raise RuntimeError(f"list {list_name}: {head['http_status']}")
    body = {
        "action": "establish",
        "correlation_id": 1,
        "requests": [
            {
                "object_sid": found["sid"],
                "object_type": "list",
                "last_event_id": found.get("last_event_id", 0),
            }
        ],
    }
    sub = {"host": "cds", "path": "/v4/Subscriptions", "method": "POST"}
    await client.ask("TMs", {"method": "message", "http_request": sub}, body)
    await asyncio.wait_for(client.established.wait(), WAIT)


async def _close(clients: list[Client]) -> None:
    for client in clients:
        await client.ws.close()
        if client.reader is not None:
            client.reader.cancel()


async def latency(
    server: servers.Chinwag, key: tuple[str, str], subscribers: int, messages: int
) -> dict[str, Any]:
    """p50/p99 from a REST create until each of `subscribers` clients read it."""
    rest = Connection(server.port, basic_auth(server.account_sid, server.auth_token))
    service = (await _rest(rest, "/v2/Services", [("FriendlyName", "realtime bench")]))["sid"]
    channel = (await _rest(rest, f"/v2/Services/{service}/Channels", []))["sid"]
    await _rest(rest, f"/v2/Services/{service}/Channels/{channel}/Messages", [("Body", "first")])
    url = f"ws://{LOCALHOST}:{server.port}/v3/wsconnect"
    clients = []
    try:
        for i in range(subscribers):
            token = _token(server, key, service, f"reader-{i}")
            clients.append(await _open(url, token))
        await asyncio.gather(*(_subscribe(c, f"{channel}.messages") for c in clients))
        rest.close()  # idle while the clients connected: the server may have closed it
        rest = Connection(server.port, basic_auth(server.account_sid, server.auth_token))
        samples: list[float] = []
        path = f"/v2/Services/{service}/Channels/{channel}/Messages"
        for n in range(messages):
            started = time.perf_counter()
            index = (await _rest(rest, path, [("Body", f"live {n}"), ("From", "bot")]))["index"]
            deadline = time.monotonic() + WAIT
            while not all(index in c.seen for c in clients):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"message {index} did not reach every subscriber")
                await asyncio.sleep(0.0005)
            samples += [(c.seen[index] - started) * 1000 for c in clients]
    finally:
        await _close(clients)
        rest.close()
    samples.sort()
    return {
        "subscribers": subscribers,
        "messages": messages,
        "p50_ms": round(percentile(samples, 50), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "max_ms": round(samples[-1], 2),
    }


async def idle_memory(server: servers.Chinwag, key: tuple[str, str], count: int) -> dict[str, Any]:
    """The server's RSS per connection that did `init` and stays idle."""
    rest = Connection(server.port, basic_auth(server.account_sid, server.auth_token))
    service = (await _rest(rest, "/v2/Services", [("FriendlyName", "idle bench")]))["sid"]
    rest.close()
    url = f"ws://{LOCALHOST}:{server.port}/v3/wsconnect"
    token = _token(server, key, service, "idle")  # one identity, many tabs
    warm = [await _open(url, token) for _ in range(10)]  # first-use allocations out of the way
    await asyncio.sleep(1)
    before = servers.proc_memory(server.pid)["VmRSS"]
    clients = []
    try:
        for _ in range(count):
            clients.append(await _open(url, token))
        await asyncio.sleep(2)
        after = servers.proc_memory(server.pid)["VmRSS"]
    finally:
        await _close(clients + warm)
    return {
        "connections": count,
        "rss_before_mib": round(before, 1),
        "rss_after_mib": round(after, 1),
        "kib_per_connection": round((after - before) * 1024 / count, 1),
    }


def run(database: str, workdir: Path, opts: argparse.Namespace) -> dict[str, Any]:
    server = servers.Chinwag(database, workdir / "chinwag.log")
    server.start()
    try:
        key = server.api_key()
        results: dict[str, Any] = {"latency": []}
        for n in opts.subscribers:
            results["latency"].append(asyncio.run(latency(server, key, n, opts.messages)))
        if opts.idle > 0:  # --idle 0: latency only
            results["idle"] = asyncio.run(idle_memory(server, key, opts.idle))
        return results
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--subscribers", default="1,100")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--idle", type=int, default=1000, help="idle connections (0: none)")
    parser.add_argument("--pg", default=PG_ADMIN)
    opts = parser.parse_args(argv)
    opts.subscribers = [int(n) for n in opts.subscribers.split(",")]
    kinds = ["sqlite", "postgresql"] if opts.db == "both" else [opts.db]
    out = servers.on_each_database(
        kinds, opts.pg, "rt", lambda url, workdir: run(url, workdir, opts)
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
