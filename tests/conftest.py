"""Fixtures: every storage test runs on SQLite and on PostgreSQL, against a real server.

PostgreSQL is the server at CHINWAG_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test);
each run gets a database of its own. Without it the PostgreSQL half skips with a message, except
under CI=true, where it fails.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from twilio.rest import Client

from tests.support import contract
from tests.support.databases import KINDS, fresh
from tests.support.recording import ContractCheckingHttpClient
from tests.support.servers import (
    Server,
)

for _name in ("TWILIO_EDGE", "TWILIO_REGION"):  # they mangle a loopback base_url
    os.environ.pop(_name, None)


@pytest.fixture(scope="session", params=KINDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database of each kind for the session."""
    with fresh(request.param, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`chinwag serve` on a free port, for the whole session, on one database."""
    srv = Server(database_url, extra_args=["--media-dir", str(tmp_path_factory.mktemp("media"))])
    srv.start(tmp_path_factory.mktemp("logs") / "server.log")
    yield srv
    srv.stop()
    assert srv.log_path is not None
    assert "chinwag stopped cleanly" in srv.log_path.read_text(), "no clean stop on SIGTERM"


def make_client(
    server: Server,
    username: str | None = None,
    password: str | None = None,
    account_sid: str | None = None,
) -> Client:
    """The official client, pointed at `server`, checking each response against the spec."""
    client = Client(
        username or server.account_sid,
        password or server.auth_token,
        account_sid,
        http_client=ContractCheckingHttpClient(),
    )
    client.chat.base_url = server.url
    client.ip_messaging.base_url = server.url
    return client


@pytest.fixture(scope="session")
def _spec() -> None:
    contract.require_spec()


@pytest.fixture
def client(server: Server, _spec: None) -> Client:
    return make_client(server)


@pytest.fixture
def chat(client: Client) -> Any:
    """`client.chat.v1`."""
    return client.chat.v1


@pytest.fixture
def service(chat: Any) -> Any:
    """A new service of the test's own, deleted afterwards."""
    svc = chat.services.create(friendly_name=f"test-{secrets.token_hex(4)}")
    yield svc
    chat.services(svc.sid).delete()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names that no other test uses."""
    return lambda prefix: f"{prefix}-{secrets.token_hex(4)}"
