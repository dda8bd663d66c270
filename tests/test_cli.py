"""The `chinwag` command: migrate, accounts and keys, on SQLite files.

The commands run in this process through Click's test runner (the command's own code, its
arguments, exit codes and output): a process of their own each spent a second importing what
every command imports, most of these tests' time. `TestMigrate.test_creates_schema` and
`TestServeFirstStart` run `python -m chinwag` itself, as users run it."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import UNSET, chinwag

ACCOUNT_LINE = re.compile(r"^(AC[0-9a-f]{32}) ([0-9a-f]{32})$")
KEY_LINE = re.compile(r"^(SK[0-9a-f]{32}) (\S{16,})$")


def chinwag_process(*args: str, database: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m chinwag ARGS --database URL` in a process of its own."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    command = [sys.executable, "-m", "chinwag", *args, "--database", database]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def ok(*args: str, database: str) -> str:
    """Run a command that must succeed; its stdout."""
    done = chinwag(*args, database=database)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "chinwag.db"


@pytest.fixture
def database(db_path: Path) -> str:
    """A SQLite file of the test's own, not yet created."""
    return f"sqlite:///{db_path}"


@pytest.fixture
def account(database: str) -> str:
    """A new account's SID."""
    match = ACCOUNT_LINE.match(ok("accounts", "create", database=database).strip())
    assert match is not None
    return match.group(1)


def tables(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


class TestMigrate:
    def test_creates_schema(self, database: str, db_path: Path) -> None:
        """`python -m chinwag migrate` creates the database and its tables, and says so."""
        done = chinwag_process("migrate", database=database)
        assert done.returncode == 0, done.stderr
        assert "migrated" in done.stdout
        assert {"accounts", "api_keys", "services", "roles", "credentials"} <= tables(db_path)

    def test_idempotent(self, database: str, db_path: Path) -> None:
        """Running `chinwag migrate` again succeeds and changes nothing."""
        ok("migrate", database=database)
        before = tables(db_path)
        ok("migrate", database=database)
        assert tables(db_path) == before

    def test_keeps_data(self, database: str, account: str) -> None:
        """Migrating a database in use keeps its accounts."""
        ok("migrate", database=database)
        assert account in ok("accounts", "list", database=database)

    def test_bad_url(self, tmp_path: Path) -> None:
        """An unsupported database URL exits non-zero."""
        done = chinwag("migrate", database=f"mysql://localhost/{tmp_path.name}")
        assert done.returncode != 0


class TestAccounts:
    def test_create_prints_sid_and_token(self, database: str) -> None:
        """`accounts create` prints the new account's SID and auth token, on one line."""
        out = ok("accounts", "create", database=database)
        assert ACCOUNT_LINE.match(out.strip()), out

    def test_create_is_new_each_time(self, database: str) -> None:
        """Each `accounts create` makes a different account with a different token."""
        first = ok("accounts", "create", database=database).split()
        second = ok("accounts", "create", database=database).split()
        assert first[0] != second[0]
        assert first[1] != second[1]

    def test_list(self, database: str) -> None:
        """`accounts list` shows every account's SID and name, never its token."""
        sid, token = ok("accounts", "create", "--friendly-name", "Acme", database=database).split()
        other_sid = ok("accounts", "create", database=database).split()[0]
        out = ok("accounts", "list", database=database)
        assert f"{sid} Acme" in out.splitlines()
        assert other_sid in out
        assert token not in out

    def test_list_empty(self, database: str) -> None:
        """`accounts list` on a new database prints no accounts."""
        assert ok("accounts", "list", database=database).strip() == ""

    def test_list_shows_tokens_when_asked(self, database: str) -> None:
        """`accounts list --show-tokens` recovers a token the first start printed once."""
        sid, token = ok("accounts", "create", database=database).split()
        out = ok("accounts", "list", "--show-tokens", database=database)
        assert f"{sid} chinwag {token}" in out.splitlines()


class TestServeFirstStart:
    def test_prints_working_credentials_once(self, tmp_path: Path) -> None:
        """The first `chinwag serve` on an empty database creates an account and prints its
        SID and token, which the official client can use; a later start prints only the SID."""
        from twilio.rest import Client

        from tests.support.servers import Server

        server = Server(f"sqlite:///{tmp_path / 'first.db'}")
        server.extra_env = {"TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""}
        log = tmp_path / "serve.log"
        server.start(log)
        try:
            text = log.read_text()
            sid = re.search(r"TWILIO_ACCOUNT_SID=(AC[0-9a-f]{32})", text)
            token = re.search(r"TWILIO_AUTH_TOKEN=([0-9a-f]{32})", text)
            assert sid is not None, text
            assert token is not None, text
            client = Client(sid.group(1), token.group(1))
            client.chat.base_url = server.url
            assert client.chat.v1.services.create(friendly_name="first").sid.startswith("IS")
        finally:
            server.stop()
        server.start(tmp_path / "again.log")
        try:
            again = (tmp_path / "again.log").read_text()
            assert f"Accounts: {sid.group(1)}" in again
            assert token.group(1) not in again
        finally:
            server.stop()


class TestKeys:
    def test_create_prints_sid_and_secret(self, database: str, account: str) -> None:
        """`keys create` prints the new key's SID and secret, on one line."""
        out = ok("keys", "create", "--account", account, database=database)
        assert KEY_LINE.match(out.strip()), out

    def test_list(self, database: str, account: str) -> None:
        """`keys list` shows each key's SID, account and name, never its secret."""
        sid, secret = ok(
            "keys", "create", "--account", account, "--friendly-name", "ci", database=database
        ).split()
        out = ok("keys", "list", database=database)
        assert f"{sid} {account} ci" in out.splitlines()
        assert secret not in out

    def test_list_by_account(self, database: str, account: str) -> None:
        """`keys list --account` shows that account's keys only."""
        other = ok("accounts", "create", database=database).split()[0]
        mine = ok("keys", "create", "--account", account, database=database).split()[0]
        theirs = ok("keys", "create", "--account", other, database=database).split()[0]
        out = ok("keys", "list", "--account", account, database=database)
        assert mine in out
        assert theirs not in out

    def test_delete(self, database: str, account: str) -> None:
        """`keys delete` removes the key from the list."""
        sid = ok("keys", "create", "--account", account, database=database).split()[0]
        assert f"deleted {sid}" in ok("keys", "delete", sid, database=database)
        assert sid not in ok("keys", "list", database=database)

    def test_delete_unknown(self, database: str, account: str) -> None:
        """`keys delete` of an unknown key exits non-zero and says so on stderr."""
        done = chinwag("keys", "delete", "SK" + "0" * 32, database=database)
        assert done.returncode != 0
        assert "no key" in done.stderr

    def test_delete_twice(self, database: str, account: str) -> None:
        """Deleting a key a second time fails: it is already gone."""
        sid = ok("keys", "create", "--account", account, database=database).split()[0]
        ok("keys", "delete", sid, database=database)
        assert chinwag("keys", "delete", sid, database=database).returncode != 0

    @pytest.mark.parametrize("unknown", ["AC" + "0" * 32, "not-an-account"])
    def test_create_for_unknown_account(self, database: str, unknown: str) -> None:
        """`keys create` for an account that does not exist exits non-zero and prints no key."""
        ok("accounts", "create", database=database)
        done = chinwag("keys", "create", "--account", unknown, database=database)
        assert done.returncode != 0
        assert "SK" not in done.stdout
        assert unknown in done.stderr

    def test_create_requires_account(self, database: str) -> None:
        """`keys create` without --account exits non-zero."""
        assert chinwag("keys", "create", database=database).returncode != 0

    def test_secrets_differ(self, database: str, account: str) -> None:
        """Every key gets its own SID and secret."""
        first = ok("keys", "create", "--account", account, database=database).split()
        second = ok("keys", "create", "--account", account, database=database).split()
        assert first[0] != second[0]
        assert first[1] != second[1]

    def test_list_flags_keys_that_cannot_sign(
        self, database: str, db_path: Path, account: str
    ) -> None:
        """A key made before secrets were kept readable is listed with a note to re-create it."""
        old = ok("keys", "create", "--account", account, database=database).split()[0]
        new = ok("keys", "create", "--account", account, database=database).split()[0]
        with sqlite3.connect(db_path) as conn:  # what migration 0003 leaves for an older key
            conn.execute("UPDATE api_keys SET secret = NULL WHERE sid = ?", (old,))
        lines = {
            line.split()[0]: line for line in ok("keys", "list", database=database).splitlines()
        }
        assert "cannot sign access tokens" in lines[old]
        assert "re-create" in lines[old]
        assert "cannot sign" not in lines[new]
