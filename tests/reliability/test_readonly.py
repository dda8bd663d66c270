"""A database that cannot be written: clean 503s with Twilio's body, reads still served, no damage.

How each fault is made, and why so:

- **Read-only SQLite file.** The tests run as root in CI containers, and root ignores file
  permissions (CAP_DAC_OVERRIDE): a `chmod 0444` database stays writable to it. So when the test
  process can write a 0444 file, the server under test is started with CAP_DAC_OVERRIDE,
  CAP_DAC_READ_SEARCH and CAP_FOWNER dropped from its capability bounding set (`prctl`, before
  it executes Python): it is still root, but permissions now apply to it as to anyone. As any
  other user, a plain chmod does it. `sqlite:///file:...?mode=ro` cannot be used: chinwag takes
  a path, not a URI. Two layouts are covered: the file alone read-only (its directory writable,
  as SQLite needs for the `-shm` index of a WAL database), and file and directory read-only with
  the `-wal` and `-shm` files present, as a crashed server leaves them. (A WAL database in a
  read-only directory *without* those files cannot be opened by SQLite at all.)
- **Full disk.** `PRAGMA max_page_count` would be the SQLite way, but it is a setting of one
  connection, not of the file: the server's own connections never see it. A tmpfs needs root
  mounts. Instead the running server's RLIMIT_FSIZE is lowered with `prlimit(2)` to just above
  its files' current sizes: every write past that fails (EFBIG; Python ignores SIGXFSZ), which
  is what a full disk does to SQLite. Raising the limit again is the disk being freed; the
  server must recover without a restart.
- **Read-only PostgreSQL.** `ALTER DATABASE ... SET default_transaction_read_only = on`, then its
  connections are killed so that the pool reconnects into read-only sessions.

After each fault, permissions or limits are restored: `PRAGMA integrity_check` says ok, every
acknowledged write is there, and writing works again.
"""

from __future__ import annotations

import ctypes
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.reliability.helpers import (
    all_messages,
    pg_admin,
    terminate_backends,
    twilio_error,
    wait_until,
)
from tests.support.servers import Server

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _drop_file_capabilities() -> None:  # runs in the child, between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def permissions_bind_us(tmp_path: Path) -> bool:
    """Whether this process is refused a write to a 0444 file (False as root)."""
    probe = tmp_path / "probe"
    probe.write_text("x")
    probe.chmod(0o444)
    try:
        with open(probe, "a"):
            return False
    except PermissionError:
        return True
    finally:
        probe.chmod(0o644)
        probe.unlink()


class BoundServer(Server):
    """A server to which file permissions apply, even when the tests run as root."""

    drop_capabilities: bool = False

    def start(self, log_path: Path) -> Server:
        self.log_path = log_path
        command = [sys.executable, "-m", "chinwag", "serve", "--port", str(self.port)]
        command += ["--database", self.database, *self.extra_args]
        preexec = _drop_file_capabilities if self.drop_capabilities else None
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env(), stdout=log, stderr=log, preexec_fn=preexec
            )
        self.wait_ready()
        return self


class Data:
    """A service, a channel and its messages, written through the API before the fault."""

    def __init__(self, server: Server, count: int = 10) -> None:
        self.session = requests.Session()
        self.session.auth = (server.account_sid, server.auth_token)
        service = self.post(server, "/v1/Services", FriendlyName="durable")
        self.service_url = f"/v1/Services/{service['sid']}"
        channel = self.post(server, f"{self.service_url}/Channels", FriendlyName="room")
        self.channel_url = f"{self.service_url}/Channels/{channel['sid']}"
        self.acked: dict[str, int] = {}
        for n in range(count):
            message = self.post(server, f"{self.channel_url}/Messages", Body=f"before {n}")
            self.acked[message["sid"]] = message["index"]

    def post(self, server: Server, path: str, **data: str) -> Any:
        response = self.session.post(f"{server.url}{path}", data=data, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()

    def messages(self, server: Server) -> list[tuple[str, int, str]]:
        """(sid, index, body) of every message: what must survive, whatever the server's port."""
        stored = all_messages(self.session, server, self.channel_url)
        return [(m["sid"], m["index"], m["body"]) for m in stored]

    def assert_intact(self, server: Server) -> list[tuple[str, int, str]]:
        """Indexes 0..n-1, every acknowledged message with its index, the count right."""
        stored = self.messages(server)
        assert [index for _, index, _ in stored] == list(range(len(stored)))
        by_sid = {sid: index for sid, index, _ in stored}
        lost = {sid: i for sid, i in self.acked.items() if by_sid.get(sid) != i}
        assert lost == {}, f"{len(lost)} acknowledged messages lost or moved"
        room = self.session.get(f"{server.url}{self.channel_url}", timeout=30).json()
        assert room["messages_count"] == len(stored)
        return stored

    def assert_writes_refused(self, server: Server) -> None:
        """Creates, updates and deletes each answer 503/20503 with Twilio's error body."""
        base, first = server.url, next(iter(self.acked))
        attempts = [
            self.session.post(f"{base}{self.channel_url}/Messages", data={"Body": "x"}, timeout=30),
            self.session.post(f"{base}/v1/Services", data={"FriendlyName": "new"}, timeout=30),
            self.session.post(f"{base}{self.channel_url}", data={"FriendlyName": "re"}, timeout=30),
            self.session.delete(f"{base}{self.channel_url}/Messages/{first}", timeout=30),
        ]
        for response in attempts:
            twilio_error(response, 503, 20503)

    def assert_reads_served(self, server: Server, expected: list[tuple[str, int, str]]) -> None:
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        assert self.messages(server) == expected
        for path in (self.service_url, self.channel_url, f"{self.service_url}/Channels"):
            response = self.session.get(f"{server.url}{path}", timeout=30)
            assert response.status_code == 200, response.text


def integrity_ok(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()


@pytest.fixture
def sqlite_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory for one SQLite database, made writable again after the test."""
    directory = tmp_path / "db"
    directory.mkdir()
    yield directory
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)


def _make_read_only(paths: list[Path]) -> None:
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)


def _make_writable(paths: list[Path]) -> None:
    for path in paths:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("layout", ["file", "file-and-directory"])
def test_read_only_sqlite(
    layout: str, sqlite_dir: Path, tmp_path: Path, servers: list[Server]
) -> None:
    """On a read-only SQLite database writes are 503/20503, reads are served, nothing breaks."""
    db = sqlite_dir / "chinwag.db"
    first = Server(f"sqlite:///{db}")
    servers.append(first)
    first.start(tmp_path / "first.log")
    data = Data(first)
    before = data.messages(first)
    if layout == "file":
        first.stop()  # clean: the WAL is checkpointed and removed
        locked = [db]
    else:
        first.stop(signal.SIGKILL)  # as after a crash: -wal and -shm stay beside the file
        locked = [db, db.with_name("chinwag.db-wal"), db.with_name("chinwag.db-shm"), sqlite_dir]
        assert all(path.exists() for path in locked), sorted(sqlite_dir.iterdir())
    _make_read_only(locked)

    read_only = BoundServer(first.database, first.account_sid, first.auth_token)
    read_only.drop_capabilities = not permissions_bind_us(tmp_path)
    servers.append(read_only)
    read_only.start(tmp_path / "read-only.log")
    data.assert_writes_refused(read_only)
    data.assert_reads_served(read_only, before)
    data.assert_writes_refused(read_only)  # and again: no state left behind by the failures
    read_only.stop()

    _make_writable(locked)
    integrity_ok(db)
    again = Server(first.database, first.account_sid, first.auth_token)
    servers.append(again)
    again.start(tmp_path / "again.log")
    assert data.assert_intact(again) == before
    assert data.post(again, f"{data.channel_url}/Messages", Body="after")["index"] == len(before)


def _sizes(paths: list[Path]) -> int:
    return max(path.stat().st_size for path in paths if path.exists())


def test_full_disk_sqlite(sqlite_dir: Path, tmp_path: Path, servers: list[Server]) -> None:
    """A full disk: writes are 503/20503 or succeed, reads are served, the freed disk is used."""
    db = sqlite_dir / "chinwag.db"
    server = Server(f"sqlite:///{db}")
    servers.append(server)
    server.start(tmp_path / "server.log")
    data = Data(server)
    assert server.process is not None
    pid = server.process.pid
    files = [db, db.with_name("chinwag.db-wal")]
    limit = _sizes(files) + 64 * 1024
    assert server.log_path is not None
    assert server.log_path.stat().st_size < limit // 2, "the log would fill before the database"
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))
    try:
        refused = []
        for n in range(400):  # bounded: 64 kB of headroom fills within a few dozen messages
            response = data.session.post(
                f"{server.url}{data.channel_url}/Messages",
                data={"Body": f"{n} " + "x" * 2000},
                timeout=30,
            )
            if response.status_code == 201:
                data.acked[response.json()["sid"]] = response.json()["index"]
                continue
            twilio_error(response, 503, 20503)
            refused.append(response)
            if len(refused) >= 5:
                break
        assert refused, "the disk never filled"
        full = data.messages(server)  # reads still served while the disk is full
        assert {sid for sid, _, _ in full} >= set(data.acked)
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))

    def writes() -> bool:
        response = data.session.post(
            f"{server.url}{data.channel_url}/Messages", data={"Body": "space again"}, timeout=30
        )
        if response.status_code == 201:
            data.acked[response.json()["sid"]] = response.json()["index"]
            return True
        twilio_error(response, 503, 20503)
        return False

    assert wait_until(writes, 10) is not None, "no write succeeded after the disk was freed"
    stored = data.assert_intact(server)
    assert len(stored) >= len(data.acked)
    server.stop()
    integrity_ok(db)


def test_read_only_postgres(fresh_postgres: str, tmp_path: Path, servers: list[Server]) -> None:
    """A read-only PostgreSQL database: writes are 503/20503, reads served, writes resume."""
    name = fresh_postgres.rsplit("/", 1)[1]
    server = Server(fresh_postgres)
    servers.append(server)
    server.start(tmp_path / "server.log")
    data = Data(server)
    before = data.messages(server)
    pg_admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    try:
        terminate_backends(fresh_postgres)  # the pool reconnects into read-only sessions
        data.assert_writes_refused(server)
        data.assert_reads_served(server, before)
    finally:
        pg_admin(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        terminate_backends(fresh_postgres)

    def writes() -> bool:
        response = data.session.post(
            f"{server.url}{data.channel_url}/Messages", data={"Body": "writable again"}, timeout=30
        )
        if response.status_code == 201:
            data.acked[response.json()["sid"]] = response.json()["index"]
            return True
        twilio_error(response, 503, 20503)
        return False

    assert wait_until(writes, 10) is not None, "writes did not resume"
    assert data.assert_intact(server)[: len(before)] == before
