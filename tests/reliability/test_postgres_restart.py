"""PostgreSQL connections killed under the server: clean 503s at worst, then recovery on its own.

What a PostgreSQL restart (or a failover, or an idle-connection reaper) does to chinwag is kill
every connection it holds. That is done here with `pg_terminate_backend` on every backend of
the test's own database, as the admin; the PostgreSQL server itself is not restarted, since
other tests share it. chinwag is not restarted either: it must answer each request in flight
with a success or a Twilio-shaped 503 (never a 500, never a hang), and answer normally again
within a few seconds. PostgreSQL only: SQLite has no connection to lose.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import requests

from tests.reliability.helpers import all_messages, terminate_backends, twilio_error, wait_until
from tests.support.servers import Server

RECOVERY_SECONDS = 10.0
CLIENTS = 4


def _setup(server: Server) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.auth = (server.account_sid, server.auth_token)
    service = session.post(f"{server.url}/v1/Services", data={"FriendlyName": "pg"}, timeout=30)
    assert service.status_code == 201, service.text
    channel_url = f"/v1/Services/{service.json()['sid']}/Channels"
    channel = session.post(f"{server.url}{channel_url}", data={"FriendlyName": "room"}, timeout=30)
    assert channel.status_code == 201, channel.text
    return session, f"{channel_url}/{channel.json()['sid']}"


def _healthy(session: requests.Session, server: Server, channel_url: str) -> bool:
    """A read and a write both succeed."""
    read = session.get(f"{server.url}{channel_url}", timeout=10)
    write = session.post(f"{server.url}{channel_url}/Messages", data={"Body": "probe"}, timeout=10)
    return read.status_code == 200 and write.status_code == 201


class Traffic:
    """Clients reading and writing without pause; every answer they got, and what it said."""

    def __init__(self, server: Server, channel_url: str) -> None:
        self.server = server
        self.channel_url = channel_url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.responses: list[requests.Response] = []
        self.acked: dict[str, int] = {}
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(CLIENTS)]

    def run(self) -> None:
        with requests.Session() as session:
            session.auth = (self.server.account_sid, self.server.auth_token)
            for _ in range(100_000):  # bounded; `stop` ends it
                if self.stop.is_set():
                    return
                url = f"{self.server.url}{self.channel_url}"
                try:
                    write = session.post(f"{url}/Messages", data={"Body": "load"}, timeout=10)
                    read = session.get(url, timeout=10)
                except requests.RequestException as exc:  # a hang (timeout) or a dropped socket
                    with self.lock:
                        self.failures.append(repr(exc))
                    return
                with self.lock:
                    self.responses += [write, read]
                    if write.status_code == 201:
                        self.acked[write.json()["sid"]] = write.json()["index"]

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
            assert not thread.is_alive(), "a client hung"


def _assert_clean(responses: list[requests.Response]) -> None:
    """Each answer is a success or a Twilio-shaped 503/20503: never a 500."""
    for response in responses:
        if response.status_code in (200, 201):
            continue
        twilio_error(response, 503, 20503)


def test_idle_connections_killed(
    fresh_postgres: str, tmp_path: Path, servers: list[Server]
) -> None:
    """With every idle connection killed, requests answer 2xx or a clean 503, and soon 2xx."""
    server = Server(fresh_postgres)
    servers.append(server)
    server.start(tmp_path / "server.log")
    session, channel_url = _setup(server)
    with session:
        assert _healthy(session, server, channel_url)

        assert terminate_backends(fresh_postgres) >= 1, "chinwag held no connection to kill"
        first = [
            session.get(f"{server.url}{channel_url}", timeout=10),
            session.post(f"{server.url}{channel_url}/Messages", data={"Body": "x"}, timeout=10),
            session.get(f"{server.url}/healthz", timeout=10),
        ]
        _assert_clean(first[:2])
        assert first[2].status_code in (200, 503)

        took = wait_until(lambda: _healthy(session, server, channel_url), RECOVERY_SECONDS)
        assert took is not None, f"no recovery within {RECOVERY_SECONDS}s"
        assert session.get(f"{server.url}/healthz", timeout=10).status_code == 200
    assert server.process is not None
    assert server.process.poll() is None, "chinwag exited"


def test_connections_killed_under_load(
    fresh_postgres: str, tmp_path: Path, servers: list[Server]
) -> None:
    """Connections killed twice mid-load: only 2xx or clean 503s, recovery, no message lost."""
    server = Server(fresh_postgres)
    servers.append(server)
    server.start(tmp_path / "server.log")
    session, channel_url = _setup(server)
    with session, Traffic(server, channel_url) as traffic:
        time.sleep(0.5)
        killed = terminate_backends(fresh_postgres)
        time.sleep(0.5)
        killed += terminate_backends(fresh_postgres)
        assert killed >= 1, "chinwag held no connection to kill"
        took = wait_until(lambda: _healthy(session, server, channel_url), RECOVERY_SECONDS)
        assert took is not None, f"no recovery within {RECOVERY_SECONDS}s"
        time.sleep(0.5)  # more load after the recovery
        with traffic.lock:
            seen = len(traffic.responses)

    assert traffic.failures == [], traffic.failures
    assert seen > 0
    _assert_clean(traffic.responses)
    statuses = [r.status_code for r in traffic.responses]
    assert 503 not in statuses[-2 * CLIENTS :], "requests still fail after the recovery"

    with requests.Session() as check:
        check.auth = (server.account_sid, server.auth_token)
        stored = all_messages(check, server, channel_url)
        indexes = [m["index"] for m in stored]
        assert indexes == list(range(len(stored))), "indexes are not unique and gap-free"
        by_sid = {m["sid"]: m["index"] for m in stored}
        lost = {sid: i for sid, i in traffic.acked.items() if by_sid.get(sid) != i}
        assert lost == {}, f"{len(lost)} acknowledged messages lost or moved"
        room: Any = check.get(f"{server.url}{channel_url}", timeout=10).json()
        assert room["messages_count"] == len(stored)
    assert server.process is not None
    assert server.process.poll() is None, "chinwag exited"
