"""Two worker processes on one PostgreSQL database, each with its own group-committing writer
(`store/pg_writer`), creating messages in the same channels at once. A batch holds its
channels' row locks until its COMMIT, so the two writers' batches contend for them, and could
wait for each other; a transaction that waited too long gives way and runs again. Every create
must succeed, and every channel's indexes stay gap-free. PostgreSQL only: SQLite's writers
share the file's one write lock instead.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.support.servers import Server

THREADS = 24
CREATES = 40  # per thread
CHANNELS = 2


def test_two_workers_writing_the_same_channels(
    fresh_postgres: str, tmp_path: Path, servers: list[Server]
) -> None:
    server = Server(fresh_postgres, extra_args=["--workers", "2"])
    servers.append(server)
    server.start(tmp_path / "server.log")
    auth = (server.account_sid, server.auth_token)
    service = requests.post(
        f"{server.url}/v1/Services", data={"FriendlyName": "w"}, auth=auth, timeout=30
    )
    assert service.status_code == 201, service.text
    base = f"{server.url}/v1/Services/{service.json()['sid']}/Channels"
    channels = []
    for n in range(CHANNELS):
        made = requests.post(base, data={"FriendlyName": f"c{n}"}, auth=auth, timeout=30)
        assert made.status_code == 201, made.text
        channels.append(made.json()["sid"])
    local = threading.local()
    failures: list[str] = []

    def post(i: int) -> None:
        if not hasattr(local, "session"):  # keep-alive: each thread stays with one worker
            local.session = requests.Session()
            local.session.auth = auth
        # each thread goes round the channels from a different one, so that the two workers'
        # batches take the channels' locks in different orders
        channel = channels[(i + i // CREATES) % CHANNELS]
        got = local.session.post(f"{base}/{channel}/Messages", data={"Body": str(i)}, timeout=30)
        if got.status_code != 201:
            failures.append(f"{got.status_code} {got.text[:200]}")

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(post, range(THREADS * CREATES)))
    assert failures == []
    total = 0
    for channel in channels:
        listed = requests.get(
            f"{base}/{channel}/Messages", params={"PageSize": 1000}, auth=auth, timeout=30
        )
        assert listed.status_code == 200, listed.text
        indexes = [m["index"] for m in listed.json()["messages"]]
        assert indexes == list(range(len(indexes)))
        channel_row = requests.get(f"{base}/{channel}", auth=auth, timeout=30).json()
        assert channel_row["messages_count"] == len(indexes)
        total += len(indexes)
    assert total == THREADS * CREATES
