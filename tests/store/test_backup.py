"""`chinwag backup` and `chinwag restore`: a SQLite database copied while a server writes to it
and put back, driven as an operator drives them, and checked through the official client.
PostgreSQL's half is the refusal that points to pg_dump."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_client
from tests.support.servers import Server


def chinwag(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chinwag", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def start(database: str, tmp_path: Path, name: str, like: Server | None = None) -> Server:
    server = like.sibling() if like is not None else Server(database)
    server.database = database
    return server.start(tmp_path / f"{name}.log")


def channel_of(server: Server) -> tuple[Any, Any]:
    """A new service and channel, through the official client."""
    chat = make_client(server).chat.v2
    service = chat.services.create(friendly_name="backup")
    return service, service.channels.create(friendly_name="c")


def bodies(server: Server, service_sid: str, channel_sid: str) -> tuple[list[str], list[int], int]:
    """The channel's message bodies and indexes, in order, and its `messages_count`."""
    channel = make_client(server).chat.v2.services(service_sid).channels(channel_sid)
    messages = channel.messages.list(order="asc")
    return [m.body for m in messages], [m.index for m in messages], channel.fetch().messages_count


def test_a_backup_under_writes_is_the_database_as_of_one_commit(tmp_path: Path) -> None:
    server = start(f"sqlite:///{tmp_path / 'live.db'}", tmp_path, "live")
    try:
        service, channel = channel_of(server)
        created = 0
        stop = threading.Event()
        failures: list[BaseException] = []

        def write() -> None:  # creates through the official client until told to stop
            nonlocal created
            messages = make_client(server).chat.v2.services(service.sid).channels(channel.sid)
            try:
                while not stop.is_set():
                    messages.messages.create(body=f"m{created}")
                    created += 1
            except BaseException as exc:  # noqa: BLE001  (reported by the test below)
                failures.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            while created < 30 and writer.is_alive():
                stop.wait(0.05)
            acknowledged = created  # answered 201 before the backup began
            copy = tmp_path / "copy.db"
            done = chinwag("backup", str(copy), "--database", server.database)
            while created < acknowledged + 10 and writer.is_alive():
                stop.wait(0.05)  # the writes went on during and after the copy
        finally:
            stop.set()
            writer.join(60)
        assert not failures, failures
        assert done.returncode == 0, done.stderr
        assert f"to {copy}" in done.stdout
    finally:
        server.stop()
    assert not list(tmp_path.glob("copy.db?*")), "no -wal, -shm or .part left beside the copy"
    restored = start(f"sqlite:///{copy}", tmp_path, "copy", like=server)
    try:
        texts, indexes, count = bodies(restored, service.sid, channel.sid)
    finally:
        restored.stop()
    assert acknowledged <= len(texts) < created
    assert texts == [f"m{i}" for i in range(len(texts))]
    assert indexes == list(range(len(texts)))
    assert count == len(texts)  # the counter and the rows of one moment


def test_restore_puts_the_copy_back(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'live.db'}"
    server = start(database, tmp_path, "first")
    copy = tmp_path / "copy.db"
    try:
        service, channel = channel_of(server)
        messages = make_client(server).chat.v2.services(service.sid).channels(channel.sid)
        messages.messages.create(body="before")
        assert chinwag("backup", str(copy), "--database", database).returncode == 0
        messages.messages.create(body="after")
    finally:
        server.stop()
    asked = chinwag("restore", str(copy), "--database", database)
    assert asked.returncode == 1, "without --yes, no answer is no"
    done = chinwag("restore", str(copy), "--database", database, "--yes")
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout
    again = start(database, tmp_path, "again", like=server)
    try:
        texts, indexes, count = bodies(again, service.sid, channel.sid)
        assert (texts, indexes, count) == (["before"], [0], 1)
        # The restored database takes writes where the copy left off.
        again_messages = make_client(again).chat.v2.services(service.sid).channels(channel.sid)
        assert again_messages.messages.create(body="next").index == 1
    finally:
        again.stop()


def test_a_backup_never_overwrites_and_names_what_is_missing(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'live.db'}"
    missing = chinwag("backup", str(tmp_path / "copy.db"), "--database", database)
    assert missing.returncode == 1
    assert "there is no database at" in missing.stderr
    assert not (tmp_path / "live.db").exists(), "a backup never creates the database"
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"mine")
    server = start(database, tmp_path, "live")
    try:
        refused = chinwag("backup", str(taken), "--database", database)
    finally:
        server.stop()
    assert refused.returncode == 1
    assert "exists" in refused.stderr
    assert taken.read_bytes() == b"mine"
    absent = chinwag("restore", str(tmp_path / "nothing.db"), "--database", database, "--yes")
    assert absent.returncode == 1
    assert "there is no copy at" in absent.stderr


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_postgresql_is_pointed_to_pg_dump(
    fresh_postgres: str, tmp_path: Path, command: str
) -> None:
    yes = ["--yes"] if command == "restore" else []
    done = chinwag(command, str(tmp_path / "x.db"), "--database", fresh_postgres, *yes)
    assert done.returncode == 1
    assert "pg_dump" in done.stderr
    assert not (tmp_path / "x.db").exists()
