"""Helpers for the API suite: raw HTTP next to the official client, and a second account."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.api.fixtures_v1 import new_channel
from tests.conftest import make_client
from tests.support.errors import twilio_error
from tests.support.servers import Server

SID_TOKEN_RE = re.compile(r"^((?:AC|SK)[0-9a-f]{32}) (\S+)$")


@dataclass
class Raw:
    """`requests` against the server, as the account (or `auth`), for what the client hides."""

    server: Server
    auth: tuple[str, str] | None

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("auth", self.auth)
        timeout = kwargs.pop("timeout", 30)
        return requests.request(method, self.server.url + path, timeout=timeout, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    @staticmethod
    def error(response: requests.Response, status: int, code: int | None = None) -> dict[str, Any]:
        """Assert `response` is a Twilio error of `status` (and `code`); its body."""
        return twilio_error(response, status, code)


@dataclass(frozen=True)
class OtherAccount:
    sid: str
    token: str
    client: Client

    @property
    def chat(self) -> Any:
        return self.client.chat.v1


def parse_credentials(output: str) -> tuple[str, str]:
    """`AC... token` / `SK... secret`, as `accounts create` and `keys create` print them."""
    match = SID_TOKEN_RE.match(output.strip())
    assert match is not None, f"unexpected CLI output: {output!r}"
    return match.group(1), match.group(2)


def rejected(call: Callable[[], Any], status: int = 400, code: int | None = None) -> Any:
    """Run `call`, which must fail with `status` (and `code`); the client's exception."""
    with pytest.raises(TwilioRestException) as err:
        call()
    assert err.value.status == status, err.value
    if code is not None:
        assert err.value.code == code, err.value
    return err.value


@pytest.fixture
def raw(server: Server) -> Raw:
    """Raw HTTP as the server's account."""
    return Raw(server, (server.account_sid, server.auth_token))


@pytest.fixture(scope="session")
def _other_account(server: Server) -> tuple[str, str]:
    return parse_credentials(server.cli("accounts", "create", "--friendly-name", "other"))


@pytest.fixture
def other(server: Server, _other_account: tuple[str, str], _spec: None) -> OtherAccount:
    """A second account on the same server, with its own client."""
    sid, token = _other_account
    return OtherAccount(sid, token, make_client(server, sid, token))


@pytest.fixture
def svc(chat: Any, service: Any) -> Any:
    """The test's service, as a context to reach its channels, users and roles."""
    return chat.services(service.sid)


@pytest.fixture
def channel(svc: Any, unique: Callable[[str], str]) -> Any:
    """A public channel of the test's service."""
    return new_channel(svc, unique)


@pytest.fixture
def room(svc: Any, channel: Any) -> Any:
    """The channel, as a context to reach its members, messages and invites."""
    return svc.channels(channel.sid)
