"""`--pg-connections`: a server process opens no more PostgreSQL connections than it is allowed,
and requests beyond that many wait for one instead of failing. Several servers share one
PostgreSQL, whose `max_connections` they must stay under together. PostgreSQL only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import make_client
from tests.reliability.helpers import pg_admin
from tests.support.servers import Server

LIMIT = 3
CALLERS = 12


def backends(database_url: str) -> int:
    """The connections to `database_url`'s database, ours apart."""
    rows = pg_admin(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        database_url.rsplit("/", 1)[1],
    )
    return int(rows[0][0])


def test_a_server_keeps_to_its_connections(
    fresh_postgres: str, tmp_path: Path, servers: list[Server]
) -> None:
    server = Server(fresh_postgres, extra_args=["--pg-connections", str(LIMIT)])
    servers.append(server)
    server.start(tmp_path / "server.log")
    chat = make_client(server).chat.v2
    service = chat.services.create(friendly_name="limits")
    channel = chat.services(service.sid).channels.create(friendly_name="busy")
    messages = chat.services(service.sid).channels(channel.sid).messages

    def call(n: int) -> tuple[str, int]:
        sent = messages.create(body=f"message {n}")
        listed = messages.list(limit=20)
        return sent.sid, len(listed)

    peak = 0
    with ThreadPoolExecutor(CALLERS) as pool:
        calls = [pool.submit(call, n) for n in range(CALLERS * 4)]
        while not all(c.done() for c in calls):
            peak = max(peak, backends(fresh_postgres))
        done = [c.result() for c in calls]  # each call answered; none failed

    assert len({sid for sid, _ in done}) == CALLERS * 4
    assert len(messages.list(limit=100)) == CALLERS * 4
    # The pool's connections, and the one that listens for other servers' notifications.
    assert 1 <= peak <= LIMIT + 1, peak
