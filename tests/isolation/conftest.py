"""Fixtures of the isolation suite: two accounts on the session server, an API key of each.

Account A is the session server's own account; account B is created for the suite. A's world
(one of every resource) is built per test and deleted afterwards; B's is built once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.api.conftest import parse_credentials
from tests.badinput.world import Api, World, build_world, destroy_world
from tests.support.cli import CommandFailed
from tests.support.databases import KINDS, fresh
from tests.support.servers import (
    Server,
)


@dataclass(frozen=True)
class Account:
    sid: str
    token: str
    key_sid: str
    key_secret: str

    def credentials(self, kind: str) -> tuple[str, str]:
        """(username, password) for Basic auth: the auth token, or the API key."""
        return (self.sid, self.token) if kind == "token" else (self.key_sid, self.key_secret)


def delete_key(server: Server, sid: str) -> None:
    """Delete an API key unless a test already did."""
    try:
        server.cli("keys", "delete", sid)
    except CommandFailed as err:
        if "no key" not in err.stderr:
            raise


@pytest.fixture(scope="session")
def account_a(server: Server) -> Iterator[Account]:
    """The session server's account, with an API key of its own."""
    key = parse_credentials(server.cli("keys", "create", "--account", server.account_sid))
    yield Account(server.account_sid, server.auth_token, *key)
    delete_key(server, key[0])


@pytest.fixture(scope="session")
def account_b(server: Server) -> Iterator[Account]:
    """A second account, created for this suite, with an API key of its own."""
    sid, token = parse_credentials(server.cli("accounts", "create", "--friendly-name", "iso-b"))
    key = parse_credentials(server.cli("keys", "create", "--account", sid))
    yield Account(sid, token, *key)
    delete_key(server, key[0])


@pytest.fixture
def api_a(server: Server, account_a: Account) -> Iterator[Api]:
    api = Api(server, account_a.sid, account_a.token)
    yield api
    api.close()


@pytest.fixture
def world_a(api_a: Api, account_a: Account) -> Iterator[World]:
    """One of every resource in account A; deleted afterwards."""
    world = build_world(api_a, account_a.sid)
    yield world
    destroy_world(api_a, world)


@pytest.fixture(scope="session")
def world_b(server: Server, account_b: Account) -> Iterator[World]:
    """One of every resource in account B, for the whole session."""
    api = Api(server, account_b.sid, account_b.token)
    world = build_world(api, account_b.sid)
    yield world
    destroy_world(api, world)
    api.close()


@pytest.fixture(params=KINDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind for one test."""
    with fresh(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers a test starts itself; any still running at the end are stopped."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process is not None:
            server.stop()
