"""Real-time delivery loses nothing: 30 SDK-protocol clients follow a busy channel while the
server is killed with kill -9 and restarted and some clients drop their network; each then holds
every message, in order, once (the bench's scenario at a small size: bench/reliability.py)."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from pathlib import Path

from bench import servers
from bench.client import LOCALHOST
from bench.reliability import Poster, _until_complete, _wait_all_subscribed, crowd, scenario

CLIENTS, MESSAGES = 30, 60


def test_every_client_gets_every_message_in_order_through_a_kill9_and_drops(
    fresh_database: str, tmp_path: Path
) -> None:
    server = servers.Chinwag(fresh_database, tmp_path / "chinwag.log")
    server.start()
    try:
        figures = asyncio.run(scenario(server, CLIENTS, MESSAGES, drop_share=0.2))
    finally:
        server.stop()
    assert figures["complete"], figures
    assert figures["lost"] == 0, figures
    assert figures["clients_out_of_order"] == 0, figures
    assert figures["messages"] >= MESSAGES + 1, figures  # a retried create may add one more
    # Everyone came back after the kill, and the dropped ones once more.
    assert figures["reconnects"] >= CLIENTS + figures["dropped"], figures
    assert figures["replayed"] > 0, figures  # what was created while they were away came later


def test_creates_sent_at_once_reach_every_follower_once_in_order(
    fresh_database: str, tmp_path: Path
) -> None:
    """Eight REST clients create messages in one channel at once, so their transactions
    share group commits (on PostgreSQL the creates after a batch's first hand their Sync
    statements over to the batch's end). Each SDK-protocol follower then holds every message
    once, in index order, and the commits were fewer than the transactions."""
    server = servers.Chinwag(fresh_database, tmp_path / "chinwag.log")
    server.start()
    try:
        figures = asyncio.run(_concurrent(server, followers=5, posters=8, each=24))
    finally:
        server.stop()
    held, total, commits, transactions = figures
    assert total == 8 * 24 + 1
    for indices in held:
        assert indices == list(range(1, total)), indices
    assert commits < transactions, (commits, transactions)


async def _concurrent(
    server: servers.Chinwag, followers: int, posters: int, each: int
) -> tuple[list[list[int]], int, float, float]:
    service, channel, following = await crowd(server, followers)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(f.follow(stop)) for f in following]
    path = f"/v2/Services/{service}/Channels/{channel}/Messages"
    sending = [Poster(server, path) for _ in range(posters)]
    try:
        await _wait_all_subscribed(following, 60)
        deadline = time.monotonic() + 60

        async def send(poster: Poster, first: int) -> None:
            for n in range(first, first + each):
                await poster.post(n, deadline)

        await asyncio.gather(*(send(p, i * each) for i, p in enumerate(sending)))
        total = await sending[0].count()
        assert await _until_complete(following, total - 1, 60)
        stats = await asyncio.to_thread(_commit_stats, server)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for poster in sending:
            poster.conn.close()
    return [f.indices for f in following], total, *stats


def _commit_stats(server: servers.Chinwag) -> tuple[float, float]:
    """The server's COMMITs and the write transactions they covered (`/metrics`)."""
    with urllib.request.urlopen(f"http://{LOCALHOST}:{server.port}/metrics") as response:
        text = response.read().decode()
    gauges = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("chinwag_db_")
    )
    return float(gauges["chinwag_db_commits_committed"]), float(
        gauges["chinwag_db_transactions_committed"]
    )
