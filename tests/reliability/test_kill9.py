"""kill -9 under load: every acknowledged message survives, indexes stay unique and gap-free.

Eight threads, each with its own official `twilio` client, create messages in one channel as
fast as the server takes them. After about two seconds the server gets SIGKILL (no shutdown of
any kind). A new server is started on the same database. Every create that had answered 201 must
be there with the index it was given; the channel's indexes must run 0..n-1 with no gap and no
repeat, `messages_count` must be n, and the next create must get index n.

On SQLite the server runs with its default `synchronous=NORMAL`: in WAL mode a commit is in the
operating system's hands when the 201 goes out, which survives the death of the process (only a
power loss needs FULL). A second test runs sixteen clients on SQLite with
`--sqlite-synchronous FULL`, where transactions that queue while a COMMIT fsyncs are committed
together (group commit): just before the kill its /metrics must show more transactions
committed than COMMITs, so the crash lands on a server that was grouping.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import requests
from twilio.base.exceptions import TwilioException

from tests.conftest import make_client
from tests.reliability.helpers import all_messages
from tests.support.servers import Server

THREADS = 8
LOAD_SECONDS = 2.0
MAX_PER_THREAD = 20_000  # a bound on the loop; the kill ends it long before


class Load:
    """Eight clients creating messages until the server dies; what it acknowledged."""

    def __init__(
        self, server: Server, service_sid: str, channel_sid: str, threads: int = THREADS
    ) -> None:
        self.server = server
        self.service_sid = service_sid
        self.channel_sid = channel_sid
        self.lock = threading.Lock()
        self.acked: list[tuple[str, int]] = []
        self.killed = threading.Event()
        self.early_errors: list[str] = []
        self.threads = [
            threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(threads)
        ]

    def run(self, n: int) -> None:
        client = make_client(self.server)
        messages = client.chat.v1.services(self.service_sid).channels(self.channel_sid).messages
        for i in range(MAX_PER_THREAD):
            try:
                message = messages.create(body=f"thread {n} message {i}", from_=f"writer-{n}")
            except (requests.RequestException, TwilioException) as exc:
                if not self.killed.is_set():
                    with self.lock:
                        self.early_errors.append(f"thread {n}: {exc!r}")
                return
            with self.lock:
                self.acked.append((message.sid, message.index))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a client thread hung after the kill"


def commit_counts(server: Server) -> tuple[float, float]:
    """SQLite's (COMMITs, transactions they committed) from /metrics."""
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    values = dict(
        line.split(" ", 1) for line in text.splitlines() if line.startswith("chinwag_db_")
    )
    return float(values["chinwag_db_commits_committed"]), float(
        values["chinwag_db_transactions_committed"]
    )


def test_kill9_keeps_every_acknowledged_message(
    fresh_database: str, tmp_path: Path, servers: list[Server]
) -> None:
    """After kill -9 mid-load, each 201'd message is there with its index; indexes are 0..n-1."""
    kill_mid_load(fresh_database, tmp_path, servers, [], THREADS)


def test_kill9_with_group_commit_and_fsync(tmp_path: Path, servers: list[Server]) -> None:
    """The same with 16 clients on SQLite with synchronous=FULL: groups of fsynced commits."""
    database = f"sqlite:///{tmp_path / 'full.db'}"
    kill_mid_load(database, tmp_path, servers, ["--sqlite-synchronous", "FULL"], 16)


def kill_mid_load(
    database: str, tmp_path: Path, servers: list[Server], args: list[str], threads: int
) -> None:
    first = Server(database, extra_args=args)
    servers.append(first)
    first.start(tmp_path / "first.log")
    chat = make_client(first).chat.v1
    service = chat.services.create(friendly_name="kill9")
    channel = chat.services(service.sid).channels.create(friendly_name="crash room")

    load = Load(first, service.sid, channel.sid, threads)
    load.start()
    time.sleep(LOAD_SECONDS)
    if "FULL" in args:  # fsyncs run on the writer thread while the next batch queues
        commits, transactions = commit_counts(first)
        assert transactions > commits > 0, "concurrent writes were not grouped into commits"
    load.killed.set()
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    load.join()

    assert load.early_errors == [], load.early_errors
    assert len(load.acked) >= threads, f"only {len(load.acked)} creates before the kill"
    acked = dict(load.acked)
    assert len(acked) == len(load.acked), "two creates answered with the same SID"
    assert len(set(acked.values())) == len(acked), "two creates answered with the same index"

    second = first.sibling(extra_args=args)
    servers.append(second)
    second.start(tmp_path / "second.log")
    channel_url = f"/v1/Services/{service.sid}/Channels/{channel.sid}"
    with requests.Session() as session:
        session.auth = (second.account_sid, second.auth_token)
        stored = all_messages(session, second, channel_url)
        indexes = [m["index"] for m in stored]
        assert indexes == list(range(len(stored))), "indexes are not unique and gap-free from 0"
        by_sid = {m["sid"]: m["index"] for m in stored}
        assert len(by_sid) == len(stored)
        lost = {sid: index for sid, index in acked.items() if by_sid.get(sid) != index}
        assert lost == {}, f"{len(lost)} acknowledged messages lost or moved"
        for sid, index in acked.items():
            response = session.get(f"{second.url}{channel_url}/Messages/{sid}", timeout=30)
            assert response.status_code == 200, response.text
            assert response.json()["index"] == index

        room: Any = session.get(f"{second.url}{channel_url}", timeout=30).json()
        assert room["messages_count"] == len(stored)

    after = make_client(second).chat.v1.services(service.sid).channels(channel.sid)
    assert after.messages.create(body="after the crash").index == len(stored)
    assert after.fetch().messages_count == len(stored) + 1

    second.stop()
    assert second.log_path is not None
    assert "chinwag stopped cleanly" in second.log_path.read_text()
