"""Fixtures of the rate-limit suite: servers under `--rate-limits twilio`, sharing one database.

Each database kind gets a fresh database and two servers on it: one with `--workers 2` and one
single process, so that every burst is spread over three processes and the limit can only hold
if the count lives in the database.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from twilio.rest import Client

from tests.conftest import make_client
from tests.support.databases import KINDS, fresh
from tests.support.servers import Server


@dataclass
class Limited:
    """The servers of one database, with the official client pointed at each."""

    servers: list[Server]

    def client(self, i: int) -> Client:
        return make_client(self.servers[i % len(self.servers)])

    @property
    def auth(self) -> tuple[str, str]:
        return (self.servers[0].account_sid, self.servers[0].auth_token)


@pytest.fixture(scope="module", params=KINDS)
def limited(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _spec: None
) -> Iterator[Limited]:
    directory = tmp_path_factory.mktemp(f"ratelimit-{request.param}")
    with fresh(request.param, directory) as url:
        account, token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
        flags = ["--rate-limits", "twilio"]
        servers = [
            Server(url, account, token, extra_args=[*flags, "--workers", "2"]),
            Server(url, account, token, extra_args=flags),
        ]
        try:
            for i, server in enumerate(servers):
                server.start(directory / f"server{i}.log")
            yield Limited(servers)
        finally:
            for server in servers:
                server.stop()
