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

from twilio.base.exceptions import TwilioRestException

from tests.conftest import make_client
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
    service = make_client(server).chat.v1.services.create(friendly_name="w")
    channels = [service.channels.create(friendly_name=f"c{n}").sid for n in range(CHANNELS)]
    local = threading.local()
    failures: list[str] = []

    def post(i: int) -> None:
        if not hasattr(local, "service"):  # a client per thread, keep-alive: one worker each
            local.service = make_client(server).chat.v1.services(service.sid)
        # each thread goes round the channels from a different one, so that the two workers'
        # batches take the channels' locks in different orders
        channel = channels[(i + i // CREATES) % CHANNELS]
        try:
            local.service.channels(channel).messages.create(body=str(i))
        except TwilioRestException as exc:
            failures.append(f"{exc.status} {exc.code} {exc.msg}")

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(post, range(THREADS * CREATES)))
    assert failures == []
    total = 0
    for channel in channels:
        room = service.channels(channel)
        indexes = [m.index for m in room.messages.list(page_size=1000)]
        assert indexes == list(range(len(indexes)))
        assert room.fetch().messages_count == len(indexes)
        total += len(indexes)
    assert total == THREADS * CREATES
