"""Two worker processes on one PostgreSQL database, each with its own group-committing writer
(`store/pg_writer`), creating messages in the same channels at once. A batch holds its
channels' row locks until its COMMIT, so the two writers' batches contend for them, and could
wait for each other; a transaction that waited too long gives way and runs again. Every create
must succeed, and every channel's indexes stay gap-free. Their COMMITs also queue for
PostgreSQL's notification lock, held by another writer's COMMIT until its flush is done. PostgreSQL
only: SQLite's writers share the file's one write lock instead.
"""

from __future__ import annotations

import asyncio
import threading
import time
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


def _hold_the_notification_lock(url: str, stop: threading.Event) -> int:
    """Commit NOTIFYs back to back from a connection of its own, each flush delayed 100 ms
    (`commit_delay`): PostgreSQL's notification lock is held nearly all the time, as by a busy
    second writer whose flushes are slow. How many such commits there were."""
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> int:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute("CREATE TABLE slow_flush (n int)")
            await conn.execute("SET commit_delay = 100000; SET commit_siblings = 0")
            commits = 0
            while not stop.is_set():
                await conn.execute("BEGIN; INSERT INTO slow_flush VALUES (1); NOTIFY slow; COMMIT")
                commits += 1
            return commits
        finally:
            await conn.close()

    return asyncio.run(run())


def test_a_batch_commit_waits_for_another_writers_slow_flush(
    fresh_postgres: str, tmp_path: Path, servers: list[Server]
) -> None:
    """A COMMIT that sends NOTIFYs (every message create does) waits for the notification lock
    while another writer's COMMIT flushes. A batch's later transactions wait for locks at most
    50 ms, and that bound used to cover its COMMIT too: when the other flush took longer, the
    whole batch failed with 503s. The COMMIT now waits as long as the flush takes."""
    server = Server(fresh_postgres)
    servers.append(server)
    server.start(tmp_path / "server.log")
    service = make_client(server).chat.v1.services.create(friendly_name="slow flush")
    channel = service.channels.create(friendly_name="c").sid
    failures: list[str] = []

    def post(i: int) -> None:
        try:
            make_client(server).chat.v1.services(service.sid).channels(channel).messages.create(
                body=str(i)
            )
        except TwilioRestException as exc:
            failures.append(f"{exc.status} {exc.code} {exc.msg}")

    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as holder:
        held = holder.submit(_hold_the_notification_lock, fresh_postgres, stop)
        time.sleep(0.3)  # its first commits are under way
        try:
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(post, range(160)))
        finally:
            stop.set()
        assert held.result() > 3, "the notification lock was not held during the creates"
    assert failures == []
    indexes = [m.index for m in service.channels(channel).messages.list(page_size=1000)]
    assert indexes == list(range(160))
